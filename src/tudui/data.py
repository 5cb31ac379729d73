"""Data sets: CIFAR-10 (real, manually placed, or a synthetic stand-in in the real format).

Learners are often offline or behind blocked downloads. Every loader here works on the real
data when it is there, explains in one paragraph what to do when it is not, and accepts the
stand-ins that ``src/00_prepare_data.py --synthetic`` writes in exactly the real on-disk format.
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch.utils.data import Dataset, Subset
from torchvision import transforms

from tudui.errors import CourseError
from tudui.paths import DATASET_DIR, atomic_write_bytes, shell_quote

SYNTHETIC_MARKER = "SYNTHETIC.txt"
STAND_IN_VERSION = 2  # raise when the generators change, so old stand-ins are made again
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
CIFAR10_DIR = "cifar-10-batches-py"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch", "batches.meta")

QUICK_TRAIN_SIZE = 512  # --quick trains on this many CIFAR-10 images...
QUICK_TEST_SIZE = 256   # ...and tests on this many
LABEL_NOISE = 0.2       # share of stand-in CIFAR-10 test labels drawn at random (see below)


def is_synthetic(folder: str | os.PathLike) -> bool:
    """True when ``folder`` holds a generated stand-in (it has the marker file)."""
    return (Path(folder) / SYNTHETIC_MARKER).is_file()


def synthetic_banner(name: str) -> str:
    """The one line lessons print when they run on stand-in data."""
    return (f"[stand-in data] {name} 是生成的替代数据，不是真实数据集 / is a generated stand-in, "
            "not the real data set: numbers will differ from the video.")


def write_marker(folder: Path, what: str, seed: int, sizes: dict[str, int] | None = None) -> None:
    """Mark ``folder`` as synthetic, saying how it was made (and, if given, each file's size)."""
    text = marker_text(what, seed) + "".join(f"{name}: {size} bytes\n"
                                             for name, size in (sizes or {}).items())
    atomic_write_bytes(Path(folder) / SYNTHETIC_MARKER, text.encode())


class CIFAR10(torchvision.datasets.CIFAR10):
    """torchvision's CIFAR10; on a synthetic stand-in it skips the md5 checks, nothing else."""

    def _check_integrity(self) -> bool:
        folder = Path(self.root) / self.base_folder
        if is_synthetic(folder):
            names = [n for n, _ in self.train_list + self.test_list] + [self.meta["filename"]]
            return all((folder / n).is_file() for n in names)
        return super()._check_integrity()

    def _load_meta(self) -> None:
        folder = Path(self.root) / self.base_folder
        if not is_synthetic(folder):
            return super()._load_meta()
        with open(folder / self.meta["filename"], "rb") as f:
            self.classes = pickle.load(f, encoding="latin1")[self.meta["key"]]
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}


def prepare_command(root: str | os.PathLike, *flags: str) -> str:
    """The 00_prepare_data command a learner should run for ``root`` (with --data-root if needed)."""
    extra = [] if Path(root).resolve() == DATASET_DIR.resolve() else \
        ["--data-root", shell_quote(str(root))]
    return " ".join(["python src/00_prepare_data.py", *flags, *extra])


def _cifar_missing_error(root: Path, cause: BaseException | None) -> CourseError:
    reason = f" ({cause})" if cause else ""
    real, synthetic = prepare_command(root), prepare_command(root, "--synthetic")
    return CourseError(
        f"CIFAR-10 is not in {root} and could not be downloaded{reason}. Either download "
        f"{CIFAR10_ARCHIVE} (163 MB, {CIFAR10_URL}, or a mirror/网盘 copy), put the file "
        f"itself into {root}/ and run `{real}` (it is checked and unpacked), or run "
        f"`{synthetic}` to generate an offline stand-in so every lesson can run.",
        f"在 {root} 中找不到 CIFAR-10，且下载失败。请把 {CIFAR10_ARCHIVE} 放到 {root}/ 目录后运行 "
        f"`{real}`，或运行 `{synthetic}` 生成离线替代数据。",
    )


