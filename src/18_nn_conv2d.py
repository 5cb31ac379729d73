"""卷积层 nn.Conv2d / The convolution layer nn.Conv2d — P18

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=18 (P18)

你将学到 / What you learn:
- nn.Conv2d(in_channels=3, out_channels=6, kernel_size=3) 自己创建并学习卷积核：
  6 个卷积核，每个 3x3x3，外加 6 个偏置（随机初始化）。
  nn.Conv2d(3, 6, 3) makes (and later learns) its own kernels: six of 3x3x3, plus six biases,
  randomly initialised.
- CIFAR-10 测试集 batch 为 64：[64,3,32,32] 变成 [64,6,30,30]（32 - 3 + 1 = 30）。
  On CIFAR-10 test batches of 64: [64,3,32,32] becomes [64,6,30,30] (32 - 3 + 1 = 30).
- 6 个通道不能直接显示成彩色图片（add_images 只认 1、3 或 4 个通道），所以课程把它
  reshape 成 [-1,3,30,30]：每张输出变成两张 3 通道的"图"，一批 64 张变成 128 张。
  Six channels cannot be shown as a picture (add_images takes 1, 3 or 4 channels), so the
  course reshapes to [-1,3,30,30]: each output becomes two 3-channel "images", 128 per batch.

运行 / Run:   python src/18_nn_conv2d.py            (--quick: the first 256 images only)
TensorBoard:  tensorboard --logdir logs  ->  IMAGES: "input" (64 per step) and "output"
              (128 per step). 输出里有负数，显示为黑色 / negative outputs show as black.
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
from tudui.seeding import seed_everything
from tudui.tb import make_writer

BATCH_SIZE = 64


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    seed_everything(args.seed)  # the kernels start random: the same seed, the same pictures
    device = pick_device(args.device)

    dataset = cifar10(args.data_root, train=False, quick=args.quick)
    if cifar10_is_synthetic(args.data_root):
        print(synthetic_banner("CIFAR-10"))
    dataloader = DataLoader(dataset, batch_size=BATCH_SIZE)  # num_workers=0: safe on Windows

    # A layer is itself an nn.Module; the course wraps it in a class Tudui, same thing.
    conv1 = nn.Conv2d(in_channels=3, out_channels=6, kernel_size=3, stride=1, padding=0).to(device)
    print(conv1, "weight:", tuple(conv1.weight.shape), "bias:", tuple(conv1.bias.shape))

    writer = make_writer(lesson_name(__file__), args.log_dir)
    shapes = []
    try:
        with torch.no_grad():  # nothing is trained here: no need to remember the graph
            for step, (imgs, _targets) in enumerate(dataloader):
                output = conv1(imgs.to(device))
                shapes.append((tuple(imgs.shape), tuple(output.shape)))
                writer.add_images("input", imgs, step)
                # [64,6,30,30] -> [128,3,30,30]: 6 channels shown as twice as many 3-channel images
                writer.add_images("output", torch.reshape(output, (-1, 3, 30, 30)), step)
    finally:
        writer.close()
    print(f"第一批 / first batch: {list(shapes[0][0])} -> {list(shapes[0][1])}")
    print(f"最后一批 / last batch: {list(shapes[-1][0])} -> {list(shapes[-1][1])}")
    print(f"{len(shapes)} 步写入 TensorBoard / steps written: {writer.log_dir}")
    return {"shapes": shapes, "steps": len(shapes), "log_dir": writer.log_dir}


if __name__ == "__main__":
    main()
