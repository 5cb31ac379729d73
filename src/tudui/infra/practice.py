"""练一练 / Your turn: exercises made from the lessons, checked by the project's own tests.

``src/practice.py`` is the command; this module does the work:

- ``exercise_text(lesson)``: the lesson with the video's own lines cut out where the table in
  ``practice_spec`` says (found by their place in the syntax tree, so the lesson files carry no
  markers), each cut replaced by a bilingual ``# 练一练`` comment and a placeholder
  ``raise NotImplementedError("练一练 …")``;
- ``check(...)``: the lesson tests the table names, run in this process by pytest with
  ``TUDUI_LESSON_DIR`` pointing ``tudui.paths.import_lesson`` at ``practice/``;
- ``hint(...)`` and ``solution_diff(...)``.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import io
import os
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from tudui.infra.practice_spec import EXERCISES, Blank, Exercise
from tudui.paths import REPO_ROOT, SRC_DIR

PRACTICE_DIR = REPO_ROOT / "practice"
LESSON_DIR_VARIABLE = "TUDUI_LESSON_DIR"  # read by tudui.paths.import_lesson
PLACEHOLDER = "练一练 / your turn"

# A practice file lives in practice/, the helper package in src/: the lines put after its
# `from __future__` import make `import tudui` work when the learner runs the file directly.
PATH_LINES = (
    "import sys  # 练一练：工具包 tudui 在 src/ 里 / practice: the tudui package lives in src/\n"
    "from pathlib import Path\n"
    "sys.path.insert(0, str((Path(__file__).resolve().parent / \"{src}\").resolve()))\n"
)

_PLACEHOLDER_LINE = re.compile(r'raise NotImplementedError\("练一练 / your turn: \S+ #(\d+)')


def exercise(lesson: str) -> Exercise:
    """The exercise of ``lesson`` ("22", "22_nn_seq"), or KeyError."""
    for ex in EXERCISES:
        if lesson in (ex.lesson, ex.lesson[:2]):
            return ex
    raise KeyError(lesson)


def practice_file(ex: Exercise, folder: Path = PRACTICE_DIR) -> Path:
    return folder / f"{ex.lesson}.py"


# --------------------------------------------------------------------------------------------
# Cutting the video's lines out

@dataclass
class _Cut:
    number: int
    blank: Blank
    first: int   # 1-based line numbers of the lines removed, inclusive
    last: int
    indent: str


def _statements(tree: ast.AST) -> list[ast.stmt]:
    """Every statement, in source order."""
    found = [node for node in ast.walk(tree) if isinstance(node, ast.stmt)]
    return sorted(found, key=lambda node: (node.lineno, node.col_offset))


def _head(lines: list[str], node: ast.stmt) -> str:
    return lines[node.lineno - 1].strip()


def _body_without_docstring(node: ast.stmt) -> list[ast.stmt]:
    body = node.body
    if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and body and \
            isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and \
            isinstance(body[0].value.value, str) and len(body) > 1:
        body = body[1:]
    return body


def _first_line(lines: list[str], node: ast.stmt) -> int:
    """The statement's first line, with the comment lines right above it (they explain it)."""
    line = node.lineno
    while line > 1 and lines[line - 2].strip().startswith("#"):
        line -= 1
    return line


