"""The ants/bees data set (hymenoptera_data.zip), in both layouts the course uses.

- torchvision's layout, as unpacked: ``<root>/hymenoptera_data/{train,val}/{ants,bees}/``.
- the course's own layout (P7), derived from it: ``<root>/{train,val}/{ants,bees}_image/`` with
  one label file per image, ``<root>/{train,val}/{ants,bees}_label/<image stem>.txt``.

Real data is downloaded and checked with torchvision's helpers; offline, a generated stand-in
is written in exactly the same layout, with the real set's counts and quirks (a palette GIF,
one ``.jpeg`` file, sizes from about 190 to 2600 pixels wide).
"""

from __future__ import annotations

import os
import shutil
import stat
import warnings
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from tudui.data import (
    SYNTHETIC_MARKER,
    DownloadFailed,
    absolute,
    extract_verified,
    fetch_archive,
    is_synthetic,
    marker_matches,
    prepare_command,
    remove_tree,
    replace_folder,
    temporary_folder,
    write_marker,
)
from tudui.errors import CourseError

HYMENOPTERA_URL = "https://download.pytorch.org/tutorial/hymenoptera_data.zip"
HYMENOPTERA_ARCHIVE = "hymenoptera_data.zip"
HYMENOPTERA_DIR = "hymenoptera_data"
# download.pytorch.org publishes no checksum for this file and we could not find one we trust,
# so the archive is checked by every member's CRC (zipfile.testzip) and by its exact contents.
HYMENOPTERA_MD5 = None
SPLITS = ("train", "val")
CLASSES = ("ants", "bees")
REAL_COUNTS = {"train": {"ants": 124, "bees": 121}, "val": {"ants": 70, "bees": 83}}
QUICK_COUNTS = {"train": {"ants": 24, "bees": 21}, "val": {"ants": 10, "bees": 13}}
ERROR_IMAGE = "imageNotFound.gif"  # the real set's placeholder: a palette-mode GIF in train/ants
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif")


def _missing(where: Path, root: Path) -> CourseError:
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


def hymenoptera_dir(root: str | os.PathLike, split: str = "train") -> Path:
    """``<root>/hymenoptera_data/<split>`` (folders ``ants/``, ``bees/``), or a CourseError."""
    folder = absolute(root) / HYMENOPTERA_DIR / split
    if not all((folder / c).is_dir() for c in CLASSES):
        raise _missing(folder, absolute(root))
    return folder


def course_dir(root: str | os.PathLike, split: str = "train") -> Path:
    """``<root>/<split>`` in the course's layout (``ants_image/``, ``ants_label/``...)."""
    folder = absolute(root) / split
    if not all((folder / f"{c}_{kind}").is_dir() for c in CLASSES for kind in ("image", "label")):
        raise _missing(folder, absolute(root))
    return folder


def picture_names(folder: str | os.PathLike, suffixes=IMAGE_SUFFIXES) -> list[str]:
    """The names of the pictures (or other ``suffixes``) in ``folder``, sorted.

    The course lists a folder with ``os.listdir``, which also returns hidden files: macOS's
    Finder adds ``.DS_Store`` (and ``._name.jpg`` copies on USB disks), which are not pictures
    and would be counted as one. Names starting with "." are skipped, and sorting gives the same
    order on every system (os.listdir's order differs between Windows, macOS and Linux).
    """
    return sorted(name for name in os.listdir(folder)
                  if not name.startswith(".") and Path(name).suffix.lower() in suffixes)


def checked_pictures(folder: str | os.PathLike, names: list[str]) -> list[str]:
    """``names`` (the course's ``os.listdir(folder)``) as ``picture_names`` keeps them, each
    picture opened once through ``open_picture``: a damaged (or unusable) picture is a clear
    error here, before the lesson's own ``Image.open`` meets it."""
    kept = sorted(name for name in names
                  if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES)
    for name in kept:
        open_picture(Path(folder) / name).close()
    return kept


