"""The data layer against files a learner is handed: CIFAR-10 pickles that try to run code or are
malformed, pictures Pillow opens but a lesson cannot use, browser-renamed downloads, folders
unpacked one level too deep, interrupted and killed runs of 00_prepare_data."""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import shutil
import struct
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import load_lesson
from tudui import data, hymenoptera
from tudui.errors import CourseError
from tudui.hymenoptera import HYMENOPTERA_DIR, open_picture
from tudui.infra import (
    cifar10_files,
    cifar10_stand_in,
    downloads,
    files,
    hymenoptera_files,
    markers,
)
from tudui.infra.cifar10_files import CIFAR10_DIR, CIFAR10_FILES
from tudui.infra.cifar10_stand_in import write_synthetic_cifar10
from tudui.infra.hymenoptera_files import (
    HYMENOPTERA_ARCHIVE,
    QUICK_COUNTS,
    write_synthetic_hymenoptera,
)
from tudui.infra.markers import SYNTHETIC_MARKER


def leftovers(root: Path) -> list[str]:
    """Temporary or partial files and folders a step might have left behind."""
    return sorted(p.name for p in root.rglob("*") if p.name.endswith((".tmp", ".part")))


# ---------------------------------------------------------------- CIFAR-10 files that run code

class Payload:
    """Unpickling this would create ``path`` (a harmless stand-in for running a program)."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), "w")


def rewrite(folder: Path, name: str, obj) -> None:
    """Replace ``folder/name`` by ``obj`` pickled, and, for a stand-in, put its true sha256 in the
    marker, as somebody crafting the folder would: the marker then vouches for the file."""
    (folder / name).write_bytes(pickle.dumps(obj, protocol=2))
    if (folder / SYNTHETIC_MARKER).is_file():
        text = (folder / SYNTHETIC_MARKER).read_text("utf-8")
        what, seed = text.split("stand-in for ")[1].split(", generated with seed ")
        files = {n: ((folder / n).stat().st_size, hashlib.sha256((folder / n).read_bytes())
                     .hexdigest()) for n in CIFAR10_FILES}
        markers.write_marker(folder, what, int(seed.split()[0]), files=files)


def batch(n: int = 10, **changes) -> dict:
    entry = {"batch_label": "x", "data": np.zeros((n, 3072), np.uint8),
             "labels": [i % 10 for i in range(n)], "filenames": [f"{i}.png" for i in range(n)]}
    entry.update(changes)
    return entry


@pytest.fixture
def stand_in(tmp_path) -> Path:
    """A small CIFAR-10 stand-in root of the tests' own (it gets modified)."""
    root = tmp_path / "dataset"
    write_synthetic_cifar10(root, 50, 20)
    return root


CRAFTED = {  # file -> what the crafted file holds, given the payload
    "data_batch_1": lambda p: batch(labels=p),                    # nested in the labels
    "test_batch": lambda p: {"data": p},
    "batches.meta": lambda p: {"label_names": ["a"] * 10, "x": {"deep": [p]}},  # nested deeper
}


