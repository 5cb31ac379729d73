"""The ants/bees pictures of P6-P13: where they are, listing them as the course does (without
macOS's hidden files), and ``open_picture``, ``Image.open`` that explains a picture it cannot use.

- torchvision's layout, as unpacked: ``<root>/hymenoptera_data/{train,val}/{ants,bees}/``.
- the course's own layout (P7): ``<root>/{train,val}/{ants,bees}_image/`` with one label file per
  image in ``<root>/{train,val}/{ants,bees}_label/<image stem>.txt``.

Fetching, checking and generating the data lives in ``tudui.infra.hymenoptera_files``.
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

from PIL import Image

from tudui.errors import CourseError
from tudui.infra.hymenoptera_files import (
    CLASSES,
    ERROR_IMAGE,
    HYMENOPTERA_DIR,
    check_pairs,
    hymenoptera_missing_error,
    image_files,
    is_picture_name,
)
from tudui.infra.markers import is_synthetic, synthetic_banner
from tudui.infra.pictures import MAX_PICTURE_PIXELS, bad_picture, converted, too_large
from tudui.paths import absolute

__all__ = ["ERROR_IMAGE", "HYMENOPTERA_DIR", "checked_pairs", "checked_pictures", "course_dir",
           "hymenoptera_dir", "image_files", "is_synthetic", "open_picture", "synthetic_banner"]


def hymenoptera_dir(root: str | os.PathLike, split: str = "train") -> Path:
    """``<root>/hymenoptera_data/<split>`` (folders ``ants/``, ``bees/``), or a CourseError."""
    folder = absolute(root) / HYMENOPTERA_DIR / split
    if not all((folder / c).is_dir() for c in CLASSES):
        raise hymenoptera_missing_error(folder, absolute(root))
    return folder


def course_dir(root: str | os.PathLike, split: str = "train") -> Path:
    """``<root>/<split>`` in the course's layout (``ants_image/``, ``ants_label/``...)."""
    folder = absolute(root) / split
    if not all((folder / f"{c}_{kind}").is_dir() for c in CLASSES for kind in ("image", "label")):
        raise hymenoptera_missing_error(folder, absolute(root))
    return folder


def checked_pictures(folder: str | os.PathLike, names: list[str]) -> list[str]:
    """``names`` (the course's ``os.listdir(folder)``) without hidden files, sorted, each picture
    opened once through ``open_picture``: a damaged (or unusable) picture is a clear error here,
    before the lesson's own ``Image.open`` meets it."""
    kept = sorted(name for name in names if is_picture_name(name))
    for name in kept:
        open_picture(Path(folder) / name).close()
    return kept


def checked_pairs(image_dir: str | os.PathLike, images: list[str], label_dir: str | os.PathLike,
                  labels: list[str]) -> tuple[list[str], list[str]]:
    """P7's two listings (``os.listdir`` of the image and the label folder): the pictures as
    ``checked_pictures`` keeps them, the ``.txt`` label files sorted, paired by name."""
    images = checked_pictures(image_dir, images)
    labels = sorted(name for name in labels
                    if not name.startswith(".") and name.lower().endswith(".txt"))
    check_pairs(image_dir, images, label_dir, labels)
    return images, labels


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
        why = err.strerror or str(err)
        if isinstance(err, FileNotFoundError):
            why = f"it does not exist: {why}"
        raise bad_picture(path, why) from None
    if not stat.S_ISREG(info.st_mode):
        raise bad_picture(path, "not a regular file, but a folder, pipe or device")
    img = None
    try:
        with warnings.catch_warnings():  # our own limit below is lower, and explains itself
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
        if img.width * img.height > MAX_PICTURE_PIXELS:
            raise too_large(path, img.size)
        if not load:
            return img
        img.load()
        result = img if mode is None else converted(img, mode)
    except Image.DecompressionBombError:  # over twice Pillow's own limit: refused by Image.open
        raise too_large(path, img.size if img else None) from None
    except (CourseError, MemoryError):
        if img is not None:
            img.close()
        raise
    except Exception as err:  # UnidentifiedImageError/truncated: OSError; bad data: many kinds
        if img is not None:
            img.close()
        raise bad_picture(path, err) from None
    if result is not img:
        img.close()
    return result
