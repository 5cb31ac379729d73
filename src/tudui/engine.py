"""The training engine shared by 27, 30 and later lessons: one epoch, evaluation, checkpoints."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from tudui.errors import CourseError
from tudui.paths import atomic_write_bytes


def train_one_epoch(model: nn.Module, loader, loss_fn: nn.Module, optimizer: torch.optim.Optimizer,
                    device: torch.device, on_step: Callable[[int, float], None] | None = None,
                    desc: str = "train") -> dict:
    """One pass over ``loader``; ``on_step(step, loss)`` is called after every optimizer step.

    Returns ``{"loss": mean loss per batch, "steps", "images", "seconds"}``.
    """
    model.train()
    total_loss, steps, images = 0.0, 0, 0
    start = time.perf_counter()
    for inputs, targets in tqdm(loader, desc=desc, leave=False, disable=None):
        inputs, targets = inputs.to(device), targets.to(device)
        loss = loss_fn(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        value = loss.item()
        total_loss += value
        steps += 1
        images += len(targets)
        if on_step is not None:
            on_step(steps, value)
    return {"loss": total_loss / max(steps, 1), "steps": steps, "images": images,
            "seconds": time.perf_counter() - start}


@torch.no_grad()
def evaluate(model: nn.Module, loader, loss_fn: nn.Module, device: torch.device) -> dict:
    """Test pass in eval mode without gradients.

    Returns ``{"loss_sum"}`` (the course's 整体测试集上的Loss: the sum of batch losses), ``"loss"``
    (mean per batch), ``"accuracy"``, ``"correct"`` and ``"total"``.
    """
    model.eval()
    loss_sum, batches, correct, total = 0.0, 0, 0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        outputs = model(inputs)
        loss_sum += loss_fn(outputs, targets).item()
        batches += 1
        correct += (outputs.argmax(1) == targets).sum().item()
        total += len(targets)
    return {"loss_sum": loss_sum, "loss": loss_sum / max(batches, 1),
            "accuracy": correct / max(total, 1), "correct": correct, "total": total}


def save_checkpoint(path: str | os.PathLike, model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None, epoch: int | None = None,
                    **extra) -> Path:
    """Save a state_dict checkpoint atomically (temporary name, then rename).

    The file is a plain dict (``model``, ``optimizer``, ``epoch``, ``arch`` and ``extra``) that
    ``torch.load(..., weights_only=True)`` accepts, so loading it never runs foreign code.
    """
    state = {"arch": type(model).__name__, "model": model.state_dict(), "epoch": epoch,
             "optimizer": optimizer.state_dict() if optimizer is not None else None, **extra}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike, model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None,
                    map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint written by save_checkpoint into ``model`` (and ``optimizer``).

    A missing, truncated or foreign file, or one for another architecture, is a CourseError
    that names the problem (and the mismatching keys) instead of a long traceback.
    """
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"checkpoint {path} does not exist. Train first (python src/27_train.py) "
                          "or pass the right file with --checkpoint.",
                          f"找不到模型文件 {path}，请先运行训练课（python src/27_train.py）。")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise CourseError(f"{path} cannot be read as a checkpoint ({type(err).__name__}: "
                          f"{str(err).splitlines()[0][:200]}). It may be truncated or not a "
                          "state_dict file; delete it and train again.",
                          f"无法读取模型文件 {path}（可能不完整或格式不对），请删除后重新训练。") from None
    weights = state.get("model") if isinstance(state, dict) and "model" in state else state
    if not isinstance(weights, dict):
        raise CourseError(f"{path} holds no state_dict.", f"{path} 中没有 state_dict。")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    wrong_shape = sorted(k for k in set(expected) & set(weights)
                         if expected[k].shape != weights[k].shape)
    if missing or unexpected or wrong_shape:
        def show(keys):
            return ", ".join(keys[:5]) + (f" (+{len(keys) - 5} more)" if len(keys) > 5 else "") or "none"
        raise CourseError(
            f"{path} was saved from a different architecture than {type(model).__name__}: "
            f"missing keys: {show(missing)}; unexpected keys: {show(unexpected)}; "
            f"keys with another shape: {show(wrong_shape)}. Use a checkpoint written for this model.",
            f"{path} 与模型 {type(model).__name__} 的结构不一致，请换用对应的模型文件。")
    model.load_state_dict(weights)
    if optimizer is not None and isinstance(state, dict) and state.get("optimizer"):
        optimizer.load_state_dict(state["optimizer"])
    return state if isinstance(state, dict) else {"model": weights}
