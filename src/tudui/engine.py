"""The training engine shared by 27, 30 and later lessons: data batches, one epoch, evaluation,
checkpoints.

Why it is faster than the course's loop while doing the same mathematics (fp32 by default):

* ``make_loader`` gives CIFAR-10 with the course's ``ToTensor()`` as whole-batch tensor slices
  (``TensorLoader``): the same numbers ``DataLoader`` + ``ToTensor`` produce, in the same order,
  without turning every picture into a PIL image and back one at a time.
* ``prepare_model`` stores the convolution weights "channels last" (NHWC), the layout the CPU's
  convolution library (oneDNN) is fastest with; CIFAR-10's own bytes are already in that layout,
  so the batches come out channels last for free. Same values, different order in memory.
* Losses stay on the device during an epoch and are read back once (on a GPU, reading a number
  waits for the GPU to finish, so doing it every step slows training down).
* ``amp_dtype`` (bf16 on CPU, bf16/fp16 on GPU) is opt-in: faster, slightly different numbers.
"""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset
from torchvision import transforms
from tqdm.auto import tqdm

from tudui import safe_load
from tudui.paths import atomic_write_bytes

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


# --------------------------------------------------------------------------------------------
# Data: whole-batch tensors instead of one PIL image at a time

class TensorLoader:
    """Batches ``(images, labels)`` cut from uint8 pictures [N,H,W,C] held in one tensor.

    Each batch equals what ``DataLoader(dataset, batch_size)`` with ``ToTensor()`` yields
    (float32 in [0,1], shape [B,C,H,W], int64 labels), bit for bit, in the same order; the
    images come out channels-last in memory. ``shuffle=True`` draws a new order every epoch from
    ``seed`` and the epoch number, so a resumed run sees the same orders as an uninterrupted one.
    """

    def __init__(self, images_hwc: torch.Tensor, labels: torch.Tensor, batch_size: int,
                 shuffle: bool = False, seed: int = 0, device: torch.device | str | None = None):
        if images_hwc.dtype != torch.uint8 or images_hwc.dim() != 4:
            raise ValueError("TensorLoader wants uint8 pictures shaped [N, H, W, C]")
        self.device = torch.device(device or "cpu")
        self.images = images_hwc.to(self.device)  # on a GPU: the whole data set, once (150 MB)
        self.labels = labels.long().to(self.device)
        self.batch_size, self.shuffle, self.seed, self.epoch = batch_size, shuffle, seed, 0
        self.dataset_size = len(self.labels)

    def __len__(self) -> int:
        return (self.dataset_size + self.batch_size - 1) // self.batch_size

    def set_epoch(self, epoch: int) -> None:
        """Choose which epoch's order the next pass uses (only matters with shuffle)."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = None
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.dataset_size, generator=generator).to(self.device)
        for start in range(0, self.dataset_size, self.batch_size):
            if order is None:  # no shuffle (the course's way): plain slices, no copying
                pictures = self.images[start:start + self.batch_size]
                labels = self.labels[start:start + self.batch_size]
            else:
                index = order[start:start + self.batch_size]
                pictures, labels = self.images[index], self.labels[index]
            # [B,H,W,C] viewed as [B,C,H,W] is channels-last; ToTensor's own formula: x / 255
            yield pictures.permute(0, 3, 1, 2).float().div_(255), labels


def _is_plain_to_tensor(transform) -> bool:
    if isinstance(transform, transforms.ToTensor):
        return True
    return (isinstance(transform, transforms.Compose) and len(transform.transforms) == 1
            and isinstance(transform.transforms[0], transforms.ToTensor))


def _uint8_pictures(dataset: Dataset) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(uint8 [N,H,W,C], labels) when ``dataset`` is CIFAR-like with ToTensor only, else None."""
    indices = None
    while isinstance(dataset, Subset):
        indices = (list(dataset.indices) if indices is None
                   else [dataset.indices[i] for i in indices])
        dataset = dataset.dataset
    data, targets = getattr(dataset, "data", None), getattr(dataset, "targets", None)
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 4
            and data.shape[-1] in (1, 3) and targets is not None
            and _is_plain_to_tensor(getattr(dataset, "transform", None))
            and getattr(dataset, "target_transform", None) is None
            and getattr(dataset, "transforms", None) is not None):
        return None
    targets = np.asarray(targets)
    if indices is not None:
        data, targets = data[indices], targets[indices]
    return torch.from_numpy(np.ascontiguousarray(data)), torch.from_numpy(targets).long()


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool = False, seed: int = 0,
                device: torch.device | str | None = None, fast: bool = True):
    """The course's ``DataLoader(dataset, batch_size, shuffle)``, as a TensorLoader when it can.

    ``fast=False`` (or a data set with other transforms) gives a plain DataLoader with
    ``num_workers=0`` (on Windows, worker processes need extra care; see the DataLoader lesson).
    """
    if fast:
        tensors = _uint8_pictures(dataset)
        if tensors is not None:
            return TensorLoader(*tensors, batch_size=batch_size, shuffle=shuffle, seed=seed,
                                device=device)
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=0,
                      generator=generator)