def image_files(folder: Path) -> list[Path]:
    """The pictures in ``folder`` as paths, sorted by name (hidden files skipped)."""
    return [Path(folder) / name for name in picture_names(folder)]


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


def checked_pairs(image_dir: str | os.PathLike, images: list[str], label_dir: str | os.PathLike,
                  labels: list[str]) -> tuple[list[str], list[str]]:
    """P7's two listings (``os.listdir`` of the image and the label folder): the pictures as
    ``checked_pictures`` keeps them, the ``.txt`` label files sorted, paired by name
    (``check_pairs``)."""
    images = checked_pictures(image_dir, images)
    labels = sorted(name for name in labels
                    if not name.startswith(".") and name.lower().endswith(".txt"))
    check_pairs(image_dir, images, label_dir, labels)
    return images, labels


# Pictures above this many pixels are refused from their header, before decoding: 50 million
# is more than any camera photo the lessons need (8000 x 6000 = 48 million); decoding a
# 10000 x 10000 PNG took 36 s and 7 GB in 10_transforms. Pillow's own guard warns only at
# about 89 million and refuses at twice that.
MAX_PICTURE_PIXELS = 50_000_000


def _data_set_folder(path: Path) -> Path | None:
    """The data set folder a picture belongs to (to re-create it), or None for any other file:
    ``<root>/hymenoptera_data/<split>/<class>/x.jpg`` or ``<root>/<split>/<class>_image/x.jpg``."""
    if len(path.parents) > 3 and path.parents[2].name == HYMENOPTERA_DIR:
        return path.parents[2]
    if len(path.parents) > 2 and path.parent.name.endswith("_image"):
        return path.parents[1]
    return None


def _bad_picture(path: Path, err: BaseException | str) -> CourseError:
    """A CourseError naming a picture that cannot be opened, and how to get a good copy."""
    why = err if isinstance(err, str) else f"{type(err).__name__}: {err}"
    top = _data_set_folder(path)
    if top is None:
        return CourseError(
            f"The picture {path} cannot be opened ({why}): the file is damaged (e.g. an "
            "interrupted copy) or not a picture. Use another .jpg or .png picture.",
            f"图片 {path} 打不开（文件损坏，或者不是图片）。请换一张 jpg 或 png 图片。")
    fix = prepare_command(top.parent, *(["--synthetic"] if is_synthetic(top) else []))
    return CourseError(
        f"The picture {path} cannot be opened ({why}): the file is "
        "damaged (e.g. an interrupted copy) or not a picture. Delete that file (in the "
        f"course's layout also its label file {path.stem}.txt in the *_label folder), or "
        f"re-create the data: delete the folder {top} and run `{fix}`.",
        f"图片 {path} 打不开（文件损坏，或者不是图片）。请删除这个文件（课程的布局里也删掉 *_label 里的 "
        f"{path.stem}.txt），或者删除文件夹 {top} 后运行 `{fix}` 重新生成数据。",
    )


def _too_large(path: Path, size: tuple[int, int] | None) -> CourseError:
    """The explanation 32_test gave for Pillow's DecompressionBombError, for every lesson."""
    found = f" ({size[0]} x {size[1]} = {size[0] * size[1]:,} pixels)" if size else ""
    return CourseError(
        f"{path} is too large{found}: the lessons refuse pictures of more than "
        f"{MAX_PICTURE_PIXELS:,} pixels before decoding them (a guard against 'decompression "
        "bomb' files, and decoding one would take gigabytes of memory). Make it smaller, for "
        "example under 4000 x 4000 pixels, and try again.",
        f"图片 {path} 太大{found}（超过 {MAX_PICTURE_PIXELS:,} 像素的安全上限，解码会占用几 GB 内存），"
        "请先把它缩小（例如小于 4000 x 4000）再试。",
    )


