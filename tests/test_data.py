"""The data layer and 00_prepare_data: stand-ins in the real formats, verified archives, offline
failures that explain themselves, and real data that stand-ins never overwrite."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torchvision
from PIL import Image

from conftest import load_lesson
from tudui import data, hymenoptera, paths
from tudui.data import CIFAR10_CLASSES
from tudui.errors import CourseError
from tudui.hymenoptera import ERROR_IMAGE, HYMENOPTERA_DIR, image_files
from tudui.infra import cifar10_files, cifar10_stand_in, commands, downloads, hymenoptera_files
from tudui.infra.cifar10_files import CIFAR10_DIR
from tudui.infra.cifar10_stand_in import write_synthetic_cifar10
from tudui.infra.downloads import DownloadFailed
from tudui.infra.hymenoptera_files import (
    HYMENOPTERA_ARCHIVE,
    QUICK_COUNTS,
    ensure_synthetic_hymenoptera,
    prepare_real_hymenoptera,
    write_synthetic_hymenoptera,
)
from tudui.infra.markers import SYNTHETIC_MARKER, is_synthetic


def digest_tree(folder: Path) -> dict[str, str]:
    """{relative path: sha1} of every file under ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(root: Path) -> list[str]:
    """Temporary or partial files a failed step might have left behind."""
    return [p.name for p in root.rglob("*") if p.name.endswith((".tmp", ".part"))]


# ---------------------------------------------------------------- stand-ins

def test_hymenoptera_stand_in_is_deterministic_and_has_the_real_quirks(tmp_path, data_root):
    second = write_synthetic_hymenoptera(tmp_path / "again", quick=True, seed=0)
    first_tree = digest_tree(data_root / HYMENOPTERA_DIR)
    assert first_tree == digest_tree(second), "same seed, different bytes"
    other = write_synthetic_hymenoptera(tmp_path / "other", quick=True, seed=1)
    assert digest_tree(other) != first_tree

    folder = data_root / HYMENOPTERA_DIR
    for split, per_class in QUICK_COUNTS.items():
        for name, n in per_class.items():
            assert len(image_files(folder / split / name)) == n
    ants = image_files(folder / "train" / "ants")
    assert ants[len(ants) - 5].name == ERROR_IMAGE          # 119 of 124 in the full set
    with Image.open(ants[len(ants) - 5]) as gif:
        assert gif.format == "GIF" and gif.mode == "P"
    assert [p.suffix for p in folder.rglob("*.jpeg")] == [".jpeg"]
    sizes = []
    for path in folder.rglob("*.jp*g"):
        with Image.open(path) as img:
            assert img.format == "JPEG" and img.mode == "RGB"
            sizes.append(img.size[0])
    assert min(sizes) >= 190 and max(sizes) - min(sizes) > 150  # varied sizes, like the real set
    assert is_synthetic(folder)


def test_course_layout_pairs_every_image_with_its_label_file(data_root):
    for split in ("train", "val"):
        split_dir = data_root / split
        assert is_synthetic(split_dir)
        for name in ("ants", "bees"):
            images = image_files(split_dir / f"{name}_image")
            source = image_files(data_root / HYMENOPTERA_DIR / split / name)
            assert [p.name for p in images] == [p.name for p in source]
            for image in images:
                label = split_dir / f"{name}_label" / f"{image.stem}.txt"
                assert label.read_text(encoding="utf-8") == name


def test_stand_ins_are_told_apart_by_a_model_free_statistic(data_root):
    # "Classes visibly different": bees are yellow/bright, ants dark on earthy colours.
    def mean_colour(path):
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB").resize((32, 32)), np.float32).mean((0, 1))

    folder = data_root / HYMENOPTERA_DIR / "train"
    ants = np.mean([mean_colour(p) for p in image_files(folder / "ants")], 0)
    bees = np.mean([mean_colour(p) for p in image_files(folder / "bees")], 0)
    assert bees.sum() > ants.sum() + 100


