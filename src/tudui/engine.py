"""The training helpers later lessons reuse: fast batches, one epoch, evaluation, checkpoints,
and ``TrainingRun``, what 27 and 30 do around the course's loop that the video does not.

Why the batches are faster than the course's while the mathematics is the same (fp32):

* ``make_loader`` gives CIFAR-10 with the course's ``ToTensor()`` as whole-batch tensor slices
  (``TensorLoader``): the same numbers ``DataLoader`` + ``ToTensor`` produce, in the same order,
  without turning every picture into a PIL image and back one at a time.
* Conv weights stored "channels last" (NHWC, ``prepare_model``) are the layout the CPU's
  convolution library (oneDNN) is fastest with; CIFAR-10's own bytes are already in that layout,
  so the batches come out channels last for free. Same values, different order in memory.
* ``train_one_epoch`` keeps the losses on the device during an epoch and reads them back once (on
  a GPU, reading a number waits for the GPU to finish).
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler, Subset
from torchvision import transforms
from tqdm.auto import tqdm

from tudui import safe_load
from tudui.device import autocast
from tudui.errors import CourseError
from tudui.fast import crop_flip
from tudui.paths import atomic_write_bytes
from tudui.runlock import lock_folder

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

def epoch_order(size: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffled order of epoch ``epoch``: it depends only on (seed, epoch), so a resumed run
    draws the same orders as an uninterrupted one, with no random state to save."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.randperm(size, generator=generator)


class TensorLoader:
    """Batches ``(images, labels)`` cut from uint8 pictures [N,C,H,W] held in one tensor.

    Without options each batch equals what ``DataLoader(dataset, batch_size)`` with
    ``ToTensor()`` yields (float32 in [0,1], int64 labels), bit for bit, in the same order.
    ``shuffle``: every pass (epoch) takes the next order of ``epoch_order`` (``set_epoch`` picks
    where to go on after ``--resume``). ``augment``: random crop (zero padding 4) + horizontal
    flip, drawn from the same per-epoch seed. ``mean``/``std``: per-channel normalization.
    ``channels_last``: the memory layout the CPU's convolutions are fastest with (a view of
    CIFAR-10's own [N,H,W,C] bytes already is, without copying).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int,
                 shuffle: bool = False, seed: int = 0, device: torch.device | str | None = None,
                 augment: bool = False, mean: torch.Tensor | None = None,
                 std: torch.Tensor | None = None, channels_last: bool = True):
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError("TensorLoader wants uint8 pictures shaped [N, C, H, W]")
        self.device = torch.device(device or "cpu")
        if channels_last:
            images = images.contiguous(memory_format=CHANNELS_LAST)  # no copy when it already is
        self.images = images.to(self.device)  # on a GPU: the whole data set, once (150 MB)
        self.labels = labels.long().to(self.device)
        self.batch_size, self.shuffle, self.seed, self.augment = batch_size, shuffle, seed, augment
        self.mean = None if mean is None else mean.view(1, -1, 1, 1).to(self.device)
        self.std = None if std is None else std.view(1, -1, 1, 1).to(self.device)
        self.dataset_size, self.epoch, self.channels_last = len(self.labels), 0, channels_last

    def __len__(self) -> int:
        return (self.dataset_size + self.batch_size - 1) // self.batch_size

    def set_epoch(self, epoch: int) -> None:
        """The epoch the next pass is (only matters with shuffle or augment)."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = None
        if self.shuffle:
            order = torch.randperm(self.dataset_size, generator=generator).to(self.device)
        self.epoch += 1
        for start in range(0, self.dataset_size, self.batch_size):
            if order is None:  # no shuffle (the course's way): plain slices, no copying
                pictures = self.images[start:start + self.batch_size]
                labels = self.labels[start:start + self.batch_size]
            else:
                index = order[start:start + self.batch_size]
                pictures, labels = self.images[index], self.labels[index]
            if self.augment:
                flip = torch.rand(len(labels), generator=generator) < 0.5
                padded = nn.functional.pad(pictures, (PAD,) * 4)  # zeros, as RandomCrop's padding
                pictures = crop_flip(padded, flip.to(self.device), generator=generator)
                if self.channels_last:
                    pictures = pictures.contiguous(memory_format=CHANNELS_LAST)
            x = pictures.float().div_(255)  # ToTensor's own formula, layout kept
            if self.mean is not None:  # Normalize(mean, std)
                x = x.sub_(self.mean).div_(self.std)
            yield x, labels


PAD = 4  # TensorLoader(augment=True): RandomCrop(32, padding=4)


class EpochShuffle(Sampler[int]):
    """DataLoader's shuffling with TensorLoader's orders: pass k uses ``epoch_order(n, seed, k)``."""

    def __init__(self, size: int, seed: int):
        self.size, self.seed, self.epoch = size, seed, 0

    def __len__(self) -> int:
        return self.size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        order = epoch_order(self.size, self.seed, self.epoch)
        self.epoch += 1
        return iter(order.tolist())


class CourseDataLoader(DataLoader):
    """The course's DataLoader (one PIL picture at a time, ``num_workers=0``), its batches moved
    to ``device``, shuffled like TensorLoader so both give the same run."""

    def __init__(self, dataset: Dataset, batch_size: int, shuffle: bool = False, seed: int = 0,
                 device: torch.device | str | None = None):
        sampler = EpochShuffle(len(dataset), seed) if shuffle else None
        super().__init__(dataset, batch_size=batch_size, sampler=sampler, num_workers=0)
        self.device = torch.device(device or "cpu")

    def set_epoch(self, epoch: int) -> None:
        if isinstance(self.sampler, EpochShuffle):
            self.sampler.set_epoch(epoch)

    def __iter__(self):
        for imgs, targets in super().__iter__():
            yield imgs.to(self.device), targets.to(self.device)


def _is_plain_to_tensor(transform) -> bool:
    if isinstance(transform, transforms.ToTensor):
        return True
    return (isinstance(transform, transforms.Compose) and len(transform.transforms) == 1
            and isinstance(transform.transforms[0], transforms.ToTensor))


def _uint8_pictures(dataset: Dataset) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(uint8 [N,C,H,W] viewed on [N,H,W,C] bytes, labels) when ``dataset`` is CIFAR-like with
    ToTensor only, else None."""
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
    pictures = torch.from_numpy(np.ascontiguousarray(data)).permute(0, 3, 1, 2)
    return pictures, torch.from_numpy(targets).long()


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool = False, seed: int = 0,
                device: torch.device | str | None = None, fast: bool = True):
    """The course's ``DataLoader(dataset, batch_size)``, as a TensorLoader when it can.

    Same batches either way, on ``device``. ``fast=False`` (or a data set with other transforms)
    gives the course's DataLoader with ``num_workers=0`` (on Windows, worker processes need
    extra care; see the DataLoader lesson).
    """
    if fast:
        tensors = _uint8_pictures(dataset)
        if tensors is not None:
            return TensorLoader(*tensors, batch_size=batch_size, shuffle=shuffle, seed=seed,
                                device=device)
    return CourseDataLoader(dataset, batch_size, shuffle=shuffle, seed=seed, device=device)


