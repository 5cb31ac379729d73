"""The ants/bees data set (hymenoptera_data.zip) on disk: both layouts checked, the real data
fetched and unpacked (CRC- and content-checked), the course's P7 layout derived from it, the
stand-in reused or written, and what to do when something is missing, in one paragraph.

- torchvision's layout, as unpacked: ``<root>/hymenoptera_data/{train,val}/{ants,bees}/``.
- the course's own layout (P7), derived from it: ``<root>/{train,val}/{ants,bees}_image/`` with
  one label file per image, ``<root>/{train,val}/{ants,bees}_label/<image stem>.txt``.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

from tudui.errors import CourseError
from tudui.infra.ants_bees_stand_in import (
    stand_in_file_names,
    stand_in_name,
    write_synthetic_hymenoptera_tree,
)
from tudui.infra.commands import prepare_command
from tudui.infra.downloads import DownloadFailed, archive_urls, extract_verified, fetch_archive
from tudui.infra.files import replacing_folder
from tudui.infra.hymenoptera_layout import (  # noqa: F401 (ERROR_IMAGE: read from here too)
    CLASSES,
    ERROR_IMAGE,
    QUICK_COUNTS,
    REAL_COUNTS,
    SPLITS,
)
from tudui.infra.markers import (
    SYNTHETIC_MARKER,
    file_intact,
    is_synthetic,
    marker_files,
    marker_hashes_match,
    marker_matches,
    marker_seed,
)
from tudui.paths import absolute

HYMENOPTERA_URL = "https://download.pytorch.org/tutorial/hymenoptera_data.zip"
HYMENOPTERA_URL_ENV = "TUDUI_HYMENOPTERA_URL"  # mirrors of the same zip, separated by spaces
HYMENOPTERA_MIRROR_OPTION = ("--hymenoptera-url", HYMENOPTERA_URL_ENV)
HYMENOPTERA_ARCHIVE = "hymenoptera_data.zip"
HYMENOPTERA_DIR = "hymenoptera_data"
# download.pytorch.org publishes no checksum for this file and we could not find one we trust,
# so the archive is checked by every member's CRC (zipfile.testzip) and by its exact contents.
HYMENOPTERA_MD5 = None
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif")


def is_picture_name(name: str) -> bool:
    """True for a visible file with a picture's suffix (not ``.DS_Store``, not ``._x.jpg``)."""
    return not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES


def picture_names(folder: str | os.PathLike) -> list[str]:
    """The names of the pictures in ``folder``, sorted.

    The course lists a folder with ``os.listdir``, which also returns hidden files: macOS's
    Finder adds ``.DS_Store`` (and ``._name.jpg`` copies on USB disks), which are not pictures
    and would be counted as one. Names starting with "." are skipped, and sorting gives the same
    order on every system (os.listdir's order differs between Windows, macOS and Linux).
    """
    return sorted(name for name in os.listdir(folder) if is_picture_name(name))


def image_files(folder: Path) -> list[Path]:
    """The pictures in ``folder`` as paths, sorted by name (hidden files skipped)."""
    return [Path(folder) / name for name in picture_names(folder)]


def hymenoptera_missing_error(where: Path, root: Path) -> CourseError:
    """The ants/bees folder ``where`` (either layout, under the data root ``root``) is missing:
    how to fetch or generate the set, or how to move it when it was unpacked a level too deep."""
    fetch, synthetic = prepare_command(root), prepare_command(root, "--synthetic")
    inner = nested_too_deep(root / HYMENOPTERA_DIR)
    if inner is not None:
        return CourseError(
            f"The ants/bees data is not in {where}: {nested_message(root / HYMENOPTERA_DIR, inner)}."
            f" Then run `{fetch}` again.",
            f"在 {where} 找不到蚂蚁/蜜蜂数据集：完整的数据多了一层文件夹，在 {inner} 里"
            f"（Windows 的“全部解压缩”会多建一层）。请把 {inner} 里的 train 和 val 两个文件夹移到 "
            f"{root / HYMENOPTERA_DIR} 里，删掉空的 {inner}，再运行 `{fetch}`。",
        )
    return CourseError(
        f"The ants/bees data is not in {where}. Run `{fetch}` to download "
        f"and unpack it (if the download is blocked, first put {HYMENOPTERA_ARCHIVE} from "
        f"{HYMENOPTERA_URL} into {root}/), or run `{synthetic}` "
        "to generate an offline stand-in. Use --data-root if your data lives elsewhere.",
        f"在 {where} 找不到蚂蚁/蜜蜂数据集。请先运行 `{fetch}` 下载"
        f"（下载不了就把 {HYMENOPTERA_ARCHIVE} 放进 {root}/），"
        f"或运行 `{synthetic}` 生成离线替代数据。",
    )


