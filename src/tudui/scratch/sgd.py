"""Stochastic gradient descent from scratch (P24): step every weight a little downhill.

    w  <-  w - lr * dL/dw

This is ``torch.optim.SGD(params, lr)`` with no momentum and no weight decay, the optimizer the
course uses. There is no ``zero_grad()`` to forget: hand-written backward passes return fresh
gradients every step instead of adding into ``.grad``.
"""

from __future__ import annotations

import torch


def sgd_step(params: dict[str, torch.Tensor], grads: dict[str, torch.Tensor], lr: float) -> None:
    """Update every tensor of ``params`` in place, using the gradient of the same name."""
    for name, weight in params.items():
        weight.add_(grads[name], alpha=-lr)     # the same arithmetic as torch.optim.SGD
