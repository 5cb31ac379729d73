"""Choosing the device: ``auto`` picks cuda, then mps, then cpu; a missing GPU is a clear error."""

from __future__ import annotations

import platform

import torch

from tudui.errors import CourseError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


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