def check_pairs(image_dir: str | os.PathLike, images: list[str], label_dir: str | os.PathLike,
                labels: list[str]) -> None:
    """A CourseError when the course layout's pictures and label files do not pair up by name
    (P7 pairs them by position in the sorted lists, so one missing file shifts every label)."""
    image_stems, label_stems = {Path(n).stem for n in images}, {Path(n).stem for n in labels}
    if image_stems == label_stems and len(images) == len(labels):
        return
    lonely = sorted(image_stems - label_stems)
    unused = sorted(label_stems - image_stems)
    split = Path(image_dir).parent
    fix = prepare_command(split.parent, *(["--synthetic"] if is_synthetic(split) else []))
    problem = "; ".join(
        ([f"pictures without a label file: {', '.join(lonely)}"] if lonely else []) +
        ([f"label files without a picture: {', '.join(f'{s}.txt' for s in unused)}"]
         if unused else [])) or "two pictures share a name"
    raise CourseError(
        f"{image_dir} ({len(images)} pictures) and {label_dir} ({len(labels)} label files) do "
        f"not pair up ({problem}). Delete the files left without a partner, or re-create the "
        f"course layout: delete the folder {split} and run `{fix}`.",
        f"{image_dir} 的图片和 {label_dir} 的标签文件对不上（{problem}）。请删除多出来的文件，"
        f"或者删除文件夹 {split} 后运行 `{fix}` 重新生成。",
    )


# --------------------------------------------------------------------------------------------
# Checking a tree, real or generated.

def tree_problem(folder: Path, counts: dict | None = None) -> str | None:
    """None when ``folder`` (a hymenoptera_data/) has exactly ``counts`` images per class
    (default: the real set's)."""
    for split, per_class in (counts or REAL_COUNTS).items():
        for name, expected in per_class.items():
            sub = folder / split / name
            found = len(image_files(sub)) if sub.is_dir() else 0
            if found != expected:
                return f"{split}/{name} has {found} images, expected {expected}"
    return None


def _zip_problem(path: Path) -> str | None:
    """None when every member of the zip reads back with the right CRC."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        return f"not a readable zip file ({err})"
    return f"member {bad} is corrupt" if bad else None


def hymenoptera_is_real(root: str | os.PathLike) -> bool:
    """True when ``<root>/hymenoptera_data`` is the complete real data set."""
    folder = Path(root) / HYMENOPTERA_DIR
    return folder.is_dir() and not is_synthetic(folder) and tree_problem(folder) is None


def nested_too_deep(folder: Path) -> Path | None:
    """``folder/hymenoptera_data`` when the complete set sits one level too deep there, as
    Windows' "Extract All" makes it (``dataset/hymenoptera_data/hymenoptera_data/train/...``)."""
    inner = folder / HYMENOPTERA_DIR
    return inner if inner.is_dir() and tree_problem(inner) is None else None


def nested_message(folder: Path, inner: Path) -> str:
    """What to move when the data set is one level too deep."""
    return (f"the complete data set is one level too deep, in {inner} (Windows' \"Extract "
            f"All\" adds a folder): move the folders train and val from {inner} into {folder}, "
            f"then delete the empty {inner}, so that {folder / 'train' / 'ants'} holds the "
            "ant pictures")


def prepare_real_hymenoptera(root: str | os.PathLike, urls=()) -> tuple[Path, str]:
    """Make ``<root>/hymenoptera_data`` the real data set: kept if already complete, else from
    ``<root>/hymenoptera_data.zip`` (placed by hand, or downloaded from ``urls``, the mirrors in
    $TUDUI_HYMENOPTERA_URL, then the official URL). Raises DownloadFailed."""
    root = absolute(root)
    folder = root / HYMENOPTERA_DIR
    if hymenoptera_is_real(root):
        return folder, "already there, contents checked"
    if folder.is_dir() and not is_synthetic(folder) and any(folder.iterdir()):
        # Somebody's own folder (edited, or unpacked from another copy): never delete it.
        inner = nested_too_deep(folder)
        if inner is not None:
            raise DownloadFailed(nested_message(folder, inner))
        raise DownloadFailed(f"{folder} exists but is not the complete data set "
                             f"({tree_problem(folder)}); rename or delete it, then run again")
    archive, how = fetch_archive(root, archive_urls(HYMENOPTERA_URL, urls, HYMENOPTERA_URL_ENV),
                                 HYMENOPTERA_ARCHIVE, HYMENOPTERA_MD5, looks_valid=_zip_problem,
                                 mirror_option=HYMENOPTERA_MIRROR_OPTION)
    extract_verified(archive, root, HYMENOPTERA_DIR, tree_problem, written_by_us(folder))
    return folder, f"{how} {HYMENOPTERA_ARCHIVE}, CRCs and contents checked, unpacked"


