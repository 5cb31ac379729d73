"""最大池化 nn.MaxPool2d / Max pooling nn.MaxPool2d — P19

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=19 (P19)

你将学到 / What you learn:
- 最大池化取每个窗口里的最大值，保留最明显的特征，同时把数据变小（没有要学习的参数）。
  Max pooling keeps the largest value of each window: the strongest feature survives and the data
  gets smaller (there is nothing to learn in it).
- stride 默认等于 kernel_size：MaxPool2d(3) 的窗口互不重叠。
  stride defaults to kernel_size: the windows of MaxPool2d(3) do not overlap.
- ceil_mode：窗口超出边界时，True 保留这个不完整的窗口（向上取整），False 丢掉（向下取整）。
  5x5 输入：ceil_mode=True 得 [[2,3],[5,1]]，False 得 [[2]]。
  ceil_mode: when a window hangs over the edge, True keeps that partial window (round up),
  False drops it (round down). On the 5x5 input: True gives [[2,3],[5,1]], False gives [[2]].
- CIFAR-10：[64,3,32,32] 变成 [64,3,10,10]，图片像打了马赛克。
  On CIFAR-10, [64,3,32,32] becomes [64,3,10,10]: the pictures look pixelated (mosaic).

运行 / Run:   python src/19_nn_maxpool.py           (--quick: the first 256 images only)
TensorBoard:  tensorboard --logdir logs  ->  IMAGES: "input" and "output" (the mosaic).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader

from tudui.cli import lesson_parser
from tudui.data import cifar10, cifar10_is_synthetic, synthetic_banner
from tudui.device import pick_device
from tudui.errors import friendly_errors
from tudui.paths import lesson_name
from tudui.tb import make_writer

INPUT = [[1, 2, 0, 3, 1],
         [0, 1, 2, 3, 1],
         [1, 2, 1, 0, 0],
         [5, 2, 3, 1, 1],
         [2, 1, 0, 1, 1]]
KERNEL_SIZE = 3
BATCH_SIZE = 64


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    device = pick_device(args.device)

    # The course writes dtype=torch.float32: older PyTorch had no max pooling for integers.
    input = torch.reshape(torch.tensor(INPUT, dtype=torch.float32), (-1, 1, 5, 5))
    small = {}
    for ceil_mode in (True, False):
        output = nn.MaxPool2d(kernel_size=KERNEL_SIZE, ceil_mode=ceil_mode)(input)
        print(f"ceil_mode={ceil_mode}:\n{output}")
        small[ceil_mode] = output[0, 0].tolist()

    dataset = cifar10(args.data_root, train=False, quick=args.quick)
    if cifar10_is_synthetic(args.data_root):
        print(synthetic_banner("CIFAR-10"))
    dataloader = DataLoader(dataset, batch_size=BATCH_SIZE)
    maxpool1 = nn.MaxPool2d(kernel_size=KERNEL_SIZE, ceil_mode=False)

    writer = make_writer(lesson_name(__file__), args.log_dir)
    shapes = []
    try:
        for step, (imgs, _targets) in enumerate(dataloader):
            output = maxpool1(imgs.to(device))
            shapes.append((tuple(imgs.shape), tuple(output.shape)))
            writer.add_images("input", imgs, step)
            writer.add_images("output", output, step)  # still 3 channels: no reshape needed
    finally:
        writer.close()
    print(f"CIFAR-10: {list(shapes[0][0])} -> {list(shapes[0][1])}, "
          f"{len(shapes)} 步 / steps -> {writer.log_dir}")
    return {"small": small, "shapes": shapes, "steps": len(shapes), "log_dir": writer.log_dir}


if __name__ == "__main__":
    main()