# --------------------------------------------------------------------------------------------
# Model placement

def prepare_model(model: nn.Module, device: torch.device | str) -> nn.Module:
    """Move ``model`` to ``device`` with its conv weights stored NHWC (channels last): the
    layout the CPU's convolution library (oneDNN) is fastest with. Same values."""
    return model.to(device=device, memory_format=CHANNELS_LAST)


def _uses_channels_last(model: nn.Module) -> bool:
    return any(p.dim() == 4 and p.is_contiguous(memory_format=CHANNELS_LAST)
               and not p.is_contiguous() for p in model.parameters())


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


def save_state_dict(model: nn.Module, path: str | os.PathLike) -> Path:
    """``torch.save(model.state_dict(), path)`` (the course's method 2), written atomically:
    a temporary name, then a rename, so a crash never leaves half a checkpoint."""
    with atomic_file(path) as f:
        torch.save(model.state_dict(), f)
    return Path(path)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike):
    """``with atomic_file(p) as f: torch.save(x, f)``: ``p`` appears complete when the block
    ends, or not at all (the bytes go to a temporary name first, then it is renamed)."""
    buffer = io.BytesIO()
    buffer.name = str(path)
    yield buffer
    atomic_write_bytes(path, buffer.getvalue())


# --------------------------------------------------------------------------------------------
# Around the course's loop in 27 and 30: one run per folder, --resume, time left

RESUME_FILE = "resume.pt"  # not *.pth: 32_test.py takes the newest *.pth as a model
_STALE_TEMPORARY = re.compile(r"^\.(tudui_\d+\.pth|resume\.pt|summary\.json)\..+\.tmp$")


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


class _QuietWhenClosed:
    """stdout/stderr that go quiet when their reader goes away (``| head -1``, quitting
    ``less``): training goes on and keeps writing checkpoints instead of dying on a
    BrokenPipeError."""

    def __init__(self, stream):
        self._stream, self.reader_gone = stream, False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                return self._stream.write(text)
            except (BrokenPipeError, ValueError):  # ValueError: the stream was closed
                self._go_quiet()
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self._stream.flush()
            except (BrokenPipeError, ValueError):
                self._go_quiet()

    def _go_quiet(self) -> None:
        self.reader_gone = True
        try:  # what Python still flushes at exit now goes nowhere, instead of a second error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass

    def __getattr__(self, name):
        return getattr(self._stream, name)