# --------------------------------------------------------------------------------------------
# What the project wrote in a stand-in folder (anything else there is the learner's)

def _stand_in_files(folder: Path) -> list[str]:
    """The files ("train/ants/<name>", ...) of the hymenoptera stand-in whose marker lies in
    ``folder`` (hymenoptera_data/, or a split of the course layout holding a copy of it): the
    marker's list, or for an older marker, which listed none, the generator's names for the
    seed and size it names."""
    listed = marker_files(folder)
    if listed:
        return list(listed)
    quick = "(quick size" in (_marker(folder) or "")
    return stand_in_file_names(stand_in_counts(quick), marker_seed(folder) or 0)


def written_by_us(folder: Path) -> set[str]:
    """The files in ``folder`` (a hymenoptera_data/) the project wrote: a stand-in's pictures
    and marker. Nothing in an unmarked folder (real data, or the learner's own) is ours."""
    if not is_synthetic(folder):
        return set()
    return {*_stand_in_files(folder), SYNTHETIC_MARKER}


def _course_layout_files(split_dir: Path, split: str) -> dict[str, tuple[str, str]]:
    """{picture in the course layout: (label file, class)} that a stand-in's course layout of
    ``split`` holds, from the marker copied into ``split_dir``."""
    files = {}
    for name in _stand_in_files(split_dir):
        part, cls, file_name = name.split("/", 2)
        if part == split:
            files[f"{cls}_image/{file_name}"] = (f"{cls}_label/{Path(file_name).stem}.txt", cls)
    return files


def course_layout_written_by_us(split_dir: Path, split: str) -> set[str]:
    """The files in ``split_dir`` (``<root>/train`` or ``<root>/val``) the project wrote when
    it made a stand-in's course layout there; nothing when it is unmarked."""
    if not is_synthetic(split_dir):
        return set()
    files = _course_layout_files(split_dir, split)
    return {*files, *(label for label, _ in files.values()), SYNTHETIC_MARKER}


# --------------------------------------------------------------------------------------------
# The course's layout, derived from hymenoptera_data/.

def _marker(folder: Path) -> str | None:
    marker = folder / SYNTHETIC_MARKER
    return marker.read_text(encoding="utf-8") if marker.is_file() else None


def layout_matches(source_root: Path, split: str, split_dir: Path) -> bool:
    """True when ``split_dir`` already is the course layout of ``source_root/split``: every
    picture there (a stand-in's: with the sha256 its marker lists, so one damaged in place is
    copied again; real data's: with the source's size) and its label file. Files a learner
    added (P6-P7 invite it) do not count against it: they stay where they are."""
    if _marker(source_root) != _marker(split_dir):
        return False
    if is_synthetic(source_root):
        listed = marker_files(source_root)
        if not listed:  # an older stand-in: no hashes to check the copies by
            return False
        for image, (label, cls) in _course_layout_files(split_dir, split).items():
            size, digest = listed[f"{split}/{cls}/{Path(image).name}"]
            if not (file_intact(split_dir / image, size, digest) and
                    _label_is(split_dir / label, cls)):
                return False
        return True
    for name in CLASSES:
        images, labels = split_dir / f"{name}_image", split_dir / f"{name}_label"
        if not (images.is_dir() and labels.is_dir()):
            return False
        # sizes too: a truncated copy in the course layout must be copied again
        present = {(p.name, p.stat().st_size) for p in image_files(images)}
        for image in image_files(source_root / split / name):
            if (image.name, image.stat().st_size) not in present or \
                    not (labels / f"{image.stem}.txt").is_file():
                return False
    return True


def _pictures_to_copy(source_root: Path, split: str, cls: str) -> list[Path]:
    """The pictures of ``source_root/split/cls`` that go into the course layout: a stand-in's
    own (its marker's list: a picture a learner added there stays theirs, not copied), or
    every picture of real data."""
    if is_synthetic(source_root):
        listed = [name for name in marker_files(source_root) if name.startswith(f"{split}/{cls}/")]
        if listed:
            return [source_root / name for name in sorted(listed)]
    return image_files(source_root / split / cls)


def _same_stand_in(split_dir: Path, source_root: Path) -> bool:
    """True when ``split_dir`` holds the course layout of the stand-in now in ``source_root``
    (its marker's first line: the same generator, size and seed), maybe damaged or from an
    earlier version: written again, it has the same files, and files a learner added stay."""
    def heading(folder: Path) -> str:
        return (_marker(folder) or "").split("\n", 1)[0]

    return is_synthetic(split_dir) and is_synthetic(source_root) and \
        heading(split_dir) == heading(source_root)


