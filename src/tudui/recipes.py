"""Lesson 35's parts: the course model with optional ReLU / BatchNorm, and per-channel statistics.

Its batches come from ``loaders.TensorLoader`` (the whole data set as one uint8 tensor: shuffling,
normalization and random crop + flip are a few tensor operations per batch instead of one PIL
image at a time).
"""

from __future__ import annotations

import torch
from torch import nn


class BetterTudui(nn.Module):
    """The course's Tudui layout (32-32-64 conv5, pool, 1024→64→10), with optional extras.

    ``relu=True`` puts a ReLU after each conv and after the first linear layer; ``batchnorm=True``
    puts a BatchNorm after each conv. With neither, the layers are exactly those of
    ``tudui.models.Tudui`` (the course's model.py: ``self.model = nn.Sequential(...)``).
    """

    def __init__(self, relu: bool = False, batchnorm: bool = False, num_classes: int = 10):
        super().__init__()
        layers: list[nn.Module] = []
        for c_in, c_out in [(3, 32), (32, 32), (32, 64)]:
            layers.append(nn.Conv2d(c_in, c_out, 5, padding=2))
            if batchnorm:
                layers.append(nn.BatchNorm2d(c_out))
            if relu:
                layers.append(nn.ReLU(inplace=True))
            layers.append(nn.MaxPool2d(2))
        layers += [nn.Flatten(), nn.Linear(64 * 4 * 4, 64)]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Linear(64, num_classes))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def channel_stats(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of uint8 images [N,3,H,W], on the 0-1 scale ToTensor gives."""
    x = images.float().div_(255)
    return x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3))
