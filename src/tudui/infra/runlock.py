"""One training run per lesson folder: a lock the operating system holds for the running process,
and a note beside it saying which process that is.

Two runs writing into the same ``logs/27_train/`` would delete or overwrite each other's
checkpoints and mix their files. A run takes an exclusive kernel lock (``flock`` on Linux/macOS,
``LockFileEx`` on Windows, through the ``filelock`` package) on ``.training.kernel.lock``: of two
runs started at the same instant exactly one gets it, and the kernel lets go of it when the
process ends in any way (``kill -9`` and a closed window included), so a dead run never blocks the
folder. The winner then writes ``training.lock`` (its PID, computer and start time, written whole
under a temporary name and renamed), which the second run quotes in its message. The kernel lock
file stays (empty, hidden): deleting it on release could let two runs lock two different files.

A ``training.lock`` written by an earlier version of this course (no kernel lock, only the note)
still counts while the process it names is alive on this computer; a note from another computer
(a shared folder, where a kernel lock may not reach) counts until it is deleted.
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import stat
import tempfile
import time
from pathlib import Path

from tudui.errors import CourseError

LOCK_NAME = "training.lock"              # the note: who holds the folder
KERNEL_LOCK_NAME = ".training.kernel.lock"  # what the kernel locks
NOTE_WAIT_S = 1.0  # a run that has the kernel lock writes its note within milliseconds
MAX_NOTE_BYTES = 4096

_held: dict[str, RunLock] = {}  # the folders this process holds, by real path


def pid_alive(pid: int) -> bool:
    """True while a process with this PID exists (on this computer)."""
    if type(pid) is not int or not 0 < pid < 2**31:  # no PID is larger; os.kill would overflow
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return kernel32.GetLastError() == 5  # access denied: it exists, owned by another user
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by another user
    except (OSError, OverflowError, ValueError):
        return False
    return True


class RunLock:
    """The lock a run holds; ``release()`` (also called at exit) deletes the note and lets go of
    the kernel lock."""

    def __init__(self, path: Path, kernel_lock, key: str):
        self.path, self._kernel_lock, self._key, self._pid = path, kernel_lock, key, os.getpid()
        atexit.register(self.release)

    def release(self) -> None:
        atexit.unregister(self.release)
        if os.getpid() != self._pid or self._kernel_lock is None:
            return  # a forked child (a DataLoader worker): the lock is its parent's
        try:
            holder = _read(self.path)
            if holder is not None and holder.get("pid") == self._pid:
                self.path.unlink(missing_ok=True)  # while still locked: never another run's note
        except OSError:
            pass  # the folder went away or read-only: the kernel lock below still goes
        finally:
            self._kernel_lock.release()
            self._kernel_lock = None
            if _held.get(self._key) is self:
                del _held[self._key]


def _read(path: Path) -> dict | None:
    """The note's contents, or None when it is missing, unreadable or not a note. Never blocks:
    a pipe named training.lock is opened without waiting for a writer, and not read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        holder = json.loads(os.read(fd, MAX_NOTE_BYTES).decode("utf-8"))
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    return holder if isinstance(holder, dict) and type(holder.get("pid")) is int else None


def _earlier_holder_alive(holder: dict | None) -> bool:
    """For a folder whose kernel lock we just got: does the note still name a run?"""
    if holder is None:
        return False  # unreadable or missing: no run (runs write their note whole)
    if holder.get("host") != socket.gethostname():
        return True  # a run on another computer (shared folder): its PID cannot be checked here
    if holder.get("kernel_lock"):
        return False  # written by a run that held the kernel lock, which it no longer does
    # An earlier version's note (no kernel lock): the named process, unless it is this one
    return holder["pid"] != os.getpid() and pid_alive(holder["pid"])


_KINDS = ((stat.S_ISDIR, "a folder", "文件夹"), (stat.S_ISLNK, "a link", "链接"),
          (stat.S_ISFIFO, "a pipe", "管道"))


def _not_a_lock_file(path: Path, mode: int) -> CourseError:
    kind, kind_zh = next(((en, zh) for test, en, zh in _KINDS if test(mode)),
                         ("a device or socket", "设备或套接字"))
    return CourseError(
        f"{path} is not a file but {kind}, so it is not a lock this course wrote (and waiting "
        f"on it could hang). Move or delete it, or pass --log-dir another folder.",
        f"{path} 不是普通文件，而是{kind_zh}，不是本课程写的锁文件。请移走或删除它，"
        "或用 --log-dir 换一个文件夹。")