# --------------------------------------------------------------------------------------------
# Model placement and mixed precision

def prepare_model(model: nn.Module, device: torch.device | str,
                  channels_last: bool = True) -> nn.Module:
    """Move ``model`` to ``device``; with ``channels_last`` store conv weights NHWC (faster)."""
    if channels_last:
        return model.to(device=device, memory_format=CHANNELS_LAST)
    return model.to(device)


def amp_dtype_for(device: torch.device) -> torch.dtype:
    """The reduced precision ``--bf16`` uses: bf16 on CPU and recent GPUs, else fp16."""
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.bfloat16


def _uses_channels_last(model: nn.Module) -> bool:
    return any(p.dim() == 4 and p.is_contiguous(memory_format=CHANNELS_LAST)
               and not p.is_contiguous() for p in model.parameters())


def _autocast(device: torch.device, amp_dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None)


# --------------------------------------------------------------------------------------------
# Training and evaluation

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
    for inputs, targets in tqdm(loader, desc=desc, leave=False, disable=None):
        inputs = inputs.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)
        if channels_last and inputs.dim() == 4:
            inputs = inputs.contiguous(memory_format=CHANNELS_LAST)  # no copy when it already is
        with _autocast(device, amp_dtype):
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
        with _autocast(device, amp_dtype):
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


# --------------------------------------------------------------------------------------------
# Checkpoints

def save_checkpoint(path: str | os.PathLike, model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None, epoch: int | None = None,
                    **extra) -> Path:
    """Save a state_dict checkpoint atomically (temporary name, then rename).

    The file is a plain dict (``model``, ``optimizer``, ``epoch``, ``arch`` and ``extra``) that
    ``torch.load(..., weights_only=True)`` accepts, so loading it never runs foreign code.
    Tensors are saved contiguous and on the CPU, so any machine can load them.
    """
    weights = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    state = {"arch": type(model).__name__, "model": weights, "epoch": epoch,
             "optimizer": optimizer.state_dict() if optimizer is not None else None, **extra}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike, model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None,
                    map_location: str | torch.device = "cpu") -> dict:
    """Load a model file into ``model`` (and ``optimizer``), never running code from the file.

    Reads, through ``safe_load.read_checkpoint`` (``weights_only=True``, plus the allow-list for
    the course's whole pickled Tudui): a plain state_dict (``model.`` or ``model1.`` keys, renamed
    to fit ``model``), a dict checkpoint ``{"model": state_dict, "optimizer": ..., ...}``, or a
    whole-model file of the course. A missing, truncated or foreign file, or one for another
    architecture, is a CourseError that names the problem (and the mismatching keys). Returns
    the file's dict (``{"model": weights, "format": ...}`` plus a checkpoint's other entries).
    """
    state = safe_load.read_checkpoint(path, map_location)
    model.load_state_dict(safe_load.fit_weights(Path(path).absolute(), state["model"], model))
    if optimizer is not None and state.get("optimizer"):
        optimizer.load_state_dict(state["optimizer"])
    return state


_EPOCH_FILE = re.compile(r"^tudui_(\d+)\.pth$")


def epoch_checkpoint_path(folder: str | os.PathLike, epoch_index: int) -> Path:
    """``<folder>/tudui_<i>.pth``, the course's name (tudui_0.pth is saved after the 1st epoch)."""
    return Path(folder) / f"tudui_{epoch_index}.pth"


def last_epoch_checkpoint(folder: str | os.PathLike) -> Path | None:
    """The highest-numbered ``tudui_<i>.pth`` in ``folder`` (None when there is none)."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _EPOCH_FILE.match(p.name))]
    return max(found)[1] if found else None


def remove_epoch_checkpoints(folder: str | os.PathLike) -> int:
    """Delete the ``tudui_<i>.pth`` files in ``folder`` (a new run starts); returns how many.

    A new run writes tudui_0.pth, tudui_1.pth, ... again; higher numbers left by an earlier,
    longer run would otherwise look like its newest checkpoints to ``--resume``.
    """
    folder = Path(folder)
    old = [p for p in folder.iterdir() if _EPOCH_FILE.match(p.name)] if folder.is_dir() else []
    for path in old:
        path.unlink()
    return len(old)


def newest_checkpoint(*folders: str | os.PathLike) -> Path | None:
    """The most recently written ``*.pth`` checkpoint in any of ``folders`` (None when none)."""
    files = [p for f in folders if Path(f).is_dir() for p in Path(f).glob("*.pth") if p.is_file()]
    return max(files, key=lambda p: (p.stat().st_mtime_ns, p.name)) if files else None
