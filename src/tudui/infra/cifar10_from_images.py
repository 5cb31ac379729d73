"""CIFAR-10 rebuilt from a folder of pictures (``00_prepare_data.py --from-images DIR``).

Some copies of CIFAR-10 are shared as pictures, ``DIR/train/<class>/*.png|jpg`` and
``DIR/test/<class>/...`` (often JPEG: the same 60,000 pictures, slightly changed by the
compression). This writes them into ``cifar-10-batches-py`` in the real on-disk format, so every
lesson can read them, and marks the folder with REBUILT.txt: each file's size and sha256 (the
lessons verify them as they verify a stand-in's) and the folder it was rebuilt from. Lessons
then say that they run on a non-official copy, and lesson 36 does not compare it with 94%.

The official files' order is not in a picture folder, and the course trains without shuffling:
each split is put in one fixed random order (seed 0), so that every batch mixes the classes as
in the official files, and a rebuild of the same pictures gives the same files.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tudui.errors import CourseError
from tudui.infra import cifar10_files
from tudui.infra.cifar10_files import CIFAR10_CLASSES, CIFAR10_DIR
from tudui.infra.cifar10_stand_in import write_cifar10_files
from tudui.infra.commands import prepare_command, shell_quote
from tudui.infra.files import replacing_folder
from tudui.infra.markers import is_rebuilt, is_synthetic, write_rebuilt_marker
from tudui.paths import absolute

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
ORDER_SEED = 0


def _layout_error(source: Path, problem: str) -> CourseError:
    return CourseError(
        f"{source} is not a CIFAR-10 picture folder: {problem}. --from-images wants "
        f"{source}/train/<class>/ and {source}/test/<class>/ with the ten classes "
        f"({', '.join(CIFAR10_CLASSES)}), each holding 32x32 pictures (.png, .jpg or .bmp). "
        "Nothing was written.",
        f"{source} 不是 CIFAR-10 图片文件夹：{problem}。--from-images 需要 train/<类别>/ 和 "
        f"test/<类别>/ 两层文件夹，十个类别齐全，每张图片 32x32。没有写入任何文件。")


def _picture_paths(source: Path, split: str) -> list[tuple[Path, int]]:
    """(picture, label) of every picture in ``source/split/<class>/``, sorted by class and name."""
    folder = source / split
    if not folder.is_dir():
        raise _layout_error(source, f"there is no {split}/ folder")
    found = {p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")}
    missing = [c for c in CIFAR10_CLASSES if c not in found]
    extra = sorted(found - set(CIFAR10_CLASSES))
    if missing or extra:
        problems = ([f"{split}/ lacks {', '.join(missing)}"] if missing else []) + \
            ([f"{split}/ has folders that are not CIFAR-10 classes: {', '.join(extra)}"]
             if extra else [])
        raise _layout_error(source, "; ".join(problems))
    pictures = []
    for label, name in enumerate(CIFAR10_CLASSES):
        files = sorted(p for p in (folder / name).iterdir()
                       if p.suffix.lower() in PICTURE_SUFFIXES and not p.name.startswith("."))
        if not files:
            raise _layout_error(source, f"{split}/{name}/ holds no pictures")
        pictures += [(p, label) for p in files]
    return pictures


def _read_pictures(source: Path, pictures: list[tuple[Path, int]], split: str) -> np.ndarray:
    """The pictures as uint8 [N,32,32,3] RGB; a picture that is unreadable or not 32x32 stops
    the rebuild with its name."""
    from PIL import Image, UnidentifiedImageError
    from tqdm.auto import tqdm

    images = np.empty((len(pictures), 32, 32, 3), dtype=np.uint8)
    for i, (path, _) in enumerate(tqdm(pictures, desc=f"reading {split}", leave=False,
                                       disable=None)):
        try:
            with Image.open(path) as picture:
                if picture.size != (32, 32):
                    raise _layout_error(source, f"{path} is {picture.size[0]}x"
                                                f"{picture.size[1]}, not 32x32")
                images[i] = np.asarray(picture.convert("RGB"))
        except (OSError, UnidentifiedImageError, ValueError) as err:
            raise _layout_error(source, f"{path} cannot be read as a picture ({err})") from None
    return images


def rebuild_cifar10_from_images(root: str | os.PathLike, source: str | os.PathLike
                                ) -> tuple[Path, str]:
    """Write ``<root>/cifar-10-batches-py`` from the pictures in ``source``, marked REBUILT.txt.

    A stand-in or an earlier rebuilt copy there is replaced once the new folder is complete;
    the official files are kept (a copy never replaces them); an unmarked folder that is not
    complete CIFAR-10 is left alone with a CourseError. Returns (folder, what happened)."""
    root, source = absolute(root), absolute(source)
    folder = root / CIFAR10_DIR
    if folder.is_dir() and not is_synthetic(folder) and not is_rebuilt(folder) and \
            any(folder.iterdir()):
        problem = cifar10_files.cifar10_folder_problem(folder)
        if problem is None:
            return folder, "official data kept (a rebuilt copy never replaces it)"
        raise CourseError(
            f"{folder} is there but is not complete CIFAR-10 ({problem}), and it is neither a "
            "stand-in nor a rebuilt copy, so --from-images does not write over it. Move it "
            "away (or delete it) yourself, then run "
            f"`{prepare_command(root, '--from-images', shell_quote(str(source)))}` again.",
            f"{folder} 已存在，但不是完整的 CIFAR-10，也不是替代数据或重建副本，所以不会覆盖它。"
            "请先自己移走（或删除）这个文件夹，再运行一次。")
    splits = {split: _picture_paths(source, split) for split in ("train", "test")}
    order = np.random.default_rng(ORDER_SEED)
    images, labels, names = [], [], []
    for split, pictures in splits.items():
        pictures = [pictures[i] for i in order.permutation(len(pictures))]
        images.append(_read_pictures(source, pictures, split))
        labels += [label for _, label in pictures]
        names += [path.relative_to(source).as_posix() for path, _ in pictures]
    root.mkdir(parents=True, exist_ok=True)
    with replacing_folder(folder, cifar10_files.written_by_us(folder)) as new:
        new.mkdir()
        written = write_cifar10_files(new, np.concatenate(images), np.array(labels),
                                      len(splits["train"]), names)
        train, test = len(splits["train"]), len(splits["test"])
        write_rebuilt_marker(new, f"CIFAR-10 ({train} train / {test} test images)", str(source),
                             written)
    return folder, f"rebuilt from {train} + {test} pictures"
