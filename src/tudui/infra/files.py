"""Files that are complete or not there at all: atomic writes (temporary name, fsync, rename),
temporary folders renamed into place, and the leftovers of runs that were killed meanwhile; and
the one way a file's checksum is computed (``file_digest``)."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import io
import itertools
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from tudui.infra.oserrors import os_error
from tudui.infra.runlock import pid_alive


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """The hex checksum (``sha256``, ``md5``) of a file, read 1 MB at a time."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _process_umask() -> int:
    """This process's umask. Python can read it only by setting another one for an instant
    (``os.umask`` returns the old value), and the umask is shared by every thread: a file that
    another thread creates in that instant gets the other mask. So it is read once, when this
    module is imported, never while files are being written, and the instant's mask is 0o077:
    such a file would be private for a moment's bad luck, never writable by others."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


# What open() gives a new file (mkstemp makes its temporary files private, 0o600), for the
# files written here. Read once (see _process_umask): a later os.umask() is not followed.
NEW_FILE_MODE = 0o666 & ~_process_umask()


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
        os.chmod(tmp, NEW_FILE_MODE)  # mkstemp makes it private; a normal file is not
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


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike):
    """``with atomic_file(p) as f: torch.save(x, f)``: ``p`` appears complete when the block
    ends, or not at all (the bytes go to a temporary name first, then it is renamed)."""
    buffer = io.BytesIO()
    buffer.name = str(path)
    yield buffer
    atomic_write_bytes(path, buffer.getvalue())


def remove_tree(path: Path) -> None:
    """Delete a folder or file if it is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


# Temporary folders are named ".<name>.<pid>.<random>.tmp" beside the folder they become. A run
# killed with kill -9 (or a closed terminal) cannot remove its own; the next run does, but only
# when no running program can still be writing into it: on Linux/macOS when the process that
# made it is gone (a running one, even another user's, is left alone), everywhere when it has
# not changed for STALE_TEMP_AGE_S (a PID can be reused; no step of ours runs an hour without
# touching its folder).
STALE_TEMP_AGE_S = 3600


def _temporary_is_stale(path: Path, name: str) -> bool:
    pid_text = path.name[len(name) + 2:].split(".", 1)[0]
    try:
        age = time.time() - path.lstat().st_mtime
    except OSError:
        return False
    if age > STALE_TEMP_AGE_S:
        return True
    if os.name == "posix" and pid_text.isdigit() and int(pid_text) != os.getpid():
        return not pid_alive(int(pid_text))
    return False


def remove_stale_temporaries(root: Path, name: str) -> list[Path]:
    """Remove ``root/.<name>.*.tmp`` folders left by killed runs (see above); returns them."""
    removed = []
    for path in Path(root).glob(f".{glob.escape(name)}.*.tmp"):
        if path.is_dir() and not path.is_symlink() and _temporary_is_stale(path, name):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def temporary_folder(root: Path, name: str) -> Path:
    """A new empty ``root/.<name>.<pid>.<random>.tmp`` folder (after removing stale ones)."""
    remove_stale_temporaries(root, name)
    return Path(tempfile.mkdtemp(prefix=f".{name}.{os.getpid()}.", suffix=".tmp", dir=root))


@contextlib.contextmanager
def replacing_folder(target: Path, ours: Iterable[str], same_kind: bool = False):
    """``with replacing_folder(root / "x", ours) as new:`` write the complete folder ``new``
    (not made yet); it takes ``target``'s place when the block ends without an exception.

    ``new`` lies in a temporary folder beside ``target`` (``temporary_folder``) and is renamed
    into place by ``replace_folder`` (``ours``, ``same_kind``: what of an old ``target`` is the
    project's, and what happens to the rest). The temporary folder, holding the old ``target``
    by then, is removed at the end in every case: an exception or Ctrl-C inside the block
    leaves ``target`` as it was and nothing beside it."""
    tmp = temporary_folder(target.parent, target.name)
    try:
        new = tmp / target.name
        yield new
        replace_folder(new, target, tmp, ours, same_kind)
    finally:
        remove_tree(tmp)


