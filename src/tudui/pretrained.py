"""VGG16's ImageNet weights the way lesson 25's video gets them (``pretrained=True``, today
``weights=VGG16_Weights.DEFAULT``), on a learner's laptop that may be offline: ``load_vgg16``.

Not in the video: the weights come through our download (a timeout per connection, a resumable
``.part``), and without the network the lesson goes on with ``weights=None`` and says so.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import urllib.parse
from pathlib import Path

import torch
import torchvision
from torch import nn
from torchvision.models import VGG16_Weights

from tudui.errors import CourseError
from tudui.infra.downloads import fetch_checkpoint

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