def _stand_in_problem(folder: Path) -> str | None:
    """None when every file of a CIFAR-10 stand-in is there and unpickles (slow: error path)."""
    missing, damaged = [], []
    for name in CIFAR10_FILES:
        if not (folder / name).is_file():
            missing.append(name)
            continue
        try:
            with open(folder / name, "rb") as f:
                pickle.load(f, encoding="latin1")
        except Exception as err:  # truncated: EOFError / UnpicklingError; garbage: many kinds
            damaged.append(f"{name} ({type(err).__name__}: {err})")
    return _listing(missing, damaged, "cannot be read")


def _listing(missing: list[str], damaged: list[str], how: str) -> str | None:
    """"missing: a, b; damaged (how): c" or None when both lists are empty."""
    parts = ([f"missing: {', '.join(missing)}"] if missing else []) + \
        ([f"damaged ({how}): {', '.join(damaged)}"] if damaged else [])
    return "; ".join(parts) or None


def _cifar_damaged_error(root: Path, problem: str) -> CourseError:
    folder = root / CIFAR10_DIR
    if is_synthetic(folder):
        fix = prepare_command(root, "--synthetic")
        how = "it writes the stand-in again"
    else:
        fix = prepare_command(root)
        how = (f"it unpacks {CIFAR10_ARCHIVE} again if it is in {root}/, else downloads it; "
               "the folder is replaced only once the new copy is verified")
    return CourseError(
        f"CIFAR-10 in {folder} is damaged ({problem}). Re-create it: run `{fix}` ({how}). "
        "If your data lives in another folder, point --data-root there.",
        f"{folder} 中的 CIFAR-10 文件损坏或不完整（{problem}）。请运行 `{fix}` 重新生成/下载；"
        "如果数据在别的目录，请用 --data-root 指定。",
    )


def cifar10(root: str | os.PathLike, train: bool, transform=None, download: bool = True,
            quick: bool = False) -> Dataset:
    """CIFAR-10 as the course loads it (``download=True``), with a clear error when that fails.

    The download is 00_prepare_data's (``prepare_real_cifar10``), not torchvision's: it gives
    up after DOWNLOAD_TIMEOUT_S without data instead of hanging, writes to a ``.part`` file
    renamed only once the md5 matches, and reports (and removes) a damaged archive.
    ``transform`` defaults to ``ToTensor()``. ``quick=True`` returns the first
    QUICK_TRAIN_SIZE / QUICK_TEST_SIZE images only (a Subset), for the tour and tests.
    """
    root = Path(root)
    folder = root / CIFAR10_DIR
    transform = transform if transform is not None else transforms.ToTensor()
    if not (folder.is_dir() and any(folder.iterdir())):
        if not download:
            raise _cifar_missing_error(root, None)
        try:
            prepare_real_cifar10(root)
        except DownloadFailed as err:
            raise _cifar_missing_error(root, err) from None
    try:
        dataset = CIFAR10(str(root), train=train, transform=transform, download=False)
    except Exception:  # a failed md5 check (RuntimeError) or a file that won't unpickle
        problem = _stand_in_problem(folder) if is_synthetic(folder) else \
            _cifar_folder_problem(folder)
        if problem is None:
            raise
        raise _cifar_damaged_error(root, problem) from None
    if quick:
        size = QUICK_TRAIN_SIZE if train else QUICK_TEST_SIZE
        dataset = Subset(dataset, range(min(size, len(dataset))))
    return dataset


def cifar10_is_synthetic(root: str | os.PathLike) -> bool:
    """True when ``root`` holds the synthetic CIFAR-10 stand-in."""
    return is_synthetic(Path(root) / CIFAR10_DIR)


# --------------------------------------------------------------------------------------------
# Synthetic CIFAR-10: ten visibly different pattern families (stripes, shapes, rings...) in
# random colours, shifted and noisy, so that colour alone does not give the class away and a
# better model or recipe really does learn more.

