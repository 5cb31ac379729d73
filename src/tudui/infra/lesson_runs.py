"""How the tour runs a lesson script: ``run_script`` in a new interpreter, or, the speed path on
Linux, ``run_script_forked`` in a child forked from a server process that has imported torch and
torchvision once (``preload``): a new process that starts with those modules loaded.

``import torch, torchvision`` takes 3-4 s on a laptop and most lessons run for a few seconds, so
a tour of 30 fresh interpreters spends half its time importing the same modules. A forked child
is still a process of its own (its own memory, exit code, files and Ctrl-C), it only skips the
imports. Windows has no fork, and on macOS forking after system frameworks are loaded is unsafe,
so there (and with ``run_lessons.py --fresh``) every lesson gets a new interpreter instead.

The children are forked from multiprocessing's fork server, never from the caller: the server
only imports, so it has no OpenMP thread pool that a child would inherit half-alive (a child
then hangs in its first parallel operation) and no CUDA context (a child could not use it),
whatever the caller did before. A child ends as Python does: atexit handlers, flushed output.
"""

from __future__ import annotations

import atexit
import codecs
import gc
import io
import multiprocessing
import os
import runpy
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import TextIO

# What most lessons import; the rest each lesson imports itself, as usual.
PRELOAD = ["numpy", "PIL.Image", "torch", "torchvision", "torch.utils.tensorboard", "tqdm.auto"]
STOP_GRACE_SECONDS = 10  # after Ctrl-C: time a lesson gets to finish its files before it is killed
LIVE_POLL_SECONDS = 0.2   # how often a forked lesson's output file is read for ``live``
# A lesson's output as the tour reads it: unbuffered (in order with its subprocesses'), UTF-8
LESSON_ENV = {"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}


class ForkFailed(RuntimeError):
    """The fork server could not start a lesson (no Unix sockets in a sandbox, say)."""


class LessonTimedOut(Exception):
    """A lesson ran past its time limit and was stopped; ``output`` is what it printed."""

    def __init__(self, output: str):
        super().__init__("timed out")
        self.output = output


def fork_available() -> bool:
    """True on Linux, where a forked child of an interpreter with torch loaded is safe."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def preload() -> bool:
    """Have the fork server import PRELOAD (it starts with ``start_server`` or the first forked
    lesson); False where forking is not available."""
    if not fork_available():
        return False
    multiprocessing.get_context("forkserver").set_forkserver_preload(PRELOAD)
    return True


def _server():
    from multiprocessing import forkserver

    return forkserver._forkserver  # the one ForkServer of this process (CPython 3.8-3.13)


def start_server() -> bool:
    """Start the fork server unless it runs; True when this call started it.

    It starts with Ctrl-C ignored: a Ctrl-C reaches every process of the terminal, and one
    arriving while the server imports torch (its first seconds) printed the server's
    KeyboardInterrupt traceback under the tour's one line. The tour stops it itself
    (``stop_server``); its children, the lessons, turn Ctrl-C back on (``_run_child``). Python
    keeps an ignored SIGINT ignored in a new interpreter, so ignoring it here while the server
    is started is enough; a Ctrl-C in those few milliseconds is lost, not half-handled."""
    from multiprocessing import forkserver

    was_running = getattr(_server(), "_forkserver_pid", None) is not None
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main_thread else None
    try:
        forkserver.ensure_running()
    except (OSError, EOFError) as err:  # no Unix sockets in a sandbox, say
        raise ForkFailed(f"{type(err).__name__}: {err}") from err
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous)
    return not was_running


def stop_server() -> None:
    """Stop the fork server at once (after Ctrl-C: no reason to finish importing torch)."""
    server = _server()
    pid = getattr(server, "_forkserver_pid", None)
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
        server._stop()  # reaps it and forgets it: a later start_server starts a new one
    except (OSError, AttributeError):
        pass


def _stop(interrupt, wait, kill) -> None:
    """Ask a lesson to stop as Ctrl-C would (it finishes its files), wait STOP_GRACE_SECONDS,
    then kill it."""
    try:
        interrupt()
        if wait(STOP_GRACE_SECONDS):
            return
    except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
        pass
    kill()


class _Echo:
    """Bytes of a lesson's output, passed on to ``live`` as text as they arrive (a character
    split between two reads is held back until its other bytes come)."""

    def __init__(self, live: TextIO | None):
        self.live, self.decoder = live, codecs.getincrementaldecoder("utf-8")("replace")

    def __call__(self, data: bytes, final: bool = False) -> None:
        text = self.decoder.decode(data, final)
        if text and self.live is not None:
            self.live.write(text)
            self.live.flush()


def run_script(path: Path, args: list[str], cwd: Path, env: dict[str, str],
               timeout: float | None = None, live: TextIO | None = None) -> tuple[int, str]:
    """``python path args`` in a new interpreter; (exit code, stdout and stderr together).

    Ctrl-C reaches the lesson too (same terminal); it gets STOP_GRACE_SECONDS to finish its
    files before it is killed, then KeyboardInterrupt is raised here. Past ``timeout`` seconds
    the lesson is stopped the same way and LessonTimedOut is raised. ``live``: a stream that
    also gets the output while the lesson runs (a download's progress lines)."""
    proc = subprocess.Popen([sys.executable, str(path), *args], cwd=cwd, env={**os.environ, **env},
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)

    def waited(seconds: float) -> bool:
        try:
            proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return False
        return True

    if live is None:
        read = proc.communicate
    else:
        read = _reader(proc, _Echo(live))
    try:
        output, _ = read(timeout=timeout)
    except subprocess.TimeoutExpired:
        interrupt = proc.terminate if os.name == "nt" else lambda: proc.send_signal(signal.SIGINT)
        _stop(interrupt, waited, proc.kill)
        output, _ = read()
        raise LessonTimedOut(output.decode("utf-8", "replace")) from None
    except KeyboardInterrupt:
        _stop(lambda: None, waited, proc.kill)
        proc.wait()
        raise
    return proc.returncode, output.decode("utf-8", "replace")


def _reader(proc: subprocess.Popen, echo: _Echo):
    """``proc.communicate`` for ``run_script``'s ``live``: a thread reads the lesson's output as
    it comes, keeps it and echoes it; ``read(timeout)`` waits for the lesson (TimeoutExpired as
    communicate raises it), then for the rest of its output."""
    chunks: list[bytes] = []

    def pump() -> None:
        for data in iter(lambda: proc.stdout.read1(1 << 16), b""):
            chunks.append(data)
            echo(data)
        echo(b"", final=True)

    thread = threading.Thread(target=pump, name="lesson output", daemon=True)
    thread.start()

    def read(timeout: float | None = None) -> tuple[bytes, None]:
        proc.wait(timeout=timeout)
        thread.join()
        proc.stdout.close()
        return b"".join(chunks), None

    return read


def run_script_forked(path: Path, args: list[str], cwd: Path, env: dict[str, str],
                      timeout: float | None = None,
                      live: TextIO | None = None) -> tuple[int, str]:
    """Run the script ``path`` with ``args`` as ``python path args`` would, in a child of the
    fork server; return (exit code as subprocess reports it, stdout and stderr together).

    Ctrl-C reaches the child too (same terminal); it gets STOP_GRACE_SECONDS to finish its
    files before it is killed, then KeyboardInterrupt is raised here. Past ``timeout`` seconds
    the child is stopped the same way and LessonTimedOut is raised. ``live``: a stream that
    also gets the output while the lesson runs (the child's output file, read as it grows)."""
    preload()
    start_server()
    context = multiprocessing.get_context("forkserver")
    handle, output = tempfile.mkstemp(prefix="tudui-lesson-", suffix=".txt")
    os.close(handle)
    try:
        child = context.Process(target=_run_child, name=path.stem,
                                args=(str(path), list(args), str(cwd), dict(env), output))
        try:
            child.start()
        except (OSError, EOFError) as err:  # the server did not start or answer
            raise ForkFailed(f"{type(err).__name__}: {err}") from err

        def waited(seconds: float) -> bool:
            child.join(seconds)
            return not child.is_alive()

        def kill() -> None:
            child.kill()
            child.join()

        try:
            if live is None:
                child.join(timeout)
            else:
                _join_echoing(child, timeout, output, _Echo(live))
        except KeyboardInterrupt:
            _stop(lambda: None, waited, kill)
            raise
        timed_out = child.is_alive()
        if timed_out:
            _stop(lambda: os.kill(child.pid, signal.SIGINT), waited, kill)
        with open(output, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        if timed_out:
            raise LessonTimedOut(text)
        return child.exitcode, text
    finally:
        os.unlink(output)


def _join_echoing(child, timeout: float | None, output: str, echo: _Echo) -> None:
    """``child.join(timeout)``, meanwhile passing what the child adds to the file ``output`` on
    to ``echo`` every LIVE_POLL_SECONDS, and what is left once it has ended."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with open(output, "rb") as f:
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            child.join(LIVE_POLL_SECONDS if left is None else min(LIVE_POLL_SECONDS, left))
            echo(f.read())
            if not child.is_alive():
                echo(f.read(), final=True)
                break


def _run_child(path: str, args: list[str], cwd: str, env: dict[str, str], output: str) -> None:
    """In the forked child: stdout and stderr to the file ``output``, no stdin, then run the
    script as ``__main__`` and leave with its exit code, after atexit handlers and flushing as
    Python's own exit does."""
    code = 1
    try:
        gc.freeze()  # what the server imported stays out of this child's collections (no copying)
        out = os.open(output, os.O_WRONLY | os.O_APPEND)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 (lives until exit)
        sys.stdout = _text_stream(1, "strict")
        sys.stderr = _text_stream(2, "backslashreplace")
        os.environ.update(env)
        os.chdir(cwd)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.argv = [path, *args]
        sys.path[0] = str(Path(path).parent)
        code = _run_main(Path(path))
        gc.collect()  # objects the script left behind finish (writers flush) as at exit
        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001 (the child must reach os._exit whatever happens)
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 (a full disk, say: nothing left to tell)
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
