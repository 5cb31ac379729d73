"""The speed-run parts of lesson 36: a small ConvNet that starts as the identity (like a residual
net), device-side augmentation, Lookahead weight averaging and flip/translate test-time
augmentation.

Written for this course from the ideas published with the airbench CIFAR-10 records (Keller
Jordan, "94% on CIFAR-10 in 3.29 Seconds on a Single GPU", 2024) and the earlier records by
David Page and tysam-code: a frozen "whitening" first layer computed from the data, identity
(Dirac) initialised convolutions, BatchNorm without a scale, large batches, a lookahead average
of the weights and test-time augmentation. The code is ours; the numbers are theirs.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn

from tudui.device import autocast, bf16_or_fp32, native_bf16

WHITEN_PATCH = 2            # the first layer looks at 2x2 patches: 3*2*2 = 12 numbers
WHITEN_EPS = 5e-4           # keeps the rarest patch directions from being blown up
BN_MOMENTUM = 0.4           # torch's convention (share of the new batch): running stats move fast
OUTPUT_SCALE = 1 / 9        # smaller logits at the start: the head learns gently


class ConvGroup(nn.Module):
    """conv -> max-pool (halves the size) -> BN -> GELU -> conv -> BN -> GELU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.norm1, self.norm2 = batch_norm(cout), batch_norm(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.norm1(F.max_pool2d(self.conv1(x), 2)))
        return F.gelu(self.norm2(self.conv2(x)))


def batch_norm(channels: int) -> nn.BatchNorm2d:
    """BatchNorm with a learned shift but a fixed scale of 1 (the conv before it can scale)."""
    norm = nn.BatchNorm2d(channels, eps=1e-12, momentum=BN_MOMENTUM)
    norm.weight.requires_grad_(False)
    return norm


class FastNet(nn.Module):
    """whiten (2x2 conv, 24 ch; 32 -> 31 px) -> 3 ConvGroups (15, 7, 3 px) -> global max -> linear."""

    def __init__(self, widths: tuple[int, int, int] = (64, 256, 256), num_classes: int = 10):
        super().__init__()
        patch = 3 * WHITEN_PATCH * WHITEN_PATCH
        self.whiten = nn.Conv2d(3, 2 * patch, WHITEN_PATCH, bias=True)
        self.whiten.weight.requires_grad_(False)  # computed from the data, never trained
        self.groups = nn.Sequential(ConvGroup(2 * patch, widths[0]),
                                    ConvGroup(widths[0], widths[1]),
                                    ConvGroup(widths[1], widths[2]))
        self.head = nn.Linear(widths[2], num_classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.groups(F.gelu(self.whiten(x)))
        return self.head(x.amax(dim=(2, 3))) * OUTPUT_SCALE

    @torch.no_grad()
    def reset(self, sample: torch.Tensor) -> None:
        """Fresh weights in place (a compiled copy of this net stays valid), whitened on ``sample``.

        Every conv after the first starts as the identity on its first input channels (Dirac), so
        the untrained net passes the whitened image straight through.
        """
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear, nn.BatchNorm2d)):
                module.reset_parameters()
        for group in self.groups:
            for conv in (group.conv1, group.conv2):
                nn.init.dirac_(conv.weight[:conv.in_channels])
        self.whiten.weight.copy_(whitening_filters(sample))
        self.whiten.bias.zero_()


def whitening_filters(images: torch.Tensor, eps: float = WHITEN_EPS) -> torch.Tensor:
    """24 filters of 2x2 that turn image patches into uncorrelated, unit-variance numbers.

    The eigenvectors of the patch covariance are the directions in which patches vary; dividing
    each by the square root of its eigenvalue evens the variances out (PCA whitening). Each
    filter is used twice, with both signs, so the GELU that follows loses nothing.
    """
    c = images.shape[1]
    patches = F.unfold(images.float(), WHITEN_PATCH)          # [N, 12, positions]
    patches = patches.transpose(1, 2).reshape(-1, c * WHITEN_PATCH ** 2)
    covariance = patches.T @ patches / len(patches)
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance)  # columns are the eigenvectors
    filters = eigenvectors.T / torch.sqrt(eigenvalues + eps)[:, None]
    filters = filters.reshape(-1, c, WHITEN_PATCH, WHITEN_PATCH)
    return torch.cat([filters, -filters])


