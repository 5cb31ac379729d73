"""Loading saved models without running code from the file: ``weights_only=True`` + an allow-list.

Every ``.pth`` this project reads goes through ``read_checkpoint``:

* a plain state_dict (``torch.save(tudui.state_dict(), ...)``, the course's method 2) and our
  older dict checkpoints (``{"model": state_dict, "optimizer": ..., ...}``) load with
  ``torch.load(..., weights_only=True)``: tensors, numbers, strings and containers only;
* a whole pickled ``Tudui`` (the course's method 1: ``torch.save(tudui, "tudui_{}.pth")``), which
  torch >= 2.6 refuses by default, loads with ``weights_only=True`` too, under
  ``torch.serialization.safe_globals``: the name the file gives its class (``__main__.Tudui``,
  ``model.Tudui``, ``model_save.Tudui``, ``train.Tudui``...) is mapped to ``PickledTudui`` below, a
  bare holder with no code of its own, and the course's layers (``COURSE_LAYERS``) are allowed.
  Any other global the file names (``os.system``, another class...) is refused before anything is
  created. Only the tensors are then taken out and copied into a freshly built ``Tudui``.

Both layouts of the course's model load: ``self.model`` (its model.py, P27-P32) and
``self.model1`` (P22); ``fit_weights`` renames the one prefix to the other when that makes the
keys match the model they go into.
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import torch
from torch import nn

from tudui.errors import CourseError
from tudui.models import Tudui

CLASS_NAME = "Tudui"
# The classes a pickled course Tudui is made of; their pickles need nothing else beyond what
# torch allows by default (OrderedDict, set, tensor and parameter rebuilding, storages).
COURSE_LAYERS = (nn.Sequential, nn.Conv2d, nn.MaxPool2d, nn.Flatten, nn.Linear)
KEY_PREFIXES = ("model.", "model1.")  # the course's model.py, and P22's Tudui
TRAINING_HINT = ("Use a checkpoint written by 27_train.py / 30_train_gpu.py (or saved with "
                 "model.state_dict(), method 2), or a whole-model file of the course's Tudui")


class PickledTudui(nn.Module):
    """What a pickled course ``Tudui`` is rebuilt as, whatever module the file names.

    Unpickling creates it with ``__new__`` and fills its attributes from the file (``nn.Module``'s
    own ``__setstate__``); it has no ``forward`` worth calling: ``read_checkpoint`` only takes the
    tensors out of it.
    """


def pickled_names(path: str | os.PathLike, class_name: str = CLASS_NAME) -> list[str]:
    """The names under which ``path`` pickled a class called ``class_name`` (``__main__.Tudui``,
    ``model.Tudui``...), found by reading the pickle's instructions, not by running them."""
    names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    return sorted(name for name in names if name.rpartition(".")[2] == class_name)


def course_allow_list(path: str | os.PathLike) -> list:
    """The allow-list for ``torch.serialization.safe_globals`` that loads a course Tudui file:
    ``(PickledTudui, name)`` for each name the file uses for its Tudui, then the layer classes."""
    return [(PickledTudui, name) for name in pickled_names(path)] + list(COURSE_LAYERS)


def _clean(err: Exception) -> str:
    """torch's error text on one line, without the colour codes some versions add."""
    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(err)).split())


