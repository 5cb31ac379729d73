"""The generated ants/bees stand-in: ants are dark three-part bodies with legs on soil and
leaves; bees are yellow-and-black striped bodies with pale wings on bright flowers. Counts,
file names and sizes (about 190 to 2600 pixels wide) follow the real set, with its quirks: a
palette GIF placeholder and one ``.jpeg`` file."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from tudui.infra.hymenoptera_layout import CLASSES, ERROR_IMAGE, SPLITS
from tudui.infra.markers import write_marker

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
    column = (top * (1 - t) + bottom * t).astype(np.uint8)                 # [height, 1, 3]
    # every row one colour: the column, stretched sideways (nearest: copies, no new colours)
    image = Image.fromarray(column).resize((width, height), Image.Resampling.NEAREST)
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


def stand_in_name(quick: bool, counts: dict[str, dict[str, int]]) -> str:
    """How the hymenoptera marker describes a stand-in of this size (``counts``: pictures per
    split and class, ``hymenoptera_files.stand_in_counts``)."""
    text = ", ".join(f"{s} {c} {n}" for s, per in counts.items() for c, n in per.items())
    return f"hymenoptera_data ({'quick' if quick else 'full'} size: {text})"


def stand_in_file_names(counts: dict[str, dict[str, int]], seed: int) -> list[str]:
    """The files ``write_synthetic_hymenoptera_tree`` writes ("train/ants/<name>", ...), from
    the same random draws (the names come first): what an older marker, which listed no files,
    stands for."""
    return [f"{split}/{name}/{file_name}"
            for split_index, split in enumerate(SPLITS)
            for class_index, name in enumerate(CLASSES)
            for file_name in _stand_in_names(np.random.default_rng([seed, split_index, class_index]),
                                             split, name, counts[split][name])]


def write_synthetic_hymenoptera_tree(folder: Path, quick: bool, seed: int,
                                     counts: dict[str, dict[str, int]]) -> Path:
    """Write a stand-in ``hymenoptera_data`` tree of ``counts`` pictures (per split and class)
    into ``folder`` (must not exist yet); its marker lists every file with its size and sha256.
    ``quick``: smaller pictures."""
    written = {}
    for split_index, split in enumerate(SPLITS):
        for class_index, name in enumerate(CLASSES):
            rng = np.random.default_rng([seed, split_index, class_index])
            n = counts[split][name]
            sub = folder / split / name
            sub.mkdir(parents=True)
            names = _stand_in_names(rng, split, name, n)
            for i, (file_name, size) in enumerate(zip(names, _sizes(rng, n, quick))):
                buffer = io.BytesIO()
                if file_name == ERROR_IMAGE:
                    _not_found_gif().save(buffer, format="GIF")
                else:
                    if split == "train" and name == "ants" and i == 0:
                        size = (768, 512)  # like the real first ant, so the course's crops fit
                    _stand_in_image(rng, name, size).save(buffer, format="JPEG", quality=85)
                data = buffer.getvalue()
                (sub / file_name).write_bytes(data)
                written[f"{split}/{name}/{file_name}"] = (len(data),
                                                          hashlib.sha256(data).hexdigest())
    write_marker(folder, stand_in_name(quick, counts), seed, files=written)
    return folder
