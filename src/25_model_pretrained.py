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
import contextlib
import socket
import threading
import urllib.parse
from pathlib import Path

import torch
import torchvision
from torch import nn
from torchvision.models import VGG16_Weights

from tudui.cli import lesson_parser
from tudui.device import pick_device
from tudui.errors import CourseError, friendly_errors
from tudui.infra.downloads import fetch_checkpoint
from tudui.seeding import seed_everything

IMAGE_SIZE = 224      # VGG16 was made for 224x224 ImageNet pictures
BATCH = 2             # a forward pass at 224x224 is slowish on a CPU...
QUICK_BATCH = 1       # ...so --quick uses one picture
NETWORK_CHECK_S = 3   # does the download server answer? Offline, the lesson goes on after this


def load_vgg16(pretrained: bool, quick: bool) -> tuple[nn.Module, bool]:
    """vgg16_true and whether it has the ImageNet weights (VGG16_Weights.DEFAULT).

    ``--pretrained``: the weights or a clear error. Otherwise (as the video's pretrained=True,
    when it can): the weights when they are already downloaded or the download server answers
    within a few seconds; else weights=None, said in one line. ``--quick`` downloads nothing.
    """
    weights = VGG16_Weights.DEFAULT
    cache = Path(torch.hub.get_dir()) / "checkpoints"  # Path: the right separators on Windows
    file = weights.url.rsplit("/", 1)[-1]
    if not pretrained and not (cache / file).is_file():
        host = urllib.parse.urlparse(weights.url).hostname
        why = ("--quick 不下载 / --quick downloads nothing" if quick else
               None if server_answers(host) else f"离线 / offline ({host} does not answer)")
        if why:
            print(f"vgg16_true: weights=None（{why}）— 随机参数；加 --pretrained 或联网后再运行可下载 "
                  "ImageNet 参数（528 MB）/ random parameters; --pretrained or a run online "
                  "downloads the ImageNet ones (528 MB).")
            return torchvision.models.vgg16(weights=None), False
    try:
        if not (cache / file).is_file():  # ours: a stall fails, a .part the next run continues
            fetch_checkpoint(weights.url, cache)
        return torchvision.models.vgg16(weights=weights), True
    except Exception as err:  # URLError, a broken half-download, a checksum mismatch...
        reason = " ".join(str(err).split()).split(". ")[0][:160]  # its first sentence
        if not pretrained:  # the video's default, tried: go on without the weights
            print(f"vgg16_true: weights=None — ImageNet 参数下载失败 / the ImageNet weights could "
                  f"not be downloaded ({type(err).__name__}: {reason}); --pretrained says what "
                  "to do.")
            return torchvision.models.vgg16(weights=None), False
        raise CourseError(
            f"the VGG16 ImageNet weights (528 MB) could not be downloaded or read "
            f"({type(err).__name__}: {reason}). Download {weights.url} "
            f"yourself (browser, mirror or 网盘 copy) and put the file, named {file}, into the "
            f"folder {cache} ; torchvision then loads it from there without the network. A "
            f"half-downloaded {cache / file} must be deleted first. Or run without --pretrained.",
            f"VGG16 预训练参数（528 MB）下载或读取失败。请手动下载 {weights.url}，"
            f"以文件名 {file} 放到文件夹 {cache} 中；如果那里已有下载了一半的 {file}，请先删除它。"
            "或者去掉 --pretrained 运行。",
        ) from None


def server_answers(host: str, port: int = 443, seconds: float = NETWORK_CHECK_S) -> bool:
    """True when ``host`` accepts a connection within ``seconds``, name lookup included (which
    has no timeout of its own: it runs in a thread that is not waited for any longer)."""
    answered = []

    def connect():
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=seconds):
            answered.append(True)

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(seconds)
    return bool(answered)


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