def unreadable(path: Path, err: Exception) -> CourseError:
    """The CourseError for a file ``torch.load(weights_only=True)`` (with the allow-list) refused."""
    # torch's refusal mentions "weights_only" for every file it cannot unpickle, random bytes
    # included; only "Unsupported global: GLOBAL x.y" names a class or function in the file.
    text = _clean(err)
    pickled = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if pickled:
        layers = ", ".join(layer.__name__ for layer in COURSE_LAYERS)
        return CourseError(
            f"{path} is a whole pickled model or another pickled Python object (the course's save "
            f"method 1) that names {pickled.group(1)}, which is not on the allow-list of this "
            f"course (its Tudui and the layers {layers}). torch.load(weights_only=True) refused it "
            "before creating anything: unpickling a file can run any code hidden in it, so only "
            f"the course's own model is loaded from such files. {TRAINING_HINT}.",
            f"{path} 是整个模型（或其他 Python 对象）的 pickle（课程的保存方式1），其中记录了 "
            f"{pickled.group(1)}，它不在本课程的允许列表里（Tudui 及其层 {layers}）。"
            "torch.load(weights_only=True) 在创建任何对象之前就拒绝了它：反序列化可能执行文件里的任意代码，"
            "所以这类文件只加载课程自己的模型。请使用 27/30 课保存的模型文件（保存方式2），或课程 Tudui 的整个模型文件。")
    if "deserialize object on a CUDA device" in text:  # saved on a GPU, loaded without map_location
        return CourseError(
            f"{path} was saved on a GPU and this computer has none (CUDA is not available). Load "
            "it with map_location=torch.device('cpu'), as the course does in P32.",
            f"{path} 是在 GPU 上保存的，而这台电脑没有可用的 GPU。"
            "请加 map_location=torch.device('cpu') 加载（课程 P32 的写法）。")
    # torch's own explanation, shortened to whole sentences: the unpickler's reason, else the
    # first sentence ("PytorchStreamReader failed reading zip archive: ... directory.")
    detail = re.search(r"WeightsUnpickler error: (.+?)(?: Check the documentation|$)", text)
    detail = detail.group(1) if detail else text
    sentence = re.match(r".+?[.!?](?=\s|$)", detail)
    detail = (sentence.group(0) if sentence else detail).rstrip(".")
    if len(detail) > 200:
        detail = detail[:200].rsplit(" ", 1)[0] + " ..."
    cause = f"{type(err).__name__}: {detail}" if detail else type(err).__name__
    return CourseError(
        f"{path} is not a checkpoint that can be read ({cause}). It is truncated or damaged (for "
        "example by an interrupted copy or download), or it is not a file written by torch.save "
        "at all. Delete it and train again, or use another checkpoint file.",
        f"无法读取模型文件 {path}：文件不完整或已损坏（例如复制、下载被中断），或者根本不是 torch.save "
        "保存的文件。请删除后重新训练，或换一个模型文件。")


def _module_tensors(module: nn.Module, path: Path, prefix: str = "") -> dict[str, torch.Tensor]:
    """The parameters and buffers of an unpickled module, read from its attribute dicts only
    (no method of the module is called, so nothing the file set up can run)."""
    fields = vars(module)
    tensors = {}
    for group in ("_parameters", "_buffers", "_modules"):
        items = fields.get(group) or {}
        if not isinstance(items, dict):
            raise CourseError(f"{path} holds a damaged {CLASS_NAME} ({prefix}{group} is a "
                              f"{type(items).__name__}). {TRAINING_HINT}.",
                              f"{path} 中的 {CLASS_NAME} 模型已损坏，请换一个模型文件。")
        for name, value in items.items():
            if value is None:
                continue
            if group == "_modules" and isinstance(value, nn.Module):
                tensors.update(_module_tensors(value, path, f"{prefix}{name}."))
            elif group != "_modules" and isinstance(value, torch.Tensor):
                tensors[f"{prefix}{name}"] = value.detach()
            else:
                raise CourseError(f"{path} holds a damaged {CLASS_NAME} ({prefix}{name} is a "
                                  f"{type(value).__name__}). {TRAINING_HINT}.",
                                  f"{path} 中的 {CLASS_NAME} 模型已损坏，请换一个模型文件。")
    return tensors


def _load_whole_tudui(path: Path, map_location, names: list[str]) -> dict:
    """A course method-1 file: weights_only=True with the allow-list, then only its tensors."""
    try:
        with torch.serialization.safe_globals(course_allow_list(path)):
            model = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # a global off the list, a damaged file: nothing was run
        raise unreadable(path, err) from None
    if type(model) is not PickledTudui:  # e.g. {"net": tudui} or [tudui]: not the course's file
        raise CourseError(
            f"{path} names {names[0]} but holds a {type(model).__name__}, not a whole {CLASS_NAME} "
            f"model. {TRAINING_HINT}.",
            f"{path} 中记录了 {names[0]}，但保存的不是整个 {CLASS_NAME} 模型，请换一个模型文件。")
    weights = _module_tensors(model, path)
    return {"model": weights, "format": f"whole model (method 1, pickled as {names[0]})",
            "pickled_as": names[0]}


def existing_file(path: str | os.PathLike) -> Path:
    """``path`` made absolute (a relative one is read from the current folder), or a CourseError
    when it is missing or a folder."""
    path = Path(path).expanduser().absolute()
    if path.is_dir():
        raise CourseError(f"{path} is a folder, not a checkpoint file. Pass the .pth file itself "
                          "(for example tudui_9.pth inside it) with --checkpoint.",
                          f"{path} 是一个文件夹，不是模型文件。请用 --checkpoint 指定其中的 .pth 文件。")
    if not path.is_file():
        raise CourseError(f"checkpoint {path} does not exist. Train first (python src/27_train.py) "
                          "or pass the right file with --checkpoint.",
                          f"找不到模型文件 {path}，请先运行训练课（python src/27_train.py）。")
    return path