def test_cifar_stand_in_is_deterministic_and_loads_with_torchvision(tmp_path, monkeypatch):
    a = write_synthetic_cifar10(tmp_path / "a", 200, 100, seed=0)
    b = write_synthetic_cifar10(tmp_path / "b", 200, 100, seed=0)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                            "data_batch_5", "test_batch", "batches.meta", SYNTHETIC_MARKER])
    assert digest_tree(a) == digest_tree(b)
    ours = data.CIFAR10(str(tmp_path / "a"), train=False, download=False)
    # torchvision's own class, with only its md5 checks switched off, reads the same thing
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)
    theirs = torchvision.datasets.CIFAR10(str(tmp_path / "a"), train=False, download=False)
    assert theirs.classes == list(CIFAR10_CLASSES) == ours.classes
    assert len(theirs) == 100 and np.array_equal(theirs.data, ours.data)
    img, target = theirs[0]
    assert img.size == (32, 32) and img.mode == "RGB" and 0 <= target < 10
    train = torchvision.datasets.CIFAR10(str(tmp_path / "a"), train=True, download=False)
    assert len(train) == 200 and sorted(set(train.targets)) == list(range(10))


def test_cifar_stand_in_pictures_stay_the_same_bytes():
    # The numbers tests and the README quote come from these pictures: a change to how they are
    # drawn must be deliberate (and bump STAND_IN_VERSION so old stand-ins are rewritten).
    images, labels = cifar10_stand_in.make_synthetic_cifar10_arrays(300, 0, noisy_from=200)
    digest = hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()
    assert digest == "a99fabd372b2734d4eeff395229a4a75ae55c954bd50b6118449c0ca7bc7708b"


def test_a_quick_run_reads_only_the_files_holding_its_pictures(data_root, monkeypatch):
    read = []
    real_read = cifar10_files._read_cifar_file
    monkeypatch.setattr(cifar10_files, "_read_cifar_file",
                        lambda root, name, *a: read.append(name) or real_read(root, name, *a))
    quick = data.cifar10(data_root, train=True, quick=True)
    # the test stand-in holds 200 pictures per file: the first 512 are in the first three
    assert read == ["data_batch_1", "data_batch_2", "data_batch_3", "batches.meta"]
    full = data.CIFAR10(data_root, train=True)
    assert len(quick) == data.QUICK_TRAIN_SIZE and len(full) == 1000
    # the same pictures and labels as a full read, across the file edges too
    assert np.array_equal(quick.dataset.data[:512], full.data[:512])
    assert [quick[i][1] for i in range(512)] == full.targets[:512]


# ---------------------------------------------------------------- 00_prepare_data

def test_prepare_without_network_explains_and_exits_2(tmp_path, capsys):
    root = tmp_path / "dataset"
    with pytest.raises(SystemExit) as info:
        load_lesson("00_prepare_data").main(["--data-root", str(root)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    for needed in (HYMENOPTERA_ARCHIVE, "cifar-10-python.tar.gz", "--synthetic", str(root),
                   "https://download.pytorch.org/tutorial/hymenoptera_data.zip"):
        assert needed in " ".join(err.split()), needed
    assert "Traceback" not in err
    assert list(root.iterdir()) == [], "a failed download must leave nothing behind"


def test_prepare_synthetic_writes_reuses_and_reports(tmp_path, capsys):
    root = tmp_path / "dataset"
    prepare = load_lesson("00_prepare_data").main
    result = prepare(["--data-root", str(root), "--synthetic", "--quick"])
    assert result["hymenoptera_synthetic"] and result["cifar10_synthetic"]
    out = capsys.readouterr().out
    assert "synthetic stand-in" in out and str(root / CIFAR10_DIR) in out
    assert set(result["folders"].values()) == {"stand-in written", "written"}
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}

    again = prepare(["--data-root", str(root), "--synthetic", "--quick"])
    assert set(again["folders"].values()) == {"stand-in reused", "up to date, kept"}
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()} == before

    other_seed = prepare(["--data-root", str(root), "--synthetic", "--quick", "--seed", "1"])
    assert "stand-in written" in other_seed["folders"].values()
    assert leftovers(root) == []


