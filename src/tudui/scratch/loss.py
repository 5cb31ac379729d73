"""Loss functions from scratch (P22-P23): L1, MSE, and cross-entropy through log-softmax.

L1Loss   = mean |x - y|            d/dx = sign(x - y) / n
MSELoss  = mean (x - y)^2          d/dx = 2 (x - y) / n          (reduction="sum": drop the 1/n)

Cross-entropy for class scores ("logits") x of one image and its true class t (P23):

    loss(x, t) = -x[t] + log(sum_j exp(x[j])) = -log_softmax(x)[t]

log-sum-exp is computed stably: with m = max_j x[j],

    log(sum_j exp(x[j])) = m + log(sum_j exp(x[j] - m))

Every exp(x[j] - m) is at most 1, so nothing overflows even for logits like 1000, and the
largest term is exactly 1, so the log never sees 0.

Backward. softmax(x)[j] = exp(log_softmax(x)[j]) is the predicted probability of class j, and

    d loss / d x[j] = softmax(x)[j] - (1 if j == t else 0)

("predicted minus wanted"), divided by the batch size N for the default mean over the batch.
For log_softmax on its own, with g = dL/d(log_softmax):  dL/dx = g - softmax(x) * sum_j g[j].
"""

from __future__ import annotations

import torch


def log_softmax(x: torch.Tensor) -> torch.Tensor:
    """Same as ``torch.log_softmax(x, dim=-1)``, by the stable log-sum-exp."""
    m = x.max(-1, keepdim=True).values
    shifted = x - m
    return shifted - torch.log(torch.exp(shifted).sum(-1, keepdim=True))


def log_softmax_backward(grad_out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """dL/dx = g - softmax(x) * sum(g) along the class dimension."""
    softmax = torch.exp(log_softmax(x))
    return grad_out - softmax * grad_out.sum(-1, keepdim=True)


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Same as ``nn.CrossEntropyLoss(reduction=...)(logits, target)``: logits [N, K], target [N]."""
    rows = torch.arange(len(target), device=logits.device)
    picked = log_softmax(logits)[rows, target]                          # log p(true class)
    losses = -picked
    return losses.mean() if reduction == "mean" else losses.sum()


def cross_entropy_backward(logits: torch.Tensor, target: torch.Tensor,
                           reduction: str = "mean") -> torch.Tensor:
    """d(loss)/d(logits) = (softmax - one_hot(target)) [/ N for the mean]."""
    grad = torch.exp(log_softmax(logits))
    grad[torch.arange(len(target), device=logits.device), target] -= 1   # minus the one-hot
    return grad / len(target) if reduction == "mean" else grad


def l1_loss(x: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Same as ``nn.L1Loss(reduction=...)(x, y)``."""
    diff = (x - y).abs()
    return diff.mean() if reduction == "mean" else diff.sum()


def l1_loss_backward(x: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """d/dx = sign(x - y) (0 where x == y, as PyTorch) [/ n for the mean]."""
    grad = torch.sign(x - y)
    return grad / x.numel() if reduction == "mean" else grad


def mse_loss(x: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Same as ``nn.MSELoss(reduction=...)(x, y)``."""
    squared = (x - y) ** 2
    return squared.mean() if reduction == "mean" else squared.sum()


def mse_loss_backward(x: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """d/dx = 2 (x - y) [/ n for the mean]."""
    grad = 2 * (x - y)
    return grad / x.numel() if reduction == "mean" else grad
