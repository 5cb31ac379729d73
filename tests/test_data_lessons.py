"""Lessons P6-P15: what each one teaches, checked on the stand-in data (no network)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import TEST_CIFAR_TEST, TEST_CIFAR_TRAIN, load_lesson, read_events
from tudui.data import CIFAR10_CLASSES, QUICK_TEST_SIZE
from tudui.errors import CourseError
from tudui.hymenoptera import ERROR_IMAGE
from tudui.infra.cifar10_stand_in import make_synthetic_cifar10_arrays
from tudui.infra.hymenoptera_files import QUICK_COUNTS, ensure_synthetic_hymenoptera


@pytest.fixture(scope="module")
def full_root(tmp_path_factory) -> Path:
    """The ants/bees stand-in at the real set's size (124/121 train, 70/83 val)."""
    root = tmp_path_factory.mktemp("full")
    ensure_synthetic_hymenoptera(root, quick=False, seed=0)
    return root


# ---------------------------------------------------------------- 06 Dataset

def test_06_both_dataset_forms_with_the_courses_numbers(full_root, tmp_path, capsys):
    result = load_lesson("06_read_data").main(["--data-root", str(full_root),
                                               "--log-dir", str(tmp_path)])
    assert result["lengths"] == (124, 121, 245)
    assert result["first_bee_index"] == 124 and result["first_bee_label"] == "bees"
    assert result["label_of_last_ant"] == "ants"
    assert result["error_index"] == 119 and result["error_name"] == ERROR_IMAGE
    assert result["error_shape"][0] == 1 and result["fixed_shape"][0] == 3
    assert result["error_shape"][1:] == result["fixed_shape"][1:]
    assert "doesn't match the broadcast shape" in result["error_message"]
    assert all(Path(img).stem == Path(label).stem for img, label in result["pairs"])
    assert result["p7_length"] == 124 and result["first_item_label"] == "ants"
    assert "124 121 245" in capsys.readouterr().out
    # the course's read_data.py: the GIF in TensorBoard, and DataLoader(batch_size=1)
    assert read_events(result["log_dir"])["images"] == {"error": [0]}
    assert result["dataloader_batches"] == 245


def test_06_on_the_quick_stand_in(run_lesson):
    result = run_lesson("06_read_data")
    ants, bees, total = result["lengths"]
    assert total == ants + bees and result["first_bee_index"] == ants
    assert result["error_index"] == ants - 5 and result["error_shape"][0] == 1


def test_06_without_data_says_to_run_prepare(tmp_path):
    main = load_lesson("06_read_data").main
    with pytest.raises(CourseError, match="00_prepare_data.py"):
        main.__wrapped__(["--data-root", str(tmp_path / "empty")])
    with pytest.raises(SystemExit) as info:
        main(["--data-root", str(tmp_path / "empty")])
    assert info.value.code == 2


# ---------------------------------------------------------------- 08 TensorBoard

@contextlib.contextmanager
def native_stderr(into: list):
    """What native code (the profiler's C++ logging) writes to file descriptor 2 meanwhile;
    pytest's capsys sees only Python's sys.stderr."""
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            into.append(tmp.read().decode(errors="replace"))


@pytest.fixture(scope="module")
def tb_run(data_root, tmp_path_factory) -> tuple[Path, dict]:
    """Lesson 08 run once, --quick, into its own log folder (a name with a space); its printed
    output and what native code wrote to stderr go into result["stdout"] and ["native_stderr"]."""
    logs = tmp_path_factory.mktemp("logs08") / "my logs"
    out, native = io.StringIO(), []
    with contextlib.redirect_stdout(out), native_stderr(native):
        result = load_lesson("08_tensorboard").main(["--data-root", str(data_root), "--log-dir",
                                                     str(logs), "--device", "cpu", "--quick"])
    return logs, {**result, "stdout": out.getvalue(), "native_stderr": native[0]}


