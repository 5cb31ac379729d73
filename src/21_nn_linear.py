"""线性层及其他层 nn.Linear / The linear layer and the other layer families — P21

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=21 (P21)

你将学到 / What you learn:
- nn.Linear(in_features, out_features)：每个输出都是所有输入的加权和再加偏置 (y = xW^T + b)。
  nn.Linear(in, out): every output is a weighted sum of all the inputs plus a bias (y = xW^T + b).
- 课程把一整批 64 张图 torch.flatten 成 196608 (= 64*3*32*32) 个数，接 Linear(196608, 10)。
  The course flattens a whole batch of 64 images into 196608 (= 64*3*32*32) values and feeds
  Linear(196608, 10).
- 为什么要 drop_last=True：测试集 10000 = 156*64 + 16，最后一批只有 16 张，展平后是
  49152 个数，Linear(196608, 10) 接不上，会报错。drop_last=True 丢掉这不满的一批。
  Why drop_last=True: the test set has 10000 = 156*64 + 16 images, so the last batch holds 16,
  flattens to 49152 values and does not fit Linear(196608, 10): an error. drop_last drops it.
- 真正的模型按"每张图"展平：nn.Flatten() 得 [64, 3072]，Linear(3072, 10) 得 [64, 10]，
  任何 batch 大小都行，参数也少 64 倍。
  Real models flatten per image: nn.Flatten() gives [64, 3072], Linear(3072, 10) gives [64, 10];
  any batch size works, with 64 times fewer weights.
- 其他层的一句话介绍（见最后的打印）/ One line on each of the other layer families (printed).

和视频的不同 / Differences from the video: CIFAR10 来自 tudui.data（见第 14 课）；
之后的补充：不 drop_last 时最后一批为什么接不上、按每张图展平的 nn.Flatten、其他层一览。
CIFAR10 comes from tudui.data (see lesson 14); extras after the course's loop: why the short
last batch does not fit, per-image nn.Flatten, the other layer families.

运行 / Run:   python src/21_nn_linear.py            (--quick: the first 200 images = 3*64 + 8)
TensorBoard:  本课不写日志 / this lesson writes no logs.
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import torch
import torchvision
from torch import nn
from torch.nn import Linear
from torch.utils.data import DataLoader, Subset

from tudui.cli import lesson_parser
from tudui.data import CIFAR10, cifar10_is_synthetic, synthetic_banner
from tudui.device import pick_device
from tudui.errors import friendly_errors
from tudui.inspect_model import layer_shapes
from tudui.seeding import seed_everything

BATCH_SIZE = 64
IMAGE_VALUES = 3 * 32 * 32                 # 3072 numbers in one CIFAR-10 image
OUT_FEATURES = 10
QUICK_IMAGES = 200  # not a multiple of 64, so --quick shows the short last batch as well
OTHER_LAYERS = {
    "Normalization (nn.BatchNorm2d)": "把每个通道调成均值 0 方差 1，训练更快更稳 / "
                                      "rescales each channel to mean 0, variance 1: faster, steadier training",
    "Dropout (nn.Dropout)": "训练时随机把一部分数置 0，防止过拟合 / zeroes random values while training "
                            "against overfitting",
    "Recurrent (nn.LSTM, nn.GRU)": "一步一步处理序列（文字、语音） / reads a sequence step by step (text, speech)",
    "Transformer (nn.TransformerEncoderLayer)": "用注意力让序列里每个位置看到所有位置 / attention lets "
                                                "every position see all the others",
    "Embedding (nn.Embedding)": "把编号（如词的 id）变成可学习的向量 / turns ids (e.g. word ids) "
                                "into learnable vectors",
}


class Tudui(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear1 = Linear(196608, 10)  # 196608 = 64*3*32*32: a whole flattened batch

    def forward(self, input):
        output = self.linear1(input)
        return output


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    seed_everything(args.seed)
    device = pick_device(args.device)

    dataset = CIFAR10(args.data_root, train=False, transform=torchvision.transforms.ToTensor(),
                      download=True)
    if cifar10_is_synthetic(args.data_root):
        print(synthetic_banner("CIFAR-10"))
    if args.quick:  # ours: 200 = 3*64 + 8 pictures, so the short last batch shows as well
        dataset = Subset(dataset, range(min(QUICK_IMAGES, len(dataset))))
    full, leftover = divmod(len(dataset), BATCH_SIZE)
    print(f"{len(dataset)} = {full}*{BATCH_SIZE} + {leftover}: drop_last=True 丢掉最后 {leftover} 张 / "
          f"drops the last {leftover} image(s)")

    dataloader = DataLoader(dataset, batch_size=64, drop_last=True)

    tudui = Tudui().to(device)  # 1,966,090 parameters
    batches = 0
    for data in dataloader:
        imgs, targets = data
        print(imgs.shape)    # torch.Size([64, 3, 32, 32])
        output = torch.flatten(imgs.to(device))
        print(output.shape)  # torch.Size([196608]): the batch dimension is gone
        flat_shape = tuple(output.shape)
        output = tudui(output)
        print(output.shape)  # torch.Size([10]): ten numbers for 64 pictures together
        batches += 1
    print(f"{batches} 批 / batches")

    # ---- extras
    leftover_error = None
    if leftover:  # what drop_last=False would have handed to tudui
        last = torch.stack([dataset[i][0] for i in range(full * BATCH_SIZE, len(dataset))])
        try:
            tudui(torch.flatten(last.to(device)))
        except RuntimeError as err:
            leftover_error = str(err).splitlines()[0]
        print(f"最后 {leftover} 张展平成 {last.numel()} 个数 / the last {leftover} flatten to "
              f"{last.numel()} values -> {leftover_error}")

    # The way real models do it: flatten each image, keep the batch dimension.
    per_image = nn.Sequential(nn.Flatten(), nn.Linear(IMAGE_VALUES, OUT_FEATURES)).to(device)
    per_image_shapes = [r["shape"] for r in layer_shapes(per_image, imgs.to(device))]
    print(f"nn.Flatten + Linear({IMAGE_VALUES}, {OUT_FEATURES}): {list(imgs.shape)} -> "
          + " -> ".join(str(list(s)) for s in per_image_shapes))
    leftover_shape = None
    if leftover:  # and the short last batch is no problem for it
        leftover_shape = tuple(per_image(last.to(device)).shape)
        print(f"最后一批也可以 / the short last batch works too: {list(last.shape)} -> "
              f"{list(leftover_shape)}")
    print(f"参数 / parameters: {sum(p.numel() for p in tudui.parameters()):,} vs "
          f"{sum(p.numel() for p in per_image.parameters()):,}")

    print("\n其他层 / other layer families (torch.nn 文档 / docs):")
    for family, line in OTHER_LAYERS.items():
        print(f"- {family}: {line}")

    return {"dataset_size": len(dataset), "full_batches": full, "leftover": leftover,
            "loader_batches": len(dataloader), "batches": batches,
            "flat_shape": flat_shape, "linear_shape": tuple(output.shape),
            "leftover_error": leftover_error, "per_image_shapes": per_image_shapes,
            "per_image_leftover_shape": leftover_shape}


if __name__ == "__main__":
    main()
