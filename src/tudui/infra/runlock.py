"""One training run per lesson folder: a lock file holding the running process's PID.

Two runs writing into the same ``logs/27_train/`` would delete or overwrite each other's
checkpoints and mix their files. A run creates ``training.lock`` (created only if absent, so two
runs cannot both create it); a second run finds it and stops with a message naming the first
run's PID. A lock left by a run that died (``kill -9``, a power cut) names a process that no
longer exists: the next run takes it over.
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import time
from pathlib import Path

from tudui.errors import CourseError

LOCK_NAME = "training.lock"


def pid_alive(pid: int) -> bool:
    """True while a process with this PID exists (on this computer)."""
    if pid <= 0:
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
    except OSError:
        return False
    return True


class RunLock:
    """The lock a run holds; ``release()`` (also called at exit) deletes the lock file."""

    def __init__(self, path: Path):
        self.path = path
        atexit.register(self.release)

    def release(self) -> None:
        atexit.unregister(self.release)
        holder = _read(self.path)
        if holder is not None and holder.get("pid") == os.getpid():
            self.path.unlink(missing_ok=True)


def _read(path: Path) -> dict | None:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) and isinstance(holder.get("pid"), int) else None


def _held_by_another_run(holder: dict | None) -> bool:
    if holder is None:  # unreadable: a run that died while writing it
        return False
    if holder.get("host") != socket.gethostname():
        return True  # a run on another computer (shared folder): its PID cannot be checked here
    # This very process: a run started earlier by the same Python (tests, 93_scratch_train)
    # that stopped with an error; one process never trains twice at once.
    return holder["pid"] != os.getpid() and pid_alive(holder["pid"])


def lock_folder(folder: str | os.PathLike) -> RunLock:
    """Take ``<folder>/training.lock`` for this run, or explain who holds it (CourseError)."""
    folder = Path(folder)
    path = folder / LOCK_NAME
    me = {"pid": os.getpid(), "host": socket.gethostname(),
          "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            holder = _read(path)
            if _held_by_another_run(holder):
                raise _busy(folder, path, holder) from None
            path.unlink(missing_ok=True)  # a stale lock of a run that no longer exists
            continue
        except OSError as err:
            raise CourseError(
                f"cannot create the lock file {path} ({err.strerror or err}). Pass --log-dir a "
                "folder you can write to.",
                f"无法在 {folder} 中创建锁文件（{err.strerror or err}）。请用 --log-dir 指定一个可以写入的文件夹。"
            ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(me, f)
        return RunLock(path)
    raise _busy(folder, path, _read(path) or {"pid": "?"})


def _busy(folder: Path, path: Path, holder: dict) -> CourseError:
    pid, host = holder.get("pid"), holder.get("host")
    who = f"PID {pid}" + (f" on {host}" if host and host != socket.gethostname() else "")
    since = f", started {holder['started']}" if holder.get("started") else ""
    other = folder.parent.with_name(folder.parent.name + "_2")
    return CourseError(
        f"another training run ({who}{since}) is writing into {folder}. Two runs in one folder "
        f"would overwrite each other's checkpoints. Wait for it to finish (or stop it), or train "
        f"into another folder with --log-dir {other}. If no such run exists any more, delete {path}.",
        f"另一个训练进程（{who}）正在写入 {folder}，两个进程写同一个文件夹会互相覆盖检查点。请等它结束"
        f"（或停止它），或者用 --log-dir {other} 换一个文件夹。如果那个进程已经不存在，请删除 {path}。")
