"""The training helpers later lessons reuse: one epoch (``train_one_epoch``), the test pass
(``evaluate``), the model placed for speed (``prepare_model``), the time left, and the settings
of a quick run.

Why this is faster than the course's loop while the mathematics is the same (fp32): the batches
come from ``tudui.loaders`` (whole-batch tensors, channels last), the conv weights are stored
channels last too (``prepare_model``), and ``train_one_epoch`` keeps the losses on the device
during an epoch and reads them back once (on a GPU, reading a number waits for the GPU).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn

from tudui.device import autocast

CHANNELS_LAST = torch.channels_last

# --quick in the CIFAR-10 training lessons (27, 30) trains on 512 pictures only. With the
# course's lr 0.01 Tudui (no activations between layers) needs well over 1,000 steps before its
# loss leaves 2.30, longer than a quick run can take; so --quick takes more, cheaper steps
# (batch 32) at a larger learning rate, and then it really learns within seconds.
QUICK_EPOCHS, QUICK_BATCH_SIZE, QUICK_LEARNING_RATE = 20, 32, 5e-2


def training_settings(args, epochs: int, batch_size: int, lr: float) -> tuple[int, int, float]:
    """(epochs, batch size, lr) for a run: the flags when given, else the quick recipe with
    --quick, else the course's values passed in."""
    def pick(flag, quick, course):
        return flag if flag is not None else quick if args.quick else course

    return (pick(args.epochs, QUICK_EPOCHS, epochs),
            pick(args.batch_size, QUICK_BATCH_SIZE, batch_size),
            pick(args.lr, QUICK_LEARNING_RATE, lr))


def prepare_model(model: nn.Module, device: torch.device | str) -> nn.Module:
    """Move ``model`` to ``device`` with its conv weights stored NHWC (channels last): the
    layout the CPU's convolution library (oneDNN) is fastest with. Same values."""
    return model.to(device=device, memory_format=CHANNELS_LAST)


def _uses_channels_last(model: nn.Module) -> bool:
    return any(p.dim() == 4 and p.is_contiguous(memory_format=CHANNELS_LAST)
               and not p.is_contiguous() for p in model.parameters())


def train_one_epoch(model: nn.Module, loader, loss_fn: nn.Module, optimizer: torch.optim.Optimizer,
                    device: torch.device, on_step: Callable[[int, float], None] | None = None,
                    desc: str = "train", start_step: int = 0, log_every: int = 1,
                    amp_dtype: torch.dtype | None = None, scaler=None) -> dict:
    """One pass over ``loader``: forward, loss, ``zero_grad``, ``backward``, ``step``.

    ``on_step(step, loss)`` is called after every ``log_every``-th optimizer step, counting
    steps from ``start_step`` (pass the number of steps already done to count across epochs).
    ``amp_dtype`` turns on autocast (``scaler``: a GradScaler for fp16). Returns ``{"loss":
    mean loss per batch, "step_losses": every step's loss, "steps", "images", "seconds",
    "images_per_second"}``.
    """
    device = torch.device(device)
    model.train()
    channels_last = _uses_channels_last(model)
    losses, images = [], 0
    start = time.perf_counter()
    from tqdm.auto import tqdm

    for inputs, targets in tqdm(loader, desc=desc, leave=False, disable=None):
        inputs = inputs.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)
        if channels_last and inputs.dim() == 4:
            inputs = inputs.contiguous(memory_format=CHANNELS_LAST)  # no copy when it already is
        with autocast(device, amp_dtype):
            loss = loss_fn(model(inputs), targets)
        optimizer.zero_grad()
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        losses.append(loss.detach())
        images += len(targets)
        step = start_step + len(losses)
        if on_step is not None and step % log_every == 0:
            on_step(step, loss.item())
    step_losses = torch.stack(losses).float().tolist() if losses else []  # one read-back
    seconds = time.perf_counter() - start
    return {"loss": sum(step_losses) / max(len(step_losses), 1), "step_losses": step_losses,
            "steps": len(step_losses), "images": images, "seconds": seconds,
            "images_per_second": images / max(seconds, 1e-9)}


@torch.no_grad()
def evaluate(model: nn.Module, loader, loss_fn: nn.Module, device: torch.device,
             amp_dtype: torch.dtype | None = None) -> dict:
    """Test pass in eval mode without gradients.

    Returns ``{"loss_sum"}`` (the course's 整体测试集上的Loss: the sum of batch losses), ``"loss"``
    (mean per batch), ``"accuracy"``, ``"correct"``, ``"total"`` and ``"seconds"``.
    """
    device = torch.device(device)
    model.eval()
    channels_last = _uses_channels_last(model)
    losses, correct, total = [], torch.zeros((), dtype=torch.long, device=device), 0
    start = time.perf_counter()
    for inputs, targets in loader:
        inputs = inputs.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)
        if channels_last and inputs.dim() == 4:
            inputs = inputs.contiguous(memory_format=CHANNELS_LAST)
        with autocast(device, amp_dtype):
            outputs = model(inputs)
            losses.append(loss_fn(outputs, targets).float())
        correct += (outputs.argmax(1) == targets).sum()
        total += len(targets)
    batch_losses = torch.stack(losses).tolist() if losses else []
    loss_sum = sum(batch_losses)  # the course adds loss.item() one batch at a time
    correct = int(correct.item())
    return {"loss_sum": loss_sum, "loss": loss_sum / max(len(batch_losses), 1),
            "accuracy": correct / max(total, 1), "correct": correct, "total": total,
            "seconds": time.perf_counter() - start}


def time_left_line(epochs_done: int, epochs_total: int, seconds_so_far: float) -> str:
    """One line after an epoch: "预计还需 N 分钟 / about N min left" (from the mean epoch time)."""
    left = seconds_so_far / max(epochs_done, 1) * max(epochs_total - epochs_done, 0)
    if epochs_done >= epochs_total:
        return f"{epochs_done}/{epochs_total} 轮完成 / epochs done"
    if left < 60:
        return (f"{epochs_done}/{epochs_total} 轮，预计还需不到 1 分钟 / "
                f"{epochs_done}/{epochs_total} epochs, less than a minute left")
    minutes = round(left / 60)
    return (f"{epochs_done}/{epochs_total} 轮，预计还需 {minutes} 分钟 / "
            f"{epochs_done}/{epochs_total} epochs, about {minutes} min left")
