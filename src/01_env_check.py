"""环境检查 / Environment check — P1-P5

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=1 (P1-P5)

你将学到 / What you learn:
- 安装了哪些版本：Python、torch、torchvision、tensorboard、Pillow、OpenCV。
  Which versions of Python, torch, torchvision, tensorboard, Pillow and OpenCV you have.
- torch.cuda.is_available() 为什么是 False（CPU 版 torch、没有驱动、没有 GPU）。
  Why torch.cuda.is_available() may be False: a CPU-only build, no driver, or no GPU.
- 后面的课会用哪个设备（--device auto：cuda，然后 mps，最后 cpu）。
  Which device the lessons will use (--device auto: cuda, then mps, then cpu).
- P4 的两个法宝：dir() 打开一个包看里面有什么，help() 看一个函数怎么用。
  P4's two tools: dir() to look inside a package, help() to read how a function is used.

运行 / Run:   python src/01_env_check.py
TensorBoard:  本课不写日志 / this lesson writes no logs.
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import platform
import pydoc

import torch

from tudui.cli import lesson_parser
from tudui.device import cuda_status, describe, mps_status, pick_device
from tudui.errors import friendly_errors


def package_versions() -> dict[str, str]:
    """Versions of the packages the course uses ("missing" when one is not installed)."""
    import importlib.metadata as md

    versions = {"python": platform.python_version()}
    for name, dist in [("torch", "torch"), ("torchvision", "torchvision"),
                       ("tensorboard", "tensorboard"), ("pillow", "pillow"),
                       ("opencv", "opencv-python")]:
        try:
            versions[name] = md.version(dist)
        except md.PackageNotFoundError:
            versions[name] = "missing"
    if versions["opencv"] == "missing":  # the headless build is the same cv2 under another name
        try:
            versions["opencv"] = md.version("opencv-python-headless")
        except md.PackageNotFoundError:
            pass
    return versions


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)

    versions = package_versions()
    print("== 版本 / versions ==")
    for name, version in versions.items():
        print(f"{name:>12}: {version}")

    cuda_ok, cuda_reason = cuda_status()
    mps_ok, mps_reason = mps_status()
    print("\n== GPU ==")
    print(f"torch.cuda.is_available() = {cuda_ok}  ({cuda_reason})")
    print(f"torch.backends.mps.is_available() = {mps_ok}  ({mps_reason})")
    device = pick_device(args.device)
    print(describe(device))
    # Extra (not in the video): what this CPU computes fast. Without native bf16 (most laptops:
    # AVX2 only) --bf16 would be emulated and many times slower than fp32.
    cpu_capability = torch.backends.cpu.get_cpu_capability()
    bf16_native = bool(getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)())
    print(f"CPU: {cpu_capability}, bf16 原生支持 / native bf16: {'yes' if bf16_native else 'no'}")

    # P4: dir() opens a "toolbox" to see what is inside; help() reads a tool's manual.
    print("\n== P4: dir(torch) 里有 cuda 吗 / is cuda in dir(torch)? ==", "cuda" in dir(torch))
    cuda_tools = [name for name in dir(torch.cuda) if not name.startswith("_")]
    print("dir(torch.cuda) 的一部分 / part of dir(torch.cuda):", cuda_tools[:8], "...")
    print("dir(torch.cuda.is_available) 全是双下划线 / all dunders — it is a tool, not a box:",
          dir(torch.cuda.is_available)[:4], "...")
    manual = pydoc.render_doc(torch.cuda.is_available, renderer=pydoc.plaintext)
    print("\nhelp(torch.cuda.is_available):\n" + manual.strip())

    return {"versions": versions, "cuda_available": cuda_ok, "cuda_reason": cuda_reason,
            "mps_available": mps_ok, "device": str(device), "cuda_tools": cuda_tools,
            "cpu_capability": cpu_capability, "bf16_native": bf16_native,
            "help_text": manual}


if __name__ == "__main__":
    main()
