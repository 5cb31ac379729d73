"""Repository paths, found from this package's location, never from the current directory."""

from __future__ import annotations

import os
import shlex
import tempfile
from pathlib import Path

from tudui.errors import CourseError, os_error

PACKAGE_DIR = Path(__file__).resolve().parent
SRC_DIR = PACKAGE_DIR.parent
REPO_ROOT = SRC_DIR.parent
DATASET_DIR = REPO_ROOT / "dataset"
LOGS_DIR = REPO_ROOT / "logs"

# The lesson folder made last (by lesson_log_dir): a full disk's write() names no file, so the
# message names this folder instead.
last_output_folder: Path | None = None


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
        raise os_error(err, err.filename or path, "creating the folder") or CourseError(
            f"cannot create the output folder {path} ({err.strerror or err}). Pass --log-dir a "
            "folder you can write to (it is created when missing).",
            f"无法创建输出文件夹 {path}（{err.strerror or err}）。请用 --log-dir 指定一个可以写入的文件夹。") from err
    last_output_folder = path
    return path


def shell_quote(text: str) -> str:
    """``text`` as one word a learner can paste into a terminal: as it is when nothing in it is
    special (letters of any script, digits, ``_-./:+=@%,``), else quoted.

    POSIX shells: double quotes, as on Windows, unless the text holds one of ``$`"\\!``, which
    stay special inside double quotes; then ``shlex.quote`` (single quotes: everything literal).
    Windows: double quotes, the only quoting cmd understands, which PowerShell reads the same way
    for everything Windows paths usually hold (spaces, brackets, ``&``, Chinese); file names
    cannot contain ``"`` there. No one form is literal in both shells for ``$`` or a backtick
    (PowerShell) and ``%NAME%`` (cmd), and such folder names are rare on Windows.
    """
    windows = os.name == "nt"
    plain = "_-./:+=@%," + ("\\" if windows else "")
    if text and all(c.isalnum() or c in plain for c in text):
        return text
    if windows or not any(c in text for c in '$`"\\!'):
        return f'"{text}"'
    return shlex.quote(text)


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
    """Write to a temporary name in the same folder, then rename: never a half-written file.

    The data reaches the disk (fsync) before the rename, and the rename itself after it (fsync of
    the folder), so a power cut leaves the old file or the new one, never an empty one. A full
    disk, a read-only folder, missing permissions or a file where a folder should be end in a
    CourseError naming ``path``; the temporary file is removed and the old file stays as it was.
    """
    path = Path(os.path.abspath(Path(path).expanduser()))
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        _write_and_sync(fd, data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; a normal file is not
        os.replace(tmp, path)
        tmp = None
        _fsync_folder(path.parent)
    except OSError as err:
        _remove(tmp)
        known = os_error(err, path, "writing")
        if known is None:
            raise
        raise known from err
    except BaseException:  # Ctrl-C included
        _remove(tmp)
        raise
    return path


def _write_and_sync(fd: int, data: bytes) -> None:
    """Write ``data`` to the open file ``fd``, close it, and make sure it is on the disk."""
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _remove(tmp: str | None) -> None:
    if tmp is not None:
        try:
            Path(tmp).unlink(missing_ok=True)
        except OSError:  # the folder went read-only meanwhile: the first error is what counts
            pass


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable. Windows cannot open a folder as a file (NTFS journals
    the rename itself); some file systems refuse fsync on a folder. Either way the file is
    already complete under its name, so a refusal here is no error."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
