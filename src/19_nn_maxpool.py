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

和视频的不同 / Differences from the video: 5x5 的例子把 ceil_mode=True 和 False 都算一遍；CIFAR10 来自
tudui.data（见第 14 课）；SummaryWriter 写到 <--log-dir>/19_nn_maxpool/；--quick 只用前 256 张。
The 5x5 example runs both ceil_mode=True and False; CIFAR10 comes from tudui.data (see lesson
14); SummaryWriter writes to <--log-dir>/19_nn_maxpool/; --quick uses the first 256 pictures.

运行 / Run:   python src/19_nn_maxpool.py           (--quick: the first 256 images only)
TensorBoard:  tensorboard --logdir logs  ->  IMAGES: "input" and "output" (the mosaic).
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import torch
import torchvision
from torch import nn
from torch.nn import MaxPool2d
from torch.utils.data import DataLoader, Subset
from torch.utils.tensorboard import SummaryWriter

from tudui.cli import lesson_parser
from tudui.data import CIFAR10, QUICK_TEST_SIZE, cifar10_is_synthetic, synthetic_banner
from tudui.device import pick_device
from tudui.errors import friendly_errors
from tudui.tb import fresh_log_dir


class Tudui(nn.Module):
    def __init__(self, ceil_mode=False):  # ours: ceil_mode as an argument, to run both
        super().__init__()
        self.maxpool1 = MaxPool2d(kernel_size=3, ceil_mode=ceil_mode)

    def forward(self, input):
        output = self.maxpool1(input)
        return output


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    device = pick_device(args.device)

    # The course writes dtype=torch.float32: older PyTorch had no max pooling for integers.
    input = torch.tensor([[1, 2, 0, 3, 1],
                          [0, 1, 2, 3, 1],
                          [1, 2, 1, 0, 0],
                          [5, 2, 3, 1, 1],
                          [2, 1, 0, 1, 1]], dtype=torch.float32)
    input = torch.reshape(input, (-1, 1, 5, 5))
    print(input.shape)
    small = {}
    for ceil_mode in (True, False):
        tudui = Tudui(ceil_mode)
        output = tudui(input)
        print(f"ceil_mode={ceil_mode}:\n{output}")
        small[ceil_mode] = output[0, 0].tolist()

    dataset = CIFAR10(args.data_root, train=False, download=True,
                      transform=torchvision.transforms.ToTensor())
    if cifar10_is_synthetic(args.data_root):
        print(synthetic_banner("CIFAR-10"))
    if args.quick:  # ours: the first pictures only
        dataset = Subset(dataset, range(min(QUICK_TEST_SIZE, len(dataset))))
    dataloader = DataLoader(dataset, batch_size=64)

    tudui = Tudui()  # ceil_mode=False, as the course's CIFAR-10 part
    writer = SummaryWriter(fresh_log_dir(__file__, args.log_dir))  # the video: "../logs_maxpool"
    shapes = []
    step = 0
    for data in dataloader:
        imgs, targets = data
        writer.add_images("input", imgs, step)
        output = tudui(imgs.to(device))
        shapes.append((tuple(imgs.shape), tuple(output.shape)))
        writer.add_images("output", output, step)  # still 3 channels: no reshape needed
        step = step + 1
    writer.close()
    print(f"CIFAR-10: {list(shapes[0][0])} -> {list(shapes[0][1])}, "
          f"{step} 步 / steps -> {writer.log_dir}")
    return {"small": small, "shapes": shapes, "steps": step, "log_dir": writer.log_dir}


if __name__ == "__main__":
    main()
