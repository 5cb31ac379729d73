"""What a learner owns is never lost, nothing outside a lesson's folder is written, and the last
hangs and tracebacks of the adversarial pass are gone: one training run per folder (a kernel
lock), learner files in stand-in folders, links planted in log folders, the tour's limits, odd
file names and flags. Everything here is small: stand-ins of a few dozen files, no training."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tudui.errors import CourseError
from tudui.infra import runlock

SRC_DIR = Path(__file__).resolve().parents[1] / "src"
posix_only = pytest.mark.skipif(os.name != "posix", reason="pipes and fork: Linux/macOS")


# ---------------------------------------------------------------- one run per folder

def _note(folder: Path, **holder) -> None:
    (folder / runlock.LOCK_NAME).write_text(json.dumps({"host": socket.gethostname(), **holder}))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks two runs at the same instant")
def test_two_runs_started_together_never_both_hold_the_folder(tmp_path):
    """50 times: two processes released at the same instant both try to lock one folder, and
    hold on to what they got until both have tried. Exactly one may get it. (The earlier lock
    created the file first and wrote its PID after: a second run reading in between took the
    file for a dead run's, deleted it and went ahead too.)"""
    import filelock  # noqa: F401 (imported once here, not in each child)

    for attempt in range(50):
        start_r, start_w = os.pipe()
        result_r, result_w = os.pipe()
        end_r, end_w = os.pipe()
        children = []
        for _ in range(2):
            pid = os.fork()
            if pid == 0:  # the child: wait for the start, try, report, hold until told
                code = 0
                try:
                    os.read(start_r, 1)
                    try:
                        runlock.lock_folder(tmp_path)
                        os.write(result_w, b"Y")
                    except CourseError:
                        os.write(result_w, b"N")
                    os.read(end_r, 1)
                except BaseException:  # noqa: BLE001 (a child never returns into pytest)
                    code = 1
                finally:
                    os._exit(code)  # no atexit: the kernel lock goes as with kill -9
            children.append(pid)
        os.write(start_w, b"go")
        got = b""
        while len(got) < 2:
            got += os.read(result_r, 2 - len(got))
        os.write(end_w, b"..")
        for pid in children:
            assert os.waitpid(pid, 0)[1] == 0
        for fd in (start_r, start_w, result_r, result_w, end_r, end_w):
            os.close(fd)
        assert sorted(got) == sorted(b"NY"), f"attempt {attempt}: {got!r}"


def test_a_run_that_died_leaves_its_note_and_the_next_run_takes_over(tmp_path):
    _note(tmp_path, pid=os.getpid(), started="then", kernel_lock=True)  # this PID is alive...
    lock = runlock.lock_folder(tmp_path)  # ...but nobody holds the kernel lock: a dead run's note
    assert json.loads((tmp_path / runlock.LOCK_NAME).read_text())["kernel_lock"] is True
    lock.release()
    assert not (tmp_path / runlock.LOCK_NAME).exists()


@pytest.mark.parametrize("pid", [99999999999, 2**63, -5, 0, True, "12", None])
def test_a_note_naming_an_impossible_pid_is_a_stale_note(tmp_path, pid):
    """PID 99999999999 made os.kill raise OverflowError; ``true`` was read as PID 1 (alive) and
    the message said "PID True"."""
    assert runlock.pid_alive(pid) is False
    _note(tmp_path, pid=pid)
    runlock.lock_folder(tmp_path).release()
    assert not (tmp_path / runlock.LOCK_NAME).exists()


def test_a_busy_message_never_says_pid_true(tmp_path):
    _note(tmp_path, pid=os.getppid())  # an earlier version's note naming a live process
    with pytest.raises(CourseError) as info:
        runlock.lock_folder(tmp_path)
    assert f"PID {os.getppid()}" in info.value.en and "delete" in info.value.en


LOCK_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
from tudui.errors import CourseError
from tudui.infra.runlock import lock_folder
try:
    lock_folder(sys.argv[2])
    print("locked")
except CourseError as err:
    print("refused:", err.en)
"""


@posix_only
@pytest.mark.parametrize("name", [runlock.LOCK_NAME, runlock.KERNEL_LOCK_NAME])
def test_a_pipe_named_like_the_lock_is_refused_not_waited_on(tmp_path, name):
    """A training.lock that is a FIFO made 27 wait forever for a writer."""
    os.mkfifo(tmp_path / name)
    done = subprocess.run([sys.executable, "-c", LOCK_SCRIPT, str(SRC_DIR), str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused:")
    assert f"{tmp_path / name} is not a file but a pipe" in " ".join(done.stdout.split())


# ---------------------------------------------------------------- the tour

HANGING_LESSON = "print('started', flush=True)\nimport time\ntime.sleep(600)\n"


def _tour_main():
    from conftest import load_lesson

    return load_lesson("run_lessons").main


def test_a_lesson_that_hangs_is_stopped_and_shown_as_timed_out(tmp_path, monkeypatch, capsys):
    lesson = tmp_path / "99_hangs.py"
    lesson.write_text(HANGING_LESSON)
    main = _tour_main()
    monkeypatch.setattr(sys.modules[main.__module__], "lesson_files", lambda: [lesson])
    code = main(["--log-dir", str(tmp_path / "logs"), "--fresh", "--lesson-timeout", "1"])
    out = capsys.readouterr().out
    assert code == 1
    assert re.search(r"99_hangs\s+timed out\s+1\.\d", out) and "Timed out: 99_hangs." in out
    assert "still running after 1 s, stopped (--lesson-timeout)" in out
    assert (tmp_path / "logs/_tour/99_hangs.txt").read_text().startswith("started")


FORKED_TIMEOUT = """
import sys
from pathlib import Path
sys.path.insert(0, {src!r})
from tudui.infra import lesson_runs
lesson_runs.PRELOAD.clear()  # plain Python: a server without torch starts at once
if __name__ == "__main__":
    try:
        lesson_runs.run_script_forked(Path("hang.py"), [], Path.cwd(), {{}}, 1.0)
    except lesson_runs.LessonTimedOut as stopped:
        print("timed out:", stopped.output.splitlines()[0])
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the tour forks on Linux only")
def test_a_forked_lesson_that_hangs_is_stopped_too(tmp_path):
    (tmp_path / "hang.py").write_text(HANGING_LESSON)
    (tmp_path / "tour.py").write_text(FORKED_TIMEOUT.format(src=str(SRC_DIR)))
    done = subprocess.run([sys.executable, "tour.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.strip() == "timed out: started", done.stderr


def test_the_tour_explains_a_log_dir_it_cannot_write_to(tmp_path, monkeypatch, capsys):
    import errno

    main = _tour_main()
    blocker = tmp_path / "logs"
    blocker.write_text("a file")
    with pytest.raises(SystemExit) as info:
        main(["--log-dir", str(blocker), "--only", "01"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "Traceback" not in err
    assert f"{blocker} is a file" in " ".join(err.split()) and "--log-dir" in err

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    with pytest.raises(SystemExit) as info:
        main(["--log-dir", str(tmp_path / "ro"), "--only", "01"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "read-only file system" in " ".join(err.split()) and "Traceback" not in err


def _wait_until_a_child_has_loaded(parent: int, library: str, seconds: float = 60) -> None:
    """Until a child process of ``parent`` has ``library`` mapped (Linux: /proc)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent and \
                        library in (stat.parent / "maps").read_text():
                    return
            except (OSError, ValueError, IndexError):
                continue
        time.sleep(0.05)
    raise AssertionError(f"no child of {parent} loaded {library}")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the tour forks on Linux only")
def test_ctrl_c_while_the_fork_server_imports_torch_is_one_line(tmp_path):
    """Ctrl-C reaches every process of the terminal: the fork server, busy importing torch in
    the tour's first seconds, printed its own KeyboardInterrupt traceback."""
    from tudui.errors import INTERRUPTED

    tour = subprocess.Popen(
        [sys.executable, str(SRC_DIR / "run_lessons.py"), "--only", "01", "--log-dir",
         str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        encoding="utf-8", env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
    try:
        _wait_until_a_child_has_loaded(tour.pid, "numpy")  # the server, importing PRELOAD
        os.killpg(tour.pid, signal.SIGINT)  # what Ctrl-C does: the whole process group
        _, err = tour.communicate(timeout=60)  # also waits for the server (it holds stderr)
    finally:
        tour.kill()
    assert tour.returncode == 130
    assert err.strip() == INTERRUPTED, err


# ---------------------------------------------------------------- links in a log folder

def _snapshot(folder: Path) -> dict:
    """Every path under ``folder`` with its bytes (files) or its kind: what must not change."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() and not p.is_symlink()
                                         else "link" if p.is_symlink() else "dir")
            for p in sorted(folder.rglob("*"))}


def _plant_links(lesson_folder: Path, outside: Path) -> dict:
    """Links a log folder copied from someone's zip could carry; returns what is outside."""
    (outside / "projects").mkdir(parents=True)
    (outside / "notes.txt").write_text("the learner's own notes")
    lesson_folder.mkdir(parents=True)
    links = {"projector_config.pbtxt": outside / "notes.txt",        # 08's projector config
             "00000": outside / "projects",                          # 08's embedding folder
             "profiler_trace.json.tmp": outside / "trace.json",      # dangling: would be made
             "tudui_0.pth": outside / "model.pth"}                  # 27's first checkpoint
    for name, target in links.items():
        (lesson_folder / name).symlink_to(target)
    return _snapshot(outside)


@posix_only
@pytest.mark.parametrize("lesson", ["08_tensorboard", "27_train", "26_model_save"])
def test_links_leading_out_of_a_lesson_folder_are_refused(lesson, data_root, tmp_path, capsys):
    from conftest import load_lesson

    outside, logs = tmp_path / "outside", tmp_path / "logs"
    before = _plant_links(logs / lesson, outside)
    with pytest.raises(SystemExit) as info:
        load_lesson(lesson).main(["--data-root", str(data_root), "--log-dir", str(logs),
                                  "--quick", "--device", "cpu"])
    err = " ".join(capsys.readouterr().err.split())
    assert info.value.code == 2 and "Traceback" not in err
    assert f"{logs / lesson} holds links that lead out of it" in err and "(and 1 more)" in err
    assert "Delete the links" in err and "指向文件夹外面的链接" in err
    assert _snapshot(outside) == before, "nothing outside the lesson's folder changed"
    assert sorted(p.name for p in (logs / lesson).iterdir()) == sorted(
        ["projector_config.pbtxt", "00000", "profiler_trace.json.tmp", "tudui_0.pth"])


@posix_only
def test_the_tour_never_writes_its_transcripts_through_a_link(tmp_path, capsys):
    outside, logs = tmp_path / "outside", tmp_path / "logs"
    before = _plant_links(logs / "_tour", outside)
    (logs / "_tour" / "01_env_check.txt").symlink_to(outside / "notes.txt")
    with pytest.raises(SystemExit) as info:
        _tour_main()(["--log-dir", str(logs), "--only", "01"])
    err = " ".join(capsys.readouterr().err.split())
    assert info.value.code == 2 and f"{logs / '_tour'} holds links" in err
    assert _snapshot(outside) == before


@posix_only
def test_a_lesson_folder_that_is_itself_a_link_out_of_the_log_dir_is_refused(tmp_path):
    from tudui import paths

    outside, logs = tmp_path / "outside", tmp_path / "logs"
    outside.mkdir()
    logs.mkdir()
    (logs / "08_tensorboard").symlink_to(outside)
    with pytest.raises(CourseError, match="holds links that lead out of it"):
        paths.lesson_log_dir("08_tensorboard", logs)
    # links that stay inside are harmless, and a log dir that is a link is the learner's choice
    inside = logs / "27_train"
    (inside / "runs").mkdir(parents=True)
    (inside / "latest").symlink_to(inside / "runs")
    (tmp_path / "elsewhere").symlink_to(logs)
    assert paths.lesson_log_dir("27_train", tmp_path / "elsewhere") == tmp_path / "elsewhere/27_train"
    assert list(outside.iterdir()) == []


# ---------------------------------------------------------------- odd file names

@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux keeps any bytes in names")
def test_10_reads_a_first_ant_whose_name_is_not_utf8(data_root, tmp_path):
    """A GBK name from a zip made on Chinese Windows reaches Python with stand-in characters;
    cv2.imread(str(path)) crashed the whole process (SIGSEGV) on it."""
    import shutil

    from conftest import load_lesson

    root = tmp_path / "data"
    shutil.copytree(data_root / "train", root / "train")
    images = root / "train" / "ants_image"
    first = sorted(images.glob("*.jpg"))[0]
    gbk = os.fsdecode(b"0000_\xc2\xec\xd2\xcf")  # "蚂蚁" in GBK, sorted first
    first.rename(images / f"{gbk}.jpg")
    (root / "train" / "ants_label" / f"{first.stem}.txt").rename(
        root / "train" / "ants_label" / f"{gbk}.txt")
    result = load_lesson("10_transforms").main(["--data-root", str(root), "--log-dir",
                                                str(tmp_path / "logs"), "--quick"])
    assert result["image"] == str(images / f"{gbk}.jpg")
    assert result["bgr_is_flipped_rgb"] and result["diff_fixed"] < 0.02


# ---------------------------------------------------------------- flags naming unusable paths

def _flag_error(lesson: str, argv: list[str], capsys) -> str:
    from conftest import load_lesson

    with pytest.raises(SystemExit) as info:
        load_lesson(lesson).main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and "Traceback" not in err
    return " ".join(err.split())


@pytest.mark.parametrize("flag", ["--image", "--checkpoint", "--data-root", "--log-dir"])
def test_an_empty_path_is_an_error_not_a_silent_default(flag, tmp_path, capsys):
    err = _flag_error("32_test", [flag, "", "--log-dir" if flag != "--log-dir" else "--quick",
                                  *([str(tmp_path)] if flag != "--log-dir" else [])], capsys)
    assert f"argument {flag}: 不能为空" in err and "must not be empty" in err
    assert list(tmp_path.iterdir()) == []


@posix_only
def test_a_symlink_loop_is_called_a_loop_not_a_file(tmp_path, capsys):
    from tudui import paths

    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    for flag in ("--data-root", "--log-dir"):
        err = _flag_error("06_read_data", [flag, str(loop)], capsys)
        assert f"argument {flag}: {loop}: 是一个循环的符号链接" in err and "is a symbolic link loop" in err
    with pytest.raises(CourseError) as info:  # reached another way than a flag
        paths.lesson_log_dir("06_read_data", loop)
    assert f"{loop} is a symbolic link that leads nowhere usable" in info.value.en
    assert "is a file" not in info.value.en


def test_names_too_long_for_the_file_system_are_one_line(tmp_path, capsys):
    import errno

    from tudui.infra.oserrors import os_error

    long_name = str(tmp_path / ("a" * 300))
    for lesson, flag in (("06_read_data", "--data-root"), ("32_test", "--checkpoint"),
                         ("32_test", "--image")):
        err = _flag_error(lesson, [flag, long_name], capsys)
        assert f"argument {flag}: 路径太长" in err and "is too long for the file system" in err
        assert "its longest name 300 bytes" in err
    made = os_error(OSError(errno.ENAMETOOLONG, "File name too long"), long_name, "writing")
    assert made is not None and "is too long for the file system" in made.en and made.zh


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux keeps any bytes in names")
@pytest.mark.parametrize("lesson", ["15_dataloader", "27_train"])
def test_a_log_dir_whose_name_is_not_utf8_is_refused_before_anything_runs(lesson, tmp_path,
                                                                          capsys):
    """TensorBoard's writer crashed with UnicodeEncodeError on such a folder."""
    bad = os.fsdecode(os.fsencode(str(tmp_path)) + b"/\xc2\xec\xd2\xcf")  # "蚂蚁" in GBK
    err = _flag_error(lesson, ["--log-dir", bad, "--quick"], capsys)
    assert "argument --log-dir:" in err and "\\xc2\\xec\\xd2\\xcf: 名字不是有效的 UTF-8" in err
    assert "the name is not valid UTF-8" in err and list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- the learner's own files

TINY_COUNTS = {"train": {"ants": 6, "bees": 5}, "val": {"ants": 3, "bees": 3}}


@pytest.fixture
def prepare(monkeypatch):
    """00_prepare_data's main with small sizes for both stand-ins (the code paths are the
    same): "--quick" and the default ("full") still differ, as for a learner."""
    from conftest import load_lesson
    from tudui.infra import hymenoptera_files

    lesson = load_lesson("00_prepare_data")
    monkeypatch.setattr(hymenoptera_files, "REAL_COUNTS", TINY_COUNTS)
    monkeypatch.setitem(lesson.CIFAR_STAND_IN, "full", (60, 20))
    monkeypatch.setitem(lesson.CIFAR_STAND_IN, "quick", (50, 20))
    return lambda root, *flags: lesson.main(["--data-root", str(root), *flags])


def _add_own_files(root: Path) -> dict[str, bytes]:
    """What P6-P7 invite: a picture of one's own with its label, plus notes and a folder."""
    mine = {"train/ants_image/my_own_ant.jpg": b"\xff\xd8 my own ant picture",
            "train/ants_label/my_own_ant.txt": b"ants",
            "hymenoptera_data/train/ants/my_ant.jpg": b"\xff\xd8 another one",
            "hymenoptera_data/my_notes/day1.txt": "第一天的笔记".encode(),
            "cifar-10-batches-py/what_i_learned.txt": b"pickles run code",
            "val/.DS_Store": b"Finder's"}  # not the learner's work: may go
    for name, data in mine.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return mine


def _where_are(root: Path, mine: dict[str, bytes]) -> dict[str, list[str]]:
    """For each of the learner's files: every place under ``root`` holding those bytes."""
    found: dict[str, list[str]] = {name: [] for name in mine}
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for name, wanted in mine.items():
                if data == wanted and path.name == Path(name).name:
                    found[name].append(str(path.relative_to(root)))
    return found


def test_own_files_in_stand_ins_survive_quick_to_full_size(prepare, tmp_path, capsys):
    root = tmp_path / "dataset"
    prepare(root, "--synthetic", "--quick")
    mine = _add_own_files(root)
    capsys.readouterr()

    again = prepare(root, "--synthetic", "--quick")  # reused: the files stay where they are
    assert set(again["folders"].values()) == {"stand-in reused", "up to date, kept"}
    assert _where_are(root, mine) == {name: [name] for name in mine}

    full = prepare(root, "--synthetic")  # another size: every stand-in folder is replaced
    assert "stand-in written" in full["folders"].values()
    out = " ".join(capsys.readouterr().out.split())
    today = time.strftime("%Y-%m-%d")
    kept = {name: name.replace("/", f".kept-{today}/", 1) for name in mine}
    del kept["val/.DS_Store"]
    assert {name: places for name, places in _where_are(root, mine).items()
            if name in kept} == {name: [place] for name, place in kept.items()}
    for folder in ("train", "hymenoptera_data", "cifar-10-batches-py"):
        assert f"{root / folder} were not written by this course" in out
        assert f"moved to {root / folder}.kept-{today} before it was replaced" in out
    assert "2 files or folders in " + str(root / "hymenoptera_data") in out  # my_notes/ is one
    assert f"{root / 'val'} were not" not in out  # .DS_Store alone keeps nothing aside

    capsys.readouterr()
    prepare(root, "--synthetic", "--quick")  # back again: a second kept folder, never the first
    assert (root / f"train.kept-{today}/ants_image/my_own_ant.jpg").exists()
    assert not (root / f"train.kept-{today}-2").exists()  # nothing of the learner's was left


def test_own_files_survive_real_data_arriving(prepare, tmp_path, monkeypatch, capsys):
    import hashlib
    import shutil
    import tarfile

    from tudui.infra import cifar10_files, hymenoptera_files
    from tudui.infra.ants_bees_stand_in import write_synthetic_hymenoptera_tree
    from tudui.infra.cifar10_stand_in import write_synthetic_cifar10
    from tudui.infra.markers import SYNTHETIC_MARKER

    root = tmp_path / "dataset"
    prepare(root, "--synthetic")
    mine = _add_own_files(root)
    # the "real" archives: stand-ins without their markers, as the downloads would bring
    made = tmp_path / "made"
    tree = write_synthetic_hymenoptera_tree(made / "hymenoptera_data", quick=False, seed=7,
                                            counts=TINY_COUNTS)
    (tree / SYNTHETIC_MARKER).unlink()
    shutil.make_archive(str(root / "hymenoptera_data"), "zip", root_dir=made,
                        base_dir="hymenoptera_data")
    cifar = write_synthetic_cifar10(made, 30, 10, seed=7)
    (cifar / SYNTHETIC_MARKER).unlink()
    with tarfile.open(root / cifar10_files.CIFAR10_ARCHIVE, "w:gz") as tar:
        tar.add(cifar, arcname=cifar10_files.CIFAR10_DIR)
    monkeypatch.setattr(cifar10_files, "CIFAR10_MD5", hashlib.md5(
        (root / cifar10_files.CIFAR10_ARCHIVE).read_bytes()).hexdigest())
    monkeypatch.setattr(cifar10_files, "cifar10_folder_problem",
                        lambda folder: None if (folder / "data_batch_1").is_file() else "missing")
    capsys.readouterr()

    result = prepare(root)
    assert not result["hymenoptera_synthetic"] and not result["cifar10_synthetic"]
    assert hymenoptera_files.hymenoptera_is_real(root)
    out = " ".join(capsys.readouterr().out.split())
    today = time.strftime("%Y-%m-%d")
    found = _where_are(root, mine)
    for name in set(mine) - {"val/.DS_Store"}:
        assert found[name] == [name.replace("/", f".kept-{today}/", 1)], (name, found[name])
    assert not (root / "hymenoptera_data" / "my_notes").exists()
    assert f"moved to {root / 'hymenoptera_data'}.kept-{today}" in out


def test_an_unmarked_incomplete_cifar_folder_is_moved_aside_not_deleted(tmp_path, monkeypatch):
    """Real data replacing a folder we cannot vouch for (no marker, not complete): before, it was
    replaced and deleted without a word."""
    import hashlib
    import tarfile

    from tudui.infra import cifar10_files
    from tudui.infra.cifar10_stand_in import write_synthetic_cifar10
    from tudui.infra.markers import SYNTHETIC_MARKER

    root = tmp_path / "dataset"
    cifar = write_synthetic_cifar10(tmp_path / "made", 30, 10, seed=7)
    (cifar / SYNTHETIC_MARKER).unlink()
    root.mkdir()
    with tarfile.open(root / cifar10_files.CIFAR10_ARCHIVE, "w:gz") as tar:
        tar.add(cifar, arcname=cifar10_files.CIFAR10_DIR)
    monkeypatch.setattr(cifar10_files, "CIFAR10_MD5", hashlib.md5(
        (root / cifar10_files.CIFAR10_ARCHIVE).read_bytes()).hexdigest())
    monkeypatch.setattr(cifar10_files, "cifar10_folder_problem",
                        lambda folder: None if (folder / "test_batch").is_file() else "missing")
    own = root / cifar10_files.CIFAR10_DIR
    own.mkdir()
    (own / "data_batch_1").write_bytes(b"half of a copy")
    cifar10_files.prepare_real_cifar10(root)
    kept = root / f"{cifar10_files.CIFAR10_DIR}.kept-{time.strftime('%Y-%m-%d')}"
    assert (kept / "data_batch_1").read_bytes() == b"half of a copy"
    assert (own / "test_batch").is_file()


# ---------------------------------------------------------------- damaged in place, same size

def test_a_stand_in_damaged_in_place_is_rewritten_by_the_command_the_message_gives(
        prepare, tmp_path, capsys):
    """Reuse checked sizes only: a stand-in file changed in place (same size) was reported
    with "run 00_prepare_data.py --synthetic", which answered "(stand-in reused)"."""
    from tudui import data
    from tudui.hymenoptera import open_picture

    root = tmp_path / "dataset"
    prepare(root, "--synthetic")
    mine = {"train/ants_image/my_own_ant.jpg": b"\xff\xd8 mine",
            "train/ants_label/my_own_ant.txt": b"ants"}
    for name, content in mine.items():
        (root / name).write_bytes(content)
    batch = root / "cifar-10-batches-py" / "data_batch_1"
    raw = bytearray(batch.read_bytes())
    raw[-100] ^= 1
    batch.write_bytes(bytes(raw))
    ant = sorted((root / "train" / "ants_image").glob("[0-9]*.jpg"))[0]
    bee = sorted((root / "hymenoptera_data" / "train" / "bees").glob("*.jpg"))[0]
    for picture in (ant, bee):
        picture.write_bytes(bytes(picture.stat().st_size))  # zeros: same size, no picture

    advice = f"python src/00_prepare_data.py --synthetic --data-root {root}"
    with pytest.raises(CourseError) as info:
        data.cifar10(root, train=True)
    assert advice in info.value.en
    for picture in (ant, bee):
        with pytest.raises(CourseError) as info:
            open_picture(picture)
        assert advice in " ".join(info.value.en.split())

    result = prepare(root, "--synthetic")  # what the messages say
    assert result["folders"] == {str(root / "hymenoptera_data"): "stand-in written",
                                 str(root / "train"): "written",
                                 str(root / "val"): "up to date, kept",
                                 str(root / "cifar-10-batches-py"): "stand-in written"}
    assert len(data.cifar10(root, train=True)) == 60
    open_picture(ant).close()
    open_picture(bee).close()
    # the same stand-in written again: the learner's files stay where they were put
    assert {name: (root / name).read_bytes() for name in mine} == mine
    assert not list(root.glob("*.kept-*"))
    again = prepare(root, "--synthetic")
    assert set(again["folders"].values()) == {"stand-in reused", "up to date, kept"}


def test_a_stand_in_from_an_earlier_version_is_written_again_around_the_learners_files(
        prepare, tmp_path, capsys):
    """Markers written before this version list no hymenoptera files (no hashes to check): the
    stand-in is written once more, the generator's own names tell its files from the
    learner's, and the learner's stay in place."""
    from tudui.infra.markers import SYNTHETIC_MARKER

    root = tmp_path / "dataset"
    prepare(root, "--synthetic", "--quick")
    for folder in ("hymenoptera_data", "train", "val"):
        marker = root / folder / SYNTHETIC_MARKER
        marker.write_text(marker.read_text("utf-8").split("\n")[0] + "\n", encoding="utf-8")
    mine = _add_own_files(root)
    capsys.readouterr()
    result = prepare(root, "--synthetic", "--quick")
    assert result["folders"][str(root / "hymenoptera_data")] == "stand-in written"
    assert result["folders"][str(root / "train")] == "written"
    assert _where_are(root, mine) == {name: [name] for name in mine if name != "val/.DS_Store"} | {
        "val/.DS_Store": []}  # Finder's file goes with the old folder
    assert "stay where they are in the stand-in written again" in capsys.readouterr().out
    assert not list(root.glob("*.kept-*"))


def test_move_aside_keeps_links_and_own_folders_and_never_reuses_a_kept_folder(tmp_path):
    from tudui.infra import files

    folder = tmp_path / "train"
    (folder / "ants_image").mkdir(parents=True)
    (folder / "ants_image" / "ours.jpg").write_bytes(b"ours")
    (folder / "ants_image" / "._ours.jpg").write_bytes(b"AppleDouble of ours")
    (folder / "ants_image" / "._mine.jpg").write_bytes(b"AppleDouble of mine")
    (folder / "mine").mkdir()
    (folder / "mine" / "a.txt").write_text("a")
    expected = ["ants_image/._mine.jpg", "mine"]
    if os.name == "posix":  # the project never makes links: one is always the learner's
        (folder / "link").symlink_to(tmp_path)
        expected.insert(1, "link")
    theirs = files.not_written_by_us(folder, {"ants_image/ours.jpg"})
    assert theirs == expected
    first = files.move_aside(folder, theirs)
    second = files.move_aside(folder, [])
    assert first.name.endswith(time.strftime("%Y-%m-%d")) and second.name == first.name + "-2"
    assert (first / "mine" / "a.txt").read_text() == "a"
    assert sorted(p.name for p in (folder / "ants_image").iterdir()) == ["._ours.jpg", "ours.jpg"]


@posix_only
def test_a_link_named_like_the_kernel_lock_is_never_opened(tmp_path):
    """Older filelock releases open the lock file with O_TRUNC, through a link."""
    outside = tmp_path / "notes.txt"
    outside.write_text("mine")
    folder = tmp_path / "27_train"
    folder.mkdir()
    (folder / runlock.KERNEL_LOCK_NAME).symlink_to(outside)
    with pytest.raises(CourseError, match="is not a file but a link"):
        runlock.lock_folder(folder)
    assert outside.read_text() == "mine"
