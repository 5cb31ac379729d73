"""Why a picture cannot be opened, in one paragraph, and how to get a good copy; pictures in
other modes (16-bit, palette with transparency) converted without surprises."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tudui.errors import CourseError
from tudui.infra.commands import prepare_command
from tudui.infra.hymenoptera_files import HYMENOPTERA_DIR
from tudui.infra.markers import is_synthetic

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


def bad_picture(path: Path, err: BaseException | str) -> CourseError:
    """A CourseError naming a picture that cannot be opened, and how to get a good copy."""
    why = err if isinstance(err, str) else f"{type(err).__name__}: {err}"
    top = _data_set_folder(path)
    if top is None:
        return CourseError(
            f"The picture {path} cannot be opened ({why}): the file is damaged (e.g. an "
            "interrupted copy) or not an image Pillow can read. Use another .jpg or .png picture.",
            f"图片 {path} 打不开（文件损坏，或者不是图片）。请换一张 jpg 或 png 图片。")
    if is_synthetic(top):  # 00 --synthetic checks every stand-in file's hash and rewrites it
        fix = prepare_command(top.parent, "--synthetic")
        recreate = (f"run `{fix}`: it writes a damaged stand-in again (pictures you added "
                    "yourself are moved aside, never deleted)")
        recreate_zh = f"运行 `{fix}` 重新生成损坏的替代数据（你自己添加的图片会被移到一边，不会删除）"
    else:
        fix = prepare_command(top.parent)
        recreate = f"delete the folder {top} and run `{fix}`"
        recreate_zh = f"删除文件夹 {top} 后运行 `{fix}` 重新生成数据"
    return CourseError(
        f"The picture {path} cannot be opened ({why}): the file is "
        "damaged (e.g. an interrupted copy) or not an image Pillow can read. Delete that file (in the "
        f"course's layout also its label file {path.stem}.txt in the *_label folder), or "
        f"re-create the data: {recreate}.",
        f"图片 {path} 打不开（文件损坏，或者不是图片）。请删除这个文件（课程的布局里也删掉 *_label 里的 "
        f"{path.stem}.txt），或者{recreate_zh}。",
    )


def too_large(path: Path, size: tuple[int, int] | None) -> CourseError:
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


def converted(img: Image.Image, mode: str) -> Image.Image:
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