def _locate(ex: Exercise, text: str) -> list[_Cut]:
    """Where each blank of ``ex`` is in ``text``; ValueError naming a blank that is not found."""
    lines = text.splitlines()
    statements = _statements(ast.parse(text))
    cuts, after = [], 0
    for number, blank in enumerate(ex.blanks, 1):
        start = next((node for node in statements if node.lineno > after and
                      _head(lines, node).startswith(blank.at)), None)
        if start is None:
            raise ValueError(f"{ex.lesson}: blank {number}: no statement starts with {blank.at!r}")
        if blank.until is None and hasattr(start, "body") and not isinstance(start, ast.If):
            body = _body_without_docstring(start)
            first, last = _first_line(lines, body[0]), body[-1].end_lineno
            indent_of = body[0]
        else:
            end = start
            if blank.until is not None:
                siblings = [node for node in statements if node.col_offset == start.col_offset
                            and node.lineno >= start.lineno]
                end = next((node for node in siblings if _head(lines, node).startswith(blank.until)),
                           None)
                if end is None:
                    raise ValueError(f"{ex.lesson}: blank {number}: no statement starts with "
                                     f"{blank.until!r} after {blank.at!r}")
            first, last, indent_of = _first_line(lines, start), end.end_lineno, start
        cuts.append(_Cut(number, blank, first, last, " " * indent_of.col_offset))
        after = last
    return cuts


def _wrap_wide(text: str, width: int) -> list[str]:
    """Chinese text with code in it, wrapped at ``width`` columns (a Chinese character takes two):
    lines break between Chinese characters or at spaces, never inside a word of code."""
    lines, line, columns = [], "", 0
    for token in re.findall(r"[\x21-\x7e]+|\s+|.", text):
        size = sum(2 if ord(char) > 0x2e7f else 1 for char in token)
        if columns + size > width and line.strip() and token not in "，。、；：）」":
            lines.append(line.rstrip())
            line, columns = "", 0
            if token.isspace():
                continue
        line, columns = line + token, columns + size
    return lines + ([line.rstrip()] if line.strip() else [])


def _placeholder(ex: Exercise, cut: _Cut, total: int) -> list[str]:
    """The comment that says what the video does here, and the line that stops the run."""
    i, width = cut.indent, 100 - len(cut.indent) - 2
    zh = _wrap_wide(f"练一练 {cut.number}/{total} ({ex.part})：{cut.blank.zh}", width)
    en = textwrap.wrap(f"Your turn {cut.number}/{total}: {cut.blank.en}", width,
                       break_on_hyphens=False)
    return [f"{i}# {line}" for line in zh + en] + \
        [f'{i}raise NotImplementedError("{PLACEHOLDER}: {ex.lesson} #{cut.number}")']


def _with_path_lines(text: str, folder: Path) -> str:
    """``text`` with PATH_LINES after its ``from __future__`` import (which must stay first)."""
    future = "from __future__ import annotations\n"
    if future not in text:
        raise ValueError("a lesson starts with its docstring, then `from __future__ import "
                         "annotations`")
    src = Path(os.path.relpath(SRC_DIR, folder.resolve())).as_posix()
    return text.replace(future, future + "\n" + PATH_LINES.format(src=src), 1)


def lesson_text(ex: Exercise, folder: Path = PRACTICE_DIR) -> str:
    """The lesson as the practice file is when every blank is done: the answer."""
    return _with_path_lines((SRC_DIR / f"{ex.lesson}.py").read_text(encoding="utf-8"), folder)


def exercise_text(ex: Exercise, folder: Path = PRACTICE_DIR) -> str:
    """The practice file: the lesson with each blank cut out and a placeholder in its place."""
    text = lesson_text(ex, folder)
    lines = text.splitlines()
    cuts = _locate(ex, text)
    for cut in reversed(cuts):
        lines[cut.first - 1:cut.last] = _placeholder(ex, cut, len(cuts))
    return "\n".join(lines) + "\n"


def answers(ex: Exercise) -> dict[int, str]:
    """{blank number: the lesson's own lines for it}, to fill an exercise back (tests)."""
    text = lesson_text(ex)
    lines = text.splitlines()
    return {cut.number: "\n".join(lines[cut.first - 1:cut.last])
            for cut in _locate(ex, text)}


