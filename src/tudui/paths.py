"""Repository paths, found from this package's location, never from the current directory; the
lesson files, their output folders, and importing a lesson file from another one."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from tudui.errors import CourseError

PACKAGE_DIR = Path(__file__).resolve().parent
SRC_DIR = PACKAGE_DIR.parent
REPO_ROOT = SRC_DIR.parent
DATASET_DIR = REPO_ROOT / "dataset"
LOGS_DIR = REPO_ROOT / "logs"

# The lesson folder made last (by lesson_log_dir): a full disk's write() names no file, so the
# message names this folder instead.
last_output_folder: Path | None = None


def absolute(path: str | os.PathLike) -> Path:
    """``path`` made absolute (``~`` expanded, ``..`` folded, symlinks kept), for messages that
    must not depend on the folder the learner started from."""
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def lesson_name(file: str | os.PathLike) -> str:
    """The lesson's name from its file, e.g. ``src/27_train.py`` -> ``27_train``."""
    return Path(file).stem


def lesson_files() -> list[Path]:
    """Every numbered lesson ``src/NN_*.py``, in course order.

    Within one video part a ``*_load`` lesson comes after its sibling (26_model_save, then
    26_model_load), because it loads what the other one wrote.
    """
    return sorted(SRC_DIR.glob("[0-9][0-9]_*.py"),
                  key=lambda p: (p.stem[:2], p.stem.endswith("_load"), p.stem))


def lesson_log_dir(lesson: str, log_dir: str | os.PathLike | None = None) -> Path:
    """``<log_dir>/<lesson>/`` (``logs/<lesson>/`` by default), created if missing."""
    global last_output_folder
    path = Path(os.path.abspath(Path(log_dir or LOGS_DIR).expanduser() / lesson))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # --log-dir names a file, a read-only place, ...
        from tudui.infra.oserrors import os_error

        raise os_error(err, err.filename or path, "creating the folder") or CourseError(
            f"cannot create the output folder {path} ({err.strerror or err}). Pass --log-dir a "
            "folder you can write to (it is created when missing).",
            f"无法创建输出文件夹 {path}（{err.strerror or err}）。请用 --log-dir 指定一个可以写入的文件夹。") from err
    last_output_folder = path
    return path


def _lesson_path(lesson: str) -> Path:
    """``src/<lesson>.py``, or the learner's own ``<folder>/<lesson>.py`` when the practice
    checker (``src/practice.py --check``) points TUDUI_LESSON_DIR at that folder and it has one."""
    practice = os.environ.get("TUDUI_LESSON_DIR")
    if practice and (Path(practice) / f"{lesson}.py").is_file():
        return Path(practice) / f"{lesson}.py"
    return SRC_DIR / f"{lesson}.py"


def import_lesson(lesson: str | os.PathLike, module_name: str | None = None):
    """Import a lesson file: ``import_lesson("27_train")`` or a path to any script.

    Our file names start with a number, so ``import 27_train`` cannot work. The module is
    registered in ``sys.modules`` as ``module_name`` (default ``lesson_<name>``), so importing
    the same file again returns the same module, and a pickle that names ``module_name`` finds
    its classes.
    """
    path = Path(lesson) if Path(lesson).suffix == ".py" else _lesson_path(str(lesson))
    module_name = module_name or f"lesson_{path.stem}"
    known = sys.modules.get(module_name)
    if known is not None and getattr(known, "__file__", None) == str(path):
        return known
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module
