"""Every lesson has a test that runs it, and every lesson answers --help."""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

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


def _help(path: Path) -> tuple[str, int, str]:
    proc = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True,
                          cwd=REPO_ROOT.parent, timeout=300)
    return path.stem, proc.returncode, proc.stdout + proc.stderr


def test_every_lesson_answers_help_from_any_directory():
    # Two at a time: each is a fresh interpreter importing torch, and most of the time is that.
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_help, lesson_files()))
    for lesson, code, output in results:
        assert code == 0, f"{lesson} --help failed:\n{output}"
        assert "--quick" in output and "--data-root" in output, lesson


def test_every_lesson_checks_for_torch_before_importing_it():
    """A Python without torch gets one line naming `make lessons` (tudui.torch_installed), not a
    ModuleNotFoundError traceback: the check has to come before the lesson's heavy imports."""
    for path in [*lesson_files(), REPO_ROOT / "src" / "model_load_trap.py"]:
        source = path.read_text(encoding="utf-8")
        check = source.find("from tudui import torch_installed")
        heavy = [i for i in (source.find("\nimport torch"), source.find("\nfrom torch")) if i >= 0]
        assert 0 <= check < min(heavy, default=len(source)), path.name
