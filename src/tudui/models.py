"""The course's model module (its ``model.py``): ``Tudui``, the CIFAR-10 network of P22.

Lesson 27 imports it as the course's train.py does (``from model import *``); 30 and 32 write the
class out, as the course's train_gpu_1/2.py and test.py do. It is written as
the course's model.py writes it, with ``self.model = nn.Sequential(...)``, so its state_dict keys
are ``model.0.weight``, ``model.0.bias``, ... and a state_dict saved by the course's own code loads
into it unchanged. Lesson 22 writes the same network with ``self.model1`` (as the video does in
P22); the layers and the 145,578 parameters are the same. As in the course there is no activation
between the layers; lesson 35 shows what adding ReLU and friends gains.
"""

from __future__ import annotations

import torch
from torch import nn


# 搭建神经网络 / the network
class Tudui(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(
            nn.Conv2d(3, 32, 5, 1, 2),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 5, 1, 2),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, 1, 2),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, 64),
            nn.Linear(64, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.model(x)
        return x


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
