"""Expected failures (missing data, no GPU, bad checkpoint...) as one actionable paragraph."""

from __future__ import annotations

import functools
import sys
import textwrap

EXIT_CODE = 2
SKIP_EXIT_CODE = 3  # the lesson runner reports this as "skipped", not "failed"


class CourseError(Exception):
    """A failure the learner can fix: printed as one paragraph (Chinese, then English), exit 2."""

    def __init__(self, en: str, zh: str = ""):
        super().__init__(en)
        self.en = " ".join(en.split())
        self.zh = " ".join(zh.split())

    def paragraph(self) -> str:
        """The message as printed: a Chinese line (when given), then the English paragraph."""
        lines = []
        if self.zh:
            lines.append(f"错误：{self.zh}")
        lines.append(textwrap.fill(f"Error: {self.en}", width=100))
        return "\n".join(lines)


class SkipLesson(CourseError):
    """The lesson cannot run on this machine (e.g. it needs a GPU): exit 3, shown as skipped."""


def friendly_errors(main):
    """Decorate a lesson's main(): CourseError and Ctrl-C print a paragraph and exit 2 (3: skipped).

    The undecorated function stays reachable as ``main.__wrapped__`` so tests can assert on the
    CourseError itself.
    """

    @functools.wraps(main)
    def wrapper(argv=None):
        for stream in (sys.stdout, sys.stderr):
            _printable_chinese(stream)
        try:
            return main(argv)
        except CourseError as err:
            print("\n" + err.paragraph(), file=sys.stderr)
            code = SKIP_EXIT_CODE if isinstance(err, SkipLesson) else EXIT_CODE
            raise SystemExit(code) from None
        except KeyboardInterrupt:
            print(
                "\n已中断 (Ctrl-C)。已经写完的文件都完好无损（27_train.py 可以加 --resume 从最后一个检查点继续）。\n"
                "Interrupted (Ctrl-C). Files that were completely written are intact "
                "(27_train.py can go on from its last checkpoint with --resume).",
                file=sys.stderr,
            )
            raise SystemExit(EXIT_CODE) from None

    return wrapper


def _printable_chinese(stream) -> None:
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
