"""Expected failures (missing data, no GPU, bad checkpoint, a full disk...) as one actionable
paragraph and exit code 2, Ctrl-C as one line: what ``@friendly_errors`` does around main()."""

from __future__ import annotations

import functools
import sys
import textwrap

from tudui.infra.console import INTERRUPTED, printable_chinese

EXIT_CODE = 2
SKIP_EXIT_CODE = 3  # the lesson runner reports this as "skipped", not "failed"
INTERRUPTED_EXIT_CODE = 130  # 128 + SIGINT: what shells report for a program stopped by Ctrl-C

__all__ = ["EXIT_CODE", "INTERRUPTED", "INTERRUPTED_EXIT_CODE", "SKIP_EXIT_CODE", "CourseError",
           "SkipLesson", "friendly_errors"]


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
        # never break inside a path or a command (argparse-style hyphens), so they copy whole
        lines.append(textwrap.fill(f"Error: {self.en}", width=100, break_on_hyphens=False,
                                   break_long_words=False))
        return "\n".join(lines)


class SkipLesson(CourseError):
    """The lesson cannot run on this machine (e.g. it needs a GPU): exit 3, shown as skipped."""


def friendly_errors(main):
    """Decorate a lesson's main(): CourseError (and the OS failures a learner can fix, see
    ``tudui.infra.oserrors``) print a paragraph and exit 2 (3: skipped); Ctrl-C prints one line
    and exits 130.

    The undecorated function stays reachable as ``main.__wrapped__`` so tests can assert on the
    CourseError itself.
    """

    @functools.wraps(main)
    def wrapper(argv=None):
        for stream in (sys.stdout, sys.stderr):
            printable_chinese(stream)
        try:
            return main(argv)
        except CourseError as err:
            print("\n" + err.paragraph(), file=sys.stderr)
            raise SystemExit(SKIP_EXIT_CODE if isinstance(err, SkipLesson) else EXIT_CODE) from None
        except OSError as err:
            from tudui.infra.oserrors import os_error

            known = os_error(err)
            if known is None:
                raise
            print("\n" + known.paragraph(), file=sys.stderr)
            raise SystemExit(EXIT_CODE) from None
        except KeyboardInterrupt as err:  # a download says what it kept (DownloadInterrupted)
            print("\n" + getattr(err, "line", INTERRUPTED), file=sys.stderr)
            raise SystemExit(INTERRUPTED_EXIT_CODE) from None

    return wrapper
