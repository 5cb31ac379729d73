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

和视频的不同 / Differences from the video: CIFAR10 来自 tudui.data（见第 14 课）；SummaryWriter 写到
<--log-dir>/18_nn_conv2d/；--device 选择设备；只打印第一批的形状；--quick 只用前 256 张。
CIFAR10 comes from tudui.data (see lesson 14); SummaryWriter writes to <--log-dir>/18_nn_conv2d/;
--device picks the device; only the first batch's shapes are printed; --quick uses 256 pictures.

运行 / Run:   python src/18_nn_conv2d.py            (--quick: the first 256 images only)
TensorBoard:  tensorboard --logdir logs  ->  IMAGES: "input" (64 per step) and "output"
              (128 per step). 输出里有负数，显示为黑色 / negative outputs show as black.
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import torch
import torchvision
from torch import nn
from torch.nn import Conv2d
from torch.utils.data import DataLoader, Subset
from torch.utils.tensorboard import SummaryWriter

from tudui.cli import lesson_parser
from tudui.data import CIFAR10, QUICK_TEST_SIZE, cifar10_is_synthetic, synthetic_banner
from tudui.device import pick_device
from tudui.errors import friendly_errors
from tudui.seeding import seed_everything
from tudui.tb import fresh_log_dir


class Tudui(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = Conv2d(in_channels=3, out_channels=6, kernel_size=3, stride=1, padding=0)

    def forward(self, x):
        x = self.conv1(x)
        return x


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    seed_everything(args.seed)  # the kernels start random: the same seed, the same pictures
    device = pick_device(args.device)

    dataset = CIFAR10(args.data_root, train=False, transform=torchvision.transforms.ToTensor(),
                      download=True)
    if cifar10_is_synthetic(args.data_root):
        print(synthetic_banner("CIFAR-10"))
    if args.quick:  # ours: the first pictures only
        dataset = Subset(dataset, range(min(QUICK_TEST_SIZE, len(dataset))))
    dataloader = DataLoader(dataset, batch_size=64)

    tudui = Tudui().to(device)
    print(tudui)

    writer = SummaryWriter(fresh_log_dir(__file__, args.log_dir))  # the video: "../logs"
    shapes = []
    step = 0
    for data in dataloader:
        imgs, targets = data
        output = tudui(imgs.to(device))
        if step == 0:
            print(imgs.shape)    # torch.Size([64, 3, 32, 32])
            print(output.shape)  # torch.Size([64, 6, 30, 30])
        shapes.append((tuple(imgs.shape), tuple(output.shape)))
        writer.add_images("input", imgs, step)
        # [64,6,30,30] -> [128,3,30,30]: 6 channels shown as twice as many 3-channel images
        output = torch.reshape(output, (-1, 3, 30, 30))
        writer.add_images("output", output, step)
        step = step + 1
    writer.close()
    print(f"{step} 步写入 TensorBoard / steps written: {writer.log_dir}")
    return {"shapes": shapes, "steps": step, "log_dir": writer.log_dir,
            "weight_shape": tuple(tudui.conv1.weight.shape)}


if __name__ == "__main__":
    main()
