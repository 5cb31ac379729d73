"""The SYNTHETIC.txt marker of a generated stand-in, and the REBUILT.txt marker of a non-official
copy rebuilt from pictures (``00_prepare_data.py --from-images``): how it was made, and each
file's size and sha256, so that such a folder is reused and read only when it is intact, and so
that we know which files in its folder we wrote (any other file there is the learner's, never
deleted)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from tudui.infra.files import atomic_write_bytes, file_digest

SYNTHETIC_MARKER = "SYNTHETIC.txt"
REBUILT_MARKER = "REBUILT.txt"
STAND_IN_VERSION = 3  # raise when the generators change, so old stand-ins are made again


def is_synthetic(folder: str | os.PathLike) -> bool:
    """True when ``folder`` holds a generated stand-in (it has the marker file)."""
    return (Path(folder) / SYNTHETIC_MARKER).is_file()


def is_rebuilt(folder: str | os.PathLike) -> bool:
    """True when ``folder`` holds a non-official copy rebuilt from pictures (REBUILT.txt)."""
    return (Path(folder) / REBUILT_MARKER).is_file() and not is_synthetic(folder)


def marker_name(folder: str | os.PathLike) -> str | None:
    """The marker file in ``folder`` (a stand-in's wins), or None for an unmarked folder."""
    return SYNTHETIC_MARKER if is_synthetic(folder) else \
        REBUILT_MARKER if is_rebuilt(folder) else None


def synthetic_banner(name: str) -> str:
    """The one line lessons print when they run on stand-in data."""
    return (f"[stand-in data] {name} 是生成的替代数据，不是真实数据集 / is a generated stand-in, "
            "not the real data set: numbers will differ from the video.")


def marker_text(what: str, seed: int) -> str:
    """The text ``write_marker`` puts in a stand-in folder (compared to decide on reuse)."""
    return (f"This folder is a SYNTHETIC stand-in for {what}, generated with seed {seed} by "
            f"src/00_prepare_data.py --synthetic (generator v{STAND_IN_VERSION}). Delete the folder and run "
            "src/00_prepare_data.py to fetch the real data.\n")


_SOURCE_LINE = re.compile(r"^rebuilt from: (.+)$", flags=re.MULTILINE)


def rebuilt_source(folder: str | os.PathLike) -> str | None:
    """The picture folder a rebuilt copy was made from, as its REBUILT.txt names it."""
    try:
        text = (Path(folder) / REBUILT_MARKER).read_text("utf-8", errors="replace")
    except OSError:
        return None
    found = _SOURCE_LINE.search(text)
    return found.group(1) if found else None


def rebuilt_banner(name: str, source: str | None) -> str:
    """The one line lessons print when they run on a copy rebuilt from pictures."""
    where = f" ({source})" if source else ""
    return (f"[non-official copy] {name} 是从图片重建的非官方副本{where}，不是官方文件 / was "
            f"rebuilt from pictures{where}, not the official files: accuracy differs from "
            "theirs (a JPEG copy loses detail and costs a few points).")


def write_rebuilt_marker(folder: Path, what: str, source: str,
                         files: dict[str, tuple[int, str]]) -> None:
    """Mark ``folder`` as a non-official copy of ``what`` rebuilt from the pictures in ``source``,
    with each file's size and sha256 ({name: (size, hex digest)})."""
    text = (f"This folder is a NON-OFFICIAL copy of {what}, rebuilt from pictures by "
            "src/00_prepare_data.py --from-images. It is not the official files (their md5 "
            "differs), and lessons say so when they use it. Delete the folder and run "
            "src/00_prepare_data.py to fetch the official data.\n"
            f"rebuilt from: {source}\n")
    text += "".join(f"{name}: {size} bytes, sha256 {digest}\n"
                    for name, (size, digest) in files.items())
    atomic_write_bytes(Path(folder) / REBUILT_MARKER, text.encode())


def write_marker(folder: Path, what: str, seed: int,
                 files: dict[str, tuple[int, str]] | None = None) -> None:
    """Mark ``folder`` as synthetic, saying how it was made and, if given, each file's size and
    sha256 ({name: (size, hex digest)}, computed from the bytes just written)."""
    text = marker_text(what, seed) + "".join(f"{name}: {size} bytes, sha256 {digest}\n"
                                             for name, (size, digest) in (files or {}).items())
    atomic_write_bytes(Path(folder) / SYNTHETIC_MARKER, text.encode())


_MARKER_LINE = re.compile(r"^(\S+): (\d+) bytes, sha256 ([0-9a-f]{64})$", flags=re.MULTILINE)


def marker_files(folder: Path) -> dict[str, tuple[int, str]]:
    """{name: (size, sha256)} of the files the marker in ``folder`` (stand-in or rebuilt) lists."""
    name = marker_name(folder)
    try:
        text = (Path(folder) / name).read_text("utf-8", errors="replace") if name else ""
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


def file_intact(path: Path, size: int, digest: str) -> bool:
    """True when ``path`` is a regular file of ``size`` bytes with this sha256 (the size first:
    a truncated file costs no hashing)."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size == size and file_digest(path) == digest


def marker_hashes_match(folder: Path) -> bool:
    """True when the marker lists files and every one is there with the size and sha256 it lists.

    Checked before a stand-in is reused: one damaged in place (same size) is written again by
    ``00_prepare_data.py --synthetic``, the command the lessons' messages advise. Hashing all
    the full-size stand-ins (290 MB) adds about 0.4 s to each tour; benchmarks/stand_in_reuse.py."""
    listed = marker_files(folder)
    return bool(listed) and all(file_intact(folder / name, size, digest)
                                for name, (size, digest) in listed.items())
