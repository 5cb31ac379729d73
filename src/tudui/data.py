"""Data sets: CIFAR-10 (real, manually placed, or a synthetic stand-in in the real format).

Learners are often offline or behind blocked downloads. Every loader here works on the real
data when it is there, explains in one paragraph what to do when it is not, and accepts the
stand-ins that ``src/00_prepare_data.py --synthetic`` writes in exactly the real on-disk format.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import pickle
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch.utils.data import Dataset, Subset
from torchvision import transforms
from torchvision.datasets.vision import VisionDataset

from tudui.errors import CourseError
from tudui.paths import DATASET_DIR, atomic_write_bytes, shell_quote

SYNTHETIC_MARKER = "SYNTHETIC.txt"
STAND_IN_VERSION = 3  # raise when the generators change, so old stand-ins are made again
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


def absolute(path: str | os.PathLike) -> Path:
    """``path`` made absolute (``~`` expanded, ``..`` folded, symlinks kept), for messages that
    must not depend on the folder the learner started from."""
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def write_marker(folder: Path, what: str, seed: int,
                 files: dict[str, tuple[int, str]] | None = None) -> None:
    """Mark ``folder`` as synthetic, saying how it was made and, if given, each file's size and
    sha256 ({name: (size, hex digest)}, computed from the bytes just written)."""
    text = marker_text(what, seed) + "".join(f"{name}: {size} bytes, sha256 {digest}\n"
                                             for name, (size, digest) in (files or {}).items())
    atomic_write_bytes(Path(folder) / SYNTHETIC_MARKER, text.encode())


_MARKER_LINE = re.compile(r"^(\S+): (\d+) bytes, sha256 ([0-9a-f]{64})$", flags=re.MULTILINE)


def marker_files(folder: Path) -> dict[str, tuple[int, str]]:
    """{name: (size, sha256)} of the files the stand-in marker in ``folder`` lists."""
    try:
        text = (Path(folder) / SYNTHETIC_MARKER).read_text("utf-8", errors="replace")
    except OSError:
        return {}
    return {name: (int(size), digest) for name, size, digest in _MARKER_LINE.findall(text)}


# --------------------------------------------------------------------------------------------
# Reading CIFAR-10 files without letting them run code.
#
# The batches are Python pickles, and pickle.load runs whatever function a file names. A folder
# copied from a 网盘 or a classmate (with or without a SYNTHETIC.txt) could therefore run a
# program. Our unpickler resolves only the names the real files (and our stand-ins) use; any
# other name stops the load before anything is called.

try:  # numpy >= 2 (the stand-ins it writes name numpy._core)
    from numpy._core.multiarray import _reconstruct as _np_reconstruct
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct as _np_reconstruct


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles of bytes use it, for latin-1 only."""
    if codecs.lookup(encoding).name != "iso8859-1":
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


CIFAR10_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _np_reconstruct,   # the real files (numpy 1)
    ("numpy._core.multiarray", "_reconstruct"): _np_reconstruct,  # stand-ins written by numpy 2
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,  # how Python 3 writes bytes at protocol 2
}


class ForbiddenGlobal(pickle.UnpicklingError):
    """A pickle asked for a function or class that CIFAR-10 files never use."""

    def __init__(self, module: str, name: str):
        module = {"__builtin__": "builtins"}.get(module, module)  # Python 2's name, as pickled
        super().__init__(f"{module}.{name}")
        self.global_name = f"{module}.{name}"


class _CifarUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return CIFAR10_PICKLE_GLOBALS[(module, name)]
        except KeyError:
            raise ForbiddenGlobal(module, name) from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent ids are not part of CIFAR-10 files")


def restricted_unpickle(raw: bytes):
    """``pickle.loads(raw, encoding="latin1")`` that can build only containers, numbers, strings
    and numpy arrays; raises ForbiddenGlobal (naming the global) for anything else."""
    return _CifarUnpickler(io.BytesIO(raw), encoding="latin1").load()


class _Damaged(Exception):
    """One CIFAR-10 file is missing, unreadable, fails its hash or has the wrong contents:
    ``reason`` groups files in the message, ``detail`` (optional) is this file's own."""

    def __init__(self, reason: str, detail: str | None = None):
        super().__init__(reason)
        self.reason, self.detail = reason, detail