def test_08_writes_every_kind_of_summary(tb_run):
    logs, result = tb_run
    events = read_events(logs / "08_tensorboard")
    assert events["scalars"]["y=2x"] == [(i, 3.0 * i) for i in range(100)]
    assert events["images"]["train"] == [1, 2]
    assert events["images"]["image_grid"] == [0]
    assert events["histograms"]["normal"] == [0, 1, 2]
    assert events["graph"]
    assert "Cannot handle this data type" in result["hwc_error"]
    assert result["image_shape"][2] == 3                      # (H, W, C)
    projector = (logs / "08_tensorboard" / "projector_config.pbtxt").read_text()
    assert "ants_vs_bees" in projector
    tensors = next((logs / "08_tensorboard").rglob("tensors.tsv"))
    assert len(tensors.read_text().splitlines()) == result["embedding_points"]
    trace = json.loads(Path(result["trace"]).read_text())
    assert any("conv" in str(e.get("name", "")) for e in trace["traceEvents"])


def test_08_prints_a_quoted_logdir_and_no_profiler_noise(tb_run):
    logs, result = tb_run
    assert f'tensorboard --logdir "{logs}"' in result["stdout"]  # the folder has a space
    assert "USDT" not in result["native_stderr"] and "profiler_start" not in result["native_stderr"]
    assert "aten::conv2d" in result["stdout"]  # the profiler's table itself is printed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def test_a_real_tensorboard_server_shows_the_lessons_tags(tb_run, tmp_path):
    logs, _ = tb_run
    exe = Path(sys.executable).with_name("tensorboard.exe" if sys.platform == "win32"
                                         else "tensorboard")
    if not exe.exists():
        pytest.skip(f"no tensorboard next to {sys.executable}")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server_log = tmp_path / "tensorboard.log"
    with open(server_log, "wb") as log:
        proc = subprocess.Popen([str(exe), "--logdir", str(logs), "--host", "127.0.0.1",
                                 "--port", str(port), "--load_fast", "false",
                                 "--reload_interval", "1"], stdout=log, stderr=log)
    try:
        scalars = {}
        for _ in range(600):  # at most ~2 minutes: the server starts, then loads the folder
            try:
                scalars = _get_json(f"{base}/data/plugin/scalars/tags")
                if "y=2x" in scalars.get("08_tensorboard", {}):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            try:
                proc.wait(timeout=0.2)  # the polling interval; returns at once if it died
                pytest.fail("tensorboard exited:\n" + server_log.read_text(errors="replace"))
            except subprocess.TimeoutExpired:
                pass
        assert "y=2x" in scalars.get("08_tensorboard", {}), server_log.read_text()
        images = _get_json(f"{base}/data/plugin/images/tags")["08_tensorboard"]
        assert {"train", "image_grid"} <= set(images)
        assert "08_tensorboard" in _get_json(f"{base}/data/runs")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------- 10 ToTensor, BGR

def test_10_totensor_and_the_opencv_colour_swap(run_lesson, log_dir):
    result = run_lesson("10_transforms")
    tensor = result["tensor"]
    assert result["tensor_shape"] == (3, 512, 768) and result["size"] == (768, 512)
    assert tensor.dtype == torch.float32 and 0 <= tensor.min() and tensor.max() <= 1
    assert result["bgr_is_flipped_rgb"]
    assert result["diff_fixed"] < 0.01 < result["diff_bgr"]
    assert torch.allclose(result["cv_tensor"].flip(0), tensor, atol=0.05)
    events = read_events(log_dir / "10_transforms")
    assert events["images"] == {"Tensor_img": [0], "PIL | OpenCV BGR | OpenCV fixed": [0]}


