"""The course's CIFAR-10 model ``Tudui`` (P22), defined once and used by every later lesson."""

from __future__ import annotations

import torch
from torch import nn


class Tudui(nn.Module):
    """Conv(3→32,5) Pool Conv(32→32,5) Pool Conv(32→64,5) Pool Flatten Linear(1024→64) Linear(64→10).

    Written as in the course (P22, ``self.model1 = Sequential(...)``), so state_dict keys are
    ``model1.0.weight``, ``model1.0.bias``, ... and 145,578 parameters. As in the course there is
    no activation between layers; lesson 35 shows what adding ReLU and friends gains.
    """

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.model1 = nn.Sequential(
            nn.Conv2d(3, 32, 5, padding=2),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 5, padding=2),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, 64),
            nn.Linear(64, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model1(x)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