def quiet_when_output_closes() -> None:
    """Wrap sys.stdout and sys.stderr in _QuietWhenClosed (once)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, _QuietWhenClosed):
            setattr(sys, name, _QuietWhenClosed(stream))


def check_checkpoint_names(folder: str | os.PathLike) -> None:
    """A folder (or anything but a file) named like a checkpoint is a CourseError: the run
    could neither replace it nor read it."""
    folder = Path(folder)
    for path in folder.iterdir() if folder.is_dir() else []:
        if (_EPOCH_FILE.match(path.name) or path.name == RESUME_FILE) and not path.is_file():
            kind = "a folder" if path.is_dir() else "not a regular file"
            raise CourseError(
                f"{path} is {kind}, but this lesson keeps a checkpoint file under that name. "
                "Move or delete it, or train into another folder with --log-dir.",
                f"{path} 不是普通文件（例如是一个文件夹），而本课要用这个名字保存检查点。请移走或删除它，"
                "或者用 --log-dir 换一个文件夹。")


def remove_stale_temporary_files(folder: str | os.PathLike) -> int:
    """Delete ``.tudui_<i>.pth.*.tmp`` (and the like) left by runs killed while writing.

    Call it only while holding the folder's lock: a running run's temporary files are live."""
    folder = Path(folder)
    stale = [p for p in folder.iterdir() if _STALE_TEMPORARY.match(p.name) and p.is_file()] \
        if folder.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


class TrainingRun:
    """Everything 27 and 30 do around the course's loop that the video does not: one run per
    folder (a lock), a fresh TensorBoard folder, --resume, the time left, the result dict.

    ``args`` is the lesson's parsed flags (``resume``, ``shuffle``, ``seed``, ``batch_size``,
    ``lr``, ``bf16``, ``quick``; missing ones count as off).
    """

    def __init__(self, folder: str | os.PathLike, args, device: torch.device,
                 log_every: int = 100):
        self.folder, self.args, self.device, self.log_every = Path(folder), args, device, log_every
        quiet_when_output_closes()
        self.lock = lock_folder(self.folder)
        check_checkpoint_names(self.folder)
        remove_stale_temporary_files(self.folder)
        # Always a fresh event file: on --resume the history is written into it again.
        for old in self.folder.glob("events.out.tfevents.*"):
            with contextlib.suppress(OSError):  # Windows: still open in this process
                old.unlink()
        self.settings = {k: getattr(args, k, None) for k in
                         ("quick", "batch_size", "lr", "shuffle", "seed", "bf16")}
        self.step_losses: list = []   # this run's losses, one per step (tensors until read back)
        self.history: list[dict] = []
        self.epochs_done = self.first_epoch = 0
        self.checkpoint: Path | None = None
        self.started = self.epoch_started = time.perf_counter()
        data_root = getattr(args, "data_root", None)
        if data_root is not None:
            from tudui.data import cifar10_is_synthetic, synthetic_banner

            if cifar10_is_synthetic(data_root):
                print(synthetic_banner("CIFAR-10"))

    def dataloader(self, dataset: Dataset, shuffle: bool = False, device=None):
        """The course's ``DataLoader(dataset, batch_size=64)``: the same batches, faster."""
        return make_loader(dataset, self.args.batch_size, shuffle=shuffle, seed=self.args.seed,
                           device=device or self.device,
                           fast=not getattr(self.args, "slow_loader", False))

    def start(self, model: nn.Module, optimizer, writer, train_dataloader) -> tuple[int, int]:
        """A new run removes the old checkpoints; --resume loads the last complete epoch
        (weights, optimizer, steps), draws its history again and returns
        (total_train_step, total_test_step) to go on from."""
        atexit.register(writer.close)  # an interrupted run still flushes its last points
        self.writer = writer
        if not getattr(self.args, "resume", False):
            removed = remove_epoch_checkpoints(self.folder)
            (self.folder / RESUME_FILE).unlink(missing_ok=True)
            if removed:
                print(f"新的一轮训练：删除了上次的 {removed} 个检查点 / a new run: removed the "
                      f"previous run's {removed} checkpoint(s) from {self.folder}")
            return 0, 0
        state = self._resume_state()
        self.checkpoint = epoch_checkpoint_path(self.folder, state["epoch"] - 1)
        load_checkpoint(self.checkpoint, model, map_location=self.device)
        optimizer.load_state_dict(state["optimizer"])
        self.epochs_done = self.first_epoch = state["epoch"]
        self.step_losses, self.history = list(state["step_losses"]), list(state["history"])
        train_dataloader.set_epoch(self.epochs_done)  # the next epoch's order, as if never cut
        for step in range(self.log_every, len(self.step_losses) + 1, self.log_every):
            writer.add_scalar("train_loss", self.step_losses[step - 1], step)
        for past in self.history:
            writer.add_scalar("test_loss", past["test_loss"], past["epoch"] - 1)
            writer.add_scalar("test_accuracy", past["test_accuracy"], past["epoch"] - 1)
        print(f"从 {self.checkpoint.name} 继续 / resuming after epoch {self.epochs_done}")
        if self.epochs_done >= self.args.epochs:
            print(f"已经训练了 {self.epochs_done} 轮，无需继续；要多训练几轮请加 --epochs N"
                  f"（N > {self.epochs_done}）。\n{self.epochs_done} epochs are already done, "
                  f"nothing to train; pass --epochs N with N > {self.epochs_done} to train further.")
        return len(self.step_losses), self.epochs_done

    def _resume_state(self) -> dict:
        path = self.folder / RESUME_FILE
        if not path.is_file():
            found = "checkpoints but no " + RESUME_FILE if last_epoch_checkpoint(self.folder) \
                else "no checkpoint"
            raise CourseError(
                f"--resume: {self.folder} has {found} yet (this lesson writes it after each epoch). "
                "Run without --resume first.",
                f"--resume：{self.folder} 里还没有可以继续的检查点（{RESUME_FILE}），请先不加 --resume 训练。")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            epoch, saved = int(state["epoch"]), state["settings"]
            assert epoch >= 1 and isinstance(saved, dict) and state["optimizer"]
        except Exception as err:
            raise CourseError(
                f"--resume: {path} cannot be read ({type(err).__name__}): it is damaged or was not "
                "written by this lesson. Start a new run without --resume.",
                f"--resume：无法读取 {path}（已损坏或不是本课写的），请去掉 --resume 重新训练。") from None
        changed = {k: (saved.get(k), v) for k, v in self.settings.items()
                   if k in saved and saved.get(k) != v}
        if changed:
            listed = ", ".join(f"{k}: {old} -> {new}" for k, (old, new) in changed.items())
            raise CourseError(
                f"--resume: {self.folder} was trained with other settings ({listed}). Resume with "
                "the same flags as the interrupted run, or start a new run without --resume.",
                f"--resume：{self.folder} 的训练设置不同（{listed}）。请用与中断那次相同的参数继续，"
                "或者去掉 --resume 重新训练。")
        return state

    def atomic_file(self, name: str):
        """``with run.atomic_file("tudui_0.pth") as f: torch.save(..., f)`` in the run's folder."""
        self.checkpoint = self.folder / name
        return atomic_file(self.checkpoint)

    def end_epoch(self, optimizer, total_test_loss: float, test_accuracy: float) -> None:
        """After the epoch's checkpoint: its row of history, the --resume file, the time left."""
        self.epochs_done += 1
        losses = [x for x in self.step_losses if isinstance(x, torch.Tensor)]
        epoch_losses = torch.stack(losses).float().tolist() if losses else []  # one read-back
        self.step_losses = self.step_losses[:len(self.step_losses) - len(losses)] + epoch_losses
        now = time.perf_counter()
        self.history.append({"epoch": self.epochs_done, "test_loss": total_test_loss,
                             "test_accuracy": test_accuracy, "seconds": now - self.epoch_started,
                             "train_loss": sum(epoch_losses) / max(len(epoch_losses), 1)})
        self.epoch_started = now
        if getattr(self.args, "resume", None) is not None:  # lessons with --resume
            with atomic_file(self.folder / RESUME_FILE) as f:
                torch.save({"epoch": self.epochs_done, "optimizer": optimizer.state_dict(),
                            "step_losses": self.step_losses, "history": self.history,
                            "settings": self.settings}, f)
        print(time_left_line(self.epochs_done - self.first_epoch,
                             self.args.epochs - self.first_epoch, now - self.started))

    def finish(self, **extra) -> dict:
        """Release the folder and return what a test needs to check."""
        atexit.unregister(self.writer.close)
        self.lock.release()
        last = self.history[-1] if self.history else {}
        return {"step_losses": self.step_losses, "history": self.history,
                "test_accuracy": last.get("test_accuracy"), "test_loss": last.get("test_loss"),
                "checkpoint": str(self.checkpoint) if self.checkpoint else None,
                "epochs": self.args.epochs, "batch_size": self.args.batch_size,
                "lr": self.args.lr, "device": str(self.device), "log_dir": str(self.folder),
                **extra}
