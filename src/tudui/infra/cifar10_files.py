"""The CIFAR-10 files, read safely: every file verified by its hash and unpickled without the
power to run code; what is missing, damaged or unsafe explained in one paragraph; the real data
fetched, md5-checked and unpacked (``prepare_real_cifar10``)."""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import pickle
from pathlib import Path

import numpy as np

from tudui.errors import CourseError, shorten
from tudui.infra.commands import prepare_command, shell_quote
from tudui.infra.downloads import DownloadFailed, archive_urls, extract_verified, fetch_archive
from tudui.infra.files import file_digest
from tudui.infra.markers import (
    is_rebuilt,
    is_synthetic,
    marker_files,
    marker_name,
    rebuilt_source,
)
from tudui.infra.pickle_scan import scan_pickle
from tudui.paths import absolute

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
CIFAR10_DIR = "cifar-10-batches-py"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_URL_ENV = "TUDUI_CIFAR10_URL"  # mirrors of the same archive, separated by spaces
CIFAR10_MIRROR_OPTION = ("--url", CIFAR10_URL_ENV)  # how a learner adds a mirror
CIFAR10_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch", "batches.meta")
# The md5 of the archive and of each file, as torchvision publishes them (its CIFAR10 class)
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
PUBLISHED_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}


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

# What a CIFAR-10 file may make the unpickler build (see pickle_scan): the real batches nest 5
# deep and hold about 15 containers and objects (one dict, two lists, one array); our stand-ins
# the same. Anything far beyond is not a CIFAR-10 file, and bounding it keeps a crafted one from
# crashing Python (a tuple nested 200,000 deep) or filling the memory.
CIFAR10_MAX_DEPTH = 32
CIFAR10_MAX_OBJECTS = 1000
_ARRAY_KINDS = "biuf"  # numbers: the pictures are uint8, labels (in some copies) integers


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles of bytes use it, for latin-1 only."""
    if codecs.lookup(encoding).name != "iso8859-1":
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


class _ArrayClass:
    """What the pickle's ``numpy.ndarray`` stands for: an argument of ``_reconstruct`` only.

    numpy's class itself would let a file call ``ndarray((10**6, 3072))`` (9 GB, from a few
    bytes); this marker can be passed along but not called."""


class _TypeCode:
    """``numpy.dtype(code, align, copy)`` as the files write it, kept as its code: numpy's
    own dtype (and its ``__setstate__``) never sees the file's arguments."""

    def __init__(self, code, align=False, copy=False):
        if not isinstance(code, str) or len(code) > 8:
            raise pickle.UnpicklingError("numpy.dtype of something other than a short type code")
        self.code, self.byteorder = code, "|"

    def __setstate__(self, state):
        # (version, byte order, subarray, names, fields, ...): plain numbers have no
        # subarray, names or fields
        if not (isinstance(state, tuple) and len(state) >= 5 and state[1] in ("|", "<", ">", "=")
                and state[2:5] == (None, None, None)):
            raise pickle.UnpicklingError("numpy.dtype state of something other than a number")
        self.byteorder = state[1]

    def dtype(self) -> np.dtype:
        dtype = np.dtype(self.byteorder.replace("|", "=") + self.code)
        if dtype.kind not in _ARRAY_KINDS or dtype.itemsize > 8:
            raise pickle.UnpicklingError(f"an array of {dtype}, not numbers")
        return dtype


class _CheckedArray(np.ndarray):
    """The array ``_reconstruct`` returns while unpickling: its ``__setstate__`` (the pickle's
    BUILD) checks shape, type and data length before numpy fills it (numpy itself crashes on
    some mismatched states, e.g. an object array with fewer items than its shape)."""

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5):
            raise pickle.UnpicklingError("an array state that numpy does not write")
        version, shape, type_code, fortran, raw = state
        if not (isinstance(shape, tuple) and len(shape) <= 4 and
                all(type(n) is int and n >= 0 for n in shape) and isinstance(type_code, _TypeCode)
                and isinstance(fortran, bool) and isinstance(raw, (bytes, str))):
            raise pickle.UnpicklingError("an array state that numpy does not write")
        dtype = type_code.dtype()
        if int(np.prod(shape, dtype=np.float64)) * dtype.itemsize != len(raw):
            raise pickle.UnpicklingError(f"an array of shape {shape} with {len(raw):,} bytes of data")
        super().__setstate__((version, shape, dtype, fortran, raw))


def _reconstruct(array_class, shape, type_code):
    """numpy's ``_reconstruct(ndarray, (0,), b"b")``: an empty array that BUILD then fills."""
    if array_class is not _ArrayClass:
        raise pickle.UnpicklingError("_reconstruct of something other than numpy.ndarray")
    return _np_reconstruct(_CheckedArray, (0,), b"b")


