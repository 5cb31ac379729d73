"""Lesson 35's parts: the course model with optional ReLU / BatchNorm, and a fast tensor loader.

The loader keeps the whole data set as one uint8 tensor and cuts batches from it, so shuffling,
per-channel normalization and augmentation (random crop with padding, horizontal flip) are a
few tensor operations per batch instead of one PIL image at a time: on a 2-core CPU that is the
difference between the data path and the model taking most of the time.
"""

from __future__ import annotations

import torch
from torch import nn


class BetterTudui(nn.Module):
    """The course's Tudui layout (32-32-64 conv5, pool, 1024→64→10), with optional extras.

    ``relu=True`` puts a ReLU after each conv and after the first linear layer; ``batchnorm=True``
    puts a BatchNorm after each conv. With neither, the layers and the state_dict keys
    (``model1.0.weight`` ...) are exactly those of ``tudui.models.Tudui``.
    """

    def __init__(self, relu: bool = False, batchnorm: bool = False, num_classes: int = 10):
        super().__init__()
        layers: list[nn.Module] = []
        for c_in, c_out in [(3, 32), (32, 32), (32, 64)]:
            layers.append(nn.Conv2d(c_in, c_out, 5, padding=2))
            if batchnorm:
                layers.append(nn.BatchNorm2d(c_out))
            if relu:
                layers.append(nn.ReLU(inplace=True))
            layers.append(nn.MaxPool2d(2))
        layers += [nn.Flatten(), nn.Linear(64 * 4 * 4, 64)]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Linear(64, num_classes))
        self.model1 = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model1(x)


def channel_stats(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of uint8 images [N,3,H,W], on the 0-1 scale ToTensor gives."""
    x = images.float().div_(255)
    return x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3))


def random_crop_flip(batch: torch.Tensor, padding: int = 4,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """RandomCrop(32, padding=4) + RandomHorizontalFlip for a whole batch [B,C,H,W] at once.

    Each image gets its own shift (zero padding, as torchvision's RandomCrop) and its own coin
    for the flip, like the per-image transforms, but in a few tensor operations.
    """
    b, c, h, w = batch.shape
    padded = nn.functional.pad(batch, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (b, 1, 1), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (b, 1, 1), generator=generator)
    flip = torch.rand(b, 1, 1, generator=generator) < 0.5
    cols = torch.arange(w).view(1, 1, w)
    cols = torch.where(flip, w - 1 - cols, cols) + dx          # a flip reads the columns backwards
    rows = torch.arange(h).view(1, h, 1) + dy
    # where each output pixel comes from in the flattened padded picture; gather is one fast pass
    index = (rows * (w + 2 * padding) + cols).view(b, 1, h * w).expand(b, c, h * w)
    return padded.flatten(2).gather(2, index).view(b, c, h, w)


class TensorBatches:
    """Batches of (float images, labels) cut from uint8 images [N,3,32,32] held in memory.

    ``shuffle``: a new random order every pass (else the file order, as the course).
    ``mean``/``std``: normalize per channel (else only /255, as ToTensor). ``augment``: random
    crop + flip, training batches only. ``channels_last``: the memory layout CPUs convolve fastest.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 64,
                 shuffle: bool = False, augment: bool = False, mean: torch.Tensor | None = None,
                 std: torch.Tensor | None = None, generator: torch.Generator | None = None,
                 channels_last: bool = True):
        self.images, self.labels, self.batch_size = images, labels, batch_size
        self.shuffle, self.augment, self.generator = shuffle, augment, generator
        self.channels_last = channels_last
        self.mean = None if mean is None else mean.view(1, -1, 1, 1)
        self.std = None if std is None else std.view(1, -1, 1, 1)

    def __len__(self) -> int:
        return (len(self.labels) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        n = len(self.labels)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            idx = slice(start, start + self.batch_size) if order is None else \
                order[start:start + self.batch_size]
            x = self.images[idx]
            if self.augment:
                x = random_crop_flip(x, generator=self.generator)
            x = x.float().div_(255)                       # ToTensor's scaling, bit for bit
            if self.mean is not None:                     # Normalize(mean, std)
                x = x.sub_(self.mean).div_(self.std)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            yield x, self.labels[idx]
