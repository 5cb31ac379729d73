"""CIFAR-10 for the lessons: ``CIFAR10`` (torchvision's class, read safely), ``cifar10`` (how the
course loads it) and the notices for a stand-in and for a non-official copy.

Learners are often offline or behind blocked downloads. Every loader here works on the real data
when it is there, explains in one paragraph what to do when it is not, and accepts the stand-ins
that ``src/00_prepare_data.py --synthetic`` writes in exactly the real on-disk format, and the
copies ``--from-images`` rebuilds from a picture folder (it prints a one-line notice when it
reads one). How the files are checked lives in ``tudui.infra.cifar10_files``.
"""

from __future__ import annotations

import os

import torchvision
from torch.utils.data import Dataset, Subset
from torchvision import transforms
from torchvision.datasets.vision import VisionDataset

from tudui.infra import cifar10_files
from tudui.infra.cifar10_files import CIFAR10_CLASSES, CIFAR10_DIR
from tudui.infra.downloads import DownloadFailed
from tudui.infra.markers import (
    is_rebuilt,
    is_synthetic,
    rebuilt_banner,
    rebuilt_source,
    synthetic_banner,
)
from tudui.paths import absolute

__all__ = ["CIFAR10", "CIFAR10_CLASSES", "QUICK_TEST_SIZE", "QUICK_TRAIN_SIZE", "cifar10",
           "cifar10_is_rebuilt", "cifar10_is_synthetic", "synthetic_banner"]

QUICK_TRAIN_SIZE = 512  # --quick trains on this many CIFAR-10 images...
QUICK_TEST_SIZE = 256   # ...and tests on this many


def cifar10_is_synthetic(root: str | os.PathLike) -> bool:
    """True when ``root`` holds the synthetic CIFAR-10 stand-in."""
    return is_synthetic(absolute(root) / CIFAR10_DIR)


def cifar10_is_rebuilt(root: str | os.PathLike) -> bool:
    """True when ``root`` holds a non-official copy rebuilt from pictures (``--from-images``)."""
    return is_rebuilt(absolute(root) / CIFAR10_DIR)


_announced: set[str] = set()  # rebuilt copies whose notice this process has printed


def _announce_rebuilt(folder) -> None:
    """Print the non-official-copy notice once per folder and process. Printed here, where the
    data is read, so that every lesson says it without a line of its own."""
    if is_rebuilt(folder) and str(folder) not in _announced:
        _announced.add(str(folder))
        print(rebuilt_banner("CIFAR-10", rebuilt_source(folder)))


class CIFAR10(torchvision.datasets.CIFAR10):
    """``torchvision.datasets.CIFAR10``, called the same way, read safely.

    ``CIFAR10(root, train=True, transform=None, target_transform=None, download=False)`` gives
    what torchvision's class gives (``data`` uint8 [N,32,32,3], ``targets``, ``classes``,
    ``class_to_idx``, ``dataset[i] == (PIL image or transform(image), label)``), with these
    differences:

    - every file is read with an unpickler that cannot run code, and checked: md5 for the real
      files, the sha256 its SYNTHETIC.txt (REBUILT.txt) recorded for a stand-in (a copy rebuilt
      from pictures, announced in one line), then shapes, dtype, labels;
    - ``download=True`` downloads (when the folder is missing) to a ``.part`` file that the next
      run continues (also after Ctrl-C), from the mirrors in $TUDUI_CIFAR10_URL first, then the
      official URL, md5-checked; a stand-in already there is used, never downloaded over;
    - missing or damaged data is a CourseError that says what to run, not a RuntimeError;
    - ``first=N`` (ours) reads only the files that hold the first N pictures (``cifar10``'s
      quick runs: data_batch_1 alone instead of all five).
    """

    def __init__(self, root: str | os.PathLike, train: bool = True, transform=None,
                 target_transform=None, download: bool = False, *,
                 first: int | None = None) -> None:
        # torchvision's __init__ would pickle.load the files itself: only its base class runs
        VisionDataset.__init__(self, root, transform=transform,
                               target_transform=target_transform)
        self.train = train
        root = absolute(root)
        folder = root / self.base_folder
        if not (folder.is_dir() and any(folder.iterdir())):
            if not download:
                raise cifar10_files.cifar10_missing_error(root, None, downloads=False)
            self.download()
        self.data, self.targets, classes = cifar10_files.load_cifar10_arrays(root, train, first)
        _announce_rebuilt(folder)
        self.classes, self.class_to_idx = classes, {c: i for i, c in enumerate(classes)}

    def download(self) -> None:
        """Our verified download (resumed ``.part``, mirrors, md5) instead of torchvision's."""
        try:
            cifar10_files.prepare_real_cifar10(self.root)
        except DownloadFailed as err:
            raise cifar10_files.cifar10_missing_error(absolute(self.root), err) from None


def cifar10(root: str | os.PathLike, train: bool, transform=None,
            quick: bool = False) -> Dataset:
    """``CIFAR10(root, train=train, transform=transform, download=True)`` as the course loads it;
    ``transform`` defaults to ``ToTensor()``. ``quick=True`` returns the first
    QUICK_TRAIN_SIZE / QUICK_TEST_SIZE images only (a Subset), for the tour and tests."""
    transform = transform if transform is not None else transforms.ToTensor()
    size = (QUICK_TRAIN_SIZE if train else QUICK_TEST_SIZE) if quick else None
    dataset = CIFAR10(root, train=train, transform=transform, download=True, first=size)
    if quick:
        dataset = Subset(dataset, range(min(size, len(dataset))))
    return dataset