_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def _converted(img: Image.Image, mode: str) -> Image.Image:
    """``img`` in ``mode``, with 16-bit pictures scaled to 8 bits (Pillow's own convert clips
    them at 255: a 16-bit PNG would come out almost white) and palette pictures with a
    transparent colour going through RGBA (Pillow warns otherwise)."""
    if img.mode == mode:
        return img
    if img.mode in _SIXTEEN_BIT:
        scaled = np.asarray(img, dtype=np.float32) / 257  # 65535 -> 255
        img = Image.fromarray(np.clip(scaled.round(), 0, 255).astype(np.uint8))
    elif img.mode in ("P", "PA") and "transparency" in img.info:
        img = img.convert("RGBA")
    return img if img.mode == mode else img.convert(mode)


def open_picture(path: str | os.PathLike, mode: str | None = "RGB",
                 load: bool = True) -> Image.Image:
    """``Image.open(path)`` for the lessons, with a CourseError naming the file for anything a
    lesson cannot use.

    - Only a regular file is opened (a pipe or device named ``x.jpg`` would block forever).
    - A picture of more than MAX_PICTURE_PIXELS is refused from its header, before decoding
      (no gigabyte spike, no Pillow DecompressionBombWarning).
    - A damaged file, or one that is not a picture, is a CourseError naming it.
    - ``mode="RGB"`` (the default): whatever Pillow opens (CMYK JPEG, 16-bit or RGBA PNG,
      grayscale, palette, the first frame of an animated GIF) comes back as 8-bit RGB; another
      Pillow mode (e.g. ``"L"``) converts to that; ``mode=None`` keeps the picture's own mode
      (06 shows that a GIF is "P").
    - ``load=False`` reads only the header (size, the picture's own mode; ``mode`` is not
      applied, converting needs the pixels); close it when done.
    """
    path = absolute(path)
    try:
        info = path.stat()
    except OSError as err:  # missing, or a folder on the way we may not read
        raise _bad_picture(path, err.strerror or str(err)) from None
    if not stat.S_ISREG(info.st_mode):
        raise _bad_picture(path, "not a regular file, but a folder, pipe or device")
    img = None
    try:
        with warnings.catch_warnings():  # our own limit below is lower, and explains itself
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
        if img.width * img.height > MAX_PICTURE_PIXELS:
            raise _too_large(path, img.size)
        if not load:
            return img
        img.load()
        converted = img if mode is None else _converted(img, mode)
    except Image.DecompressionBombError:  # over twice Pillow's own limit: refused by Image.open
        raise _too_large(path, img.size if img else None) from None
    except CourseError:
        if img is not None:
            img.close()
        raise
    except MemoryError:
        if img is not None:
            img.close()
        raise
    except Exception as err:  # UnidentifiedImageError/truncated: OSError; bad data: many kinds
        if img is not None:
            img.close()
        raise _bad_picture(path, err) from None
    if converted is not img:
        img.close()
    return converted


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


def prepare_real_hymenoptera(root: str | os.PathLike) -> tuple[Path, str]:
    """Make ``<root>/hymenoptera_data`` the real data set: kept if already complete, else from
    ``<root>/hymenoptera_data.zip`` (placed by hand or downloaded). Raises DownloadFailed."""
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
    archive, how = fetch_archive(root, HYMENOPTERA_URL, HYMENOPTERA_ARCHIVE, HYMENOPTERA_MD5,
                                 looks_valid=_zip_problem)
    extract_verified(archive, root, HYMENOPTERA_DIR, tree_problem)
    return folder, f"{how} {HYMENOPTERA_ARCHIVE}, CRCs and contents checked, unpacked"


# --------------------------------------------------------------------------------------------
# The course's layout, derived from hymenoptera_data/.

def _marker(folder: Path) -> str | None:
    marker = folder / SYNTHETIC_MARKER
    return marker.read_text(encoding="utf-8") if marker.is_file() else None