def fill(exercise_source: str, ex: Exercise, number: int, code: str) -> str:
    """``exercise_source`` with placeholder ``number`` (its three lines) replaced by ``code``."""
    lines = exercise_source.splitlines()
    for index, line in enumerate(lines):
        match = _PLACEHOLDER_LINE.search(line)
        if match and int(match.group(1)) == number and f": {ex.lesson} #" in line:
            first = index
            while first > 0 and lines[first - 1].lstrip().startswith("# ") and \
                    _is_placeholder_comment(lines, first - 1, index):
                first -= 1
            lines[first:index + 1] = code.splitlines()
            return "\n".join(lines) + "\n"
    raise ValueError(f"{ex.lesson}: no placeholder #{number}")


def _is_placeholder_comment(lines: list[str], line: int, raise_line: int) -> bool:
    """True for the comment lines of the placeholder that ends at ``raise_line``: they run up
    to the line that starts with "练一练 N/"."""
    for index in range(raise_line - 1, -1, -1):
        if re.match(r"\s*# 练一练 \d+/\d+ ", lines[index]):
            return index <= line
        if not lines[index].lstrip().startswith("#"):
            return False
    return False


def open_blanks(source: str) -> list[tuple[int, int]]:
    """[(blank number, line number)] of the placeholders still in ``source``."""
    return [(int(match.group(1)), line_number)
            for line_number, line in enumerate(source.splitlines(), 1)
            if (match := _PLACEHOLDER_LINE.search(line))]


def make(ex: Exercise, folder: Path = PRACTICE_DIR, reset: bool = False) -> tuple[Path, bool]:
    """Write ``practice/<lesson>.py`` (returns (path, written)); an existing file is the
    learner's work and is kept unless ``reset``."""
    from tudui.infra.files import atomic_write_bytes

    path = practice_file(ex, folder)
    if path.exists() and not reset:
        return path, False
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, exercise_text(ex, folder).encode("utf-8"))
    return path, True


def solution_diff(ex: Exercise, folder: Path = PRACTICE_DIR) -> str:
    """What the learner's file lacks or has extra, as a unified diff against the lesson."""
    path = practice_file(ex, folder)
    mine = path.read_text(encoding="utf-8").splitlines(keepends=True)
    answer = lesson_text(ex, folder).splitlines(keepends=True)
    return "".join(difflib.unified_diff(mine, answer, f"practice/{path.name}",
                                        f"src/{path.name}"))


def hint(ex: Exercise, folder: Path = PRACTICE_DIR) -> str:
    """One line: the hint of the first blank still open in the learner's file (or of the first
    blank when the file is not made yet or has none open)."""
    path = practice_file(ex, folder)
    number = 1
    if path.is_file():
        still_open = open_blanks(path.read_text(encoding="utf-8"))
        if still_open:
            number = min(n for n, _ in still_open)
    blank = ex.blanks[number - 1]
    return f"提示 / hint {ex.lesson} #{number} ({ex.part}): {blank.hint}"


# --------------------------------------------------------------------------------------------
# Checking with the project's own tests

@dataclass
class Result:
    exercise: Exercise
    status: str                       # "done", "failed", "not started", "not checked"
    check: tuple[str, str] | None = None   # (zh, en) of the check that failed
    detail: str = ""                  # what pytest saw, shortened
    open_blanks: list[tuple[int, int]] = field(default_factory=list)


def _short(text: str, limit: int = 240) -> str:
    """pytest's failure line made readable: one line, no "<built-in method … at 0x…>", only the
    first "where" of an assert, at most ``limit`` characters."""
    text = re.sub(r"<(?:built-in )?(?:method|function) ([\w.]+)[^>]*>", r"\1", text)
    text = " ".join(text.split())
    first, where, rest = text.partition(" + where ")
    text = first + (where + rest.split(" + ")[0] if where else "")
    return text if len(text) <= limit else text[:limit] + "…"