CIFAR10_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,   # the real files (numpy 1)
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # stand-ins written by numpy 2
    ("numpy", "ndarray"): _ArrayClass,
    ("numpy", "dtype"): _TypeCode,
    ("_codecs", "encode"): _latin1_encode,  # how Python 3 writes bytes at protocol 2
}


class ForbiddenGlobal(pickle.UnpicklingError):
    """A pickle asked for a function or class that CIFAR-10 files never use."""

    def __init__(self, module: str, name: str):
        module = {"__builtin__": "builtins"}.get(module, module)  # Python 2's name, as pickled
        super().__init__(f"{module}.{name}")
        self.global_name = shorten(f"{module}.{name}")


class _CifarUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return CIFAR10_PICKLE_GLOBALS[(module, name)]
        except KeyError:
            raise ForbiddenGlobal(module, name) from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent ids are not part of CIFAR-10 files")


def _plain_arrays(value):
    """The unpickled value with each array a plain ``numpy.ndarray`` again (one level of dict
    or list: where CIFAR-10 files keep them)."""
    if isinstance(value, _CheckedArray):
        return value.view(np.ndarray)
    if isinstance(value, dict):
        return {k: v.view(np.ndarray) if isinstance(v, _CheckedArray) else v
                for k, v in value.items()}
    return value


def restricted_unpickle(raw: bytes):
    """``pickle.loads(raw, encoding="latin1")`` that can build only containers, numbers, strings
    and numpy arrays of numbers, within CIFAR-10's bounds; raises ForbiddenGlobal (naming the
    global) for anything else it names, PickleRefused when it would build too much."""
    scan_pickle(raw, max_depth=CIFAR10_MAX_DEPTH, max_objects=CIFAR10_MAX_OBJECTS)
    return _plain_arrays(_CifarUnpickler(io.BytesIO(raw), encoding="latin1").load())


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
                           f"no {key!r} entry; keys: {shorten(', '.join(map(shorten, entry)))}")
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
        keys = shorten(", ".join(map(shorten, entry))) if isinstance(entry, dict) \
            else type(entry).__name__
        raise _Damaged("wrong contents", f"no list of 10 class names under 'label_names'; "
                       f"found: {keys}")
    return names


def _expected_digests(folder: Path) -> tuple[str, dict[str, str]]:
    """(hash name, {file: digest}): the marker's sha256 for a stand-in or a rebuilt copy, else
    the md5 torchvision publishes for the real files."""
    if marker_name(folder) is not None:
        return "sha256", {name: digest for name, (_, digest) in marker_files(folder).items()}
    return "md5", dict(PUBLISHED_MD5)


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
        raise _Damaged(f"{marker_name(folder)} lists no sha256 for it: made by an older version")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise _Damaged("cannot be read", str(err.strerror or err)) from None
    listed_size = marker_files(folder).get(name, (None,))[0] if algorithm == "sha256" else None
    if listed_size is not None and len(raw) != listed_size:
        raise _Damaged("cannot be read", f"{len(raw):,} bytes where {marker_name(folder)} lists "
                                         f"{listed_size:,}: cut short, e.g. an interrupted copy")
    if hashlib.new(algorithm, raw).hexdigest() != digests[name]:
        raise _Damaged(f"{algorithm} checksum does not match")
    try:
        entry = restricted_unpickle(raw)
    except ForbiddenGlobal as err:
        raise _cifar_unsafe_error(root, path, err.global_name) from None
    except Exception as err:  # truncated: EOFError / UnpicklingError; garbage: many kinds
        raise _Damaged("cannot be read", f"{type(err).__name__}: {shorten(err)}") from None
    return check(entry)


def file_problems(root: Path) -> str | None:
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


def load_cifar10_arrays(root: str | os.PathLike, train: bool, first: int | None = None
                        ) -> tuple[np.ndarray, list[int], list[str]]:
    """(images uint8 [N,32,32,3], labels, class names) of one split of ``<root>/cifar-10-batches-py``,
    every file verified by its hash and read without pickle's ability to run code.

    ``first``: stop reading files once they hold that many pictures (a quick run that uses the
    first 512 reads data_batch_1 alone, not all five); the files read are returned whole.
    Raises the CourseError that says what is missing or damaged and how to re-create it."""
    root = absolute(root)
    names = CIFAR10_FILES[:5] if train else ("test_batch",)
    try:
        missing = [n for n in CIFAR10_FILES if not (root / CIFAR10_DIR / n).is_file()]
        if missing:
            raise _Damaged("missing")
        batches = []
        for name in names:
            batches.append(_read_cifar_file(root, name))
            if first is not None and sum(len(b[1]) for b in batches) >= first:
                break
        classes = _read_cifar_file(root, "batches.meta", _check_meta)
    except _Damaged:
        raise damaged_error(root, file_problems(root) or "unknown") from None
    data = np.concatenate([b[0] for b in batches])
    # The real files store each picture as 3072 bytes: red plane, green, blue -> [N,32,32,3]
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, [label for b in batches for label in b[1]], classes