def layout_matches(source_root: Path, split: str, split_dir: Path) -> bool:
    """True when ``split_dir`` already is the course layout of ``source_root/split``."""
    if _marker(source_root) != _marker(split_dir):
        return False
    for name in CLASSES:
        images, labels = split_dir / f"{name}_image", split_dir / f"{name}_label"
        if not (images.is_dir() and labels.is_dir()):
            return False
        # sizes too: a truncated copy in the course layout must be copied again
        wanted = [(p.name, p.stat().st_size) for p in image_files(source_root / split / name)]
        if [(p.name, p.stat().st_size) for p in image_files(images)] != wanted or \
                len(list(labels.glob("*.txt"))) != len(wanted):
            return False
    return True


def derive_course_layout(root: str | os.PathLike) -> list[tuple[Path, str]]:
    """Write ``<root>/{train,val}/{ants,bees}_{image,label}/`` from ``<root>/hymenoptera_data``.

    Each split is built in a temporary folder and renamed into place. A course layout that is
    already up to date is kept; only a stand-in is ever replaced, so a folder made from real
    data (or by hand, as in the video) is never deleted.
    """
    root = absolute(root)
    source_root = root / HYMENOPTERA_DIR
    done = []
    for split in SPLITS:
        source, target = source_root / split, root / split
        if target.is_dir() and layout_matches(source_root, split, target):
            done.append((target, "up to date, kept"))
            continue
        if target.is_dir() and not is_synthetic(target) and any(target.iterdir()):
            # real, or made by hand following the video: never deleted; delete it to rebuild
            done.append((target, "real data kept (stand-ins never replace real data)"
                         if is_synthetic(source_root) else "kept as it is (delete it to rebuild)"))
            continue
        tmp = temporary_folder(root, split)
        try:
            new = tmp / split  # made with mkdir, so it gets the usual permissions (mkdtemp: 0700)
            for name in CLASSES:
                images, labels = new / f"{name}_image", new / f"{name}_label"
                images.mkdir(parents=True)
                labels.mkdir()
                for image in image_files(source / name):
                    shutil.copyfile(image, images / image.name)
                    (labels / f"{image.stem}.txt").write_text(name, encoding="utf-8")
            if is_synthetic(source_root):
                shutil.copyfile(source_root / SYNTHETIC_MARKER, new / SYNTHETIC_MARKER)
            replace_folder(new, target, tmp)
        finally:
            remove_tree(tmp)
        done.append((target, "written"))
    return done


# --------------------------------------------------------------------------------------------
# Generated stand-in: ants are dark three-part bodies with legs on soil and leaves; bees are
# yellow-and-black striped bodies with pale wings on bright flowers. Sizes vary like the real set.

_ANT_BACKGROUNDS = [(86, 120, 60), (120, 96, 64), (70, 90, 50), (150, 130, 100), (60, 80, 70)]
_BEE_BACKGROUNDS = [(230, 150, 200), (250, 230, 120), (170, 140, 230), (140, 200, 250),
                    (250, 190, 150)]
_ANT_COLOURS = [(20, 15, 10), (90, 30, 15), (45, 30, 20), (130, 45, 20)]


def _jitter(rng: np.random.Generator, colour, spread: int = 30) -> tuple[int, int, int]:
    return tuple(int(np.clip(c + rng.integers(-spread, spread + 1), 0, 255)) for c in colour)


def _background(rng, size, palette) -> Image.Image:
    """A vertical gradient between two colours of the class's palette, plus a few blobs."""
    width, height = size
    top = np.array(_jitter(rng, palette[rng.integers(len(palette))]), np.float32)
    bottom = np.array(_jitter(rng, palette[rng.integers(len(palette))]), np.float32)
    t = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    column = (top * (1 - t) + bottom * t).astype(np.uint8)
    image = Image.fromarray(np.ascontiguousarray(np.broadcast_to(column, (height, width, 3))))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 8))):
        r = int(rng.uniform(0.05, 0.2) * min(size))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        draw.ellipse((x - r, y - r, x + r, y + r),
                     fill=_jitter(rng, palette[rng.integers(len(palette))], 50))
    return image