def test_stand_ins_never_overwrite_real_data(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar10_files, "cifar10_folder_problem", lambda folder: None)  # passes as real
    monkeypatch.setattr(hymenoptera_files, "REAL_COUNTS", QUICK_COUNTS)           # so does the quick set
    root = tmp_path / "dataset"
    write_synthetic_hymenoptera(root, quick=True)
    for folder in (root / HYMENOPTERA_DIR, root / "train", root / "val"):
        (folder / SYNTHETIC_MARKER).unlink()   # now it looks like real data
    cifar = write_synthetic_cifar10(root, 50, 20)
    (cifar / SYNTHETIC_MARKER).unlink()
    before = digest_tree(root)
    result = load_lesson("00_prepare_data").main(["--data-root", str(root), "--synthetic", "--quick"])
    assert digest_tree(root) == before
    assert all("real data kept" in how or how == "up to date, kept"
               for how in result["folders"].values())
    assert not result["hymenoptera_synthetic"] and not result["cifar10_synthetic"]


# ---------------------------------------------------------------- archives

def zip_tree(tree_parent: Path, archive: Path) -> Path:
    made = shutil.make_archive(str(archive.with_suffix("")), "zip", root_dir=tree_parent,
                               base_dir=HYMENOPTERA_DIR)
    return Path(made)


@pytest.fixture
def real_looking_zip(tmp_path, monkeypatch) -> Path:
    """A hymenoptera_data.zip with the real structure (counts scaled down for speed)."""
    source = write_synthetic_hymenoptera(tmp_path / "source", quick=True, seed=3)
    (source / SYNTHETIC_MARKER).unlink()
    monkeypatch.setattr(hymenoptera_files, "REAL_COUNTS", QUICK_COUNTS)
    return zip_tree(source.parent, tmp_path / "made" / HYMENOPTERA_ARCHIVE)


def test_a_manually_placed_archive_is_checked_used_and_replaces_stand_ins(tmp_path,
                                                                          real_looking_zip):
    root = tmp_path / "dataset"
    ensure_synthetic_hymenoptera(root, quick=True, seed=0)   # offline stand-ins first...
    shutil.copy(real_looking_zip, root / HYMENOPTERA_ARCHIVE)  # ...then the learner's copy
    folder, how = prepare_real_hymenoptera(root)
    assert how.startswith("found") and not is_synthetic(folder)
    assert digest_tree(folder) == digest_tree(tmp_path / "source" / HYMENOPTERA_DIR)
    layout = hymenoptera_files.derive_course_layout(root)
    assert [how for _, how in layout] == ["written", "written"]
    assert not is_synthetic(root / "train") and not is_synthetic(root / "val")
    assert prepare_real_hymenoptera(root)[1] == "already there, contents checked"
    assert leftovers(root) == []


