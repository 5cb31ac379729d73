"""How the tour runs a lesson script: ``run_script`` in a new interpreter, or, the speed path on
Linux, ``run_script_forked`` in a forked child of an interpreter that has imported torch and
torchvision once (``preload``): a new process that starts with those modules loaded.

``import torch, torchvision`` takes 3-4 s on a laptop and most lessons run for a few seconds, so
a tour of 30 fresh interpreters spends half its time importing the same modules. A forked child
is still a process of its own (its own memory, exit code, files and Ctrl-C), it only skips the
imports. Windows has no fork, and on macOS forking after system frameworks are loaded is unsafe,
so there (and with ``run_lessons.py --fresh``) every lesson gets a new interpreter instead.

The parent only imports: it runs no tensor operation (so no OpenMP thread pool exists to be
copied half-alive) and never touches CUDA (a child could not use a CUDA context its parent
created). A child ends as Python does: the atexit handlers (the script's, and the module-level
cleanup a new interpreter would run too), but none of the parent's weakref finalizers.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import io
import os
import runpy
import signal
import subprocess
import sys
import time
import traceback
import weakref
from pathlib import Path

# What most lessons import; the rest each lesson imports itself, as usual.
PRELOAD = ("numpy", "PIL.Image", "torch", "torchvision", "torch.utils.tensorboard", "tqdm.auto")
STOP_GRACE_SECONDS = 10  # after Ctrl-C: time a lesson gets to finish its files before SIGKILL


def fork_available() -> bool:
    """True on Linux, where a forked child of an interpreter with torch loaded is safe."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def preload() -> bool:
    """Import PRELOAD in this process; False (nothing to gain, or unsafe) when forking is not
    available or CUDA got initialized on the way."""
    if not fork_available():
        return False
    for name in PRELOAD:
        importlib.import_module(name)
    torch = sys.modules["torch"]
    return not torch.cuda.is_initialized()


def run_script(path: Path, args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """``python path args`` in a new interpreter; (exit code, stdout and stderr together).

    Ctrl-C reaches the lesson too (same terminal); it gets STOP_GRACE_SECONDS to finish its
    files before it is killed, then KeyboardInterrupt is raised here."""
    proc = subprocess.Popen([sys.executable, str(path), *args], cwd=cwd, env={**os.environ, **env},
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        output, _ = proc.communicate()
    except KeyboardInterrupt:
        try:
            proc.wait(timeout=STOP_GRACE_SECONDS)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            proc.kill()
            proc.wait()
        raise
    return proc.returncode, output.decode("utf-8", "replace")


def run_script_forked(path: Path, args: list[str], cwd: Path, env: dict[str, str]
                      ) -> tuple[int, str]:
    """Run the script ``path`` with ``args`` as ``python path args`` would, in a forked child;
    return (exit code as subprocess reports it, stdout and stderr together).

    Ctrl-C reaches the child too (same terminal); the parent then waits up to
    STOP_GRACE_SECONDS for it to finish its files, kills it after that, and raises
    KeyboardInterrupt."""
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    # Objects that exist now are left out of the child's garbage collections: a collection
    # writes to every object it visits, and the child would copy all those memory pages.
    gc.freeze()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        _run_child(path, args, cwd, env, write_end)
    gc.unfreeze()
    os.close(write_end)
    chunks = []
    try:
        while chunk := os.read(read_end, 1 << 16):
            chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
    except KeyboardInterrupt:
        _stop(pid)
        raise
    finally:
        os.close(read_end)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode("utf-8", "replace")


def _stop(pid: int) -> None:
    """Give an interrupted forked child time to end cleanly, then kill it; reap it either way."""
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
            break
        if done:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _run_child(path: Path, args: list[str], cwd: Path, env: dict[str, str], output: int) -> None:
    """In the forked child: stdout and stderr to ``output``, no stdin, then run the script as
    ``__main__`` and leave with its exit code, after atexit handlers and flushing as Python's
    own exit does."""
    code = 1
    try:
        # What the parent made is the parent's to clean up (a temporary folder, say): only the
        # script's own exit work runs here, with the modules' (logging, multiprocessing...).
        for finalizer in list(weakref.finalize._registry):
            finalizer.atexit = False
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 (lives until exit)
        sys.stdout = _text_stream(1, "strict")
        sys.stderr = _text_stream(2, "backslashreplace")
        os.environ.update(env)
        os.chdir(cwd)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.argv = [str(path), *args]
        sys.path[0] = str(path.parent)
        code = _run_main(path)
        gc.collect()  # objects the script left behind finish (writers flush) as at exit
        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001 (the child must reach os._exit whatever happens)
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 (a closed pipe: nothing left to tell)
                pass
        os._exit(code)


def _run_main(path: Path) -> int:
    """Run ``path`` as ``__main__``; its exit code as ``python path`` would give it."""
    try:
        runpy.run_path(str(path), run_name="__main__")
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0
        print(stop.code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        sys.excepthook(*sys.exc_info())  # the lessons' hook prints the one interrupted line
        return 128 + signal.SIGINT
    except BaseException:  # noqa: BLE001 (shown as Python shows an uncaught exception)
        sys.excepthook(*sys.exc_info())
        return 1
    return 0


def _text_stream(fd: int, errors: str) -> io.TextIOWrapper:
    """A UTF-8, line-buffered text stream on ``fd``, as PYTHONIOENCODING=utf-8 and
    PYTHONUNBUFFERED=1 give a new interpreter."""
    return io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding="utf-8", errors=errors,
                            line_buffering=True, write_through=True)