def _cifar_pattern(label: int, y: np.ndarray, x: np.ndarray, period: np.ndarray,
                   size: np.ndarray) -> np.ndarray:
    """The raw pattern of one class family, before squashing to [0,1]."""
    radius = np.sqrt(x * x + y * y)
    if label == 0:
        return np.sin(2 * np.pi * y / period)                            # horizontal stripes
    if label == 1:
        return np.sin(2 * np.pi * x / period)                            # vertical stripes
    if label == 2:
        return np.sin(2 * np.pi * (x + y) / (1.4 * period))              # diagonal /
    if label == 3:  # not "\" stripes: a mirrored "/" (flip augmentation) must stay class 2
        return np.minimum(size - np.abs(y), (y + size) / 2 - np.abs(x)) / 2   # triangle
    if label == 4:
        return np.sin(2 * np.pi * x / period) * np.sin(2 * np.pi * y / period)  # checks
    if label == 5:
        return (size - radius) / 2                                       # disc
    if label == 6:
        return 2 - np.abs(radius - size) * 1.2                           # ring
    if label == 7:
        return np.maximum(3 - np.abs(x), 3 - np.abs(y))                  # cross
    if label == 8:
        return (size - np.maximum(np.abs(x), np.abs(y))) / 2             # square
    return np.sin(radius * 2 * np.pi / period) - 0.3                     # ripples