def _check_kind(path: Path, link_ok: bool) -> None:
    """A CourseError when ``path`` exists as something else than a file (or a link, where
    ``link_ok``: the note is replaced whole, never written through; the kernel lock file is
    opened for writing, which older filelock releases do through a link)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return
    if not (stat.S_ISREG(mode) or (link_ok and stat.S_ISLNK(mode))):
        raise _not_a_lock_file(path, mode)


def _write_note(path: Path, holder: dict) -> None:
    """The note, complete under a temporary name first, then renamed (replacing a link
    named training.lock, never writing through it)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(holder, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def lock_folder(folder: str | os.PathLike) -> RunLock:
    """Take ``<folder>``'s lock for this run, or explain who holds it (CourseError)."""
    import filelock

    folder = Path(folder)
    path, kernel_path = folder / LOCK_NAME, folder / KERNEL_LOCK_NAME
    key = os.path.realpath(folder)
    earlier = _held.get(key)
    if earlier is not None:
        # A run started earlier by this very process (tests, 93_scratch_train) that stopped with
        # an error; one process never trains twice at once.
        earlier.release()
    _check_kind(path, link_ok=True)
    _check_kind(kernel_path, link_ok=False)
    kernel_lock = filelock.FileLock(str(kernel_path), timeout=0, thread_local=False)
    try:
        kernel_lock.acquire()
    except filelock.Timeout:  # before OSError: Timeout is one
        raise _busy(folder, path, _wait_for_note(path)) from None
    except OSError as err:
        raise CourseError(
            f"cannot create the lock file {kernel_path} ({err.strerror or err}). Pass --log-dir a "
            "folder you can write to.",
            f"无法在 {folder} 中创建锁文件（{err.strerror or err}）。请用 --log-dir 指定一个可以写入的文件夹。"
        ) from None
    try:
        holder = _read(path)
        if _earlier_holder_alive(holder):
            raise _busy(folder, path, holder, stale_possible=True)
        _write_note(path, {"pid": os.getpid(), "host": socket.gethostname(),
                           "started": time.strftime("%Y-%m-%d %H:%M:%S"), "kernel_lock": True})
    except OSError as err:
        kernel_lock.release()
        raise CourseError(
            f"cannot write the lock file {path} ({err.strerror or err}). Pass --log-dir a "
            "folder you can write to.",
            f"无法写入锁文件 {path}（{err.strerror or err}）。请用 --log-dir 指定一个可以写入的文件夹。"
        ) from None
    except BaseException:
        kernel_lock.release()
        raise
    lock = RunLock(path, kernel_lock, key)
    _held[key] = lock
    return lock


def _wait_for_note(path: Path) -> dict | None:
    """The note of the run holding the kernel lock; it may be a few milliseconds from written."""
    deadline = time.monotonic() + NOTE_WAIT_S
    while True:
        holder = _read(path)
        if (holder is not None and holder.get("kernel_lock")) or time.monotonic() > deadline:
            return holder
        time.sleep(0.02)


def _busy(folder: Path, path: Path, holder: dict | None,
          stale_possible: bool = False) -> CourseError:
    holder = holder or {}
    pid, host = holder.get("pid"), holder.get("host")
    who = f"PID {pid}" if type(pid) is int else "a run that is just starting"
    if host and host != socket.gethostname():
        who += f" on {host}"
    since = f", started {holder['started']}" if isinstance(holder.get("started"), str) else ""
    other = folder.parent.with_name(folder.parent.name + "_2")
    gone = f" If no such run exists any more, delete {path}." if stale_possible else ""
    gone_zh = f"如果那个进程已经不存在，请删除 {path}。" if stale_possible else ""
    return CourseError(
        f"another training run ({who}{since}) is writing into {folder}. Two runs in one folder "
        f"would overwrite each other's checkpoints. Wait for it to finish (or stop it), or train "
        f"into another folder with --log-dir {other}.{gone}",
        f"另一个训练进程（{who}）正在写入 {folder}，两个进程写同一个文件夹会互相覆盖检查点。请等它结束"
        f"（或停止它），或者用 --log-dir {other} 换一个文件夹。{gone_zh}")