def read_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read any model file of the course or this project, without running code from it.

    Returns a dict whose ``"model"`` is the weights (a state_dict, not yet renamed for a model),
    ``"format"`` says which kind of file it was, and, for our training checkpoints, their other
    entries (``optimizer``, ``epoch``...). ``map_location`` as in ``torch.load`` (the course:
    ``map_location=torch.device('cpu')`` for a model trained on a GPU). Every problem is a
    CourseError that names the file.
    """
    path = existing_file(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:  # a pickled class: the course's whole Tudui, or not
        names = pickled_names(path) if "Unsupported global" in _clean(err) else []
        if not names:
            raise unreadable(path, err) from None
        return _load_whole_tudui(path, map_location, names)
    except Exception as err:  # truncated, random bytes, not a torch.save file, unreadable ...
        raise unreadable(path, err) from None
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        return {**state, "format": "checkpoint dict"}  # {"model": state_dict, "optimizer": ...}
    if not isinstance(state, dict):
        raise CourseError(
            f"{path} holds a {type(state).__name__}, not a state_dict (a dict of parameter "
            f"names and tensors). {TRAINING_HINT}.",
            f"{path} 中没有 state_dict（参数名到张量的字典），请使用 27/30 课保存的模型文件。")
    return {"model": state, "format": "state_dict (method 2)"}


def rename_course_keys(weights: dict, expected_keys) -> dict:
    """``weights`` with the course's ``model.`` / ``model1.`` prefix swapped when that makes its
    keys those of the model they go into (the two layouts have the same layers); else unchanged."""
    expected = set(expected_keys)
    if set(weights) == expected:
        return weights
    for old in KEY_PREFIXES:
        for new in KEY_PREFIXES:
            renamed = {(new + key[len(old):] if key.startswith(old) else key): value
                       for key, value in weights.items()}
            if old != new and set(renamed) == expected:
                return renamed
    return weights


def fit_weights(path: str | os.PathLike, weights: dict, model: nn.Module) -> dict:
    """``weights`` renamed for ``model`` and checked: every key present, every shape right.

    A mismatch is a CourseError naming the file and the keys, instead of load_state_dict's
    traceback."""
    not_tensors = [f"{k!r} -> {type(v).__name__}" for k, v in weights.items()
                   if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if not_tensors:  # e.g. {"conv1.weight": 3}: load_state_dict would fail on .shape
        listed = ", ".join(not_tensors[:5]) + (" ..." if len(not_tensors) > 5 else "")
        raise CourseError(
            f"{path} is not a state_dict checkpoint: a state_dict maps parameter names to "
            f"tensors, but it holds {listed}. {TRAINING_HINT}.",
            f"{path} 不是 state_dict（参数名 -> 张量），其中有 {listed}。请使用 27/30 课保存的模型文件。")
    expected = model.state_dict()
    weights = rename_course_keys(weights, expected)
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    wrong_shape = sorted(k for k in set(expected) & set(weights)
                         if expected[k].shape != weights[k].shape)
    if missing or unexpected or wrong_shape:
        def show(keys):
            more = f" (+{len(keys) - 5} more)" if len(keys) > 5 else ""
            return ", ".join(keys[:5]) + more or "none"
        raise CourseError(
            f"{path} was saved from a different architecture than {type(model).__name__}: "
            f"missing keys: {show(missing)}; unexpected keys: {show(unexpected)}; "
            f"keys with another shape: {show(wrong_shape)}. Use a checkpoint written for this model.",
            f"{path} 与模型 {type(model).__name__} 的结构不一致，请换用对应的模型文件。")
    return weights


def load_tudui(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> nn.Module:
    """The course's ``model = torch.load("tudui_29_gpu.pth", map_location=...)``, made safe.

    Accepts a whole pickled Tudui (either layout, any class name), a plain state_dict (either
    prefix) or our dict checkpoints; returns a fresh ``tudui.models.Tudui`` holding the weights,
    on ``map_location``'s device.
    """
    state = read_checkpoint(path, map_location)
    model = Tudui()
    model.load_state_dict(fit_weights(Path(path).absolute(), state["model"], model))
    return model.to(next(iter(state["model"].values())).device)
