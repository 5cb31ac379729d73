"""Downloads that fail instead of hanging, are verified before they are used, and never leave a
file that only looks complete; archives unpacked into place only once their contents check out."""

from __future__ import annotations

import os
from pathlib import Path

from tudui.infra.files import remove_tree, replace_folder, temporary_folder

DOWNLOAD_TIMEOUT_S = 60  # a blocked network often drops packets silently: fail, don't hang


class DownloadFailed(Exception):
    """A data set could not be fetched or verified; ``str(err)`` says what happened."""


def fetch_archive(root: Path, url: str, filename: str, md5: str | None,
                  looks_valid=lambda path: None) -> tuple[Path, str]:
    """``<root>/<filename>``: a copy already there (downloaded or placed by hand) if it verifies,
    else downloaded with torchvision's ``download_url`` (progress bar, md5 check).

    The download goes to ``<filename>.part`` and is renamed only once verified, so a broken
    connection never leaves a file that looks complete. A copy that fails the check is reported
    and removed. ``looks_valid(path)`` returns a problem string (or None) for archives without a
    published md5. Returns (path, how) with how in {"found", "downloaded"}; raises DownloadFailed.
    """
    import socket

    from torchvision.datasets.utils import check_integrity, download_url

    root.mkdir(parents=True, exist_ok=True)
    path, notes = root / filename, []
    near = near_miss_archives(root, filename)
    if near and not path.is_file():
        raise DownloadFailed(near_miss_message(root, filename, near))
    if path.is_file():
        problem = None if check_integrity(str(path), md5) else "its md5 checksum does not match"
        problem = problem or looks_valid(path)
        if problem is None:
            return path, "found"
        path.unlink()
        notes.append(f"the copy of {filename} in {root} was damaged or incomplete ({problem}) "
                     "and has been removed")
        print(f"[!] {notes[-1]}")
    part = root / (filename + ".part")
    part.unlink(missing_ok=True)
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        print(f"下载 / downloading {url} -> {path}")
        download_url(url, str(root), filename=part.name, md5=md5)
        problem = looks_valid(part)
        if problem:
            raise DownloadFailed(f"the downloaded {filename} is not valid ({problem})")
        os.replace(part, path)
        return path, "downloaded"
    except (OSError, RuntimeError, ValueError) as err:  # URLError/timeouts are OSErrors
        notes.append(f"downloading {url} failed ({type(err).__name__}: {err})")
        raise DownloadFailed("; ".join(notes)) from None
    finally:
        socket.setdefaulttimeout(old_timeout)
        part.unlink(missing_ok=True)


# What browsers do to a download: Chrome and Edge add " (1)" when the name is taken, Firefox
# "(1)"; unfinished downloads end in .crdownload (Chrome, Edge), .download (Safari), .partial.
UNFINISHED_DOWNLOAD_SUFFIXES = (".crdownload", ".download", ".partial")


def near_miss_archives(root: Path, filename: str) -> list[Path]:
    """Files in ``root`` named like ``filename`` but not exactly it ("hymenoptera_data (1).zip",
    "cifar-10-python(1).tar.gz", "cifar-10-python.tar.gz.crdownload"), our own .part aside."""
    stem = filename.split(".")[0].lower()
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    return sorted(p for p in entries if p.name.lower().startswith(stem) and p.name != filename
                  and p.name != filename + ".part" and p.is_file())


def near_miss_message(root: Path, filename: str, near: list[Path]) -> str:
    """Exactly what to rename, for the files near_miss_archives found."""
    advice = []
    for path in near:
        if path.name.lower().endswith(UNFINISHED_DOWNLOAD_SUFFIXES):
            advice.append(f"{path} looks like an unfinished browser download: let it finish "
                          f"(or download again), then rename the file to exactly {filename}")
        else:
            advice.append(f"rename {path} to exactly {filename} (a browser adds \" (1)\" when "
                          "a file of that name was already there)")
    return (f"{root / filename} is not there, but a file with a similar name is: "
            + "; ".join(advice) + ". If that is the file you downloaded, the next run checks "
            "and unpacks it; if not, delete it. Nothing was downloaded meanwhile")


def extract_verified(archive: Path, root: Path, folder_name: str, check,
                     ours: set[str]) -> Path:
    """Unpack ``archive`` into a temporary folder beside ``root/folder_name``, run
    ``check(folder)`` (a problem string or None) and only then rename it into place.

    A truncated or corrupt archive is reported, removed, and leaves nothing behind. An existing
    ``folder_name`` is replaced only once the new one is complete; whatever in it is not in
    ``ours`` (the files the project wrote there, relative paths) is moved aside, never deleted
    (``replace_folder``).
    """
    from torchvision.datasets.utils import extract_archive

    tmp = temporary_folder(root, folder_name)
    try:
        try:
            extract_archive(str(archive), str(tmp))
        except Exception as err:  # zipfile.BadZipFile, tarfile.ReadError, EOFError, zlib.error...
            problem = f"it cannot be unpacked ({type(err).__name__}: {err})"
        else:
            new = tmp / folder_name
            problem = check(new) if new.is_dir() else f"it has no {folder_name}/ folder inside"
        if problem:
            archive.unlink(missing_ok=True)
            raise DownloadFailed(f"{archive.name} is damaged or not the right file: {problem}. "
                                 "It has been removed; download it again")
        target = root / folder_name
        replace_folder(new, target, tmp, ours)
        return target
    finally:
        remove_tree(tmp)
