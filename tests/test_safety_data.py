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
    assert done.stdout.startswith("refused:") and "pipe" in done.stdout
    assert f"{tmp_path / name} is not a file" in " ".join(done.stdout.split())


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
