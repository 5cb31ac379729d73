"""Repository paths, found from this package's location, never from the current directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tudui.errors import CourseError

PACKAGE_DIR = Path(__file__).resolve().parent
SRC_DIR = PACKAGE_DIR.parent
REPO_ROOT = SRC_DIR.parent
DATASET_DIR = REPO_ROOT / "dataset"
LOGS_DIR = REPO_ROOT / "logs"


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
    path = Path(log_dir or LOGS_DIR) / lesson
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # --log-dir names a file, a read-only place, ...
        raise CourseError(
            f"cannot create the output folder {path} ({err.strerror or err}). Pass --log-dir a "
            "folder you can write to (it is created when missing).",
            f"无法创建输出文件夹 {path}（{err.strerror or err}）。请用 --log-dir 指定一个可以写入的文件夹。") from None
    return path


def shell_quote(text: str) -> str:
    """``text`` as one command-line word: in double quotes when it has spaces or shell
    characters (double quotes work the same in cmd, PowerShell, bash and zsh)."""
    plain = all(c.isalnum() or c in "_-./\\:+=@%," for c in text)
    return text if plain and text else f'"{text}"'


def lesson_command(lesson: str, log_dir: str | os.PathLike | None = None) -> str:
    """The command that runs ``src/<lesson>.py`` into ``log_dir`` (``--log-dir`` only when it is
    not the default), for messages that tell a learner what to run first."""
    command = f"python src/{lesson}.py"
    if log_dir is None or Path(log_dir).resolve() == LOGS_DIR.resolve():
        return command
    return f"{command} --log-dir {shell_quote(str(log_dir))}"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write to a temporary name in the same folder, then rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; a normal file is not
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
