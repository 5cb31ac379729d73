"""Lesson 35's parts: the course model with optional ReLU / BatchNorm, a moving average of the
weights, test-time augmentation (mirror and shifts), and per-channel statistics.

Its batches come from ``loaders.TensorLoader`` (the whole data set as one uint8 tensor: shuffling,
normalization and random crop + flip are a few tensor operations per batch instead of one PIL
image at a time).
"""

from __future__ import annotations

import copy
import ctypes
import sys

import torch
from torch import nn

from tudui.fast import tta_logits


class BetterTudui(nn.Module):
    """The course's Tudui layout (32-32-64 conv5, pool, 1024→64→10), with optional extras.

    ``batchnorm=True`` puts a BatchNorm after each conv's max-pool, ``relu=True`` a ReLU after
    that and after the first linear layer: conv → pool → [BN] → [ReLU]. Behind the pool they
    work on a quarter of the numbers, which on a CPU trains about 1.5x faster than
    conv → BN → ReLU → pool; a ReLU gives exactly the same result on either side of a max-pool
    (both keep the largest value), and a BatchNorm behind it normalizes just what the next conv
    sees. With neither, the layers are exactly those of ``tudui.models.Tudui`` (the course's
    model.py: ``self.model = nn.Sequential(...)``).
    """

    def __init__(self, relu: bool = False, batchnorm: bool = False, num_classes: int = 10):
        super().__init__()
        layers: list[nn.Module] = []
        for c_in, c_out in [(3, 32), (32, 32), (32, 64)]:
            layers += [nn.Conv2d(c_in, c_out, 5, padding=2), nn.MaxPool2d(2)]
            if batchnorm:
                layers.append(nn.BatchNorm2d(c_out))
            if relu:
                layers.append(nn.ReLU(inplace=True))
        layers += [nn.Flatten(), nn.Linear(64 * 4 * 4, 64)]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Linear(64, num_classes))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class ViewAverage(nn.Module):
    """Test-time augmentation: the logits of six views of each picture, averaged: the picture
    and its mirror image, and both shifted by one pixel up-left and down-right (those weigh
    half; ``fast.tta_logits`` level 2, as lesson 36 uses it).

    Training with random flips and crops taught the model that such views are the same class, so
    asking it six times and averaging smooths out some of its mistakes (the test set stays the
    same). It costs six forward passes per test picture, so the lesson does it once, at the end.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return tta_logits(self.model, x, level=2)


class WeightAverage:
    """An exponential moving average of a model's weights and BatchNorm statistics.

    After every step the average moves a little towards the current weights; at the end it sits
    in the middle of where the last few hundred steps wandered, which often tests better than
    the last step alone. It starts from random weights, so early on it follows quickly: the
    decay grows from 0.18 towards ``decay`` ((1 + n) / (10 + n) after n steps).
    """

    def __init__(self, model: nn.Module, decay: float):
        self.module, self.decay, self.steps = copy.deepcopy(model), decay, 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.steps += 1
        decay = min(self.decay, (1 + self.steps) / (10 + self.steps))
        for average, now in zip(self.module.state_dict().values(), model.state_dict().values()):
            if average.is_floating_point():
                average.lerp_(now, 1 - decay)
            else:   # BatchNorm's count of batches seen
                average.copy_(now)


def keep_freed_memory() -> None:
    """Linux (glibc) only: let freed memory stay in the process instead of going back to the OS.

    At batch 256 the first conv's output is 33 MB, above the size from which glibc hands memory
    straight back to the OS when it is freed, so every step asks for it again and the kernel
    zeroes 8,000 fresh pages: measured 15% of a 2-core CPU step (system time). Elsewhere (or
    if the C library is not glibc) nothing changes.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 1 << 30)  # allocations up to 1 GB come from the heap...
        libc.mallopt(m_trim_threshold, 1 << 30)  # ...which keeps up to 1 GB free for reuse
    except (OSError, AttributeError):  # musl, or no libc.so.6
        pass


def channel_stats(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of uint8 images [N,3,H,W], on the 0-1 scale ToTensor gives."""
    x = images.float().div_(255)
    return x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3))
