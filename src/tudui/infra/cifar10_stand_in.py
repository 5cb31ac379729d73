"""The synthetic CIFAR-10 stand-in, written in exactly the real on-disk format: ten visibly
different pattern families (stripes, shapes, rings...) in random colours, shifted and noisy, so
that colour alone does not give the class away and a better model or recipe really does learn
more. ``00_prepare_data.py --synthetic`` writes it; it is reused while it is complete."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import numpy as np

from tudui.errors import CourseError
from tudui.infra import cifar10_files
from tudui.infra.cifar10_files import CIFAR10_ARCHIVE, CIFAR10_CLASSES, CIFAR10_DIR
from tudui.infra.commands import prepare_command
from tudui.infra.files import replacing_folder
from tudui.infra.markers import (
    SYNTHETIC_MARKER,
    is_rebuilt,
    is_synthetic,
    marker_hashes_match,
    marker_matches,
    write_marker,
)
from tudui.paths import absolute

LABEL_NOISE = 0.2       # share of stand-in CIFAR-10 test labels drawn at random (see below)


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
        # Worked out channel-first ([n,3,32,32]: long rows for numpy), stored channel-last;
        # the same numbers, drawn in the same order, as the channel-last formula
        mask = _cifar_patterns(part, rng)[:, None]                        # [n,1,32,32]
        fg = rng.uniform(0, 255, (len(part), 3, 1, 1)).astype(np.float32)
        bg = rng.uniform(0, 255, (len(part), 3, 1, 1)).astype(np.float32)
        chunk = bg + mask * (fg - bg)
        noise = rng.standard_normal((len(part), 32, 32, 3), dtype=np.float32)
        noise *= 18
        chunk += noise.transpose(0, 3, 1, 2)
        np.clip(chunk, 0, 255, out=chunk)
        images[start:start + len(part)] = chunk.transpose(0, 2, 3, 1)
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
    each file's size and sha256, taken from the bytes written) are written into a temporary
    folder beside it, renamed into place only when complete: an interrupted run (Ctrl-C) never
    leaves a folder that looks like data.
    """
    root = absolute(root)
    folder = root / CIFAR10_DIR
    root.mkdir(parents=True, exist_ok=True)
    images, labels = make_synthetic_cifar10_arrays(train_size + test_size, seed,
                                                   noisy_from=train_size)
    filenames = [f"synthetic_{i:05d}.png" for i in range(len(images))]
    same_stand_in = marker_matches(folder, cifar10_stand_in_name(train_size, test_size), seed)
    with replacing_folder(folder, cifar10_files.written_by_us(folder), same_stand_in) as new:
        new.mkdir()
        written = write_cifar10_files(new, images, labels, train_size, filenames)
        write_marker(new, cifar10_stand_in_name(train_size, test_size), seed, files=written)
    return folder


def write_cifar10_files(new: Path, images: np.ndarray, labels: np.ndarray, train_size: int,
                        filenames: list[str]) -> dict[str, tuple[int, str]]:
    """Write the seven CIFAR-10 files of ``images`` uint8 [N,32,32,3] into the folder ``new``:
    the first ``train_size`` split over five training batches, the rest the test batch.
    Returns {file: (size, sha256)} for the marker."""
    # The real files store each image as 3072 bytes: the red plane, then green, then blue.
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    splits = np.array_split(np.arange(train_size), 5)
    parts = [(f"data_batch_{i + 1}", idx, f"training batch {i + 1} of 5")
             for i, idx in enumerate(splits)]
    parts.append(("test_batch", np.arange(train_size, len(images)), "testing batch 1 of 1"))
    meta = {"num_cases_per_batch": max(len(s) for s in splits),
            "label_names": list(CIFAR10_CLASSES), "num_vis": 3072}
    written = {}
    for name, idx, batch_label in parts:
        batch = {"batch_label": batch_label, "labels": labels[idx].tolist(),
                 "data": rows[idx], "filenames": [filenames[i] for i in idx]}
        written[name] = _write_pickle(new / name, batch)
    written["batches.meta"] = _write_pickle(new / "batches.meta", meta)
    return written


class _HashingFile:
    """A file that keeps the size and sha256 of what is written to it."""

    def __init__(self, file):
        self.file, self.size, self.digest = file, 0, hashlib.sha256()

    def write(self, data) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.file.write(data)


def _write_pickle(path: Path, obj) -> tuple[int, str]:
    """Write ``obj`` as a protocol-2 pickle (the real files' protocol); (size, sha256).
    Streamed to the file: no second 30 MB copy of a batch in memory."""
    with open(path, "wb") as file:
        out = _HashingFile(file)
        pickle.dump(obj, out, protocol=2)
    return out.size, out.digest.hexdigest()


def cifar10_stand_in_name(train_size: int, test_size: int) -> str:
    """How the CIFAR-10 marker describes a stand-in of this size."""
    return f"CIFAR-10 ({train_size} train / {test_size} test images)"


def ensure_synthetic_cifar10(root: str | os.PathLike, train_size: int = 50000,
                             test_size: int = 10000, seed: int = 0) -> tuple[Path, str]:
    """A CIFAR-10 stand-in in ``root``: reused when one with the same seed and sizes is there
    and intact (every file with the size and sha256 its marker lists: one damaged in place is
    written again), never written over real data; files a learner added to it stay (kept in
    place on reuse, moved aside on a rewrite). An unmarked folder that is not complete CIFAR-10
    is neither kept nor deleted: a CourseError says what is wrong and what to do. Returns
    (folder, what happened)."""
    root = absolute(root)
    folder = root / CIFAR10_DIR
    if is_rebuilt(folder):
        return folder, "non-official copy kept (rebuilt from pictures; stand-ins never replace it)"
    if folder.is_dir() and not is_synthetic(folder) and any(folder.iterdir()):
        problem = cifar10_files.cifar10_folder_problem(folder)
        if problem is None:
            return folder, "real data kept (stand-ins never replace real data)"
        raise _unmarked_incomplete_error(root, problem)
    if marker_matches(folder, cifar10_stand_in_name(train_size, test_size), seed) and \
            marker_hashes_match(folder):
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
