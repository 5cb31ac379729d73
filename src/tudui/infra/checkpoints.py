"""Checkpoint files: model weights saved atomically and loaded without running code from them,
the course's ``tudui_<i>.pth`` per epoch, and what ``--resume`` needs in ``resume.pt`` beside them."""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch
from torch import nn

from tudui.errors import CourseError, shorten
from tudui.infra import safe_load
from tudui.infra.files import atomic_file
from tudui.paths import absolute


def save_checkpoint(path: str | os.PathLike, model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None, epoch: int | None = None,
                    **extra) -> Path:
    """Save a state_dict checkpoint atomically (temporary name, then rename).

    The file is a plain dict (``model``, ``optimizer``, ``epoch``, ``arch`` and ``extra``) that
    ``torch.load(..., weights_only=True)`` accepts, so loading it never runs foreign code.
    Tensors are saved contiguous and on the CPU, so any machine can load them.
    """
    weights = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    state = {"arch": type(model).__name__, "model": weights, "epoch": epoch,
             "optimizer": optimizer.state_dict() if optimizer is not None else None, **extra}
    with atomic_file(path) as f:
        torch.save(state, f)
    return absolute(path)


def load_checkpoint(path: str | os.PathLike, model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None,
                    map_location: str | torch.device = "cpu") -> dict:
    """Load a model file into ``model`` (and ``optimizer``), never running code from the file.

    Reads, through ``safe_load.read_checkpoint`` (``weights_only=True``, plus the allow-list for
    the course's whole pickled Tudui): a plain state_dict (``model.`` or ``model1.`` keys, renamed
    to fit ``model``), a dict checkpoint ``{"model": state_dict, "optimizer": ..., ...}``, or a
    whole-model file of the course. A missing, truncated or foreign file, or one for another
    architecture, is a CourseError that names the problem (and the mismatching keys). Returns
    the file's dict (``{"model": weights, "format": ...}`` plus a checkpoint's other entries).
    """
    state = safe_load.read_checkpoint(path, map_location)
    weights = safe_load.fit_weights(Path(path).absolute(), state["model"], model)
    safe_load.refuse_non_finite(weights, Path(path).absolute())  # a diverged run's file
    model.load_state_dict(weights)
    if optimizer is not None and state.get("optimizer"):
        load_optimizer_state(optimizer, state["optimizer"], Path(path).absolute())
    return state


def load_optimizer_state(optimizer: torch.optim.Optimizer, saved, path: Path) -> None:
    """``optimizer.load_state_dict(saved)``, once ``saved`` is known to be the state of the
    same kind of optimizer over the same parameters (torch would take Adam's state into SGD
    without a word, and fail at the first step), with finite values."""
    groups = saved.get("param_groups") if isinstance(saved, dict) else None
    if not (isinstance(groups, list) and isinstance(saved.get("state"), dict) and
            all(isinstance(g, dict) and isinstance(g.get("params"), list) for g in groups)):
        raise _not_this_lessons(path, "its optimizer state is not one torch writes")
    # Another kind of optimizer has settings this one does not know (Adam's betas in SGD); a
    # setting added by a newer torch is filled in by load_state_dict, so only extras count.
    extra = {key for group in groups for key in group} - {"params"} - set(optimizer.defaults)
    if extra:
        theirs = shorten(", ".join(map(str, sorted(extra, key=str))))
        raise _not_this_lessons(
            path, f"it holds the state of another optimizer (with the settings {theirs}, which "
                  f"this lesson's {type(optimizer).__name__} does not have)")
    if [len(g["params"]) for g in groups] != [len(g["params"]) for g in optimizer.param_groups]:
        raise _not_this_lessons(path, "its optimizer state is for a model with other parameters")
    safe_load.refuse_non_finite(saved, path, "optimizer state")
    try:
        optimizer.load_state_dict(saved)
    except (ValueError, KeyError, TypeError, RuntimeError) as err:
        raise _not_this_lessons(path, f"its optimizer state does not fit ({type(err).__name__}: "
                                      f"{shorten(err)})") from None
    missing = {key for group in optimizer.param_groups for key in optimizer.defaults
               if key not in group}
    if missing:  # the first step would fail on it
        raise _not_this_lessons(path, f"its optimizer state has no {', '.join(sorted(missing))}")


def _not_this_lessons(path: Path, why: str) -> CourseError:
    return CourseError(
        f"--resume: {path} cannot be used: {why}. It was not written by this lesson (or by "
        "another version of it). Nothing was changed; start a new run without --resume.",
        f"--resume：无法使用 {path}（{why}），它不是本课（这个版本）写的。没有改动任何文件；"
        "请去掉 --resume 重新训练。")


_EPOCH_FILE = re.compile(r"^tudui_(\d+)\.pth$")


def epoch_checkpoint_path(folder: str | os.PathLike, epoch_index: int) -> Path:
    """``<folder>/tudui_<i>.pth``, the course's name (tudui_0.pth is saved after the 1st epoch)."""
    return Path(folder) / f"tudui_{epoch_index}.pth"