@pytest.mark.parametrize("damage", ["truncated", "wrong contents"])
def test_a_corrupt_archive_is_rejected_and_leaves_nothing(tmp_path, real_looking_zip, damage,
                                                          monkeypatch, capsys):
    root = tmp_path / "dataset"
    root.mkdir()
    archive = root / HYMENOPTERA_ARCHIVE
    if damage == "truncated":
        archive.write_bytes(real_looking_zip.read_bytes()[: real_looking_zip.stat().st_size // 2])
    else:  # a valid zip, but not the data set (a count is off)
        shutil.copy(real_looking_zip, archive)
        monkeypatch.setattr(hymenoptera_files, "REAL_COUNTS",
                            {**QUICK_COUNTS, "val": {"ants": 11, "bees": 13}})
    with pytest.raises(DownloadFailed) as info:
        prepare_real_hymenoptera(root)
    message = str(info.value)
    assert "removed" in message and ("download" in message.lower())
    assert not archive.exists() and not (root / HYMENOPTERA_DIR).exists()
    assert sorted(p.name for p in root.iterdir()) == [], "nothing half-extracted"
    if damage == "truncated":
        assert "damaged or incomplete" in capsys.readouterr().out


def test_cifar_archive_placed_by_hand_is_md5_checked_and_unpacked(tmp_path, monkeypatch):
    source = write_synthetic_cifar10(tmp_path / "src", 50, 20)
    (source / SYNTHETIC_MARKER).unlink()
    archive = tmp_path / "dataset" / cifar10_files.CIFAR10_ARCHIVE
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname=CIFAR10_DIR)
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    monkeypatch.setattr(cifar10_files, "CIFAR10_MD5", md5)
    monkeypatch.setattr(cifar10_files, "cifar10_folder_problem", lambda folder: None)
    write_synthetic_cifar10(archive.parent, 30, 10)          # a stand-in is there first
    folder, how = cifar10_files.prepare_real_cifar10(archive.parent)
    assert how.startswith("found") and not is_synthetic(folder)
    assert digest_tree(folder) == digest_tree(source)

    monkeypatch.setattr(cifar10_files, "CIFAR10_MD5", "0" * 32)  # now the same file no longer verifies
    shutil.rmtree(folder)
    with pytest.raises(DownloadFailed, match="md5"):
        cifar10_files.prepare_real_cifar10(archive.parent)
    assert not archive.exists() and leftovers(archive.parent) == []


def test_lessons_without_hymenoptera_say_what_to_run(tmp_path):
    with pytest.raises(CourseError) as info:
        hymenoptera.course_dir(tmp_path, "train")
    assert "00_prepare_data.py" in info.value.en and "--synthetic" in info.value.en
    with pytest.raises(CourseError, match="00_prepare_data.py"):
        hymenoptera.hymenoptera_dir(tmp_path, "val")


@pytest.fixture
def local_server(tmp_path):
    """An HTTP server on 127.0.0.1 serving ``<tmp>/served/`` (the only "network" tests use)."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    served = tmp_path / "served"
    served.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(Quiet, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_download_is_verified_and_renamed_only_when_complete(tmp_path, real_looking_zip,
                                                               local_server, monkeypatch):
    served, base = local_server
    shutil.copy(real_looking_zip, served / HYMENOPTERA_ARCHIVE)
    monkeypatch.setattr(hymenoptera_files, "HYMENOPTERA_URL", f"{base}/{HYMENOPTERA_ARCHIVE}")
    root = tmp_path / "dataset"
    folder, how = prepare_real_hymenoptera(root)
    assert how.startswith("downloaded") and not is_synthetic(folder)
    assert (root / HYMENOPTERA_ARCHIVE).read_bytes() == real_looking_zip.read_bytes()
    assert leftovers(root) == []

    # A download whose md5 does not match is refused: no archive, no .part, no folder.
    (served / cifar10_files.CIFAR10_ARCHIVE).write_bytes(b"\x1f\x8b not the real file")
    monkeypatch.setattr(cifar10_files, "CIFAR10_URL", f"{base}/{cifar10_files.CIFAR10_ARCHIVE}")
    with pytest.raises(DownloadFailed, match="its md5 checksum does not match"):
        cifar10_files.prepare_real_cifar10(root)
    assert not (root / cifar10_files.CIFAR10_ARCHIVE).exists() and not (root / CIFAR10_DIR).exists()
    assert leftovers(root) == []


def test_prepare_uses_real_archives_and_reports_them(tmp_path, real_looking_zip, monkeypatch,
                                                     capsys):
    root = tmp_path / "dataset"
    root.mkdir()
    shutil.copy(real_looking_zip, root / HYMENOPTERA_ARCHIVE)
    cifar = write_synthetic_cifar10(tmp_path / "cifar", 50, 20)
    (cifar / SYNTHETIC_MARKER).unlink()
    with tarfile.open(root / cifar10_files.CIFAR10_ARCHIVE, "w:gz") as tar:
        tar.add(cifar, arcname=CIFAR10_DIR)
    monkeypatch.setattr(cifar10_files, "CIFAR10_MD5",
                        hashlib.md5((root / cifar10_files.CIFAR10_ARCHIVE).read_bytes()).hexdigest())
    monkeypatch.setattr(cifar10_files, "cifar10_folder_problem", lambda folder: None)
    result = load_lesson("00_prepare_data").main(["--data-root", str(root)])
    assert not result["hymenoptera_synthetic"] and not result["cifar10_synthetic"]
    out = capsys.readouterr().out
    assert out.count("real / 真实数据") == 4 and "synthetic stand-in" not in out
    assert (root / "train" / "ants_label").is_dir() and leftovers(root) == []


def test_an_incomplete_folder_of_the_learners_own_is_never_deleted(tmp_path, real_looking_zip):
    root = tmp_path / "dataset"
    mine = root / HYMENOPTERA_DIR / "train" / "ants"
    mine.mkdir(parents=True)
    (mine / "my_ant.jpg").write_bytes(b"mine")
    shutil.copy(real_looking_zip, root / HYMENOPTERA_ARCHIVE)
    with pytest.raises(DownloadFailed, match="rename or delete it"):
        prepare_real_hymenoptera(root)
    assert (mine / "my_ant.jpg").read_bytes() == b"mine"


# ---------------------------------------------------------------- interrupted / damaged CIFAR-10

def test_an_interrupted_cifar_stand_in_leaves_the_old_folder_and_no_leftovers(tmp_path,
                                                                               monkeypatch):
    root = tmp_path / "dataset"
    old = write_synthetic_cifar10(root, 50, 20, seed=0)
    before = digest_tree(old)

    def interrupted(*args, **kwargs):  # Ctrl-C after every batch file has been written
        raise KeyboardInterrupt

    monkeypatch.setattr(cifar10_stand_in, "write_marker", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_synthetic_cifar10(root, 50, 20, seed=1)
    assert digest_tree(old) == before and leftovers(root) == []
    assert sorted(p.name for p in root.iterdir()) == [CIFAR10_DIR]
    with pytest.raises(KeyboardInterrupt):
        write_synthetic_cifar10(tmp_path / "fresh", 50, 20, seed=1)
    assert list((tmp_path / "fresh").iterdir()) == [], "no half-written folder"


def test_an_incomplete_unmarked_cifar_folder_is_reported_not_kept(tmp_path, capsys):
    root = tmp_path / "my data"
    folder = write_synthetic_cifar10(root, 50, 20)
    for name in (SYNTHETIC_MARKER, "data_batch_4", "data_batch_5", "test_batch"):
        (folder / name).unlink()   # what an interrupted older --synthetic run left behind
    before = digest_tree(folder)
    prepare = load_lesson("00_prepare_data").main
    with pytest.raises(CourseError) as info:
        prepare.__wrapped__(["--data-root", str(root), "--synthetic", "--quick"])
    message = info.value.en
    assert "missing: data_batch_4, data_batch_5, test_batch" in message
    assert f"delete (or move away) {folder}" in message
    assert f'--synthetic --data-root "{root}"' in message and info.value.zh
    assert digest_tree(folder) == before, "never deleted, never written into"
    with pytest.raises(SystemExit) as exit_info:
        prepare(["--data-root", str(root), "--synthetic", "--quick"])
    assert exit_info.value.code == 2 and "Traceback" not in capsys.readouterr().err


def test_a_truncated_stand_in_file_is_named_and_rewritten_on_the_next_run(tmp_path):
    root = tmp_path / "dataset"
    cifar10_stand_in.ensure_synthetic_cifar10(root, 50, 20)
    batch = root / CIFAR10_DIR / "test_batch"
    batch.write_bytes(batch.read_bytes()[:5000])
    with pytest.raises(CourseError) as info:
        data.cifar10(root, train=False)
    assert "damaged (cannot be read): test_batch (5,000 bytes where SYNTHETIC.txt lists" in \
        info.value.en
    assert f"00_prepare_data.py --synthetic --data-root {root}" in info.value.en
    assert cifar10_stand_in.ensure_synthetic_cifar10(root, 50, 20)[1] == "stand-in written"  # not reused
    assert len(data.cifar10(root, train=False)) == 20
    assert cifar10_stand_in.ensure_synthetic_cifar10(root, 50, 20)[1] == "stand-in reused"


def test_real_cifar_failing_its_md5_is_named_and_not_downloaded(tmp_path, capsys):
    root = tmp_path / "dataset"
    folder = write_synthetic_cifar10(root, 50, 20)
    (folder / SYNTHETIC_MARKER).unlink()   # looks like the real folder, but no md5 matches
    with pytest.raises(CourseError) as info:
        data.cifar10(root, train=True)
    message = info.value.en
    assert "md5 checksum does not match): data_batch_1" in message and "test_batch" in message
    assert f"run `python src/00_prepare_data.py --data-root {root}`" in message
    assert "downloading" not in capsys.readouterr().out, "a damaged folder is not re-downloaded"


def test_a_lessons_download_leaves_no_partial_archive_and_names_a_damaged_one(tmp_path):
    root = tmp_path / "empty"
    root.mkdir()
    (root / cifar10_files.CIFAR10_ARCHIVE).write_bytes(b"\x1f\x8b" + bytes(2_000_000))  # a 2 MB partial
    with pytest.raises(CourseError) as info:
        data.cifar10(root, train=False)
    message = " ".join(info.value.en.split())
    assert f"the copy of {cifar10_files.CIFAR10_ARCHIVE} in {root} was damaged or incomplete" in message
    assert "has been removed" in message and f"downloading {cifar10_files.CIFAR10_URL} failed" in message
    assert f"--synthetic --data-root {root}" in message
    assert list(root.iterdir()) == [], "no archive, no .part, no folder"


def test_a_stalled_download_gives_up_instead_of_hanging(tmp_path, monkeypatch):
    import socket

    with socket.socket() as server:  # accepts connections, never answers
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        monkeypatch.setattr(cifar10_files, "CIFAR10_URL",
                            f"http://127.0.0.1:{server.getsockname()[1]}/x.tar.gz")
        monkeypatch.setattr(downloads, "DOWNLOAD_TIMEOUT_S", 0.3)
        with pytest.raises(CourseError, match="timed out"):
            data.cifar10(tmp_path, train=False)
    assert list(tmp_path.iterdir()) == []


def test_suggested_commands_carry_the_data_root_quoted_when_needed(tmp_path, capsys):
    assert commands.prepare_command(paths.DATASET_DIR, "--synthetic") == \
        "python src/00_prepare_data.py --synthetic"
    assert commands.prepare_command("/tmp/my data") == \
        'python src/00_prepare_data.py --data-root "/tmp/my data"'
    assert commands.prepare_command("D:/课程/data") == \
        "python src/00_prepare_data.py --data-root D:/课程/data"
    root = tmp_path / "my data"
    with pytest.raises(SystemExit):
        load_lesson("00_prepare_data").main(["--data-root", str(root)])
    err = " ".join(capsys.readouterr().err.split())
    assert f'`python src/00_prepare_data.py --synthetic --data-root "{root}"`' in err
    assert "`python src/00_prepare_data.py --synthetic`" not in err
