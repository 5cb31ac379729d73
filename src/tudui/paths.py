"""Repository paths, found from this package's location, never from the current directory; the
lesson files, their output folders, and importing a lesson file from another one."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from tudui.errors import CourseError
from tudui.infra.oserrors import os_error, remember_output_folder

PACKAGE_DIR = Path(__file__).resolve().parent
SRC_DIR = PACKAGE_DIR.parent
REPO_ROOT = SRC_DIR.parent
DATASET_DIR = REPO_ROOT / "dataset"
LOGS_DIR = REPO_ROOT / "logs"


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
    """``<log_dir>/<lesson>/`` (``logs/<lesson>/`` by default), created if missing.

    Every file a lesson writes lies in this folder, so it is refused (CourseError) when it holds
    a link that leads out of it: TensorBoard (events, projector files), the profiler and the
    tour write through a link to whatever it points to (see ``links_leaving``)."""
    root = Path(os.path.abspath(Path(log_dir or LOGS_DIR).expanduser()))
    path = root / lesson
    if os.path.islink(path) and not _inside(os.path.realpath(path), os.path.realpath(root)):
        raise _links_error(path, [(path, os.path.realpath(path))], root)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # --log-dir names a file, a read-only place, ...
        raise os_error(err, err.filename or path, "creating the folder") or CourseError(
            f"cannot create the output folder {path} ({err.strerror or err}). Pass --log-dir a "
            "folder you can write to (it is created when missing).",
            f"无法创建输出文件夹 {path}（{err.strerror or err}）。请用 --log-dir 指定一个可以写入的文件夹。") from err
    links = links_leaving(path)
    if links:
        raise _links_error(path, links, root)
    remember_output_folder(path)  # named when a write into it fails without naming a file
    return path


def _inside(target: str, folder: str) -> bool:
    return target == folder or target.startswith(folder.rstrip(os.sep) + os.sep)


def links_leaving(folder: Path) -> list[tuple[Path, str]]:
    """(link, where it leads) for every symbolic link under ``folder``, at any depth, that leads
    out of it (or nowhere that would be inside). Links that stay inside are harmless.

    A log folder copied from someone else's zip can carry links such as
    ``projector_config.pbtxt -> ~/.bashrc``: writing that file would overwrite the target."""
    real = os.path.realpath(folder)
    found, pending = [], [os.fspath(folder)]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:  # unreadable: nothing can be written there either
            continue
        for entry in entries:
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if not _inside(target, real):
                    found.append((Path(entry.path), target))
            elif entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
    return sorted(found)


def _links_error(folder: Path, links: list[tuple[Path, str]], root: Path) -> CourseError:
    shown = "; ".join(f"{link} -> {target}" for link, target in links[:3])
    more = f" (and {len(links) - 3} more)" if len(links) > 3 else ""
    return CourseError(
        f"{folder} holds links that lead out of it: {shown}{more}. The lesson writes its files "
        "(TensorBoard's event and projector files, checkpoints, traces) into this folder and "
        "would write into whatever such a link points to instead. Log folders copied from "
        "someone else's zip can carry such links. Delete the links (only the links: what they "
        f"point to stays as it is), or pass --log-dir a folder of your own instead of {root}.",
        f"{folder} 里有指向文件夹外面的链接：{shown}{more}。本课要在这个文件夹里写文件"
        "（TensorBoard 的事件和 projector 文件、检查点、性能追踪），会写进链接指向的地方。"
        "从别人的压缩包复制来的日志文件夹可能带有这种链接。请删除这些链接（只删链接，不影响它们指向的文件），"
        f"或者用 --log-dir 换一个你自己的文件夹（不要用 {root}）。")


def lesson_path(lesson: str) -> Path:
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
    path = Path(lesson) if Path(lesson).suffix == ".py" else lesson_path(str(lesson))
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