def _draw_ant(draw, rng, cx, cy, s) -> None:
    colour = _jitter(rng, _ANT_COLOURS[rng.integers(len(_ANT_COLOURS))], 10)
    for dx in (-1.2, 1.2):  # legs first, so the body covers their roots
        for dy in (-1, 1):
            draw.line((cx + dx * 0.3 * s, cy, cx + dx * 0.6 * s, cy + dy * 0.7 * s),
                      fill=colour, width=max(1, int(s * 0.06)))
    draw.line((cx, cy, cx, cy + 0.8 * s), fill=colour, width=max(1, int(s * 0.06)))
    draw.line((cx, cy, cx, cy - 0.8 * s), fill=colour, width=max(1, int(s * 0.06)))
    for offset, rx, ry in ((-1.1, 0.3, 0.25), (-0.35, 0.35, 0.2), (0.7, 0.65, 0.4)):
        x = cx + offset * s
        draw.ellipse((x - rx * s, cy - ry * s, x + rx * s, cy + ry * s), fill=colour)
    for dy in (-1, 1):  # antennae
        draw.line((cx - 1.3 * s, cy, cx - 1.7 * s, cy + dy * 0.5 * s), fill=colour,
                  width=max(1, int(s * 0.04)))


def _draw_bee(draw, rng, cx, cy, s) -> None:
    for dx in (-0.3, 0.3):  # pale wings behind the body
        draw.ellipse((cx + dx * s - 0.35 * s, cy - 1.0 * s, cx + dx * s + 0.35 * s, cy - 0.1 * s),
                     fill=_jitter(rng, (225, 235, 245), 15))
    yellow, black = _jitter(rng, (240, 190, 30), 15), (25, 20, 10)
    for i, x in enumerate(np.linspace(cx - 0.9 * s, cx + 0.9 * s, 7)):
        r = s * (0.45 - 0.05 * abs(i - 3))
        draw.ellipse((x - r, cy - r, x + r, cy + r), fill=black if i % 2 else yellow)
    draw.ellipse((cx - 1.35 * s, cy - 0.25 * s, cx - 0.85 * s, cy + 0.25 * s), fill=black)


def _stand_in_image(rng, name: str, size: tuple[int, int]) -> Image.Image:
    """One RGB picture of class ``name`` (ants or bees) with ``size`` = (width, height)."""
    image = _background(rng, size, _ANT_BACKGROUNDS if name == "ants" else _BEE_BACKGROUNDS)
    draw = ImageDraw.Draw(image)
    s = rng.uniform(0.12, 0.22) * min(size)
    cx = rng.uniform(0.3, 0.7) * size[0]
    cy = rng.uniform(0.35, 0.65) * size[1]
    (_draw_ant if name == "ants" else _draw_bee)(draw, rng, cx, cy, s)
    return image


def _not_found_gif() -> Image.Image:
    """A small palette-mode ("P") placeholder like the real set's imageNotFound.gif."""
    image = Image.new("RGB", (160, 120), (235, 235, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 150, 110), outline=(160, 160, 160), width=3)
    draw.line((10, 10, 150, 110), fill=(200, 60, 60), width=3)
    draw.line((10, 110, 150, 10), fill=(200, 60, 60), width=3)
    draw.text((30, 52), "image not found", fill=(60, 60, 60))
    return image.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)


def _sizes(rng, n: int, quick: bool) -> list[tuple[int, int]]:
    """Mostly 190-800 px wide, a few large ones up to 2600 px (fewer and smaller with quick)."""
    sizes = []
    for _ in range(n):
        large = not quick and rng.random() < 0.04
        width = int(rng.integers(1000, 2601) if large else rng.integers(190, 401 if quick else 801))
        sizes.append((width, int(width * rng.uniform(0.62, 1.0))))
    return sizes


