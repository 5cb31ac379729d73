"""Linear layer and Flatten from scratch (P21).

Linear: every output is a weighted sum of all inputs plus a bias,

    y = x @ W^T + b          x: [N, in], W: [out, in], b: [out]  ->  y: [N, out]

Backward, with g = dL/dy of shape [N, out] (each entry of W multiplied one input, so its
gradient is that input times the output's gradient, summed over the batch):

    dL/dx = g @ W            [N, in]
    dL/dW = g^T @ x          [out, in]
    dL/db = g summed over N  [out]

Flatten keeps the batch dimension and lines everything else up: [N, C, H, W] -> [N, C*H*W]. It
moves no numbers, so its backward just reshapes the gradient back to the input's shape.
"""

from __future__ import annotations

import torch


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Same as ``torch.nn.functional.linear(x, weight, bias)`` / ``nn.Linear``."""
    y = x @ weight.T
    return y + bias if bias is not None else y


def linear_backward(grad_out: torch.Tensor, x: torch.Tensor, weight: torch.Tensor):
    """Returns (grad_x, grad_weight, grad_bias)."""
    return grad_out @ weight, grad_out.T @ x, grad_out.sum(0)


def flatten(x: torch.Tensor) -> torch.Tensor:
    """Same as ``nn.Flatten()`` (and ``torch.flatten(x, 1)``): [N, ...] -> [N, everything else]."""
    return x.reshape(x.shape[0], -1)


def flatten_backward(grad_out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The gradient, reshaped back to the input's shape."""
    return grad_out.reshape(x.shape)
