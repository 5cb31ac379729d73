"""TensorBoard: where a lesson's SummaryWriter writes, ``<log-dir>/<lesson>/``, started clean."""

from __future__ import annotations

import os
from pathlib import Path

from tudui.paths import lesson_log_dir


def fresh_log_dir(lesson: str | os.PathLike, log_dir: str | os.PathLike | None = None,
                  run: str | None = None) -> str:
    """``<log_dir>/<lesson>[/<run>]`` for ``SummaryWriter(...)``: created, old event files removed.

    ``lesson`` is a lesson's name or its ``__file__``. The course writes ``SummaryWriter("logs")``;
    a lesson run twice into the same folder would draw two overlapping curves, the most common
    TensorBoard confusion in the course, so the previous run's event files go first.
    """
    folder = lesson_log_dir(Path(lesson).stem, log_dir)
    if run:
        folder = folder / run
        folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("events.out.tfevents.*"):
        old.unlink()
    return str(folder)


def make_writer(lesson: str, log_dir: str | os.PathLike | None = None,
                run: str | None = None):
    """``SummaryWriter(fresh_log_dir(lesson, log_dir, run))``."""
    from torch.utils.tensorboard import SummaryWriter  # here: importing it takes a second or two

    return SummaryWriter(log_dir=fresh_log_dir(lesson, log_dir, run))