def _cifar_patterns(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A [N,32,32] float mask in [0,1], one pattern family per class, randomly shifted."""
    n = len(labels)
    grid = np.arange(32, dtype=np.float32) - 15.5
    dy = rng.uniform(-6, 6, (n, 1, 1)).astype(np.float32)
    dx = rng.uniform(-6, 6, (n, 1, 1)).astype(np.float32)
    period = rng.uniform(5, 9, (n, 1, 1)).astype(np.float32)
    size = rng.uniform(6, 11, (n, 1, 1)).astype(np.float32)
    masks = np.empty((n, 32, 32), dtype=np.float32)
    for label in range(10):
        idx = np.flatnonzero(labels == label)
        y, x = grid[None, :, None] - dy[idx], grid[None, None, :] - dx[idx]
        masks[idx] = _cifar_pattern(label, y, x, period[idx], size[idx])
    return 1 / (1 + np.exp(-3 * masks))


def make_synthetic_cifar10_arrays(n: int, seed: int, noisy_from: int | None = None
                                  ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` stand-in images as uint8 [N,32,32,3] and labels [N], deterministic for ``seed``.

    Labels from index ``noisy_from`` on get LABEL_NOISE random relabelling (see below).
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = np.empty((n, 32, 32, 3), dtype=np.uint8)
    for start in range(0, n, 5000):  # in chunks: the float work for 60,000 images would need 700 MB
        part = labels[start:start + 5000]
        mask = _cifar_patterns(part, rng)[..., None]                      # [n,32,32,1]
        fg = rng.uniform(0, 255, (len(part), 1, 1, 3)).astype(np.float32)
        bg = rng.uniform(0, 255, (len(part), 1, 1, 3)).astype(np.float32)
        chunk = bg + mask * (fg - bg)
        chunk += 18 * rng.standard_normal(chunk.shape, dtype=np.float32)
        images[start:start + len(part)] = np.clip(chunk, 0, 255)
    # Real photos leave the course's model unsure (it stops near 55%); clean patterns do not.
    # On a clean test split, P24 (batch-1 SGD on the TEST split, no activations) grows its
    # weights until the loss overflows within the first epoch. As a stand-in for real confusion,
    # LABEL_NOISE of the labels from ``noisy_from`` on (the test split) are drawn at random: P24's
    # first epochs then look like the video's (running_loss about 17,500 against the course's
    # 18,700) and it overflows only after about 7 epochs, which the lesson explains. The
    # training split stays clean so that short runs learn quickly.
    if noisy_from is not None:
        relabel = rng.random(n - noisy_from) < LABEL_NOISE
        labels[noisy_from:][relabel] = rng.integers(0, 10, int(relabel.sum()))
    return images, labels.astype(np.int64)


def write_synthetic_cifar10(root: str | os.PathLike, train_size: int = 50000,
                            test_size: int = 10000, seed: int = 0) -> Path:
    """Write a stand-in ``<root>/cifar-10-batches-py/`` in torchvision's python pickle format.

    Five ``data_batch_*`` files, ``test_batch``, ``batches.meta`` and the marker (which lists
    each file's size) are written into a temporary folder beside it, renamed into place only
    when complete: an interrupted run (Ctrl-C) never leaves a folder that looks like data.
    """
    root = Path(root)
    folder = root / CIFAR10_DIR
    root.mkdir(parents=True, exist_ok=True)
    images, labels = make_synthetic_cifar10_arrays(train_size + test_size, seed,
                                                   noisy_from=train_size)
    # The real files store each image as 3072 bytes: the red plane, then green, then blue.
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    splits = np.array_split(np.arange(train_size), 5)
    parts = [(f"data_batch_{i + 1}", idx, f"training batch {i + 1} of 5")
             for i, idx in enumerate(splits)]
    parts.append(("test_batch", np.arange(train_size, train_size + test_size),
                  "testing batch 1 of 1"))
    tmp = Path(tempfile.mkdtemp(prefix=f".{CIFAR10_DIR}.", suffix=".tmp", dir=root))
    try:
        new = tmp / CIFAR10_DIR
        new.mkdir()
        for name, idx, batch_label in parts:
            batch = {"batch_label": batch_label, "labels": labels[idx].tolist(),
                     "data": rows[idx], "filenames": [f"synthetic_{i:05d}.png" for i in idx]}
            (new / name).write_bytes(pickle.dumps(batch, protocol=2))
        meta = {"num_cases_per_batch": max(len(s) for s in splits),
                "label_names": list(CIFAR10_CLASSES), "num_vis": 3072}
        (new / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
        write_marker(new, cifar10_stand_in_name(train_size, test_size), seed,
                     sizes={name: (new / name).stat().st_size for name in CIFAR10_FILES})
        remove_tree(folder)
        os.replace(new, folder)
    finally:
        remove_tree(tmp)
    return folder


def tensor_images(dataset: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """A CIFAR10 (or a Subset of one) as uint8 images [N,3,32,32] and int64 labels [N]."""
    indices = None
    while isinstance(dataset, Subset):
        indices = dataset.indices if indices is None else [dataset.indices[i] for i in indices]
        dataset = dataset.dataset
    data, targets = dataset.data, np.asarray(dataset.targets)
    if indices is not None:
        data, targets = data[list(indices)], targets[list(indices)]
    images = torch.from_numpy(np.ascontiguousarray(data)).permute(0, 3, 1, 2).contiguous()
    return images, torch.from_numpy(targets).long()


# --------------------------------------------------------------------------------------------
# Real downloads, verified with torchvision's own helpers, and stand-ins that are reused when
# they are already there (the lesson tour prepares data on every run).

DOWNLOAD_TIMEOUT_S = 60  # a blocked network often drops packets silently: fail, don't hang


class DownloadFailed(Exception):
    """A data set could not be fetched or verified; ``str(err)`` says what happened."""


def marker_text(what: str, seed: int) -> str:
    """The text ``write_marker`` puts in a stand-in folder (compared to decide on reuse)."""
    return (f"This folder is a SYNTHETIC stand-in for {what}, generated with seed {seed} by "
            f"src/00_prepare_data.py --synthetic (generator v{STAND_IN_VERSION}). Delete the folder and run "
            "src/00_prepare_data.py to fetch the real data.\n")


def marker_matches(folder: str | os.PathLike, what: str, seed: int) -> bool:
    """True when ``folder`` is a stand-in made for exactly ``what`` with ``seed``."""
    marker = Path(folder) / SYNTHETIC_MARKER
    return marker.is_file() and \
        marker.read_text(encoding="utf-8").startswith(marker_text(what, seed))


def marker_sizes_match(folder: Path) -> bool:
    """True when every file the marker lists ("name: N bytes") is there with that size.

    A cheap check that catches a truncated stand-in file (reading them all back would take
    seconds, and the tour reuses the stand-ins on every run)."""
    listed = re.findall(r"^(\S+): (\d+) bytes$", (folder / SYNTHETIC_MARKER).read_text("utf-8"),
                        flags=re.MULTILINE)
    return bool(listed) and all((folder / name).is_file() and
                                (folder / name).stat().st_size == int(size)
                                for name, size in listed)


def remove_tree(path: Path) -> None:
    """Delete a folder or file if it is there."""
    import shutil

    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def fetch_archive(root: Path, url: str, filename: str, md5: str | None,
                  looks_valid=lambda path: None) -> tuple[Path, str]:
    """``<root>/<filename>``: a copy already there (downloaded or placed by hand) if it verifies,
    else downloaded with torchvision's ``download_url`` (progress bar, md5 check).

    The download goes to ``<filename>.part`` and is renamed only once verified, so a broken
    connection never leaves a file that looks complete. A copy that fails the check is reported
    and removed. ``looks_valid(path)`` returns a problem string (or None) for archives without a
    published md5. Returns (path, how) with how in {"found", "downloaded"}; raises DownloadFailed.
    """
    import socket

    from torchvision.datasets.utils import check_integrity, download_url

    root.mkdir(parents=True, exist_ok=True)
    path, notes = root / filename, []
    if path.is_file():
        problem = None if check_integrity(str(path), md5) else "its md5 checksum does not match"
        problem = problem or looks_valid(path)
        if problem is None:
            return path, "found"
        path.unlink()
        notes.append(f"the copy of {filename} in {root} was damaged or incomplete ({problem}) "
                     "and has been removed")
        print(f"[!] {notes[-1]}")
    part = root / (filename + ".part")
    part.unlink(missing_ok=True)
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        print(f"下载 / downloading {url} -> {path}")
        download_url(url, str(root), filename=part.name, md5=md5)
        problem = looks_valid(part)
        if problem:
            raise DownloadFailed(f"the downloaded {filename} is not valid ({problem})")
        os.replace(part, path)
        return path, "downloaded"
    except (OSError, RuntimeError, ValueError) as err:  # URLError/timeouts are OSErrors
        notes.append(f"downloading {url} failed ({type(err).__name__}: {err})")
        raise DownloadFailed("; ".join(notes)) from None
    finally:
        socket.setdefaulttimeout(old_timeout)
        part.unlink(missing_ok=True)


def extract_verified(archive: Path, root: Path, folder_name: str, check) -> Path:
    """Unpack ``archive`` into a temporary folder beside ``root/folder_name``, run
    ``check(folder)`` (a problem string or None) and only then rename it into place.

    A truncated or corrupt archive is reported, removed, and leaves nothing behind. An existing
    ``folder_name`` is replaced only once the new one is complete.
    """
    from torchvision.datasets.utils import extract_archive

    tmp = Path(tempfile.mkdtemp(prefix=f".{folder_name}.", suffix=".tmp", dir=root))
    try:
        try:
            extract_archive(str(archive), str(tmp))
        except Exception as err:  # zipfile.BadZipFile, tarfile.ReadError, EOFError, zlib.error...
            problem = f"it cannot be unpacked ({type(err).__name__}: {err})"
        else:
            new = tmp / folder_name
            problem = check(new) if new.is_dir() else f"it has no {folder_name}/ folder inside"
        if problem:
            archive.unlink(missing_ok=True)
            raise DownloadFailed(f"{archive.name} is damaged or not the right file: {problem}. "
                                 "It has been removed; download it again")
        target = root / folder_name
        remove_tree(target)
        os.replace(new, target)
        return target
    finally:
        remove_tree(tmp)


CIFAR10_MD5 = torchvision.datasets.CIFAR10.tgz_md5


def _cifar_folder_problem(folder: Path) -> str | None:
    """None when ``folder`` (a cifar-10-batches-py) has every file with torchvision's md5."""
    from torchvision.datasets.utils import check_integrity

    files = CIFAR10.train_list + CIFAR10.test_list + [[CIFAR10.meta["filename"],
                                                       CIFAR10.meta["md5"]]]
    missing = [name for name, _ in files if not (folder / name).is_file()]
    damaged = [name for name, md5 in files
               if name not in missing and not check_integrity(str(folder / name), md5)]
    return _listing(missing, damaged, "md5 checksum does not match")


def prepare_real_cifar10(root: str | os.PathLike) -> tuple[Path, str]:
    """Make ``<root>/cifar-10-batches-py`` the real, verified CIFAR-10 (downloading if needed).

    Returns (folder, how); replaces a stand-in once the real data is complete; raises
    DownloadFailed with the reason.
    """
    root = Path(root)
    folder = root / CIFAR10_DIR
    if folder.is_dir() and not is_synthetic(folder) and _cifar_folder_problem(folder) is None:
        return folder, "already there, md5 verified"
    archive, how = fetch_archive(root, CIFAR10_URL, CIFAR10_ARCHIVE, CIFAR10_MD5)
    extract_verified(archive, root, CIFAR10_DIR, _cifar_folder_problem)
    return folder, f"{how} {CIFAR10_ARCHIVE}, md5 verified, unpacked"


def cifar10_stand_in_name(train_size: int, test_size: int) -> str:
    """How the CIFAR-10 marker describes a stand-in of this size."""
    return f"CIFAR-10 ({train_size} train / {test_size} test images)"


def ensure_synthetic_cifar10(root: str | os.PathLike, train_size: int = 50000,
                             test_size: int = 10000, seed: int = 0) -> tuple[Path, str]:
    """A CIFAR-10 stand-in in ``root``: reused when one with the same seed and sizes is there
    (every file at the size its marker lists), never written over real data. An unmarked
    folder that is not complete CIFAR-10 is neither kept nor deleted: a CourseError says what
    is wrong and what to do. Returns (folder, what happened)."""
    root = Path(root)
    folder = root / CIFAR10_DIR
    if folder.is_dir() and not is_synthetic(folder) and any(folder.iterdir()):
        problem = _cifar_folder_problem(folder)
        if problem is None:
            return folder, "real data kept (stand-ins never replace real data)"
        raise _unmarked_incomplete_error(root, problem)
    if marker_matches(folder, cifar10_stand_in_name(train_size, test_size), seed) and \
            marker_sizes_match(folder):
        return folder, "stand-in reused"
    write_synthetic_cifar10(root, train_size, test_size, seed)
    return folder, "stand-in written"


def _unmarked_incomplete_error(root: Path, problem: str) -> CourseError:
    folder = root / CIFAR10_DIR
    synthetic, real = prepare_command(root, "--synthetic"), prepare_command(root)
    return CourseError(
        f"{folder} is not complete CIFAR-10 ({problem}) and has no {SYNTHETIC_MARKER}, so it "
        "is not one of our stand-ins either. It is usually left over from an interrupted "
        "download or copy. --synthetic never deletes data it did not write: delete (or move "
        f"away) {folder} yourself, then run `{synthetic}` again; or put {CIFAR10_ARCHIVE} into "
        f"{root}/ and run `{real}` to get the real data.",
        f"{folder} 不是完整的 CIFAR-10（{problem}），也没有 {SYNTHETIC_MARKER} 标记（不是替代数据），"
        f"多半是中断的下载或复制留下的。请先删除（或移走）这个文件夹，再运行 `{synthetic}`；"
        f"或把 {CIFAR10_ARCHIVE} 放进 {root}/ 后运行 `{real}`。",
    )
