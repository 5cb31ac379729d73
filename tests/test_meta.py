"""Every lesson has a test that runs it, and every lesson answers --help."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import load_lesson
from tudui.errors import friendly_errors
from tudui.paths import REPO_ROOT, lesson_files

LESSONS = [p.stem for p in lesson_files()]
TEST_SOURCES = "\n".join(p.read_text(encoding="utf-8")
                         for p in Path(__file__).parent.glob("test_*.py"))


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lesson_has_a_test_that_runs_it(lesson):
    pattern = rf"""(run_lesson|load_lesson|run_script)\(\s*["']{re.escape(lesson)}["']"""
    assert re.search(pattern, TEST_SOURCES), f"no test runs src/{lesson}.py"


def test_every_lesson_has_the_house_shape():
    for path in lesson_files():
        source = path.read_text(encoding="utf-8")
        assert source.startswith('"""'), f"{path.name}: docstring first"
        assert "def main(argv=None) -> dict" in source, f"{path.name}: main(argv=None) -> dict"
        assert 'if __name__ == "__main__":' in source, f"{path.name}: __main__ guard"
        assert re.search(r"P\d", source.split('"""')[1]), f"{path.name}: names its video part"


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lesson_answers_help(lesson, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # not the repository: the lesson finds its own way
    main = load_lesson(lesson).main
    # main() itself is what @friendly_errors wrapped: errors become a paragraph and exit 2
    assert main.__code__ is friendly_errors(lambda argv=None: None).__code__, lesson
    try:
        returned = main(["--help"])
        code = 0 if returned is None else f"main() went on after --help: {returned!r}"
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr().out
    # argparse exits 0 after the help; 34's torchrun @record turns that exit into `return None`
    assert code == 0, out
    assert "--quick" in out and "--data-root" in out, lesson


# Every lesson file run as a script from outside the repository, in ONE fresh interpreter (each
# new interpreter spends seconds importing torch): each file is executed as __main__ with the
# script's own folder first on sys.path, as `python path/to/lesson.py --help` does.
AS_SCRIPTS = """
import os, runpy, sys
for path in sys.argv[1:]:
    sys.path[0], sys.argv = os.path.dirname(path), [path, "--help"]
    try:
        runpy.run_path(path, run_name="__main__")
        code = 0  # the end of the script: Python exits 0
    except SystemExit as exit_:
        code = exit_.code
    print(f"@@ {os.path.basename(path)} exit {code}", flush=True)
"""


def test_every_lesson_answers_help_as_a_script_from_any_directory(tmp_path):
    paths = lesson_files()
    proc = subprocess.run([sys.executable, "-c", AS_SCRIPTS, *map(str, paths)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outputs = re.split(r"^@@ .*$", proc.stdout, flags=re.M)[:-1]
    assert re.findall(r"^@@ (.*)$", proc.stdout, flags=re.M) == [
        f"{p.name} exit 0" for p in paths], proc.stdout[-3000:] + proc.stderr[-3000:]
    for path, output in zip(paths, outputs):
        assert f"usage: {path.name} " in output, path.name
        assert "--quick" in output and "--data-root" in output, path.name


def test_every_lesson_checks_for_torch_before_importing_it():
    """A Python without torch gets one line naming `make lessons` (tudui.torch_installed), not a
    ModuleNotFoundError traceback: the check has to come before the lesson's heavy imports."""
    for path in [*lesson_files(), REPO_ROOT / "src" / "model_load_trap.py"]:
        source = path.read_text(encoding="utf-8")
        check = source.find("from tudui import torch_installed")
        heavy = [i for i in (source.find("\nimport torch"), source.find("\nfrom torch")) if i >= 0]
        assert 0 <= check < min(heavy, default=len(source)), path.name
