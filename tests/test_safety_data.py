"""What a learner owns is never lost, nothing outside a lesson's folder is written, and the last
hangs and tracebacks of the adversarial pass are gone: one training run per folder (a kernel
lock), learner files in stand-in folders, links planted in log folders, the tour's limits, odd
file names and flags. Everything here is small: stand-ins of a few dozen files, no training."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
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