def _odd_picture(kind: str, path: Path) -> None:
    """A picture Pillow opens in a mode other than 8-bit RGB (lesson 10's first ant)."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    if kind == "cmyk.jpg":
        Image.fromarray(rgb).convert("CMYK").save(path)
    elif kind == "16bit.png":
        Image.fromarray(rng.integers(0, 65536, (48, 64), dtype=np.uint16)).save(path)
    elif kind == "rgba.png":
        Image.fromarray(rgb).convert("RGBA").save(path)
    elif kind == "grey.jpg":
        Image.fromarray(rgb).convert("L").save(path)
    elif kind == "palette.gif":
        Image.fromarray(rgb).convert("P").save(path)
    elif kind == "animated.gif":
        frames = [Image.fromarray(np.roll(rgb, i, axis=1)).convert("P") for i in range(3)]
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)


@pytest.mark.parametrize("kind", ["cmyk.jpg", "16bit.png", "rgba.png", "grey.jpg", "palette.gif",
                                  "animated.gif"])
def test_10_pictures_in_other_modes_become_three_channels(own_root, tmp_path, kind):
    picture = own_root / "train" / "ants_image" / f"0000000000_{kind}"  # sorted first
    _odd_picture(kind, picture)
    with Image.open(picture) as img:
        assert img.mode != "RGB"
    logs = tmp_path / "logs"
    result = load_lesson("10_transforms").main(["--data-root", str(own_root), "--log-dir",
                                                str(logs), "--quick"])
    assert result["image"] == str(picture) and result["size"] == (64, 48)
    assert result["tensor_shape"] == (3, 48, 64) and result["tensor"].dtype == torch.float32
    assert 0 <= result["tensor"].min() and result["tensor"].max() <= 1
    assert result["cv_tensor"].shape == result["cv_fixed"].shape == (3, 48, 64)
    assert result["bgr_is_flipped_rgb"]
    assert read_events(logs / "10_transforms")["images"] == {
        "Tensor_img": [0], "PIL | OpenCV BGR | OpenCV fixed": [0]}


# ---------------------------------------------------------------- 12 useful transforms

def test_12_normalize_arithmetic_resize_compose_randomcrop(run_lesson, log_dir, capsys):
    result = run_lesson("12_useful_transforms")
    out = capsys.readouterr().out
    assert "__call__ Hello zhangsan" in out and "hello lisi" in out
    means_stds = [([0.5] * 3, [0.5] * 3), ([1, 3, 5], [3, 2, 1])]
    for (before, after), (mean, std) in zip(result["normalized"], means_stds):
        expected = [(b - m) / s for b, m, s in zip(before, mean, std)]
        assert after == pytest.approx(expected, abs=1e-6)
    pixel = result["tensor"][0][0][0].item()
    assert result["normalized"][0][1][0] == pytest.approx(2 * pixel - 1, abs=1e-6)
    assert result["resize_shape"] == (3, 512, 512)
    assert result["compose_shape"] == (3, 512, 768)   # shorter side 512, aspect kept
    assert result["crop_shapes"] == [(3, 512, 512)] * 10 and result["crops_differ"]
    events = read_events(log_dir / "12_useful_transforms")["images"]
    assert events == {"ToTensor": [0], "Normalize": [0, 1], "Resize": [0, 1],
                      "RandomCrop": list(range(10))}


def test_12_a_crop_larger_than_the_picture_is_explained(run_lesson, capsys):
    with pytest.raises(SystemExit) as info:
        run_lesson("12_useful_transforms", "--crop-size", "600", "5000")
    assert info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "768x512" in err and "pad_if_needed" in err and "Traceback" not in err


# ---------------------------------------------------------------- 14, 15 CIFAR-10

def _stand_in_test_images():
    images, labels = make_synthetic_cifar10_arrays(TEST_CIFAR_TRAIN + TEST_CIFAR_TEST, seed=0,
                                                   noisy_from=TEST_CIFAR_TRAIN)
    return images[TEST_CIFAR_TRAIN:], labels[TEST_CIFAR_TRAIN:]


def test_14_cifar10_with_a_transform(run_lesson, log_dir):
    result = run_lesson("14_dataset_transform")
    images, labels = _stand_in_test_images()
    assert result["classes"] == list(CIFAR10_CLASSES)
    assert result["img_shape"] == (3, 32, 32) and result["target"] == labels[0]
    assert result["class_name"] == CIFAR10_CLASSES[labels[0]]
    expected = torch.from_numpy(images[0]).permute(2, 0, 1).float() / 255
    assert torch.allclose(result["img"], expected)
    assert result["lengths"] == (TEST_CIFAR_TRAIN, TEST_CIFAR_TEST)  # the whole stand-in
    assert read_events(log_dir / "14_dataset_transform")["images"] == {"test_set": list(range(10))}


def test_15_dataloader_batches_shuffle_and_drop_last(run_lesson, log_dir):
    _, labels = _stand_in_test_images()
    n = min(QUICK_TEST_SIZE, TEST_CIFAR_TEST)
    result = run_lesson("15_dataloader")
    assert result["dataset_size"] == n and result["steps"] == [n // 64] * 2
    assert result["img_shape"] == (3, 32, 32) and result["target"] == labels[0]
    first, second = result["first_targets"]
    assert first != second and sorted(first) != first    # shuffled, and differently each epoch
    events = read_events(log_dir / "15_dataloader")["images"]
    assert events == {"Epoch: 0": list(range(n // 64)), "Epoch: 1": list(range(n // 64))}
    assert run_lesson("15_dataloader")["first_targets"] == result["first_targets"]  # same seed

    kept = run_lesson("15_dataloader", "--batch-size", "100", "--no-drop-last", "--no-shuffle",
                      "--epochs", "1")
    assert kept["steps"] == [-(-n // 100)] and kept["last_shape"] == (n % 100, 3, 32, 32)
    assert kept["first_targets"] == [labels[:100].tolist()]
    dropped = run_lesson("15_dataloader", "--batch-size", "100", "--epochs", "1")
    assert dropped["steps"] == [n // 100] and dropped["last_shape"][0] == 100


def test_15_without_cifar_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        load_lesson("15_dataloader").main(["--data-root", str(tmp_path), "--quick",
                                           "--log-dir", str(tmp_path / "logs")])
    assert info.value.code == 2
    assert "--synthetic" in " ".join(capsys.readouterr().err.split())
    assert not np.any([p.name.endswith(".part") for p in tmp_path.rglob("*")])


# ---------------------------------------------------------------- damaged data, bad flags

@pytest.fixture
def own_root(data_root, tmp_path) -> Path:
    """A private copy of the quick stand-ins, free to damage."""
    root = tmp_path / "data"
    shutil.copytree(data_root, root)
    return root


def test_06_hidden_files_are_not_pictures(own_root, tmp_path):
    for folder in ("hymenoptera_data/train/bees", "train/bees_image", "train/ants_label"):
        (own_root / folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")   # macOS Finder
    (own_root / "train/ants_image/._0000.jpg").write_bytes(b"\0\5\26\7")  # AppleDouble copy
    result = load_lesson("06_read_data").main(["--data-root", str(own_root), "--log-dir",
                                               str(tmp_path / "logs")])
    ants, bees = QUICK_COUNTS["train"]["ants"], QUICK_COUNTS["train"]["bees"]
    assert result["lengths"] == (ants, bees, ants + bees) and result["p7_length"] == ants
    assert result["error_name"] == ERROR_IMAGE


@pytest.mark.parametrize("lesson", ["06_read_data", "08_tensorboard", "10_transforms",
                                    "12_useful_transforms"])
def test_a_truncated_picture_is_named_and_a_rerun_of_prepare_repairs_it(own_root, tmp_path,
                                                                        lesson):
    first = sorted((own_root / "train" / "ants_image").glob("*.jpg"))[0]
    first.write_bytes(first.read_bytes()[:3000])
    logs = tmp_path / "logs"
    argv = ["--data-root", str(own_root), "--log-dir", str(logs), "--quick"]
    with pytest.raises(CourseError) as info:
        load_lesson(lesson).main.__wrapped__(argv)
    message = " ".join(info.value.en.split())
    assert f"The picture {first} cannot be opened" in message and "Delete that file" in message
    assert f"run `python src/00_prepare_data.py --synthetic --data-root {own_root}`" in message
    assert not logs.exists(), "nothing written before the picture was checked"
    # what the message says: 00 --synthetic copies the damaged picture again
    layout = dict(ensure_synthetic_hymenoptera(own_root, quick=True, seed=0))
    assert layout[own_root / "train"] == "written"
    load_lesson(lesson).main(argv)


def test_06_without_the_gif_skips_its_demo_or_names_the_lonely_label(own_root, tmp_path,
                                                                     capsys):
    main = load_lesson("06_read_data").main
    argv = ["--data-root", str(own_root), "--log-dir", str(tmp_path)]
    (own_root / "train" / "ants_image" / ERROR_IMAGE).unlink()
    with pytest.raises(CourseError) as info:   # the label file is still there
        main.__wrapped__(argv)
    assert "label files without a picture: imageNotFound.txt" in info.value.en
    (own_root / "train" / "ants_label" / "imageNotFound.txt").unlink()
    result = main(argv)
    assert result["error_index"] is None and result["p7_length"] == QUICK_COUNTS["train"]["ants"] - 1
    assert "error-image demo is skipped" in capsys.readouterr().out


@pytest.mark.parametrize("lesson", ["14_dataset_transform", "15_dataloader"])
def test_a_truncated_cifar_batch_is_named(own_root, tmp_path, capsys, lesson):
    batch = own_root / "cifar-10-batches-py" / "test_batch"
    batch.write_bytes(batch.read_bytes()[:100_000])
    with pytest.raises(SystemExit) as info:
        load_lesson(lesson).main(["--data-root", str(own_root), "--log-dir",
                                  str(tmp_path / "logs"), "--quick"])
    assert info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "damaged (cannot be read): test_batch" in err and "Traceback" not in err
    assert f"00_prepare_data.py --synthetic --data-root {own_root}" in err


def test_14_names_a_partial_archive_and_leaves_nothing(tmp_path):
    root = tmp_path / "empty"
    root.mkdir()
    (root / "cifar-10-python.tar.gz").write_bytes(bytes(2_000_000))  # an interrupted download
    with pytest.raises(CourseError) as info:
        load_lesson("14_dataset_transform").main.__wrapped__(
            ["--data-root", str(root), "--log-dir", str(tmp_path / "logs"), "--quick"])
    message = " ".join(info.value.en.split())
    assert "cifar-10-python.tar.gz" in message and "damaged or incomplete" in message
    assert "00_prepare_data.py" in message and list(root.iterdir()) == []


@pytest.mark.parametrize("crop", [["0"], ["-5"], ["1", "2", "3"], ["big"]])
def test_12_bad_crop_sizes_stop_before_anything_is_written(data_root, tmp_path, capsys, crop):
    logs = tmp_path / "logs"
    with pytest.raises(SystemExit) as info:
        load_lesson("12_useful_transforms").main(["--data-root", str(data_root), "--log-dir",
                                                  str(logs), "--crop-size", *crop])
    assert info.value.code == 2 and not logs.exists()
    err = capsys.readouterr().err
    assert "--crop-size" in err and "Traceback" not in err and "比图片大" not in err


@pytest.mark.parametrize("flags", [["--batch-size", "0"], ["--batch-size", "-4"],
                                   ["--num-workers", "-1"], ["--epochs", "0"]])
def test_15_bad_flags_stop_before_anything_is_written(data_root, tmp_path, capsys, flags):
    logs = tmp_path / "logs"
    with pytest.raises(SystemExit) as info:
        load_lesson("15_dataloader").main(["--data-root", str(data_root), "--log-dir", str(logs),
                                           "--quick", *flags])
    assert info.value.code == 2 and not logs.exists()
    assert flags[0] in capsys.readouterr().err


def test_15_a_batch_larger_than_the_data_with_drop_last_is_explained(run_lesson, log_dir):
    with pytest.raises(SystemExit) as info:
        run_lesson("15_dataloader", "--batch-size", "100000")
    assert info.value.code == 2 and not (log_dir / "15_dataloader").exists()
    kept = run_lesson("15_dataloader", "--batch-size", "100000", "--no-drop-last", "--epochs", "1")
    assert kept["steps"] == [1]
