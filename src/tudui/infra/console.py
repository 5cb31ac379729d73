"""The terminal: Chinese text on any console, Ctrl-C as one line, a closed pipe not a crash."""

from __future__ import annotations

import io
import os
import sys

INTERRUPTED = ("已中断 / Interrupted (Ctrl-C): 已写完的文件完好，写了一半的已删除 / completed files are "
               "intact, half-written ones removed (27_train.py --resume goes on from the last "
               "checkpoint).")


def printable_chinese(stream) -> None:
    """Switch ``stream`` to UTF-8 when its encoding cannot write Chinese.

    Output redirected to a file or a pipe on a Windows machine with a Western locale uses cp1252,
    and the first Chinese print would crash the lesson. A console is unaffected (Python writes
    to it in Unicode), and so are GBK and UTF-8 streams.
    """
    try:
        "中文".encode(getattr(stream, "encoding", None) or "ascii")
    except (LookupError, UnicodeEncodeError):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8", errors="replace")


def interrupted_hook(previous=sys.__excepthook__):
    """A ``sys.excepthook`` that shows a Ctrl-C outside main() (while torch is still being
    imported, say) as the same one line instead of a traceback; Python then exits as
    interrupted (130 in a shell). Every other exception goes to ``previous``."""

    def hook(kind, value, traceback):
        if issubclass(kind, KeyboardInterrupt):
            printable_chinese(sys.stderr)
            print("\n" + INTERRUPTED, file=sys.stderr)
        elif practice_gap(value) is not None:
            printable_chinese(sys.stderr)
            print("\n" + practice_gap(value), file=sys.stderr)
        else:
            previous(kind, value, traceback)

    hook.tudui = True
    return hook


def practice_gap(err: BaseException) -> str | None:
    """The one line for a practice file's placeholder (``raise NotImplementedError("练一练 …")``,
    see ``src/practice.py``) reached while running it; None for any other exception."""
    if not (isinstance(err, NotImplementedError) and str(err).startswith("练一练")):
        return None
    frame = err.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    where = f"{frame.tb_frame.f_code.co_filename} line {frame.tb_lineno}" if frame else ""
    lesson = str(err).rsplit(": ", 1)[-1].split(" #")[0][:2]
    return (f"{err}: 这里还没写 / still to write here: {where}\n"
            f"看上面的注释，或者 / see the comment above it, or: python src/practice.py --hint "
            f"{lesson}")


class QuietWhenClosed:
    """stdout/stderr that go quiet when their reader goes away (``| head -1``, quitting
    ``less``): training goes on and keeps writing checkpoints instead of dying on a
    BrokenPipeError."""

    def __init__(self, stream):
        self._stream, self.reader_gone = stream, False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                return self._stream.write(text)
            except (BrokenPipeError, ValueError):  # ValueError: the stream was closed
                self._go_quiet()
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self._stream.flush()
            except (BrokenPipeError, ValueError):
                self._go_quiet()

    def _go_quiet(self) -> None:
        self.reader_gone = True
        try:  # what Python still flushes at exit now goes nowhere, instead of a second error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass

    def __getattr__(self, name):
        return getattr(self._stream, name)


def quiet_when_output_closes() -> None:
    """Wrap sys.stdout and sys.stderr in QuietWhenClosed (once)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, QuietWhenClosed):
            setattr(sys, name, QuietWhenClosed(stream))