def _label_is(path: Path, cls: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == cls
    except (OSError, UnicodeDecodeError):
        return False


def derive_course_layout(root: str | os.PathLike) -> list[tuple[Path, str]]:
    """Write ``<root>/{train,val}/{ants,bees}_{image,label}/`` from ``<root>/hymenoptera_data``.

    Each split is built in a temporary folder and renamed into place. A course layout that is
    already up to date is kept; only a stand-in is ever replaced, so a folder made from real
    data (or by hand, as in the video) is never deleted, and files a learner added to a
    stand-in's layout are moved aside before it is replaced (``replace_folder``).
    """
    root = absolute(root)
    source_root = root / HYMENOPTERA_DIR
    done = []
    for split in SPLITS:
        target = root / split
        if target.is_dir() and layout_matches(source_root, split, target):
            done.append((target, "up to date, kept"))
            continue
        if target.is_dir() and not is_synthetic(target) and any(target.iterdir()):
            # real, or made by hand following the video: never deleted; delete it to rebuild
            done.append((target, "real data kept (stand-ins never replace real data)"
                         if is_synthetic(source_root) else "kept as it is (delete it to rebuild)"))
            continue
        with replacing_folder(target, course_layout_written_by_us(target, split),
                              same_kind=_same_stand_in(target, source_root)) as new:
            # new is made with mkdir, so it gets the usual permissions (mkdtemp's are 0700)
            for name in CLASSES:
                images, labels = new / f"{name}_image", new / f"{name}_label"
                images.mkdir(parents=True)
                labels.mkdir()
                for image in _pictures_to_copy(source_root, split, name):
                    shutil.copyfile(image, images / image.name)
                    (labels / f"{image.stem}.txt").write_text(name, encoding="utf-8")
            if is_synthetic(source_root):
                shutil.copyfile(source_root / SYNTHETIC_MARKER, new / SYNTHETIC_MARKER)
        done.append((target, "written"))
    return done


# --------------------------------------------------------------------------------------------
# The stand-in (drawn by ants_bees_stand_in)

def stand_in_counts(quick: bool) -> dict[str, dict[str, int]]:
    """Pictures per split and class in a stand-in: QUICK_COUNTS, or the real set's counts."""
    return QUICK_COUNTS if quick else REAL_COUNTS

def ensure_synthetic_hymenoptera(root: str | os.PathLike, quick: bool = False,
                                 seed: int = 0) -> list[tuple[Path, str]]:
    """Stand-ins for both layouts in ``root``: reused when the same seed and size are there
    and intact (every file with the sha256 its marker lists), never written over the real data;
    files a learner added stay (kept in place on reuse, moved aside on a rewrite). Returns
    [(folder, what happened)]."""
    root = absolute(root)
    folder = root / HYMENOPTERA_DIR
    if folder.is_dir() and not is_synthetic(folder) and any(folder.iterdir()):
        if tree_problem(folder) is not None:  # never called real, never deleted: say what to do
            raise _unmarked_incomplete(root)
        status = "real data kept (stand-ins never replace real data)"
    elif marker_matches(folder, stand_in_name(quick, stand_in_counts(quick)), seed) and marker_hashes_match(folder):
        status = "stand-in reused"
    else:
        root.mkdir(parents=True, exist_ok=True)
        counts = stand_in_counts(quick)
        with replacing_folder(folder, written_by_us(folder), same_kind=marker_matches(
                folder, stand_in_name(quick, counts), seed)) as new:
            write_synthetic_hymenoptera_tree(new, quick, seed, counts)
        status = "stand-in written"
    return [(folder, status), *derive_course_layout(root)]


def _unmarked_incomplete(root: Path) -> CourseError:
    folder = root / HYMENOPTERA_DIR
    inner = nested_too_deep(folder)
    problem = nested_message(folder, inner) if inner else \
        f"{tree_problem(folder)}; it has no {SYNTHETIC_MARKER}, so it is not a stand-in either"
    synthetic = prepare_command(root, "--synthetic")
    return CourseError(
        f"{folder} is not the complete ants/bees data set ({problem}). --synthetic never "
        "deletes data it did not write: fix it as said, or delete (or move away) "
        f"{folder} yourself, then run `{synthetic}` again.",
        f"{folder} 不是完整的蚂蚁/蜜蜂数据集（{problem}）。--synthetic 不会删除不是它写的数据："
        f"请按上面说的修好，或者自己删除（或移走）这个文件夹，再运行 `{synthetic}`。",
    )


def write_synthetic_hymenoptera(root: str | os.PathLike, quick: bool = True, seed: int = 0) -> Path:
    """Both layouts of the stand-in in ``root`` (the tests' fixture); returns hymenoptera_data."""
    ensure_synthetic_hymenoptera(root, quick=quick, seed=seed)
    return Path(root) / HYMENOPTERA_DIR
