"""The commands our messages tell a learner to run, quoted so that they paste into a terminal."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from tudui.paths import DATASET_DIR, LOGS_DIR


def shell_quote(text: str) -> str:
    """``text`` as one word a learner can paste into a terminal: as it is when nothing in it is
    special (letters of any script, digits, ``_-./:+=@%,``), else quoted.

    POSIX shells: double quotes, as on Windows, unless the text holds one of ``$`"\\!``, which
    stay special inside double quotes; then ``shlex.quote`` (single quotes: everything literal).
    Windows: double quotes, the only quoting cmd understands, which PowerShell reads the same way
    for everything Windows paths usually hold (spaces, brackets, ``&``, Chinese); file names
    cannot contain ``"`` there. No one form is literal in both shells for ``$`` or a backtick
    (PowerShell) and ``%NAME%`` (cmd), and such folder names are rare on Windows.
    """
    windows = os.name == "nt"
    plain = "_-./:+=@%," + ("\\" if windows else "")
    if text and all(c.isalnum() or c in plain for c in text):
        return text
    if windows or not any(c in text for c in '$`"\\!'):
        return f'"{text}"'
    return shlex.quote(text)


def _is(folder: str | os.PathLike, default: Path) -> bool:
    # realpath, not Path.resolve: Python 3.11's raises RuntimeError on a symlink loop
    return os.path.realpath(folder) == os.path.realpath(default)


def lesson_command(lesson: str, log_dir: str | os.PathLike | None = None, *, flags=(),
                   data_root: str | os.PathLike | None = None) -> str:
    """``python src/<lesson>.py [flags] [--data-root ...] [--log-dir ...]``, the two folders only
    when they are not the defaults, quoted for pasting: every command a message tells a learner
    to run is built here."""
    words = [f"python src/{lesson}.py", *flags]
    for flag, folder, default in (("--data-root", data_root, DATASET_DIR),
                                  ("--log-dir", log_dir, LOGS_DIR)):
        if folder is not None and not _is(folder, default):
            words += [flag, shell_quote(str(folder))]
    return " ".join(words)


def prepare_command(root: str | os.PathLike, *flags: str) -> str:
    """The 00_prepare_data command that fills the data root ``root`` (e.g. with --synthetic)."""
    return lesson_command("00_prepare_data", flags=flags, data_root=root)