def _check_batch(entry) -> tuple[np.ndarray, list[int]]:
    """(data uint8 [N,3072], labels) of one batch dict, or _Damaged saying what is wrong."""
    if not isinstance(entry, dict):
        raise _Damaged("wrong contents", f"a {type(entry).__name__}, not a batch dict")
    for key in ("data", "labels"):
        if key not in entry:
            raise _Damaged("wrong contents",
                           f"no {key!r} entry; keys: {', '.join(map(str, entry))}")
    data, labels = entry["data"], entry["labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        kind = data.dtype if isinstance(data, np.ndarray) else type(data).__name__
        raise _Damaged("wrong contents", f"pictures are {kind}, not uint8 (0-255)")
    if data.ndim != 2 or data.shape[1] != 3072 or data.shape[0] == 0:
        raise _Damaged("wrong contents",
                       f"pictures have shape {data.shape}, not (N, 3072) = 3x32x32 each")
    if isinstance(labels, np.ndarray) and labels.ndim == 1 and labels.dtype.kind in "iu":
        labels = labels.tolist()
    if not (isinstance(labels, list) and all(type(label) is int for label in labels)):
        raise _Damaged("wrong contents", "labels are not a list of whole numbers")
    if len(labels) != len(data):
        raise _Damaged("wrong contents", f"{len(data)} pictures but {len(labels)} labels")
    if min(labels) < 0 or max(labels) > 9:
        raise _Damaged("wrong contents",
                       f"labels run from {min(labels)} to {max(labels)}, not 0-9")
    return data, labels


def _check_meta(entry) -> list[str]:
    """The ten class names of batches.meta, or _Damaged saying what is wrong."""
    names = entry.get("label_names") if isinstance(entry, dict) else None
    if not (isinstance(names, list) and len(names) == 10 and
            all(isinstance(n, str) for n in names)):
        keys = ", ".join(map(str, entry)) if isinstance(entry, dict) else type(entry).__name__
        raise _Damaged("wrong contents", f"no list of 10 class names under 'label_names'; "
                       f"found: {keys}")
    return names


def _expected_digests(folder: Path) -> tuple[str, dict[str, str]]:
    """(hash name, {file: digest}): the stand-in marker's sha256 for a stand-in, else the md5
    torchvision publishes for the real files."""
    if is_synthetic(folder):
        return "sha256", {name: digest for name, (_, digest) in marker_files(folder).items()}
    listed = CIFAR10.train_list + CIFAR10.test_list + \
        [[CIFAR10.meta["filename"], CIFAR10.meta["md5"]]]
    return "md5", dict(listed)


def _read_cifar_file(root: Path, name: str, check=_check_batch):
    """One CIFAR-10 file, verified (hash) and checked (contents) before it is used.

    Raises _Damaged with the problem, or the CourseError of _cifar_unsafe_error when the file
    names a global that CIFAR-10 files never use (it is not loaded)."""
    folder = root / CIFAR10_DIR
    path = folder / name
    if not path.is_file():  # is_file: a FIFO or device named data_batch_1 would block read
        raise _Damaged("missing")
    algorithm, digests = _expected_digests(folder)
    if name not in digests:
        raise _Damaged(f"{SYNTHETIC_MARKER} lists no sha256 for it: made by an older version")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise _Damaged("cannot be read", str(err.strerror or err)) from None
    listed_size = marker_files(folder).get(name, (None,))[0] if algorithm == "sha256" else None
    if listed_size is not None and len(raw) != listed_size:
        raise _Damaged("cannot be read", f"{len(raw):,} bytes where {SYNTHETIC_MARKER} lists "
                                         f"{listed_size:,}: cut short, e.g. an interrupted copy")
    if hashlib.new(algorithm, raw).hexdigest() != digests[name]:
        raise _Damaged(f"{algorithm} checksum does not match")
    try:
        entry = restricted_unpickle(raw)
    except ForbiddenGlobal as err:
        raise _cifar_unsafe_error(root, path, err.global_name) from None
    except Exception as err:  # truncated: EOFError / UnpicklingError; garbage: many kinds
        raise _Damaged("cannot be read", f"{type(err).__name__}: {err}") from None
    return check(entry)


def _cifar_unsafe_error(root: Path, path: Path, global_name: str) -> CourseError:
    real, synthetic = prepare_command(root), prepare_command(root, "--synthetic")
    return CourseError(
        f"{path} is not a CIFAR-10 data file: it asks Python to call {global_name} while "
        "loading, which no CIFAR-10 file does (they hold only arrays, numbers and names). A "
        "file like this can be made to run a program on your computer, so it was NOT loaded. "
        f"Do not use data from where this came from: delete the folder {path.parent}, then "
        f"run `{real}` to fetch the real data (md5-checked) or `{synthetic}` for a stand-in.",
        f"{path} 不是 CIFAR-10 数据文件：它在加载时要求 Python 调用 {global_name}，"
        "真正的 CIFAR-10 文件从不这样做（只含数组、数字和名字）。这种文件可能被做成在你的电脑上运行程序，"
        f"所以没有加载它。请不要再用这个来源的数据：删除文件夹 {path.parent}，然后运行 `{real}` "
        f"获取（经过 md5 校验的）真实数据，或运行 `{synthetic}` 生成替代数据。",
    )


def _cifar_file_problems(root: Path) -> str | None:
    """Every file's problem ("missing: a; damaged (why): b (detail)"), or None when all seven
    files verify (slow: for error messages)."""
    missing, damaged = [], {}
    for name in CIFAR10_FILES:
        try:
            _read_cifar_file(root, name, _check_meta if name == "batches.meta" else _check_batch)
        except _Damaged as err:
            if err.reason == "missing":
                missing.append(name)
            else:
                damaged.setdefault(err.reason, []).append(
                    f"{name} ({err.detail})" if err.detail else name)
    parts = ([f"missing: {', '.join(missing)}"] if missing else []) + \
        [f"damaged ({reason}): {', '.join(names)}" for reason, names in damaged.items()]
    return "; ".join(parts) or None


def load_cifar10_arrays(root: str | os.PathLike, train: bool
                        ) -> tuple[np.ndarray, list[int], list[str]]:
    """(images uint8 [N,32,32,3], labels, class names) of one split of ``<root>/cifar-10-batches-py``,
    every file verified by its hash and read without pickle's ability to run code.

    Raises the CourseError that says what is missing or damaged and how to re-create it."""
    root = absolute(root)
    names = [n for n, _ in (CIFAR10.train_list if train else CIFAR10.test_list)]
    try:
        missing = [n for n in CIFAR10_FILES if not (root / CIFAR10_DIR / n).is_file()]
        if missing:
            raise _Damaged("missing")
        batches = [_read_cifar_file(root, name) for name in names]
        classes = _read_cifar_file(root, CIFAR10.meta["filename"], _check_meta)
    except _Damaged:
        raise _cifar_damaged_error(root, _cifar_file_problems(root) or "unknown") from None
    data = np.concatenate([b[0] for b in batches])
    # The real files store each picture as 3072 bytes: red plane, green, blue -> [N,32,32,3]
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, [label for b in batches for label in b[1]], classes


class CIFAR10(torchvision.datasets.CIFAR10):
    """``torchvision.datasets.CIFAR10``, called the same way, read safely.

    ``CIFAR10(root, train=True, transform=None, target_transform=None, download=False)`` gives
    what torchvision's class gives (``data`` uint8 [N,32,32,3], ``targets``, ``classes``,
    ``class_to_idx``, ``dataset[i] == (PIL image or transform(image), label)``), with these
    differences:

    - every file is read with an unpickler that cannot run code, and checked: md5 for the real
      files, the sha256 its SYNTHETIC.txt recorded for a stand-in, then shapes, dtype, labels;
    - ``download=True`` downloads (when the folder is missing) with a timeout, to a ``.part``
      file, md5-checked (``prepare_real_cifar10``); a stand-in already there is used, never
      downloaded over;
    - missing or damaged data is a CourseError that says what to run, not a RuntimeError.
    """

    def __init__(self, root: str | os.PathLike, train: bool = True, transform=None,
                 target_transform=None, download: bool = False) -> None:
        # torchvision's __init__ would pickle.load the files itself: only its base class runs
        VisionDataset.__init__(self, root, transform=transform,
                               target_transform=target_transform)
        self.train = train
        root = absolute(root)
        folder = root / self.base_folder
        if not (folder.is_dir() and any(folder.iterdir())):
            if not download:
                raise _cifar_missing_error(root, None, downloads=False)
            self.download()
        self.data, self.targets, classes = load_cifar10_arrays(root, train)
        self.classes, self.class_to_idx = classes, {c: i for i, c in enumerate(classes)}

    def download(self) -> None:
        """Our verified download (timeout, ``.part``, md5) instead of torchvision's."""
        try:
            prepare_real_cifar10(self.root)
        except DownloadFailed as err:
            raise _cifar_missing_error(absolute(self.root), err) from None

    def _check_integrity(self) -> bool:
        return _cifar_file_problems(absolute(self.root)) is None

    def _load_meta(self) -> None:
        root = absolute(self.root)
        try:
            self.classes = _read_cifar_file(root, self.meta["filename"], _check_meta)
        except _Damaged:
            raise _cifar_damaged_error(root, _cifar_file_problems(root) or "unknown") from None
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}