def replace_folder(new: Path, target: Path, tmp: Path, ours: Iterable[str],
                   same_kind: bool = False) -> Path | None:
    """Put the complete folder ``new`` at ``target``. An old ``target`` is first renamed into
    ``tmp`` (the caller removes ``tmp``): one rename each, so an interrupt never leaves a
    half-deleted folder at ``target``.

    Only what the project wrote is ever deleted that way: ``ours`` lists it (paths relative to
    ``target``, "/"-separated, e.g. "train/ants/0013035.jpg" from a stand-in's marker). Anything
    else in ``target`` (a picture a learner added as P6-P7 invite, notes, a folder of their own)
    is the learner's:

    - ``same_kind`` (the same stand-in written again: a damaged file, a marker from an earlier
      version): it moves into ``new``, at the same place, and stays where the learner put it;
    - otherwise (real data arriving, another stand-in size or seed) it is moved to a new
      ``<target>.kept-<date>`` beside it, named in one printed line, and that folder is
      returned (None when there was nothing to keep). Moved aside rather than carried over:
      the real data set must stay exactly the verified one, and the learner decides what goes
      back; rather than stopping: the replacement is what the learner asked for, and moving
      loses nothing.
    """
    kept = None
    if os.path.lexists(target):
        if target.is_dir() and not target.is_symlink():
            theirs = not_written_by_us(target, set(ours))
        else:  # a file or a link where the folder goes: not ours either
            theirs = [""]
        if theirs and same_kind and theirs != [""]:
            theirs = _move_into(target, theirs, new)
            if not theirs:
                print(f"[i] {target}: 你自己添加的文件留在重新生成的替代数据里 / the files you "
                      "added stay where they are in the stand-in written again")
        if theirs:
            kept = move_aside(target, theirs)
            print(kept_line(target, kept, theirs))
    if os.path.lexists(target):
        os.replace(target, tmp / f"old-{target.name}")
    os.replace(new, target)
    return kept


def _move_into(folder: Path, names: list[str], new: Path) -> list[str]:
    """Move ``names`` from ``folder`` to the same places in ``new``; returns those whose place
    is taken there (left for ``move_aside``)."""
    left = []
    for name in names:
        destination = new / name
        if os.path.lexists(destination):
            left.append(name)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.rename(folder / name, destination)
    return left


# Files that file browsers add by themselves (Finder, Explorer): not the learner's work, and
# recreated when needed; keeping them aside would only add clutter.
BROWSER_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


def not_written_by_us(folder: Path, ours: set[str]) -> list[str]:
    """Everything under ``folder`` that is neither a file in ``ours`` nor a folder on the way to
    one ("/"-separated paths relative to ``folder``, sorted); a folder of the learner's counts
    once, with what it holds. Links always count: the project never makes them."""
    on_the_way = {str(parent) for name in ours for parent in PurePosixPath(name).parents}
    theirs: list[str] = []
    pending = [""]
    while pending:
        relative = pending.pop()
        with os.scandir(folder / relative) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                name = f"{relative}/{entry.name}" if relative else entry.name
                if entry.is_symlink():
                    theirs.append(name)
                elif entry.is_dir():
                    (pending if name in on_the_way else theirs).append(name)
                elif name in ours or entry.name in BROWSER_FILES or (
                        entry.name.startswith("._") and  # macOS's "._x.jpg" beside our x.jpg
                        name[:len(name) - len(entry.name)] + entry.name[2:] in ours):
                    continue
                else:
                    theirs.append(name)
    return sorted(theirs)


def move_aside(folder: Path, names: list[str]) -> Path:
    """Move ``names`` (relative to ``folder``; "" for ``folder`` itself) into a new
    ``<folder>.kept-<date>[-N]`` beside it, keeping their paths; returns that folder. An
    earlier kept folder is never written into (a new one gets the next free number)."""
    stamp = time.strftime("%Y-%m-%d")
    for number in itertools.count(1):
        kept = folder.with_name(f"{folder.name}.kept-{stamp}" + (f"-{number}" if number > 1 else ""))
        try:
            kept.mkdir()
            break
        except FileExistsError:
            continue
    for name in names:
        destination = kept / (name or folder.name)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.rename(folder / name if name else folder, destination)
    return kept


def kept_line(target: Path, kept: Path, names: list[str]) -> str:
    """The one line that says what was moved aside, where, and that nothing was deleted."""
    shown = ", ".join(n or target.name for n in names[:3])
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return (f"[!] {target} 里有 {len(names)} 个不是本课程写的文件或文件夹，替换前已移到 {kept}，没有删除 / "
            f"{len(names)} files or folders in {target} were not written by this course "
            f"({shown}{more}): moved to {kept} before it was replaced, nothing deleted; copy "
            "back what you want to keep using")