class Lookahead:
    """A slow copy of every float tensor of the net (weights and BN statistics).

    Every few steps the slow copy moves part of the way towards the fast weights and the fast
    weights restart from it: an average that smooths the last, noisy steps of training.
    """

    def __init__(self, net: nn.Module):
        self.slow = [t.detach().clone() for t in _float_state(net)]

    @torch.no_grad()
    def step(self, net: nn.Module, decay: float) -> None:
        """slow <- decay * slow + (1 - decay) * fast, then fast <- slow."""
        for slow, fast in zip(self.slow, _float_state(net)):
            slow.lerp_(fast, 1 - decay)
            fast.copy_(slow)


def _float_state(net: nn.Module) -> list[torch.Tensor]:
    return [t for t in net.state_dict().values() if t.is_floating_point()]


PRECISIONS = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}


def amp_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The autocast dtype for ``--precision``: None means plain fp32.

    ``auto``: bf16 on GPUs that have it (Ampere and newer: no loss scaling needed), fp16 on
    older ones (T4, V100, GTX/RTX 20xx), which then need a GradScaler; fp32 off CUDA. On a CPU,
    ``bf16`` is used only where it is native (``device.bf16_or_fp32``), never fp16.
    """
    if precision == "bf16":
        return bf16_or_fp32(device)   # the one bf16 policy: bf16 only where it is native
    if device.type != "cuda":
        return None
    if precision == "auto":
        return torch.bfloat16 if native_bf16(device) else torch.float16
    return PRECISIONS[precision]


def tta_logits(net: nn.Module, x: torch.Tensor, level: int) -> torch.Tensor:
    """Logits averaged over views of ``x``: 0 = as is, 1 = and its mirror, 2 = also shifted by
    one pixel up-left and down-right (each with its mirror), the shifted views weighing half."""
    def mirrored(v):
        return 0.5 * (net(v).float() + net(v.flip(-1)).float())

    if level == 0:
        return net(x).float()
    logits = mirrored(x)
    if level >= 2:
        padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
        size = x.shape[-1]
        shifted = [padded[..., :size, :size], padded[..., 2:, 2:]]
        logits = 0.5 * logits + 0.25 * (mirrored(shifted[0]) + mirrored(shifted[1]))
    return logits


@torch.no_grad()
def predict(net: nn.Module, images: torch.Tensor, tta: int = 0, batch_size: int = 2000,
            dtype: torch.dtype | None = None) -> torch.Tensor:
    """Float32 logits [N, classes] for ``images`` in eval mode, with ``tta`` test-time views
    (autocast to ``dtype`` on CUDA when given)."""
    net.eval()
    with autocast(images.device, dtype):
        return torch.cat([tta_logits(net, chunk, tta) for chunk in images.split(batch_size)])


class Timer:
    """Seconds between start() and stop(): CUDA events on a GPU, perf_counter elsewhere.

    A GPU runs behind Python (calls only queue work), so a wall clock would stop before the GPU
    is done. CUDA events are recorded in the GPU's own queue; stop() waits for the last one.
    """

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"

    def start(self) -> None:
        if self.cuda:
            self.begin, self.end = (torch.cuda.Event(enable_timing=True) for _ in range(2))
            self.begin.record()
        else:
            self.begin = time.perf_counter()

    def stop(self) -> float:
        if self.cuda:
            self.end.record()
            self.end.synchronize()
            return self.begin.elapsed_time(self.end) / 1000  # milliseconds -> seconds
        return time.perf_counter() - self.begin