def prepare_command(root: str | os.PathLike, *flags: str) -> str:
    """The 00_prepare_data command a learner should run for ``root`` (with --data-root if needed)."""
    extra = [] if Path(root).resolve() == DATASET_DIR.resolve() else \
        ["--data-root", shell_quote(str(root))]
    return " ".join(["python src/00_prepare_data.py", *flags, *extra])


def _cifar_missing_error(root: Path, cause: BaseException | None,
                         downloads: bool = True) -> CourseError:
    reason = f" ({cause})" if cause else ""
    tried = "and could not be downloaded" if downloads else "(download=False)"
    real, synthetic = prepare_command(root), prepare_command(root, "--synthetic")
    return CourseError(
        f"CIFAR-10 is not in {root} {tried}{reason}. Either download "
        f"{CIFAR10_ARCHIVE} (163 MB, {CIFAR10_URL}, or a mirror/网盘 copy), put the file "
        f"itself into {root}/ and run `{real}` (it is checked and unpacked), or run "
        f"`{synthetic}` to generate an offline stand-in so every lesson can run.",
        f"在 {root} 中找不到 CIFAR-10{'，且下载失败' if downloads else ''}。请把 "
        f"{CIFAR10_ARCHIVE} 放到 {root}/ 目录后运行 `{real}`，或运行 `{synthetic}` 生成离线替代数据。",
    )


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
    inner = find_nested_cifar10(root)
    if inner is not None:
        return CourseError(
            f"CIFAR-10 in {folder} is not complete ({problem}), but {nested_cifar10_message(root, inner)}.",
            f"{folder} 中的 CIFAR-10 不完整（{problem}），完整的数据多了一层文件夹，在 {inner} 里："
            f"请把它移到 {root} 下（使 {folder / 'data_batch_1'} 存在）。")
    return CourseError(
        f"CIFAR-10 in {folder} is damaged ({problem}). Re-create it: run `{fix}` ({how}). "
        "If your data lives in another folder, point --data-root there.",
        f"{folder} 中的 CIFAR-10 文件损坏或不完整（{problem}）。请运行 `{fix}` 重新生成/下载；"
        "如果数据在别的目录，请用 --data-root 指定。",
    )


