"""00_prepare_data --from-images: CIFAR-10 rebuilt from a picture folder is a marked,
verified, non-official copy that lessons read and name, and that never replaces what it should
not. Tiny generated picture folders only (never the real data)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from conftest import load_lesson
from tudui import data
from tudui.data import CIFAR10_CLASSES
from tudui.errors import CourseError
from tudui.infra.cifar10_files import CIFAR10_DIR
from tudui.infra.cifar10_stand_in import ensure_synthetic_cifar10
from tudui.infra.markers import REBUILT_MARKER, is_rebuilt, marker_files


def picture_folder(top, per_class=(2, 1)):
    """top/train/<class>/NNNN.png (one class as .jpg) and top/test/...; returns {path: pixels}."""
    rng = np.random.default_rng(0)
    pictures = {}
    for split, count in zip(("train", "test"), per_class):
        for label, name in enumerate(CIFAR10_CLASSES):
            (top / split / name).mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                suffix = ".jpg" if name == "cat" else ".png"
                path = top / split / name / f"{i:04d}{suffix}"
                Image.fromarray(pixels).save(path)
                pictures[f"{split}/{name}/{path.name}"] = (pixels, label)
    return pictures


def prepare(root, source):
    return load_lesson("00_prepare_data").main(["--data-root", str(root),
                                                "--from-images", str(source)])


def test_a_picture_folder_becomes_a_verified_marked_copy_that_lessons_name(tmp_path, capsys):
    pictures = picture_folder(tmp_path / "pics")
    root = tmp_path / "dataset"
    result = prepare(root, tmp_path / "pics")
    folder = root / CIFAR10_DIR
    assert result["cifar10_rebuilt"] and not result["cifar10_synthetic"] and is_rebuilt(folder)
    assert "non-official copy" in capsys.readouterr().out
    assert set(marker_files(folder)) == {"data_batch_1", "data_batch_2", "data_batch_3",
                                         "data_batch_4", "data_batch_5", "test_batch",
                                         "batches.meta"}
    assert str(tmp_path / "pics") in (folder / REBUILT_MARKER).read_text()

    train = data.CIFAR10(root, train=True)
    test = data.CIFAR10(root, train=False)
    assert capsys.readouterr().out.count("[non-official copy]") == 1   # once per process
    assert (len(train), len(test)) == (20, 10) and train.classes == list(CIFAR10_CLASSES)
    assert data.cifar10_is_rebuilt(root) and not data.cifar10_is_synthetic(root)
    assert train.targets[:10] != sorted(train.targets[:10])   # classes mixed, as the course needs
    names = [n for i in range(1, 6) for n in _filenames(folder / f"data_batch_{i}")]
    for name, picture, label in zip(names, train.data, train.targets):
        pixels, expected = pictures[name]
        assert label == expected
        if name.endswith(".png"):          # lossless: the very pixels; a JPEG only near them
            assert np.array_equal(picture, pixels)

    listed = marker_files(folder)
    (folder / "my_notes.txt").write_text("mine")               # a learner's file in the folder
    again = prepare(root, tmp_path / "pics")["folders"]      # the same pictures, the same files
    assert "rebuilt from 20 + 10 pictures" in again[str(folder)]
    assert marker_files(folder) == listed
    kept = [p for p in root.iterdir() if p.name.startswith(f"{CIFAR10_DIR}.kept-")]
    assert [p.name for p in kept[0].iterdir()] == ["my_notes.txt"]   # moved aside, not deleted


def _filenames(path):
    from tudui.infra.cifar10_files import restricted_unpickle

    return restricted_unpickle(path.read_bytes())["filenames"]


def test_a_damaged_rebuilt_file_names_the_command_that_rebuilds_it(tmp_path):
    picture_folder(tmp_path / "my pics")
    root = tmp_path / "dataset"
    prepare(root, tmp_path / "my pics")
    batch = root / CIFAR10_DIR / "test_batch"
    raw = bytearray(batch.read_bytes())
    raw[-100] ^= 1
    batch.write_bytes(bytes(raw))
    with pytest.raises(CourseError) as info:
        data.CIFAR10(root, train=False)
    message = " ".join(str(info.value).split())
    assert "test_batch" in message and "sha256 checksum does not match" in message
    assert f'--from-images "{tmp_path / "my pics"}"' in message


def test_a_wrong_picture_folder_is_explained_and_writes_nothing(tmp_path, capsys):
    picture_folder(tmp_path / "pics", per_class=(1, 1))
    (tmp_path / "pics" / "test" / "truck" / "0000.png").unlink()
    Image.new("RGB", (64, 64)).save(tmp_path / "pics" / "train" / "dog" / "big.png")
    root = tmp_path / "dataset"
    with pytest.raises(SystemExit) as info:
        prepare(root, tmp_path / "pics")      # the layout is checked before any picture is read
    err = " ".join(capsys.readouterr().err.split())
    assert info.value.code == 2 and "test/truck/ holds no pictures" in err
    assert "Nothing was written" in err
    Image.new("RGB", (32, 32)).save(tmp_path / "pics" / "test" / "truck" / "0000.png")
    with pytest.raises(SystemExit):
        prepare(root, tmp_path / "pics")
    assert "big.png is 64x64, not 32x32" in " ".join(capsys.readouterr().err.split())
    assert not root.exists()                  # not even an empty --data-root folder


def test_stand_ins_keep_a_rebuilt_copy_and_a_copy_keeps_unmarked_data(tmp_path, capsys):
    picture_folder(tmp_path / "pics", per_class=(1, 1))
    root = tmp_path / "dataset"
    prepare(root, tmp_path / "pics")
    listed = marker_files(root / CIFAR10_DIR)
    assert "non-official copy kept" in ensure_synthetic_cifar10(root, 50, 20)[1]
    assert marker_files(root / CIFAR10_DIR) == listed
    (root / CIFAR10_DIR / REBUILT_MARKER).unlink()   # now an unmarked folder, not official
    with pytest.raises(SystemExit) as info:
        prepare(root, tmp_path / "pics")
    assert info.value.code == 2 and "does not write over it" in " ".join(
        capsys.readouterr().err.split())
    assert (root / CIFAR10_DIR / "data_batch_1").is_file()
