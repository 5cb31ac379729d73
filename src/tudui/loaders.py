"""The course's ``DataLoader(dataset, batch_size=64)``, faster: ``FastDataLoader`` (what 27 and 30
call), ``make_loader`` and ``TensorLoader``.

CIFAR-10 with the course's ``ToTensor()`` comes out as whole-batch slices of one uint8 tensor:
the same numbers ``DataLoader`` + ``ToTensor`` produce, in the same order, without turning every
picture into a PIL image and back one at a time. The batches are "channels last" (NHWC in
memory), the layout the CPU's convolution library (oneDNN) is fastest with; CIFAR-10's own bytes
already are, so that costs nothing. Same values, different order in memory.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler, Subset

CHANNELS_LAST = torch.channels_last
PAD = 4  # TensorLoader(augment=True)'s default: RandomCrop(32, padding=4)

def crop_flip(padded: torch.Tensor, flip: torch.Tensor, size: int = 32,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Random ``size`` x ``size`` crops of a padded batch, mirrored where ``flip`` is True.

    One indexing step on the device, no Python loop over images: ``unfold`` views every
    ``size`` x ``size`` window of the batch without copying, each image picks its own window
    (a block copy), and the mirrored ones are read backwards. The offsets come from
    ``generator`` when given (drawn where it lives, then moved), else from torch's global RNG.
    """
    n, channels, height, width = padded.shape
    device = padded.device
    where = generator.device if generator is not None else device
    top = torch.randint(0, height - size + 1, (n,), generator=generator, device=where).to(device)
    left = torch.randint(0, width - size + 1, (n,), generator=generator, device=where).to(device)
    windows = padded.unfold(2, size, 1).unfold(3, size, 1)   # [n, C, rows, cols, size, size]
    crops = windows[torch.arange(n, device=device), :, top, left]          # [n, C, size, size]
    return torch.where(flip[:, None, None, None], crops.flip(-1), crops)


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
    where to go on after ``--resume``). ``augment``: random crop (zero ``padding``, 4 as in the
    usual ``RandomCrop(32, padding=4)``) + horizontal flip, drawn from the same per-epoch seed. ``mean``/``std``: per-channel normalization.
    ``channels_last``: the memory layout the CPU's convolutions are fastest with (a view of
    CIFAR-10's own [N,H,W,C] bytes already is, without copying).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int,
                 shuffle: bool = False, seed: int = 0, device: torch.device | str | None = None,
                 augment: bool = False, mean: torch.Tensor | None = None,
                 std: torch.Tensor | None = None, channels_last: bool = True,
                 padding: int = PAD):
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
        self.padding = padding

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
                padded = nn.functional.pad(pictures, (self.padding,) * 4)  # zeros, as RandomCrop's
                pictures = crop_flip(padded, flip.to(self.device), generator=generator)
                if self.channels_last:
                    pictures = pictures.contiguous(memory_format=CHANNELS_LAST)
            x = pictures.float().div_(255)  # ToTensor's own formula, layout kept
            if self.mean is not None:  # Normalize(mean, std)
                x = x.sub_(self.mean).div_(self.std)
            yield x, labels


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
    from torchvision import transforms

    if isinstance(transform, transforms.ToTensor):
        return True
    return (isinstance(transform, transforms.Compose) and len(transform.transforms) == 1
            and isinstance(transform.transforms[0], transforms.ToTensor))


def tensor_images(dataset: Dataset, channels_last: bool = False
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """A CIFAR10 (or a Subset of one) as uint8 images [N,3,32,32] and int64 labels [N].

    ``channels_last=True``: a view of CIFAR-10's own [N,H,W,C] bytes (no copy); else a
    contiguous copy in the usual [N,C,H,W] order."""
    indices = None
    while isinstance(dataset, Subset):
        indices = (list(dataset.indices) if indices is None
                   else [dataset.indices[i] for i in indices])
        dataset = dataset.dataset
    data, targets = dataset.data, np.asarray(dataset.targets)
    if indices is not None:
        data, targets = data[indices], targets[indices]
    images = torch.from_numpy(np.ascontiguousarray(data)).permute(0, 3, 1, 2)
    layout = CHANNELS_LAST if channels_last else torch.contiguous_format
    return images.contiguous(memory_format=layout), torch.from_numpy(targets).long()


def _plain_cifar(dataset: Dataset) -> bool:
    """True for a CIFAR-like data set (or Subset of one) with ToTensor as its only transform."""
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    data = getattr(dataset, "data", None)
    return (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 4
            and data.shape[-1] in (1, 3) and getattr(dataset, "targets", None) is not None
            and _is_plain_to_tensor(getattr(dataset, "transform", None))
            and getattr(dataset, "target_transform", None) is None
            and getattr(dataset, "transforms", None) is not None)


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool = False, seed: int = 0,
                device: torch.device | str | None = None, fast: bool = True):
    """The course's ``DataLoader(dataset, batch_size)``, as a TensorLoader when it can.

    Same batches either way, on ``device``. ``fast=False`` (or a data set with other transforms)
    gives the course's DataLoader with ``num_workers=0`` (on Windows, worker processes need
    extra care; see the DataLoader lesson).
    """
    if fast:
        if _plain_cifar(dataset):
            return TensorLoader(*tensor_images(dataset, channels_last=True),
                                batch_size=batch_size, shuffle=shuffle, seed=seed, device=device)
    return CourseDataLoader(dataset, batch_size, shuffle=shuffle, seed=seed, device=device)


class FastDataLoader:
    """``DataLoader(dataset, batch_size=64)`` as 27 and 30 write it: the same batches, faster.

    For CIFAR10 with ``ToTensor()`` (or a Subset of it) the batches are cut from one uint8 tensor
    (``TensorLoader``): the numbers ``DataLoader`` + ``ToTensor`` give, bit for bit, in the same
    order, channels last. Any other data set, or ``slow=True`` (``--slow-loader``), gets the
    course's ``DataLoader`` itself (``num_workers=0``). Ours: ``shuffle`` draws the order of each
    epoch from ``seed`` (so ``--resume`` can go on with it), ``device`` is where the batches go.
    """

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False, *,
                 seed: int = 0, device: torch.device | str | None = None, slow: bool = False):
        self.loader = make_loader(dataset, batch_size, shuffle=shuffle, seed=seed, device=device,
                                  fast=not slow)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        return iter(self.loader)

    def set_epoch(self, epoch: int) -> None:
        """The epoch the next pass is (for --resume with --shuffle)."""
        self.loader.set_epoch(epoch)
