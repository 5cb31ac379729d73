"""TensorBoard: one SummaryWriter factory writing under ``logs/<lesson>/``."""

from __future__ import annotations

import os
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter

from tudui.paths import lesson_log_dir


def make_writer(lesson: str, log_dir: str | os.PathLike | None = None, run: str | None = None,
                fresh: bool = True) -> SummaryWriter:
    """A SummaryWriter for ``<log_dir>/<lesson>[/<run>]``.

    ``fresh=True`` removes that folder's old event files first: a lesson run twice would
    otherwise draw two overlapping curves, the most common TensorBoard confusion in the course.
    Pass ``fresh=False`` to continue a run (``--resume``).
    """
    folder = lesson_log_dir(lesson, log_dir)
    if run:
        folder = folder / run
        folder.mkdir(parents=True, exist_ok=True)
    if fresh:
        for old in Path(folder).glob("events.out.tfevents.*"):
            old.unlink()
    return SummaryWriter(log_dir=str(folder))
