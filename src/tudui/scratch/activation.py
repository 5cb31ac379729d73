"""Non-linear activations from scratch (P20): ReLU and Sigmoid.

ReLU keeps positive values and replaces the rest by 0:   relu(x) = max(x, 0).
Its slope is 1 where x > 0 and 0 elsewhere, so backward lets the gradient through only where the
input was positive. At exactly x = 0 the slope is undefined; PyTorch uses 0, and so do we.

Sigmoid squashes any number into (0, 1):   s(x) = 1 / (1 + exp(-x)).
Its slope has a neat form, ds/dx = s(x) * (1 - s(x)), so backward only needs the output.
(For very negative x, exp(-x) overflows to inf and 1 / (1 + inf) = 0: the right limit, no NaN.)
"""

from __future__ import annotations

import torch


def relu(x: torch.Tensor) -> torch.Tensor:
    """Same as ``torch.relu(x)`` / ``nn.ReLU()``."""
    return torch.where(x > 0, x, torch.zeros_like(x))


def relu_backward(grad_out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """dL/dx = dL/dy where x > 0, else 0."""
    return torch.where(x > 0, grad_out, torch.zeros_like(grad_out))


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Same as ``torch.sigmoid(x)`` / ``nn.Sigmoid()``."""
    return 1 / (1 + torch.exp(-x))


def sigmoid_backward(grad_out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """dL/dx = dL/dy * s(x) * (1 - s(x))."""
    s = sigmoid(x)
    return grad_out * s * (1 - s)