class _Recorder:
    """A pytest plugin: every test's outcome. Once an exercise has failed, its other checks are
    skipped; the whole session stops at the first failure unless ``keep_going``."""

    def __init__(self, keep_going: bool, owners: dict[str, set[str]]):
        self.keep_going, self.owners = keep_going, owners
        self.failed, self.passed, self.failed_lessons, self.session = {}, set(), set(), None

    def pytest_sessionstart(self, session):
        self.session = session

    def pytest_runtest_setup(self, item):
        import pytest

        if self.owners.get(item.nodeid, set()) <= self.failed_lessons:
            pytest.skip("练一练: this exercise already failed a check")

    def pytest_runtest_logreport(self, report):
        if report.failed and report.nodeid not in self.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            message = crash.message if crash else str(report.longrepr)
            gap = re.search(r"练一练 / your turn: \S+ #\d+", report.capstderr)
            # a gap reached inside main() is a SystemExit(2) after friendly_errors printed it
            self.failed[report.nodeid] = gap.group(0) if gap and "练一练" not in message \
                else message
            self.failed_lessons |= self.owners.get(report.nodeid, set())
            if not self.keep_going and self.session is not None:
                self.session.shouldstop = "练一练: first failing exercise"
        elif report.when == "call" and report.passed:
            self.passed.add(report.nodeid)


def check(exercises: list[Exercise] | None = None, folder: Path = PRACTICE_DIR,
          keep_going: bool = False, basetemp: Path | None = None) -> list[Result]:
    """Check the exercises the learner has started, in course order, with their lessons' tests
    (in this process). Stops at the first one that fails unless ``keep_going``. ``basetemp``:
    where pytest makes its temporary folders (the tests' own, when they call this)."""
    import pytest

    exercises = list(EXERCISES if exercises is None else exercises)
    started = [ex for ex in exercises if practice_file(ex, folder).is_file()]
    owners: dict[str, set[str]] = {}
    for ex in started:
        for node, _, _ in ex.checks:
            owners.setdefault(node, set()).add(ex.lesson)
    node_ids = list(owners)  # in course order, each once (26's two lessons share a check)
    recorder = _Recorder(keep_going, owners)
    if node_ids:
        previous = os.environ.get(LESSON_DIR_VARIABLE)
        os.environ[LESSON_DIR_VARIABLE] = str(folder)
        try:
            output = io.StringIO()
            with contextlib.redirect_stdout(output):  # the learner sees our lines, not pytest's
                code = pytest.main(["-c", str(REPO_ROOT / "pyproject.toml"), "--rootdir",
                                    str(REPO_ROOT), "-n", "0", "-p", "no:cacheprovider", "-qq",
                                    "--tb=short", *(["--basetemp", str(basetemp)] if basetemp
                                                    else []),
                                    *[str(REPO_ROOT / node) for node in node_ids]],
                                   plugins=[recorder])
            if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED,
                            pytest.ExitCode.INTERRUPTED) and not recorder.failed:
                raise RuntimeError(f"pytest could not run the checks (exit {code}):\n"
                                   + output.getvalue()[-3000:])
        finally:
            if previous is None:
                os.environ.pop(LESSON_DIR_VARIABLE, None)
            else:
                os.environ[LESSON_DIR_VARIABLE] = previous
    results, stopped = [], False
    for ex in exercises:
        path = practice_file(ex, folder)
        if not path.is_file():
            results.append(Result(ex, "not started"))
            continue
        still_open = open_blanks(path.read_text(encoding="utf-8"))
        failure = next(((node, zh, en) for node, zh, en in ex.checks
                        if node in recorder.failed), None)
        if stopped:
            results.append(Result(ex, "not checked", open_blanks=still_open))
        elif failure is not None:
            node, zh, en = failure
            detail = _short(recorder.failed[node])
            if still_open and "练一练" not in detail:  # e.g. a line check: the gap comes first
                detail = f"{PLACEHOLDER}: {ex.lesson} #{still_open[0][0]}"
            results.append(Result(ex, "failed", (zh, en), detail, still_open))
            stopped = not keep_going
        elif all(node in recorder.passed for node, _, _ in ex.checks):
            results.append(Result(ex, "done", open_blanks=still_open))
        else:
            results.append(Result(ex, "not checked", open_blanks=still_open))
    return results