def last_epoch_checkpoint(folder: str | os.PathLike) -> Path | None:
    """The highest-numbered ``tudui_<i>.pth`` in ``folder`` (None when there is none)."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _EPOCH_FILE.match(p.name))]
    return max(found)[1] if found else None


def remove_epoch_checkpoints(folder: str | os.PathLike) -> int:
    """Delete the ``tudui_<i>.pth`` files in ``folder`` (a new run starts); returns how many.

    A new run writes tudui_0.pth, tudui_1.pth, ... again; higher numbers left by an earlier,
    longer run would otherwise look like its newest checkpoints to ``--resume``.
    """
    folder = Path(folder)
    old = [p for p in folder.iterdir() if _EPOCH_FILE.match(p.name)] if folder.is_dir() else []
    for path in old:
        path.unlink()
    return len(old)


def newest_checkpoint(*folders: str | os.PathLike) -> Path | None:
    """The most recently written ``*.pth`` checkpoint in any of ``folders`` (None when none)."""
    files = [p for f in folders if Path(f).is_dir() for p in Path(f).glob("*.pth") if p.is_file()]
    return max(files, key=lambda p: (p.stat().st_mtime_ns, p.name)) if files else None


def save_state_dict(model: nn.Module, path: str | os.PathLike) -> Path:
    """``torch.save(model.state_dict(), path)`` (the course's method 2), written atomically:
    a temporary name, then a rename, so a crash never leaves half a checkpoint."""
    with atomic_file(path) as f:
        torch.save(model.state_dict(), f)
    return Path(path)


# --------------------------------------------------------------------------------------------
# The --resume file and the folder of a run

RESUME_FILE = "resume.pt"  # not *.pth: 32_test.py takes the newest *.pth as a model
_STALE_TEMPORARY = re.compile(r"^\.(tudui_\d+\.pth|resume\.pt|summary\.json)\..+\.tmp$")


def check_checkpoint_names(folder: str | os.PathLike) -> None:
    """A folder (or anything but a file) named like a checkpoint is a CourseError: the run
    could neither replace it nor read it."""
    folder = Path(folder)
    for path in folder.iterdir() if folder.is_dir() else []:
        if (_EPOCH_FILE.match(path.name) or path.name == RESUME_FILE) and not path.is_file():
            kind = "a folder" if path.is_dir() else "not a regular file"
            raise CourseError(
                f"{path} is {kind}, but this lesson keeps a checkpoint file under that name. "
                "Move or delete it, or train into another folder with --log-dir.",
                f"{path} 不是普通文件（例如是一个文件夹），而本课要用这个名字保存检查点。请移走或删除它，"
                "或者用 --log-dir 换一个文件夹。")


def remove_stale_temporary_files(folder: str | os.PathLike) -> int:
    """Delete ``.tudui_<i>.pth.*.tmp`` (and the like) left by runs killed while writing.

    Call it only while holding the folder's lock: a running run's temporary files are live."""
    folder = Path(folder)
    stale = [p for p in folder.iterdir() if _STALE_TEMPORARY.match(p.name) and p.is_file()] \
        if folder.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def read_resume_state(folder: Path, settings: dict) -> dict:
    """``<folder>/resume.pt`` (epoch, optimizer, step losses, history, settings), checked: a
    CourseError when it is missing, unreadable, or was written with other ``settings``."""
    path = folder / RESUME_FILE
    if not path.is_file():
        found = "checkpoints but no " + RESUME_FILE if last_epoch_checkpoint(folder) \
            else "no checkpoint"
        raise CourseError(
            f"--resume: {folder} has {found} yet (this lesson writes it after each epoch). "
            "Run without --resume first.",
            f"--resume：{folder} 里还没有可以继续的检查点（{RESUME_FILE}），请先不加 --resume 训练。")
    if safe_load.check_model_file(path) != "zip":  # bounded before torch reads it
        raise _unreadable_resume(path, "not a file torch.save writes today")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise _unreadable_resume(path, type(err).__name__) from None
    problem = _resume_state_problem(state)
    if problem:
        raise _not_this_lessons(path, problem)
    safe_load.refuse_non_finite(state, path, "training state")
    saved = state["settings"]
    changed = {k: (saved.get(k), v) for k, v in settings.items()
               if k in saved and saved.get(k) != v}
    if changed:
        listed = ", ".join(f"{k}: {shorten(old)} -> {new}" for k, (old, new) in changed.items())
        raise CourseError(
            f"--resume: {folder} was trained with other settings ({listed}). Resume with "
            "the same flags as the interrupted run, or start a new run without --resume.",
            f"--resume：{folder} 的训练设置不同（{listed}）。请用与中断那次相同的参数继续，"
            "或者去掉 --resume 重新训练。")
    return state


RESUME_ENTRIES = {"epoch": int, "optimizer": dict, "step_losses": list, "history": list,
                  "settings": dict}  # what write_resume_state writes, what --resume needs


def _resume_state_problem(state) -> str | None:
    """What keeps ``state`` (a loaded resume.pt) from being this lesson's, or None."""
    if not isinstance(state, dict):
        return f"it holds a {type(state).__name__}, not the dict this lesson writes"
    missing = [key for key in RESUME_ENTRIES if key not in state]
    if missing:
        return f"it has no {', '.join(missing)}"
    wrong = [f"{key} is a {type(state[key]).__name__}" for key, kind in RESUME_ENTRIES.items()
             if not isinstance(state[key], kind) or isinstance(state[key], bool)]
    if wrong:
        return ", ".join(wrong)
    if state["epoch"] < 1:
        return f"its epoch is {state['epoch']}"
    if not all(type(loss) in (int, float) for loss in state["step_losses"]):
        return "its step losses are not numbers"
    if not all(isinstance(past, dict) and {"epoch", "test_loss", "test_accuracy"} <= set(past)
               for past in state["history"]):
        return "its history is not a list of epochs"
    return None


def _unreadable_resume(path: Path, why: str) -> CourseError:
    return CourseError(
        f"--resume: {path} cannot be read ({why}): it is damaged or was not written by this "
        "lesson. Start a new run without --resume.",
        f"--resume：无法读取 {path}（已损坏或不是本课写的），请去掉 --resume 重新训练。")


def write_resume_state(folder: Path, **state) -> None:
    """``<folder>/resume.pt``, written atomically (``read_resume_state`` reads it back)."""
    with atomic_file(folder / RESUME_FILE) as f:
        torch.save(state, f)
