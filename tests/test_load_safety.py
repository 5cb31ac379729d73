"""Files that try to crash, flood or fool the loaders: crafted CIFAR-10 pickles (with a re-signed
stand-in marker), model files that are zip bombs, in torch's legacy format, hold odd tensors,
NaN weights or cyclic modules, resume files of another shape; and the terminal around a lesson
(a full disk under TensorBoard's writer thread, a closed pipe, megabyte strings in messages).
Each case: one clear paragraph (exit 2) or a clean stop, never a traceback or a crash."""

from __future__ import annotations

import hashlib
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from conftest import load_lesson
from tudui import data
from tudui.errors import CourseError
from tudui.infra import cifar10_files, markers
from tudui.infra.cifar10_files import CIFAR10_DIR, CIFAR10_FILES
from tudui.infra.cifar10_stand_in import write_synthetic_cifar10
from tudui.infra.markers import SYNTHETIC_MARKER
from tudui.infra.pickle_scan import PickleRefused, scan_pickle


def _err(capsys) -> str:
    return " ".join(capsys.readouterr().err.split())


def _exit_code(main, argv) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return info.value.code


# ---------------------------------------------------------------- CIFAR-10 pickles

@pytest.fixture
def stand_in(tmp_path) -> Path:
    root = tmp_path / "dataset"
    write_synthetic_cifar10(root, 20, 10)
    return root


def plant(root: Path, name: str, raw: bytes) -> None:
    """Put ``raw`` in place of ``name`` and re-sign the stand-in's marker with its true size and
    sha256, as someone crafting the folder would: the hash check then vouches for the file."""
    folder = root / CIFAR10_DIR
    (folder / name).write_bytes(raw)
    text = (folder / SYNTHETIC_MARKER).read_text("utf-8")
    what, seed = text.split("stand-in for ")[1].split(", generated with seed ")
    files = {n: ((folder / n).stat().st_size, hashlib.sha256((folder / n).read_bytes()).hexdigest())
             for n in CIFAR10_FILES}
    markers.write_marker(folder, what, int(seed.split()[0]), files=files)


def _binunicode(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


CRAFTED_PICKLES = {
    # a dict whose key is a tuple nested 200,000 deep: hashing it overflowed the C stack (SIGSEGV)
    "deep tuple key": (b"\x80\x02}K\x00" + b"\x85" * 200_000 + b"K\x01s.",
                       "containers nested more than 32 deep"),
    # a label of 6,000 digits (LONG1): printing it in a message raised ValueError
    "6000-digit label": (b"\x80\x02}(" + _binunicode("data") + b"N" + _binunicode("labels") +
                         b"](\x8b" + struct.pack("<i", 2492) + b"\x01" * 2492 + b"eu.",
                         "an integer of 2,492 bytes"),
    "5000-digit text int": (b"\x80\x02}(" + _binunicode("x") + b"L" + b"9" * 5000 + b"L\nu.",
                            "an integer written with 5,001 digits"),
    # protocol 5 BYTEARRAY8 declaring 4 EiB in a 100-byte file: MemoryError, or gigabytes
    "huge bytearray8": (b"\x80\x05\x96" + struct.pack("<Q", 2 ** 62) + b"x" * 100 + b".",
                        "a length of 4,611,686,018,427,387,904 bytes where only 101 are left"),
    # a memo slot numbered 2**31: the unpickler would reserve 16 GB of memo for it
    "far memo slot": (b"\x80\x02}r" + struct.pack("<I", 2 ** 31) + b".",
                      "memo slot 2,147,483,648 while only 0 are in use"),
    # numpy.ndarray called directly: a 9 GB array from 20 bytes
    "ndarray call": (b"\x80\x02cnumpy\nndarray\nJ\xc0\xc6-\x00M\x00\x0c\x86\x85R.",
                     "TypeError"),
    # an object array with fewer items than its shape: numpy's own __setstate__ crashes on it
    "object array": (pickle.dumps({"data": np.array([1, 2], dtype=object)}, protocol=2),
                     "an array state that numpy does not write"),
}


@pytest.mark.parametrize("case", list(CRAFTED_PICKLES))
def test_a_crafted_cifar_pickle_is_damaged_not_a_crash(stand_in, tmp_path, capsys, case):
    raw, why = CRAFTED_PICKLES[case]
    plant(stand_in, "test_batch", raw)
    with pytest.raises(CourseError) as info:
        data.CIFAR10(stand_in, train=False)
    message = info.value.en
    assert "damaged (cannot be read): test_batch" in message and why in message, message
    assert "00_prepare_data.py --synthetic" in message and len(message) < 1000
    lesson = load_lesson("14_dataset_transform").main
    assert _exit_code(lesson, ["--data-root", str(stand_in), "--log-dir", str(tmp_path / "l"),
                               "--quick"]) == 2
    assert "Traceback" not in _err(capsys)


def test_cifar_messages_cut_long_strings_from_the_file(stand_in):
    plant(stand_in, "batches.meta", pickle.dumps({"k" * 3_000_000: 1}, protocol=2))
    with pytest.raises(CourseError) as info:
        data.CIFAR10(stand_in, train=False)
    assert "found: " + "k" * 200 + "…" in info.value.en and len(info.value.en) < 1000


def test_the_scan_bounds_but_accepts_every_real_pickle():
    import collections

    values = [1, -5, 2 ** 70, "x", b"y", bytearray(b"z"), 1.5, None, True, [1, [2, (3,)]],
              {"a": {1: (2, 3)}}, {1, 2}, frozenset([1]), (), collections.OrderedDict(a=1),
              np.arange(5), list(range(3000)), {i: str(i) for i in range(1500)}]
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        raw = pickle.dumps(values, protocol=protocol)
        assert scan_pickle(raw)[0] == len(raw)
    raw = pickle.dumps([[[[[1]]]]], protocol=2)
    with pytest.raises(PickleRefused, match="nested more than 4 deep"):
        scan_pickle(raw, max_depth=4)
    with pytest.raises(PickleRefused, match="more than 10 containers"):
        scan_pickle(pickle.dumps([[] for _ in range(20)], protocol=2), max_objects=10)


def test_real_and_stand_in_batches_still_load_unchanged(stand_in):
    """The stand-ins as written, and the real files' Python 2 layout (see test_data_safety)."""
    folder = stand_in / CIFAR10_DIR
    expected = pickle.loads((folder / "data_batch_1").read_bytes(), encoding="latin1")
    loaded = cifar10_files.restricted_unpickle((folder / "data_batch_1").read_bytes())
    assert type(loaded["data"]) is np.ndarray and loaded["data"].dtype == np.uint8
    assert np.array_equal(loaded["data"], expected["data"]) and loaded["labels"] == expected["labels"]
    labels = np.array([1, 2, 3], dtype=np.int64)  # some copies keep labels as an array
    assert np.array_equal(cifar10_files.restricted_unpickle(pickle.dumps(labels, protocol=2)), labels)
