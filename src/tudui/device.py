"""Choosing the device: ``auto`` picks cuda, then mps, then cpu; a missing GPU is a clear error."""

from __future__ import annotations

import contextlib
import platform

import torch

from tudui.errors import CourseError
from tudui.infra.choices import DEVICE_CHOICES


def mps_available() -> bool:
    """True on an Apple-silicon Mac whose torch build supports Metal (MPS)."""
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def cuda_status() -> tuple[bool, str]:
    """(available, reason): the course's question "why is torch.cuda.is_available() False?"."""
    if torch.cuda.is_available():
        return True, f"CUDA {torch.version.cuda}, {torch.cuda.device_count()} GPU(s): {torch.cuda.get_device_name(0)}"
    if torch.version.cuda is None:
        return False, (
            "this torch is a CPU-only build (torch.version.cuda is None); install a CUDA build "
            "from pytorch.org if you have an NVIDIA GPU"
        )
    try:
        torch.cuda.init()
        detail = "no CUDA device was found"
    except Exception as err:  # torch explains what is missing (usually the driver)
        detail = str(err).strip().splitlines()[0]
    return False, (
        f"torch is built for CUDA {torch.version.cuda} but cannot use it: {detail}. "
        "Usually there is no NVIDIA GPU or its driver is missing or too old (check `nvidia-smi`)"
    )


def mps_status() -> tuple[bool, str]:
    """(available, reason) for Apple's Metal backend."""
    if mps_available():
        return True, "Apple Metal (MPS) is available"
    if platform.system() != "Darwin":
        return False, f"MPS exists only on macOS with Apple silicon (this is {platform.system()})"
    return False, "this Mac or torch build has no MPS support (Intel Mac, or macOS older than 12.3)"


def pick_device(name: str = "auto") -> torch.device:
    """Turn ``--device`` into a torch.device; asking for a GPU that is not there is a CourseError."""
    if name not in DEVICE_CHOICES:
        raise CourseError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_CHOICES)}.",
                          f"不认识的设备 {name!r}，可选：{'、'.join(DEVICE_CHOICES)}。")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda":
        ok, reason = cuda_status()
        if not ok:
            raise CourseError(
                f"--device cuda was asked for, but CUDA is not available: {reason}. "
                "Run with --device cpu (or --device auto, which falls back to the CPU).",
                "指定了 --device cuda，但 CUDA 不可用。请改用 --device cpu 或 --device auto。",
            )
    if name == "mps":
        ok, reason = mps_status()
        if not ok:
            raise CourseError(
                f"--device mps was asked for, but {reason}. Run with --device cpu or --device auto.",
                "指定了 --device mps，但 MPS 不可用。请改用 --device cpu 或 --device auto。",
            )
    return torch.device(name)


def describe(device: torch.device) -> str:
    """One line saying which device the lesson runs on, and why."""
    if device.type == "cuda":
        return f"使用设备 / device: cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "使用设备 / device: mps (Apple GPU)"
    ok, reason = cuda_status()
    why = "" if ok else f" — no GPU: {reason.split(';')[0].split(':')[0]}"
    return f"使用设备 / device: cpu{why}"


# --------------------------------------------------------------------------------------------
# Mixed precision (--bf16): only where the hardware computes bf16 natively

def native_bf16(device: torch.device) -> bool:
    """True where bf16 runs at hardware speed: CUDA GPUs from Ampere on, CPUs whose oneDNN has
    bf16 kernels (AVX-512 / AMX). Elsewhere bf16 is emulated and much slower than fp32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False  # mps: bf16 autocast there depends on the Mac and the macOS version


def bf16_or_fp32(device: torch.device) -> torch.dtype | None:
    """What ``--bf16`` trains in: bf16 where it is native, else fp32 (None) with one line saying why.

    On an AVX2-only CPU, like most laptops', every bf16 operation is emulated: a bf16 training
    step is 11-13x slower than fp32 there (benchmarks/README.md, "bf16 without native support").
    """
    if native_bf16(device):
        return torch.bfloat16
    zh, en = {"cpu": ("此 CPU", "this CPU"), "cuda": ("此 GPU", "this GPU")}.get(
        device.type, (device.type, device.type))
    print(f"--bf16：{zh} 没有原生 bf16，在这里会慢很多（CPU 上约 13 倍），改用 fp32 训练。/ "
          f"--bf16: {en} has no native bf16, so it would be much slower (about 13x on a CPU): "
          "training in fp32.")
    return None


def autocast(device: torch.device | str, dtype: torch.dtype | None):
    """Autocast to ``dtype`` on ``device``; a do-nothing context when ``dtype`` is None (fp32)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)