def cifar10(root: str | os.PathLike, train: bool, transform=None,
            quick: bool = False) -> Dataset:
    """``CIFAR10(root, train=train, transform=transform, download=True)`` as the course loads it;
    ``transform`` defaults to ``ToTensor()``. ``quick=True`` returns the first
    QUICK_TRAIN_SIZE / QUICK_TEST_SIZE images only (a Subset), for the tour and tests."""
    transform = transform if transform is not None else transforms.ToTensor()
    dataset = CIFAR10(root, train=train, transform=transform, download=True)
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
    each file's size and sha256, taken from the bytes written) are written into a temporary
    folder beside it, renamed into place only when complete: an interrupted run (Ctrl-C) never
    leaves a folder that looks like data.
    """
    root = absolute(root)
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
    meta = {"num_cases_per_batch": max(len(s) for s in splits),
            "label_names": list(CIFAR10_CLASSES), "num_vis": 3072}
    tmp = temporary_folder(root, CIFAR10_DIR)
    try:
        new = tmp / CIFAR10_DIR
        new.mkdir()
        written = {}
        for name, idx, batch_label in parts:
            batch = {"batch_label": batch_label, "labels": labels[idx].tolist(),
                     "data": rows[idx], "filenames": [f"synthetic_{i:05d}.png" for i in idx]}
            written[name] = _write_pickle(new / name, batch)
        written["batches.meta"] = _write_pickle(new / "batches.meta", meta)
        write_marker(new, cifar10_stand_in_name(train_size, test_size), seed, files=written)
        replace_folder(new, folder, tmp)
    finally:
        remove_tree(tmp)
    return folder


def _write_pickle(path: Path, obj) -> tuple[int, str]:
    """Write ``obj`` as a protocol-2 pickle (the real files' protocol); (size, sha256)."""
    raw = pickle.dumps(obj, protocol=2)
    path.write_bytes(raw)
    return len(raw), hashlib.sha256(raw).hexdigest()


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
    """True when every file the marker lists is there with the size it lists.

    A cheap check for reuse that catches a truncated stand-in file (hashing them all would take
    a second, and the tour reuses the stand-ins on every run; lessons check the hashes)."""
    listed = marker_files(folder)
    return bool(listed) and all((folder / name).is_file() and
                                (folder / name).stat().st_size == size
                                for name, (size, _) in listed.items())


def remove_tree(path: Path) -> None:
    """Delete a folder or file if it is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


# Temporary folders are named ".<name>.<pid>.<random>.tmp" beside the folder they become. A run
# killed with kill -9 (or a closed terminal) cannot remove its own; the next run does, but only
# when no running program can still be writing into it: on Linux/macOS when the process that
# made it is gone (a running one, even another user's, is left alone), everywhere when it has
# not changed for STALE_TEMP_AGE_S (Windows has no harmless "is this PID alive" call in the
# standard library, and a PID can be reused; no step of ours runs an hour without touching it).
STALE_TEMP_AGE_S = 3600


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, but belongs to someone else (or we cannot tell: keep it)
    return True


def _temporary_is_stale(path: Path, name: str) -> bool:
    pid_text = path.name[len(name) + 2:].split(".", 1)[0]
    try:
        age = time.time() - path.lstat().st_mtime
    except OSError:
        return False
    if age > STALE_TEMP_AGE_S:
        return True
    if os.name == "posix" and pid_text.isdigit() and int(pid_text) != os.getpid():
        return not _process_alive(int(pid_text))
    return False


def remove_stale_temporaries(root: Path, name: str) -> list[Path]:
    """Remove ``root/.<name>.*.tmp`` folders left by killed runs (see above); returns them."""
    import glob

    removed = []
    for path in Path(root).glob(f".{glob.escape(name)}.*.tmp"):
        if path.is_dir() and not path.is_symlink() and _temporary_is_stale(path, name):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def temporary_folder(root: Path, name: str) -> Path:
    """A new empty ``root/.<name>.<pid>.<random>.tmp`` folder (after removing stale ones)."""
    remove_stale_temporaries(root, name)
    return Path(tempfile.mkdtemp(prefix=f".{name}.{os.getpid()}.", suffix=".tmp", dir=root))


def replace_folder(new: Path, target: Path, tmp: Path) -> None:
    """Put the complete folder ``new`` at ``target``. An old ``target`` is first renamed into
    ``tmp`` (the caller removes ``tmp``): one rename each, so an interrupt never leaves a
    half-deleted folder at ``target``."""
    if target.exists() or target.is_symlink():
        os.replace(target, tmp / f"old-{target.name}")
    os.replace(new, target)


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
    near = near_miss_archives(root, filename)
    if near and not path.is_file():
        raise DownloadFailed(near_miss_message(root, filename, near))
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


# What browsers do to a download: Chrome and Edge add " (1)" when the name is taken, Firefox
# "(1)"; unfinished downloads end in .crdownload (Chrome, Edge), .download (Safari), .partial.
UNFINISHED_DOWNLOAD_SUFFIXES = (".crdownload", ".download", ".partial")


def near_miss_archives(root: Path, filename: str) -> list[Path]:
    """Files in ``root`` named like ``filename`` but not exactly it ("hymenoptera_data (1).zip",
    "cifar-10-python(1).tar.gz", "cifar-10-python.tar.gz.crdownload"), our own .part aside."""
    stem = filename.split(".")[0].lower()
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    return sorted(p for p in entries if p.name.lower().startswith(stem) and p.name != filename
                  and p.name != filename + ".part" and p.is_file())


def near_miss_message(root: Path, filename: str, near: list[Path]) -> str:
    """Exactly what to rename, for the files near_miss_archives found."""
    advice = []
    for path in near:
        if path.name.lower().endswith(UNFINISHED_DOWNLOAD_SUFFIXES):
            advice.append(f"{path} looks like an unfinished browser download: let it finish "
                          f"(or download again), then rename the file to exactly {filename}")
        else:
            advice.append(f"rename {path} to exactly {filename} (a browser adds \" (1)\" when "
                          "a file of that name was already there)")
    return (f"{root / filename} is not there, but a file with a similar name is: "
            + "; ".join(advice) + ". If that is the file you downloaded, the next run checks "
            "and unpacks it; if not, delete it. Nothing was downloaded meanwhile")


def extract_verified(archive: Path, root: Path, folder_name: str, check) -> Path:
    """Unpack ``archive`` into a temporary folder beside ``root/folder_name``, run
    ``check(folder)`` (a problem string or None) and only then rename it into place.

    A truncated or corrupt archive is reported, removed, and leaves nothing behind. An existing
    ``folder_name`` is replaced only once the new one is complete.
    """
    from torchvision.datasets.utils import extract_archive

    tmp = temporary_folder(root, folder_name)
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
        replace_folder(new, target, tmp)
        return target
    finally:
        remove_tree(tmp)


CIFAR10_MD5 = torchvision.datasets.CIFAR10.tgz_md5


def cifar10_folder_problem(folder: Path) -> str | None:
    """None when ``folder`` (a cifar-10-batches-py) has every file with torchvision's md5."""
    from torchvision.datasets.utils import check_integrity

    files = CIFAR10.train_list + CIFAR10.test_list + [[CIFAR10.meta["filename"],
                                                       CIFAR10.meta["md5"]]]
    missing = [name for name, _ in files if not (folder / name).is_file()]
    damaged = [name for name, md5 in files
               if name not in missing and not check_integrity(str(folder / name), md5)]
    return _listing(missing, damaged, "md5 checksum does not match")


def find_nested_cifar10(root: Path) -> Path | None:
    """A ``cifar-10-batches-py`` with all seven files one or two levels too deep (an archive
    unpacked by hand into its own folder, e.g. ``<root>/cifar-10-python/cifar-10-batches-py``,
    or ``<root>/cifar-10-batches-py/cifar-10-batches-py``); None when there is none."""
    for pattern in (f"*/{CIFAR10_DIR}", f"*/*/{CIFAR10_DIR}"):
        for inner in sorted(root.glob(pattern)):
            if not inner.parent.name.startswith(".") and \
                    all((inner / name).is_file() for name in CIFAR10_FILES):
                return inner
    return None


def nested_cifar10_message(root: Path, inner: Path) -> str:
    """What to move when CIFAR-10 was unpacked one level too deep."""
    folder = root / CIFAR10_DIR
    if inner.parent == folder:
        move = (f"move the files in {inner} up into {folder}, then delete the empty {inner}")
    elif folder.exists():
        move = f"delete or rename {folder}, then move the folder {inner} into {root}"
    else:
        move = f"move the folder {inner} into {root}"
    return (f"CIFAR-10 was unpacked one level too deep, into {inner}: {move}, so that "
            f"{folder / 'data_batch_1'} exists")


def prepare_real_cifar10(root: str | os.PathLike) -> tuple[Path, str]:
    """Make ``<root>/cifar-10-batches-py`` the real, verified CIFAR-10 (downloading if needed).

    Returns (folder, how); replaces a stand-in once the real data is complete; raises
    DownloadFailed with the reason.
    """
    root = absolute(root)
    folder = root / CIFAR10_DIR
    if folder.is_dir() and not is_synthetic(folder) and cifar10_folder_problem(folder) is None:
        return folder, "already there, md5 verified"
    inner = find_nested_cifar10(root)
    if inner is not None and not (root / CIFAR10_ARCHIVE).is_file():
        raise DownloadFailed(nested_cifar10_message(root, inner))
    archive, how = fetch_archive(root, CIFAR10_URL, CIFAR10_ARCHIVE, CIFAR10_MD5)
    extract_verified(archive, root, CIFAR10_DIR, cifar10_folder_problem)
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
    root = absolute(root)
    folder = root / CIFAR10_DIR
    if folder.is_dir() and not is_synthetic(folder) and any(folder.iterdir()):
        problem = cifar10_folder_problem(folder)
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
