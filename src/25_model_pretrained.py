"""现有网络模型的使用及修改 / Using and changing a famous model (VGG16) — P25

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=25 (P25)

你将学到 / What you learn:
- torchvision.models 里有现成的网络：vgg16(weights=None) 只有结构，随机初始化的参数。
  torchvision.models has ready-made networks; vgg16(weights=None) is the structure only.
- 预训练参数：vgg16(weights=VGG16_Weights.DEFAULT) 会下载 528 MB（旧写法 pretrained=True）。
  Pretrained weights: weights=VGG16_Weights.DEFAULT downloads 528 MB (old API: pretrained=True).
- 修改网络的两种方法：vgg16_true.classifier.add_module('add_linear', nn.Linear(1000, 10)) 加一层，
  或 vgg16_false.classifier[6] = nn.Linear(4096, 10) 替换一层，让 ImageNet 的 1000 类变成 CIFAR-10 的 10 类。
  Two ways to change it: add a layer, or replace classifier[6], so 1000 classes become 10.
- vgg16_true 和视频一样尝试下载预训练参数；离线（或 --quick）时用 weights=None 搭建，并用一行说明。
  vgg16_true tries the pretrained weights, as in the video; offline (or with --quick) it is built
  with weights=None, said in one line.

运行 / Run:   python src/25_model_pretrained.py             (联网时下载一次 528 MB / online:
                                                              downloads 528 MB once)
              python src/25_model_pretrained.py --pretrained (必须有预训练参数，否则说明怎么办 /
                                                              the weights or what to do)
TensorBoard:  本课不写日志 / this lesson writes no logs (it prints the models).
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import torch
import torchvision
from torch import nn

from tudui.cli import lesson_parser
from tudui.device import pick_device
from tudui.errors import friendly_errors
from tudui.pretrained import load_vgg16
from tudui.seeding import seed_everything

IMAGE_SIZE = 224      # VGG16 was made for 224x224 ImageNet pictures
BATCH = 2             # a forward pass at 224x224 is slowish on a CPU...
QUICK_BATCH = 1       # ...so --quick uses one picture


@friendly_errors
def main(argv=None) -> dict:
    parser = lesson_parser(__doc__)
    parser.add_argument("--pretrained", action="store_true",
                        help="vgg16_true with VGG16_Weights.DEFAULT (528 MB download, once)")
    args = parser.parse_args(argv)
    seed_everything(args.seed)
    device = pick_device(args.device)

    vgg16_false = torchvision.models.vgg16(weights=None)  # the video: pretrained=False (old API)
    # the video: vgg16_true = torchvision.models.vgg16(pretrained=True), today
    # vgg16(weights=VGG16_Weights.DEFAULT); offline it is weights=None, said in one line
    vgg16_true, pretrained = load_vgg16(pretrained=args.pretrained, quick=args.quick)

    print(vgg16_true)
    # (the video also loads CIFAR-10 here, as the reason for 10 classes; it is not used, so skipped)

    vgg16_true.classifier.add_module('add_linear', nn.Linear(1000, 10))  # 方法一：加一层 / add a layer
    print(vgg16_true)

    print(vgg16_false)
    vgg16_false.classifier[6] = nn.Linear(4096, 10)  # 方法二：替换一层 / replace a layer
    print(vgg16_false)

    # extra: both now give 10 numbers per picture (CIFAR-10's classes)
    batch = QUICK_BATCH if args.quick else BATCH
    images = torch.rand(batch, 3, IMAGE_SIZE, IMAGE_SIZE, device=device)
    outputs = {}
    with torch.no_grad():
        for name, model in (("add_linear", vgg16_true), ("replace_6", vgg16_false)):
            outputs[name] = tuple(model.to(device).eval()(images).shape)
            print(f"{name}: input {tuple(images.shape)} -> output {outputs[name]}")

    return {"added": str(vgg16_true.classifier), "replaced": str(vgg16_false.classifier),
            "output_shapes": outputs, "add_linear": vgg16_true.classifier.add_linear,
            "classifier_6": vgg16_false.classifier[6], "pretrained": pretrained,
            "parameters": sum(p.numel() for p in vgg16_false.parameters())}


if __name__ == "__main__":
    main()
