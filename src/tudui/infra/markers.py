"""The SYNTHETIC.txt marker of a generated stand-in: how it was made, and each file's size and
sha256, so that a stand-in is reused and read only when it is intact, and so that we know which
files in its folder we wrote (any other file there is the learner's, never deleted)."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path

from tudui.infra.files import atomic_write_bytes

SYNTHETIC_MARKER = "SYNTHETIC.txt"
STAND_IN_VERSION = 3  # raise when the generators change, so old stand-ins are made again


def is_synthetic(folder: str | os.PathLike) -> bool:
    """True when ``folder`` holds a generated stand-in (it has the marker file)."""
    return (Path(folder) / SYNTHETIC_MARKER).is_file()


def synthetic_banner(name: str) -> str:
    """The one line lessons print when they run on stand-in data."""
    return (f"[stand-in data] {name} 是生成的替代数据，不是真实数据集 / is a generated stand-in, "
            "not the real data set: numbers will differ from the video.")


def marker_text(what: str, seed: int) -> str:
    """The text ``write_marker`` puts in a stand-in folder (compared to decide on reuse)."""
    return (f"This folder is a SYNTHETIC stand-in for {what}, generated with seed {seed} by "
            f"src/00_prepare_data.py --synthetic (generator v{STAND_IN_VERSION}). Delete the folder and run "
            "src/00_prepare_data.py to fetch the real data.\n")


def write_marker(folder: Path, what: str, seed: int,
                 files: dict[str, tuple[int, str]] | None = None) -> None:
    """Mark ``folder`` as synthetic, saying how it was made and, if given, each file's size and
    sha256 ({name: (size, hex digest)}, computed from the bytes just written)."""
    text = marker_text(what, seed) + "".join(f"{name}: {size} bytes, sha256 {digest}\n"
                                             for name, (size, digest) in (files or {}).items())
    atomic_write_bytes(Path(folder) / SYNTHETIC_MARKER, text.encode())


_MARKER_LINE = re.compile(r"^(\S+): (\d+) bytes, sha256 ([0-9a-f]{64})$", flags=re.MULTILINE)


def marker_files(folder: Path) -> dict[str, tuple[int, str]]:
    """{name: (size, sha256)} of the files the stand-in marker in ``folder`` lists."""
    try:
        text = (Path(folder) / SYNTHETIC_MARKER).read_text("utf-8", errors="replace")
    except OSError:
        return {}
    return {name: (int(size), digest) for name, size, digest in _MARKER_LINE.findall(text)}


def marker_matches(folder: str | os.PathLike, what: str, seed: int) -> bool:
    """True when ``folder`` is a stand-in made for exactly ``what`` with ``seed``."""
    marker = Path(folder) / SYNTHETIC_MARKER
    return marker.is_file() and \
        marker.read_text(encoding="utf-8").startswith(marker_text(what, seed))


def marker_seed(folder: str | os.PathLike) -> int | None:
    """The seed a stand-in was generated with, as its marker says (None: no marker)."""
    try:
        text = (Path(folder) / SYNTHETIC_MARKER).read_text("utf-8", errors="replace")
    except OSError:
        return None
    found = re.search(r"generated with seed (\d+)", text)
    return int(found.group(1)) if found else None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_intact(path: Path, size: int, digest: str) -> bool:
    """True when ``path`` is a regular file of ``size`` bytes with this sha256 (the size first:
    a truncated file costs no hashing)."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size == size and sha256_of(path) == digest


def marker_hashes_match(folder: Path) -> bool:
    """True when the marker lists files and every one is there with the size and sha256 it lists.

    Checked before a stand-in is reused: one damaged in place (same size) is written again by
    ``00_prepare_data.py --synthetic``, the command the lessons' messages advise. Hashing all
    the full-size stand-ins (290 MB) adds about 0.4 s to each tour; benchmarks/stand_in_reuse.py."""
    listed = marker_files(folder)
    return bool(listed) and all(file_intact(folder / name, size, digest)
                                for name, (size, digest) in listed.items())