@pytest.mark.parametrize("marked", [True, False], ids=["stand-in with marker", "real-looking"])
@pytest.mark.parametrize("name", list(CRAFTED))
def test_a_crafted_cifar_file_never_runs(stand_in, tmp_path, monkeypatch, capsys, name, marked):
    folder = stand_in / CIFAR10_DIR
    ran = tmp_path / "payload_ran"
    if not marked:
        (folder / SYNTHETIC_MARKER).unlink()
        # as if the md5 matched too (or were not checked): the unpickler alone must hold
        real_digests = cifar10_files._expected_digests
        monkeypatch.setattr(cifar10_files, "_expected_digests", lambda f: (
            "md5", {n: hashlib.md5((f / n).read_bytes()).hexdigest() for n in CIFAR10_FILES})
            if not markers.is_synthetic(f) else real_digests(f))
    rewrite(folder, name, CRAFTED[name](Payload(ran)))
    train = name != "test_batch"
    with pytest.raises(CourseError) as info:
        data.CIFAR10(stand_in, train=train)
    message = info.value.en
    called = f"{open.__module__}.open"  # as pickle names it: io.open, _io.open from Python 3.12
    assert f"{folder / name} is not a CIFAR-10 data file" in message
    assert f"to call {called} while loading" in message and "NOT loaded" in message
    assert called in info.value.zh
    assert "delete the folder" in message and "00_prepare_data.py" in message

    lesson = load_lesson("14_dataset_transform").main
    with pytest.raises(CourseError, match=re.escape(called)):
        lesson.__wrapped__(["--data-root", str(stand_in), "--log-dir", str(tmp_path / "l")])
    with pytest.raises(SystemExit) as exit_info:
        lesson(["--data-root", str(stand_in), "--log-dir", str(tmp_path / "l"), "--quick"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "is not a CIFAR-10 data file" in " ".join(err.split()) and "Traceback" not in err
    assert not ran.exists(), "the payload ran"


def test_a_real_looking_crafted_folder_is_refused_by_md5_before_unpickling(stand_in, tmp_path):
    folder = stand_in / CIFAR10_DIR
    (folder / SYNTHETIC_MARKER).unlink()
    ran = tmp_path / "payload_ran"
    rewrite(folder, "test_batch", {"data": Payload(ran)})
    with pytest.raises(CourseError, match=r"damaged \(md5 checksum does not match\)"):
        data.CIFAR10(stand_in, train=False)
    assert not ran.exists()


def test_a_changed_stand_in_file_fails_the_hash_its_marker_recorded(stand_in):
    path = stand_in / CIFAR10_DIR / "data_batch_3"
    raw = bytearray(path.read_bytes())
    raw[-100] ^= 1  # one pixel, same size: still unpickles, but not what was written
    path.write_bytes(bytes(raw))
    with pytest.raises(CourseError) as info:
        data.CIFAR10(stand_in, train=True)
    assert "damaged (sha256 checksum does not match): data_batch_3" in info.value.en
    assert len(data.CIFAR10(stand_in, train=False)) == 20  # the test split is still fine


def test_a_marker_without_hashes_vouches_for_nothing(stand_in):
    """A SYNTHETIC.txt copied next to other files (or from an older version) does not make them
    a stand-in: it must list each file's sha256."""
    marker = stand_in / CIFAR10_DIR / SYNTHETIC_MARKER
    marker.write_text(marker.read_text("utf-8").split("\n")[0] + "\n", encoding="utf-8")
    with pytest.raises(CourseError) as info:
        data.CIFAR10(stand_in, train=False)
    assert "lists no sha256 for it: made by an older version" in info.value.en
    assert "--synthetic" in info.value.en
    assert cifar10_stand_in.ensure_synthetic_cifar10(stand_in, 50, 20)[1] == "stand-in written"
    assert len(data.CIFAR10(stand_in, train=False)) == 20


def test_the_restricted_unpickler_allows_only_array_reconstruction():
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert np.array_equal(cifar10_files.restricted_unpickle(pickle.dumps({"a": array}, protocol=2))["a"],
                          array)
    for protocol in (3, 4):  # bytes written natively: no _codecs needed
        assert np.array_equal(cifar10_files.restricted_unpickle(pickle.dumps(array, protocol=protocol)),
                              array)
    for bad in (os.system, np.load, Payload):
        with pytest.raises(cifar10_files.ForbiddenGlobal):
            cifar10_files.restricted_unpickle(pickle.dumps(bad, protocol=2))
    # _codecs.encode is allowed for latin-1 only (what protocol 2 writes for bytes)
    evil = b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x04\x00\x00\x00zlib\x86R."
    with pytest.raises(pickle.UnpicklingError, match="zlib"):
        cifar10_files.restricted_unpickle(evil)


def python2_batch(images: np.ndarray, labels: list[int]) -> bytes:
    """A batch as the real files were written: Python 2's cPickle, protocol 2, the pixels as a
    Python 2 ``str`` (BINSTRING), numpy 1's module names."""
    def text(raw: bytes) -> bytes:
        return b"U" + bytes([len(raw)]) + raw if len(raw) < 256 else \
            b"T" + struct.pack("<I", len(raw)) + raw

    def whole(n: int) -> bytes:
        return b"K" + bytes([n]) if n < 256 else b"M" + struct.pack("<H", n)

    dtype = (b"cnumpy\ndtype\n" + text(b"u1") + b"K\x00K\x01\x87R(K\x03" + text(b"|") +
             b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")
    array = (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + text(b"b") +
             b"\x87R(K\x01" + whole(images.shape[0]) + whole(3072) + b"\x86" + dtype +
             b"\x89" + text(images.tobytes()) + b"tb")
    label_list = b"](" + b"".join(whole(v) for v in labels) + b"e"
    return (b"\x80\x02}(" + text(b"batch_label") + text(b"training batch 1 of 5") +
            text(b"data") + array + text(b"labels") + label_list + b"u.")


def test_the_real_files_python2_format_loads(stand_in):
    """The official files' globals (numpy.core.multiarray._reconstruct under numpy 2 too) load;
    what they hold comes back unchanged."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, 12)]
    raw = python2_batch(images, labels)
    entry = cifar10_files.restricted_unpickle(raw)
    assert entry["batch_label"] == "training batch 1 of 5"
    assert np.array_equal(entry["data"], images) and entry["labels"] == labels
    # and through the class, as a (hash-verified) stand-in file
    folder = stand_in / CIFAR10_DIR
    (folder / "test_batch").write_bytes(raw)
    rewrite(folder, "batches.meta", pickle.loads((folder / "batches.meta").read_bytes()))
    test = data.CIFAR10(stand_in, train=False)
    assert test.data.shape == (12, 32, 32, 3) and test.data.dtype == np.uint8
    assert np.array_equal(test.data[3].transpose(2, 0, 1).reshape(3072), images[3])
    assert test.targets == labels


# ---------------------------------------------------------------- malformed CIFAR-10 files

MALFORMED = {
    "rows of 3000 bytes": ("data_batch_2", batch(data=np.zeros((10, 3000), np.uint8)),
                           "pictures have shape (10, 3000), not (N, 3072)"),
    "labels outside 0-9": ("data_batch_1", batch(labels=[12] * 10), "labels run from 12 to 12"),
    "fewer labels": ("test_batch", batch(labels=[1] * 9), "10 pictures but 9 labels"),
    "float pictures": ("test_batch", batch(data=np.zeros((10, 3072), np.float32)),
                       "pictures are float32, not uint8"),
    "not a dict": ("data_batch_5", [1, 2, 3], "a list, not a batch dict"),
    "no labels": ("test_batch", {"data": np.zeros((10, 3072), np.uint8)}, "no 'labels' entry"),
    "text labels": ("test_batch", batch(labels=["cat"] * 10), "labels are not a list of whole numbers"),
    "wrong meta key": ("batches.meta", {"names": ["a"] * 10},
                       "no list of 10 class names under 'label_names'; found: names"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_but_readable_file_is_named_as_damaged(stand_in, tmp_path, capsys, case):
    name, content, detail = MALFORMED[case]
    rewrite(stand_in / CIFAR10_DIR, name, content)
    with pytest.raises(CourseError) as info:
        data.CIFAR10(stand_in, train=name != "test_batch")
    message = info.value.en
    assert f"damaged (wrong contents): {name} ({detail}" in message, message
    assert "00_prepare_data.py --synthetic" in message
    with pytest.raises(SystemExit) as exit_info:
        load_lesson("14_dataset_transform").main(
            ["--data-root", str(stand_in), "--log-dir", str(tmp_path / "l"), "--quick"])
    assert exit_info.value.code == 2 and "Traceback" not in capsys.readouterr().err


# ---------------------------------------------------------------- the CIFAR10 class

def test_cifar10_is_called_like_torchvisions(data_root, tmp_path, capsys):
    from torchvision import transforms

    train_set = data.CIFAR10(root=str(data_root), train=True,
                             transform=transforms.ToTensor(), download=True)
    test_set = data.CIFAR10(data_root, train=False)
    assert (len(train_set), len(test_set)) == (1000, 500)
    assert train_set.data.dtype == np.uint8 and train_set.data.shape == (1000, 32, 32, 3)
    assert test_set.classes == list(data.CIFAR10_CLASSES)
    assert test_set.class_to_idx["cat"] == 3 and len(train_set.targets) == 1000
    img, target = train_set[0]
    assert tuple(img.shape) == (3, 32, 32) and target == train_set.targets[0]
    pil, _ = test_set[0]
    assert pil.size == (32, 32) and pil.mode == "RGB"
    assert "downloading" not in capsys.readouterr().out  # a stand-in is never downloaded over
    with pytest.raises(CourseError, match=r"download=False"):
        data.CIFAR10(tmp_path / "none", train=True)
    with pytest.raises(CourseError, match="could not be downloaded"):  # conftest: offline
        data.CIFAR10(tmp_path / "none", train=True, download=True)
    assert not (tmp_path / "none" / CIFAR10_DIR).exists()


def test_cifar10_messages_show_absolute_paths(stand_in, monkeypatch):
    monkeypatch.chdir(stand_in.parent)
    (stand_in / CIFAR10_DIR / "test_batch").unlink()
    with pytest.raises(CourseError) as info:
        data.cifar10("dataset", train=False)
    assert f"CIFAR-10 in {stand_in / CIFAR10_DIR} is damaged (missing: test_batch)" in \
        info.value.en


# ---------------------------------------------------------------- pictures

def saved(image: Image.Image, path: Path, **kwargs) -> Path:
    image.save(path, **kwargs)
    return path


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A small file whose PNG header claims ``width`` x ``height`` pixels (no pixel data)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + \
            struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
                     chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))
    return path


def test_open_picture_gives_8bit_rgb_for_every_kind_pillow_opens(tmp_path):
    red = (200, 30, 30)
    gif = [Image.new("RGB", (16, 8), red).convert("P"),
           Image.new("RGB", (16, 8), (30, 30, 200)).convert("P")]
    palette = Image.new("P", (16, 8))
    palette.putpalette([*red, 0, 0, 0] * 128)
    made = {
        "cmyk.jpg": saved(Image.new("CMYK", (16, 8), (0, 255, 255, 0)), tmp_path / "cmyk.jpg"),
        "sixteen.png": saved(Image.fromarray(np.full((8, 16), 32896, np.uint16)),
                             tmp_path / "sixteen.png"),
        "rgba.png": saved(Image.new("RGBA", (16, 8), (*red, 128)), tmp_path / "rgba.png"),
        "gray.jpg": saved(Image.new("L", (16, 8), 128), tmp_path / "gray.jpg"),
        "palette.png": saved(palette, tmp_path / "palette.png", transparency=1),
        "animated.gif": saved(gif[0], tmp_path / "animated.gif", save_all=True,
                              append_images=gif[1:]),
    }
    with Image.open(made["sixteen.png"]) as img:
        assert img.mode.startswith("I")  # Pillow really opens it as a 16-bit picture
    with Image.open(made["animated.gif"]) as img:
        assert img.n_frames == 2 and img.mode == "P"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no warning on the way
        pictures = {name: open_picture(path) for name, path in made.items()}
    for name, picture in pictures.items():
        array = np.asarray(picture)
        assert picture.mode == "RGB" and array.dtype == np.uint8, name
        assert array.shape == (8, 16, 3), name
    assert np.asarray(pictures["sixteen.png"])[0, 0].tolist() == [128, 128, 128]  # not clipped
    assert np.asarray(pictures["gray.jpg"])[0, 0].tolist() == [128, 128, 128]
    for name in ("cmyk.jpg", "rgba.png", "palette.png", "animated.gif"):  # red: the first frame
        r, g, b = np.asarray(pictures[name])[4, 8].tolist()
        assert r > 150 and g < 80 and b < 80, (name, r, g, b)
    # mode=None keeps the picture's own mode (06 shows that a GIF is "P"); "L" converts to that
    assert open_picture(made["animated.gif"], mode=None).mode == "P"
    assert open_picture(made["rgba.png"], mode="L").mode == "L"
    with open_picture(made["cmyk.jpg"], load=False) as header_only:
        assert header_only.mode == "CMYK" and header_only.size == (16, 8)


@pytest.mark.parametrize("size", [(10000, 10000), (20000, 20000)],
                         ids=["over our limit", "over Pillow's own limit"])
def test_open_picture_refuses_huge_pictures_before_decoding(tmp_path, size):
    path = png_claiming(tmp_path / "huge.png", *size)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's DecompressionBombWarning would fail here
        with pytest.raises(CourseError) as info:
            open_picture(path)
    message = info.value.en
    assert f"{path} is too large" in message and "under 4000 x 4000" in message
    if size == (10000, 10000):
        assert "(10000 x 10000 = 100,000,000 pixels)" in message
    assert info.value.zh


def test_open_picture_names_files_it_cannot_use(tmp_path, monkeypatch):
    root = tmp_path / "dataset"
    write_synthetic_hymenoptera(root, quick=True)
    ant = hymenoptera.image_files(root / "train" / "ants_image")[0]
    ant.write_bytes(ant.read_bytes()[:400])  # an interrupted copy
    with pytest.raises(CourseError) as info:
        open_picture(ant)
    assert f"The picture {ant} cannot be opened" in info.value.en
    # a stand-in: 00 --synthetic rewrites it (no "delete the folder": it may hold the learner's)
    assert "--synthetic" in info.value.en and "delete the folder" not in info.value.en

    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    for path, why in ((text, "UnidentifiedImageError"), (folder, "not a regular file"),
                      (tmp_path / "missing.png", "No such file")):
        with pytest.raises(CourseError, match=why) as info:
            open_picture(path)
        assert "Use another .jpg or .png picture" in info.value.en  # not in a data set folder
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CourseError) as info:
        open_picture("notes.jpg")
    assert str(text) in info.value.en  # absolute, whatever the current folder


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX-only")
def test_a_pipe_named_like_a_picture_does_not_hang(tmp_path):
    fifo = tmp_path / "ant.jpg"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(CourseError, match="not a regular file"):
        open_picture(fifo)
    assert time.monotonic() - started < 5


# ---------------------------------------------------------------- 00: near-miss downloads

@pytest.fixture
def quick_is_real(monkeypatch):
    """Let a quick-size tree without marker pass as the complete real ants/bees set."""
    monkeypatch.setattr(hymenoptera_files, "REAL_COUNTS", QUICK_COUNTS)


@pytest.mark.parametrize("name", ["hymenoptera_data (1).zip", "hymenoptera_data(2).zip",
                                  "hymenoptera_data.zip.crdownload"])
def test_a_browser_renamed_zip_is_named_with_the_exact_name_expected(tmp_path, name):
    root = tmp_path / "dataset"
    root.mkdir()
    (root / name).write_bytes(b"PK whatever")
    with pytest.raises(CourseError) as info:
        load_lesson("00_prepare_data").main.__wrapped__(["--data-root", str(root)])
    err = info.value.en
    expected = "unfinished browser download" if name.endswith("crdownload") else \
        f"rename {root / name} to exactly {HYMENOPTERA_ARCHIVE}"
    assert expected in err and "Nothing was downloaded" in err
    assert (root / name).read_bytes() == b"PK whatever", "the learner's file is left alone"


def test_a_renamed_cifar_archive_is_named_and_not_downloaded(tmp_path, capsys):
    root = tmp_path / "dataset"
    root.mkdir()
    (root / "cifar-10-python (1).tar.gz").write_bytes(b"\x1f\x8b")
    with pytest.raises(downloads.DownloadFailed) as info:
        cifar10_files.prepare_real_cifar10(root)
    assert f"rename {root / 'cifar-10-python (1).tar.gz'} to exactly cifar-10-python.tar.gz" \
        in str(info.value)
    assert "downloading" not in capsys.readouterr().out


def test_the_chinese_half_names_only_the_archive_that_failed(tmp_path, capsys, quick_is_real):
    root = tmp_path / "dataset"
    write_synthetic_hymenoptera(root, quick=True)
    for folder in (root / HYMENOPTERA_DIR, root / "train", root / "val"):
        (folder / SYNTHETIC_MARKER).unlink()   # complete "real" ants/bees
    with pytest.raises(SystemExit):
        load_lesson("00_prepare_data").main(["--data-root", str(root)])
    captured = capsys.readouterr()
    zh = next(line for line in captured.err.splitlines() if line.startswith("错误"))
    assert "cifar-10-python.tar.gz" in zh and HYMENOPTERA_ARCHIVE not in zh
    assert "(up to date, kept)" in captured.out and "(kept (" not in captured.out
    assert f"{root / HYMENOPTERA_DIR}" in captured.out and "real / 真实数据" in captured.out


def test_a_folder_unpacked_one_level_too_deep_is_found_and_never_called_real(
        tmp_path, capsys, quick_is_real):
    root = tmp_path / "dataset"
    inner = write_synthetic_hymenoptera(tmp_path / "made", quick=True)
    (inner / SYNTHETIC_MARKER).unlink()
    outer = root / HYMENOPTERA_DIR
    outer.mkdir(parents=True)
    shutil.move(str(inner), str(outer / HYMENOPTERA_DIR))  # what Windows' "Extract All" makes
    nested = outer / HYMENOPTERA_DIR
    prepare = load_lesson("00_prepare_data").main
    with pytest.raises(CourseError) as info:
        prepare.__wrapped__(["--data-root", str(root)])
    captured = capsys.readouterr()
    err = info.value.en
    assert f"move the folders train and val from {nested} into {outer}" in err
    line = next(x for x in captured.out.splitlines() if x.strip().startswith(str(outer)))
    assert "incomplete / 不完整: one level too deep" in line and "真实数据" not in line
    with pytest.raises(CourseError, match="one level too deep"):
        prepare.__wrapped__(["--data-root", str(root), "--synthetic", "--quick"])
    with pytest.raises(CourseError, match=f"move the folders train and val from {nested}"):
        hymenoptera.hymenoptera_dir(root, "train")
    assert hymenoptera_files.tree_problem(nested) is None, "nothing of the learner's was touched"


def test_cifar_unpacked_into_its_own_folder_is_found(tmp_path, capsys):
    root = tmp_path / "dataset"
    inner = write_synthetic_cifar10(root / "cifar-10-python", 50, 20)
    with pytest.raises(downloads.DownloadFailed) as info:
        cifar10_files.prepare_real_cifar10(root)
    assert f"move the folder {inner} into {root}" in str(info.value)
    with pytest.raises(CourseError, match="one level too deep"):
        data.cifar10(root, train=False)
    assert "downloading" not in capsys.readouterr().out
    outer = root / CIFAR10_DIR
    shutil.move(str(inner), str(outer / CIFAR10_DIR))  # cifar-10-batches-py/cifar-10-batches-py
    with pytest.raises(CourseError, match=f"move the files in {outer / CIFAR10_DIR} up into"):
        data.cifar10(root, train=False)


# ---------------------------------------------------------------- interrupted and killed runs

INTERRUPT_POINTS = {  # where Ctrl-C lands: (object, attribute)
    "a picture being saved": (Image.Image, "save"),
    "the course layout being copied": (hymenoptera_files.shutil, "copyfile"),
    "a CIFAR-10 batch being written": (cifar10_stand_in, "_write_pickle"),
    "a folder being renamed into place": (os, "replace"),
    "a temporary folder being removed": (files.shutil, "rmtree"),
}


@pytest.mark.parametrize("point", list(INTERRUPT_POINTS))
def test_ctrl_c_at_any_moment_of_synthetic_leaves_no_partial_files(tmp_path, monkeypatch,
                                                                   capsys, point):
    root = tmp_path / "dataset"
    prepare = load_lesson("00_prepare_data").main
    argv = ["--data-root", str(root), "--synthetic", "--quick"]
    owner, attribute = INTERRUPT_POINTS[point]
    real = getattr(owner, attribute)
    for seed, nth in (("0", 1), ("1", 3)):  # a first run, then one replacing the first's folders
        calls = []

        def interrupted(*args, calls=calls, nth=nth, **kwargs):
            calls.append(1)
            if len(calls) == nth:
                raise KeyboardInterrupt
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, attribute, interrupted)
        with pytest.raises(SystemExit) as info:
            prepare([*argv, "--seed", seed])
        monkeypatch.setattr(owner, attribute, real)
        assert info.value.code in (2, 130) and "Traceback" not in capsys.readouterr().err
        # an interrupted rmtree cleaning up its own temporary folder is the one thing that
        # stays; it is our process's, so old or dead-PID rules decide: the next run removes
        # it as stale once this process is gone. Anything else must be gone already.
        if point != "a temporary folder being removed":
            assert leftovers(root) == [], point
        result = prepare([*argv, "--seed", seed])  # the next run completes from what is there
        assert result["hymenoptera_synthetic"] and result["cifar10_synthetic"]
        assert len(data.CIFAR10(root, train=False)) == 500
        assert hymenoptera_files.tree_problem(root / HYMENOPTERA_DIR, QUICK_COUNTS) is None


def test_stale_temporary_folders_of_killed_runs_are_removed_and_live_ones_kept(tmp_path):
    root = tmp_path / "dataset"
    root.mkdir()
    dead = 2**31 - 2      # above every system's largest PID: no such process
    alive = os.getppid()  # the process that started the tests
    planted = {
        f".{HYMENOPTERA_DIR}.{dead}.abc.tmp": False,    # its process is gone
        f".{CIFAR10_DIR}.{alive}.abc.tmp": True,        # a run still writing
        ".train.xyz123.tmp": True,                      # older naming, recent
        ".val.old123.tmp": False,                       # older naming, 2 hours old
        f".{HYMENOPTERA_DIR}.{alive}.old.tmp": False,   # alive PID, 2 hours old: a reused PID
    }
    for name in planted:
        (root / name / "part").mkdir(parents=True)
    two_hours_ago = time.time() - 7200
    for name in (".val.old123.tmp", f".{HYMENOPTERA_DIR}.{alive}.old.tmp"):
        os.utime(root / name, (two_hours_ago, two_hours_ago))
    load_lesson("00_prepare_data").main(["--data-root", str(root), "--synthetic", "--quick"])
    kept = {p.name for p in root.iterdir() if p.name.endswith(".tmp")}
    expected = {name for name, keep in planted.items() if keep}
    if os.name != "posix":  # no PID check there: only the age counts
        expected.add(f".{HYMENOPTERA_DIR}.{dead}.abc.tmp")
    assert kept == expected


def test_a_folder_is_replaced_only_when_its_new_copy_is_complete(tmp_path, capsys):
    target = tmp_path / "x"
    target.mkdir()
    (target / "ours.txt").write_text("old")
    (target / "mine.txt").write_text("the learner's")
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C while the new copy is being written
        with files.replacing_folder(target, {"ours.txt"}) as new:
            new.mkdir()
            (new / "ours.txt").write_text("half")
            raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["x"]  # no temporary folder left
    assert {p.name: p.read_text() for p in target.iterdir()} == {
        "ours.txt": "old", "mine.txt": "the learner's"}
    with files.replacing_folder(target, {"ours.txt"}) as new:
        new.mkdir()
        (new / "ours.txt").write_text("new")
    assert {p.name: p.read_text() for p in target.iterdir()} == {"ours.txt": "new"}
    kept = [p for p in tmp_path.iterdir() if p.name != "x"]
    assert [p.name for p in kept] == [f"x.kept-{time.strftime('%Y-%m-%d')}"]
    assert (kept[0] / "mine.txt").read_text() == "the learner's"  # moved aside, not deleted
    assert "moved to" in capsys.readouterr().out
