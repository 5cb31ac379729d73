"""``CourseError``, the one-paragraph error every part of the course raises, and ``shorten``.

Kept apart from ``tudui.errors`` (which a learner opens, and which re-exports both) so that
``tudui.infra.oserrors`` can build one without importing ``tudui.errors`` back: ``errors`` needs
``oserrors`` for ``friendly_errors``. This module imports nothing of the course.
"""

from __future__ import annotations

import textwrap

SHOWN_CHARACTERS = 200  # of a string from a file (a key, a label, a name) quoted in a message
LONGEST_WORD = 1000     # longer than any real path or command: a string from a file, cut too


def shorten(value, limit: int = SHOWN_CHARACTERS) -> str:
    """``str(value)`` for a message: its first ``limit`` characters, then "…".

    Every string a message quotes from a file goes through here: a file may hold a name of
    several megabytes. A value that cannot even be turned into text (an integer of 5,000
    digits, a list nested too deeply) is named by its type."""
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:  # ValueError (int_max_str_digits), RecursionError, a broken __str__ ...
        return f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "…"


def _one_paragraph(text: str) -> str:
    """``text`` on one line, each word that is longer than any path (a string from a file
    that no call site shortened) cut by ``shorten``."""
    return " ".join(word if len(word) <= LONGEST_WORD else shorten(word) for word in text.split())


class CourseError(Exception):
    """A failure the learner can fix: printed as one paragraph (Chinese, then English), exit 2."""

    def __init__(self, en: str, zh: str = ""):
        self.en = _one_paragraph(en)
        self.zh = _one_paragraph(zh)
        super().__init__(self.en)

    def paragraph(self) -> str:
        """The message as printed: a Chinese line (when given), then the English paragraph."""
        lines = []
        if self.zh:
            lines.append(f"错误：{self.zh}")
        # never break inside a path or a command (argparse-style hyphens), so they copy whole
        lines.append(textwrap.fill(f"Error: {self.en}", width=100, break_on_hyphens=False,
                                   break_long_words=False))
        return "\n".join(lines)