def _stand_in_names(rng, split: str, name: str, n: int) -> list[str]:
    """File names like the real set's (flickr-style ids); train/ants ends with the GIF and four
    word-named files, so the GIF is sorted index n-5 (119 of 124, as in the real set)."""
    ids = sorted({f"{rng.integers(10**8, 10**10)}_{rng.integers(16**9, 16**10):010x}"
                  for _ in range(n + 10)})
    if split == "train" and name == "ants":
        words = ["swiss-army-ant", "trap-jaw-ant-insect-bg", "weaver-ant", "wood-ant"]
        return [f"{i}.jpg" for i in ids[:n - 5]] + [ERROR_IMAGE] + [f"{w}.jpg" for w in words]
    names = [f"{i}.jpg" for i in ids[:n]]
    if split == "train" and name == "bees":  # the real set has one picture named .jpeg
        names[-1] = names[-1][:-4] + ".jpeg"
    return names


def stand_in_name(quick: bool) -> str:
    """How the hymenoptera marker describes a stand-in of this size."""
    counts = QUICK_COUNTS if quick else REAL_COUNTS
    text = ", ".join(f"{s} {c} {n}" for s, per in counts.items() for c, n in per.items())
    return f"hymenoptera_data ({'quick' if quick else 'full'} size: {text})"


def write_synthetic_hymenoptera_tree(folder: Path, quick: bool, seed: int) -> Path:
    """Write a stand-in ``hymenoptera_data`` tree into ``folder`` (must not exist yet)."""
    counts = QUICK_COUNTS if quick else REAL_COUNTS
    for split_index, split in enumerate(SPLITS):
        for class_index, name in enumerate(CLASSES):
            rng = np.random.default_rng([seed, split_index, class_index])
            n = counts[split][name]
            sub = folder / split / name
            sub.mkdir(parents=True)
            names = _stand_in_names(rng, split, name, n)
            for i, (file_name, size) in enumerate(zip(names, _sizes(rng, n, quick))):
                if file_name == ERROR_IMAGE:
                    _not_found_gif().save(sub / file_name)
                    continue
                if split == "train" and name == "ants" and i == 0:
                    size = (768, 512)  # like the real first ant, so the course's crops fit
                _stand_in_image(rng, name, size).save(sub / file_name, quality=85)
    write_marker(folder, stand_in_name(quick), seed)
    return folder


def ensure_synthetic_hymenoptera(root: str | os.PathLike, quick: bool = False,
                                 seed: int = 0) -> list[tuple[Path, str]]:
    """Stand-ins for both layouts in ``root``: reused when the same seed and size are there,
    never written over the real data. Returns [(folder, what happened)]."""
    root = absolute(root)
    folder = root / HYMENOPTERA_DIR
    if folder.is_dir() and not is_synthetic(folder) and any(folder.iterdir()):
        if tree_problem(folder) is not None:  # never called real, never deleted: say what to do
            raise _unmarked_incomplete(root)
        status = "real data kept (stand-ins never replace real data)"
    elif marker_matches(folder, stand_in_name(quick), seed) and \
            tree_problem(folder, QUICK_COUNTS if quick else REAL_COUNTS) is None:
        status = "stand-in reused"
    else:
        root.mkdir(parents=True, exist_ok=True)
        tmp = temporary_folder(root, HYMENOPTERA_DIR)
        try:
            write_synthetic_hymenoptera_tree(tmp / HYMENOPTERA_DIR, quick, seed)
            replace_folder(tmp / HYMENOPTERA_DIR, folder, tmp)
        finally:
            remove_tree(tmp)
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


__all__ = ["CLASSES", "DownloadFailed", "ERROR_IMAGE", "check_pairs", "checked_pairs", "checked_pictures", "HYMENOPTERA_ARCHIVE", "HYMENOPTERA_DIR",
           "HYMENOPTERA_URL", "QUICK_COUNTS", "REAL_COUNTS", "SPLITS", "course_dir",
           "derive_course_layout", "ensure_synthetic_hymenoptera", "hymenoptera_dir",
           "image_files", "open_picture", "picture_names", "prepare_real_hymenoptera",
           "write_synthetic_hymenoptera"]