# --------------------------------------------------------------------------------------------
# What to do, in one paragraph

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


def cifar10_missing_error(root: Path, cause: BaseException | None,
                          downloads: bool = True) -> CourseError:
    """CIFAR-10 is not in ``root``: what to download or run (``cause``: why the download
    failed; ``downloads=False``: none was tried)."""
    reason = f" ({cause})" if cause else ""
    tried = "and could not be downloaded" if downloads else "(download=False)"
    real, synthetic = prepare_command(root), prepare_command(root, "--synthetic")
    return CourseError(
        f"CIFAR-10 is not in {root} {tried}{reason}. Either download "
        f"{CIFAR10_ARCHIVE} (163 MB, {CIFAR10_URL}, or a mirror/网盘 copy), put the file "
        f"itself into {root}/ and run `{real}` (it is checked and unpacked; `{real} --url URL` "
        "downloads from a mirror first, and a run that was cut off continues where it stopped), "
        f"or run `{synthetic}` to generate an offline stand-in so every lesson can run.",
        f"在 {root} 中找不到 CIFAR-10{'，且下载失败' if downloads else ''}。请把 "
        f"{CIFAR10_ARCHIVE} 放到 {root}/ 目录后运行 `{real}`，或运行 `{synthetic}` 生成离线替代数据。",
    )


def _listing(missing: list[str], damaged: list[str], how: str) -> str | None:
    """"missing: a, b; damaged (how): c" or None when both lists are empty."""
    parts = ([f"missing: {', '.join(missing)}"] if missing else []) + \
        ([f"damaged ({how}): {', '.join(damaged)}"] if damaged else [])
    return "; ".join(parts) or None


def damaged_error(root: Path, problem: str) -> CourseError:
    folder = root / CIFAR10_DIR
    if is_synthetic(folder):
        fix = prepare_command(root, "--synthetic")
        how = "it writes the stand-in again"
    elif is_rebuilt(folder):
        fix = prepare_command(root, "--from-images", shell_quote(rebuilt_source(folder) or "DIR"))
        how = "it rebuilds the copy from the pictures REBUILT.txt names"
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


# --------------------------------------------------------------------------------------------
# The real data: verified, and unpacked one level too deep explained

def cifar10_folder_problem(folder: Path) -> str | None:
    """None when ``folder`` (a cifar-10-batches-py) has every file with torchvision's md5."""
    missing = [name for name in CIFAR10_FILES if not (folder / name).is_file()]
    damaged = [name for name in CIFAR10_FILES
               if name not in missing and file_digest(folder / name, "md5") != PUBLISHED_MD5[name]]
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


def written_by_us(folder: Path) -> set[str]:
    """The files in ``folder`` (a cifar-10-batches-py) the project wrote: a stand-in's seven
    files and its marker, or those of a copy rebuilt from pictures. An unmarked folder was not
    written by us (real data unpacked by hand, or an earlier copy we cannot vouch for): nothing in
    it is ours, nothing is deleted."""
    marker = marker_name(folder)
    if marker is None:
        return set()
    return {*CIFAR10_FILES, *marker_files(folder), marker}


def prepare_real_cifar10(root: str | os.PathLike, urls=()) -> tuple[Path, str]:
    """Make ``<root>/cifar-10-batches-py`` the real, verified CIFAR-10 (downloading if needed,
    from ``urls`` (``--url``), then the mirrors in $TUDUI_CIFAR10_URL, then the official URL).

    Returns (folder, how); replaces a stand-in once the real data is complete; raises
    DownloadFailed with the reason (DownloadInterrupted on Ctrl-C, the .part kept).
    """
    root = absolute(root)
    folder = root / CIFAR10_DIR
    if folder.is_dir() and not is_synthetic(folder) and cifar10_folder_problem(folder) is None:
        return folder, "already there, md5 verified"
    inner = find_nested_cifar10(root)
    if inner is not None and not (root / CIFAR10_ARCHIVE).is_file():
        raise DownloadFailed(nested_cifar10_message(root, inner))
    archive, how = fetch_archive(root, archive_urls(CIFAR10_URL, urls, CIFAR10_URL_ENV),
                                 CIFAR10_ARCHIVE, CIFAR10_MD5, mirror_option=CIFAR10_MIRROR_OPTION)
    extract_verified(archive, root, CIFAR10_DIR, cifar10_folder_problem, written_by_us(folder))
    return folder, f"{how} {CIFAR10_ARCHIVE}, md5 verified, unpacked"
