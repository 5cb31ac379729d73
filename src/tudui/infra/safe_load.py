"""Loading saved models without running code from the file: ``weights_only=True`` + an allow-list.

Every model file this project reads from a learner's folders (checkpoints, saved models,
``resume.pt``) is first checked by ``check_model_file`` (below); the pretrained VGG16 weights of
lesson 25 are checked by their sha256 instead. Lessons 26 (``26_model_load.py``) and 32
(``32_test.py``) then show the video's own ``torch.load``; every other reader (``load_tudui``,
``checkpoints.load_checkpoint``, 32's fallback for other layouts) goes through
``read_checkpoint``:

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

Before torch reads a byte, ``check_model_file`` bounds what the file can make us allocate: the
sizes its zip archive declares (a 6 MB "zip bomb" once declared 6 GB) against the file's own size
and ``MAX_MODEL_BYTES``, its pickle's nesting and lengths (``pickle_scan``: a tuple nested
200,000 deep crashed torch's unpickler), and what the pickle calls: only torch.save's rebuild
functions (``may_call``; a layer class that an allow-list lets through is restored, never called
with sizes from the file). Files in torch's legacy format (torch < 1.6) are read
by ``legacy_pth`` under the same allow-list. The weights that come out are plain, dense tensors
(no meta, sparse or quantized ones) and, where ``refuse_non_finite`` is called, finite.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import warnings
import zipfile
from pathlib import Path

import torch
from torch import nn

from tudui.errors import CourseError, shorten
from tudui.infra.legacy_pth import LegacyReader, is_legacy
from tudui.infra.pickle_scan import PickleRefused, scan_pickle
from tudui.models import Tudui

CLASS_NAME = "Tudui"
# The classes a pickled course Tudui is made of; their pickles need nothing else beyond what
# torch allows by default (OrderedDict, set, tensor and parameter rebuilding, storages).
COURSE_LAYERS = (nn.Sequential, nn.Conv2d, nn.MaxPool2d, nn.Flatten, nn.Linear)
KEY_PREFIXES = ("model.", "model1.")  # the course's model.py, and P22's Tudui
TRAINING_HINT = ("Use a checkpoint written by 27_train.py / 30_train_gpu.py (or saved with "
                 "model.state_dict(), method 2), or a whole-model file of the course's Tudui")
# What a model file may make us allocate: a course model is at most VGG16 (528 MB), 1.1 GB with
# its optimizer's state; its pickle (not its tensors) nests about 8 deep and holds a few
# hundred containers and objects.
MAX_MODEL_BYTES = 2_000_000_000
MAX_PICKLE_DEPTH = 64
MAX_PICKLE_OBJECTS = 200_000
MAX_MODULE_DEPTH = 32  # modules inside modules: the course's Tudui has 2 levels
# What torch.save's pickles call while loading: the functions that rebuild a tensor from a
# storage in the zip (dense, sparse, nested, on another device), a meta tensor (no memory) or a
# parameter, and containers and small values. The odd kinds are refused after loading
# (``_odd_tensor``); a quantized tensor is allocated at the size its file declares before that
# (torch's own _rebuild_qtensor; a bound we do not add). Anything else that torch or an
# allow-list lets through (a layer class of 26 and 32, torch.Tensor(10**5, 10**5),
# bytearray(10**10)) could be called with numbers that allocate gigabytes: see ``may_call``.
TORCH_SAVE_CALLS = frozenset({
    "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v3", "torch._utils._rebuild_sparse_tensor",
    "torch._utils._rebuild_nested_tensor", "torch._utils._rebuild_device_tensor_from_cpu_tensor",
    "torch._utils._rebuild_meta_tensor_no_storage", "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
    "collections.OrderedDict", "builtins.set", "torch.Size", "torch.device",
    "torch.serialization._get_layout", "_codecs.encode", "builtins.complex",
    "__builtin__.set", "__builtin__.complex"})  # pickle protocol 2 spells builtins so


class PickledTudui(nn.Module):
    """What a pickled course ``Tudui`` is rebuilt as, whatever module the file names.

    Unpickling creates it with ``__new__`` and fills its attributes from the file (``nn.Module``'s
    own ``__setstate__``); it has no ``forward`` worth calling: ``read_checkpoint`` only takes the
    tensors out of it. It cannot be called: a file may restore it, not construct it.
    """

    def __init__(self, *args, **kwargs):
        raise pickle.UnpicklingError(f"the file calls {type(self).__name__} instead of restoring it")


class PickledLayer(PickledTudui):
    """What each of the course's layers (``COURSE_LAYERS``) in such a file is rebuilt as: a
    holder too. The real class would let a file call ``Conv2d(3, 100000, 100)`` (gigabytes of
    weights from a few bytes)."""


def may_call(name: str) -> bool:
    """Whether a model file's pickle may call ``name`` while loading (``check_model_file``).

    torch.save's own calls (TORCH_SAVE_CALLS) may; so may names that neither torch nor an
    allow-list of this course lets through (``builtins.exec``...): torch.load refuses those
    itself before anything is called, and its message names them (``unreadable``). Refused:
    a call of anything else torch could let through, i.e. anything of torch's or torchvision's
    (layers, tensor and storage classes), a class ``Tudui``, and a ``bytearray``."""
    if name in TORCH_SAVE_CALLS:
        return True
    loadable = name.startswith(("torch.", "torchvision.")) or \
        name.rpartition(".")[2] in (CLASS_NAME, "bytearray")
    return not loadable


def _layer_names() -> list[str]:
    return [f"{layer.__module__}.{layer.__qualname__}" for layer in COURSE_LAYERS]


def pickled_names(path: str | os.PathLike, class_name: str = CLASS_NAME) -> list[str]:
    """The names under which ``path`` pickled a class called ``class_name`` (``__main__.Tudui``,
    ``model.Tudui``...), found by reading the pickle's instructions, not by running them.
    Files in the legacy format too; an unreadable file has none."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(4)
        if is_legacy(head):
            names = LegacyReader(path.read_bytes(), MAX_PICKLE_DEPTH, MAX_PICKLE_OBJECTS).names()
        else:
            names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except (OSError, ValueError, RuntimeError, pickle.UnpicklingError):
        return []  # not a torch file: read_checkpoint says what is wrong with it
    return sorted({name for name in names if name.rpartition(".")[2] == class_name})


def course_allow_list(path: str | os.PathLike) -> list:
    """The allow-list for ``torch.serialization.safe_globals`` that loads a course Tudui file:
    ``(PickledTudui, name)`` for each name the file uses for its Tudui, then the layer classes'
    names, each restored as a ``PickledLayer``."""
    return [(PickledTudui, name) for name in pickled_names(path)] + \
        [(PickledLayer, name) for name in _layer_names()]


def _too_large(path: Path, declared: int, size: int) -> CourseError:
    limit = f"{MAX_MODEL_BYTES / 1e9:g} GB"
    return CourseError(
        f"{path} declares {declared / 1e6:,.1f} MB of data in a file of {size / 1e6:,.1f} MB, "
        f"more than the file holds or than a model of this course needs (at most {limit}; "
        "VGG16 is 528 MB). A file like this (a \"zip bomb\") is made to fill the memory, so it "
        f"was not loaded. {TRAINING_HINT}.",
        f"{path} 声明了 {declared / 1e6:,.1f} MB 数据，而文件本身只有 {size / 1e6:,.1f} MB，"
        f"超过了文件的实际大小或本课程模型所需（最多 {limit}；VGG16 为 528 MB）。这种文件（\"zip 炸弹\"）"
        "是用来占满内存的，所以没有加载。请使用 27/30 课保存的模型文件。")


def _refused_pickle(path: Path, err: PickleRefused) -> CourseError:
    return CourseError(
        f"{path} is not a checkpoint that can be read safely: its pickle has {err}. torch.save "
        "never writes that; a file like this is made to crash Python or fill the memory, so it "
        f"was not loaded. {TRAINING_HINT}.",
        f"{path} 不能安全读取：其中的 pickle 数据异常（{err}）。torch.save 不会写出这样的文件，"
        "这种文件是用来让 Python 崩溃或占满内存的，所以没有加载。请使用 27/30 课保存的模型文件。")


def check_model_file(path: Path) -> str:
    """Bound what loading ``path`` may allocate, before torch reads it; returns its format:
    "zip" (torch >= 1.6), "legacy" (read by ``read_legacy``) or "other" (torch will say).

    A zip archive may not declare more bytes than the file holds (torch stores its tensors
    uncompressed, so only a crafted file expands) nor more than MAX_MODEL_BYTES; its pickle
    (``data.pkl``) is scanned for nesting and lengths. A CourseError says what was refused."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(4)
    if is_legacy(head):
        return "legacy"  # read_legacy bounds its storages against the file's size as it reads
    if head != b"PK\x03\x04":
        return "other"
    try:
        with zipfile.ZipFile(path) as archive:
            records = archive.infolist()
            declared = sum(record.file_size for record in records)
            if declared > size or declared > MAX_MODEL_BYTES:
                raise _too_large(path, declared, size)
            for record in records:
                if record.filename.rpartition("/")[2] == "data.pkl":
                    scan_pickle(archive.read(record), max_depth=MAX_PICKLE_DEPTH,
                                max_objects=MAX_PICKLE_OBJECTS, may_call=may_call)
    except PickleRefused as err:
        raise _refused_pickle(path, err) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError,
            RuntimeError):
        return "other"  # damaged: torch.load's own error says so (``unreadable``)
    return "zip"


def read_legacy(path: Path, map_location) -> dict:
    """A file in torch's legacy format, as ``read_checkpoint`` returns it."""
    reader = LegacyReader(path.read_bytes(), MAX_PICKLE_DEPTH, MAX_PICKLE_OBJECTS)
    try:
        tudui_names = sorted({n for n in reader.names() if n.rpartition(".")[2] == CLASS_NAME})
        classes = {**{name: PickledTudui for name in tudui_names},
                   **{name: PickledLayer for name in _layer_names()}}
        state = reader.read(classes)
    except PickleRefused as err:
        raise _refused_pickle(path, err) from None
    except Exception as err:  # a global off the list, a damaged file: nothing was run
        raise unreadable(path, err) from None
    if isinstance(state, PickledTudui):
        weights = _module_tensors(state, path)
        found = {"model": weights, "format": f"whole model (method 1, legacy format, pickled as "
                                               f"{shorten(tudui_names[0])})",
                 "pickled_as": tudui_names[0]}
    else:
        found = _as_checkpoint(path, state)
        found["format"] += ", legacy format"
    if map_location is not None:
        found["model"] = {k: v.to(map_location) if isinstance(v, torch.Tensor) else v
                          for k, v in found["model"].items()}
    return found


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
        name = shorten(pickled.group(1))
        layers = ", ".join(layer.__name__ for layer in COURSE_LAYERS)
        return CourseError(
            f"{path} is a whole pickled model or another pickled Python object (the course's save "
            f"method 1) that names {name}, which is not on the allow-list of this "
            f"course (its Tudui and the layers {layers}). torch.load(weights_only=True) refused it "
            "before creating anything: unpickling a file can run any code hidden in it, so only "
            f"the course's own model is loaded from such files. {TRAINING_HINT}.",
            f"{path} 是整个模型（或其他 Python 对象）的 pickle（课程的保存方式1），其中记录了 "
            f"{name}，它不在本课程的允许列表里（Tudui 及其层 {layers}）。"
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


def _damaged_model(path: Path, what: str) -> CourseError:
    return CourseError(f"{path} holds a damaged {CLASS_NAME} ({shorten(what)}). {TRAINING_HINT}.",
                       f"{path} 中的 {CLASS_NAME} 模型已损坏，请换一个模型文件。")


def _module_tensors(model: nn.Module, path: Path) -> dict[str, torch.Tensor]:
    """The parameters and buffers of an unpickled module and the modules inside it, read from
    their attribute dicts only (no method of a module is called, so nothing the file set up can
    run), without recursion: a module inside itself, or nested thousands deep, is a CourseError."""
    tensors = {}
    seen: set[int] = set()
    pending = [(model, "")]
    while pending:
        module, prefix = pending.pop()
        if id(module) in seen:  # a cycle (or one layer at two places): torch.save never does it
            raise _damaged_model(path, f"{prefix.rstrip('.')} is a module it already holds")
        if prefix.count(".") > MAX_MODULE_DEPTH:
            raise _damaged_model(path, f"modules nested more than {MAX_MODULE_DEPTH} deep")
        seen.add(id(module))
        fields = vars(module)
        inside = []
        for group in ("_parameters", "_buffers", "_modules"):
            items = fields.get(group) or {}
            if not isinstance(items, dict):
                raise _damaged_model(path, f"{prefix}{group} is a {type(items).__name__}")
            for name, value in items.items():
                if value is None:
                    continue
                if group == "_modules" and isinstance(value, nn.Module):
                    inside.append((value, f"{prefix}{name}."))
                elif group != "_modules" and isinstance(value, torch.Tensor):
                    tensors[f"{prefix}{name}"] = value.detach()
                else:
                    raise _damaged_model(path, f"{prefix}{name} is a {type(value).__name__}")
        pending.extend(reversed(inside))  # in order, as state_dict() lists them
    return tensors


def _load_whole_tudui(path: Path, map_location, names: list[str]) -> dict:
    """A course method-1 file: weights_only=True with the allow-list, then only its tensors."""
    try:
        with torch.serialization.safe_globals(course_allow_list(path)), _quiet_torch_load():
            model = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # a global off the list, a damaged file: nothing was run
        raise unreadable(path, err) from None
    name = shorten(names[0])
    if type(model) is not PickledTudui:  # e.g. {"net": tudui} or [tudui]: not the course's file
        raise CourseError(
            f"{path} names {name} but holds a {type(model).__name__}, not a whole {CLASS_NAME} "
            f"model. {TRAINING_HINT}.",
            f"{path} 中记录了 {name}，但保存的不是整个 {CLASS_NAME} 模型，请换一个模型文件。")
    weights = _module_tensors(model, path)
    return {"model": weights, "format": f"whole model (method 1, pickled as {name})",
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
    if check_model_file(path) == "legacy":
        return read_legacy(path, map_location)
    try:
        with _quiet_torch_load():
            state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:  # a pickled class: the course's whole Tudui, or not
        names = pickled_names(path) if "Unsupported global" in _clean(err) else []
        if not names:
            raise unreadable(path, err) from None
        return _load_whole_tudui(path, map_location, names)
    except Exception as err:  # truncated, random bytes, not a torch.save file, unreadable ...
        raise unreadable(path, err) from None
    return _as_checkpoint(path, state)


@contextlib.contextmanager
def _quiet_torch_load():
    """torch.load's own warnings (on sparse or quantized tensors, which fit_weights then
    refuses with a paragraph) left out: the paragraph says what matters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _as_checkpoint(path: Path, state) -> dict:
    """What ``read_checkpoint`` returns for a file that held ``state``."""
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


def _odd_tensor(value: torch.Tensor) -> str | None:
    """What is wrong with a loaded tensor as model weights, or None: weights are plain, dense
    tensors with data (torch.load also rebuilds meta, sparse and quantized ones, which
    load_state_dict then fails on, or copies without a word)."""
    if type(value) not in (torch.Tensor, nn.Parameter):
        return f"a {type(value).__name__}"
    if value.is_meta:
        return "a meta tensor, which has a shape but no values"
    if value.layout != torch.strided:
        return f"a {str(value.layout).replace('torch.', '')} tensor"
    if value.is_quantized:
        return "a quantized tensor"
    if value.is_complex():
        return "a complex tensor"
    return None


def fit_weights(path: str | os.PathLike, weights: dict, model: nn.Module) -> dict:
    """``weights`` renamed for ``model`` and checked: every key present, every shape right,
    every tensor a plain, dense one.

    A mismatch is a CourseError naming the file and the keys, instead of load_state_dict's
    traceback."""
    not_tensors = [f"{shorten(k)!r} -> {type(v).__name__}" for k, v in weights.items()
                   if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if not_tensors:  # e.g. {"conv1.weight": 3}: load_state_dict would fail on .shape
        listed = ", ".join(not_tensors[:5]) + (" ..." if len(not_tensors) > 5 else "")
        raise CourseError(
            f"{path} is not a state_dict checkpoint: a state_dict maps parameter names to "
            f"tensors, but it holds {listed}. {TRAINING_HINT}.",
            f"{path} 不是 state_dict（参数名 -> 张量），其中有 {listed}。请使用 27/30 课保存的模型文件。")
    odd = [f"{shorten(k)} is {why}" for k, v in weights.items() if (why := _odd_tensor(v))]
    if odd:
        listed = "; ".join(odd[:3]) + (f" (+{len(odd) - 3} more)" if len(odd) > 3 else "")
        raise CourseError(
            f"{path} does not hold plain weights: {listed}. Model weights are ordinary tensors "
            f"with values, as model.state_dict() saves them. {TRAINING_HINT}.",
            f"{path} 中不是普通的模型权重（{listed}）。权重应是 model.state_dict() 保存的普通张量。"
            "请使用 27/30 课保存的模型文件。")
    expected = model.state_dict()
    weights = rename_course_keys(weights, expected)
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    wrong_shape = sorted(k for k in set(expected) & set(weights)
                         if expected[k].shape != weights[k].shape)
    if missing or unexpected or wrong_shape:
        def show(keys):
            more = f" (+{len(keys) - 5} more)" if len(keys) > 5 else ""
            return ", ".join(map(shorten, keys[:5])) + more or "none"
        raise CourseError(
            f"{path} was saved from a different architecture than {type(model).__name__}: "
            f"missing keys: {show(missing)}; unexpected keys: {show(unexpected)}; "
            f"keys with another shape: {show(wrong_shape)}. Use a checkpoint written for this model.",
            f"{path} 与模型 {type(model).__name__} 的结构不一致，请换用对应的模型文件。")
    return weights


def _numbers(value, name: str = ""):
    """(name, tensor or float) for every tensor and float in ``value`` (a model, a state_dict,
    an optimizer's state, a list of losses...), with the name it has inside."""
    if isinstance(value, nn.Module):
        value = value.state_dict()
    if isinstance(value, (torch.Tensor, float)):
        yield name, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, f"{name}.{key}" if name else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _numbers(item, f"{name}[{index}]")


def refuse_non_finite(value, path: str | os.PathLike, what: str = "weights") -> None:
    """A CourseError when ``value`` (a model, its state_dict, an optimizer's or a resume
    file's state) holds NaN or infinity: a run whose loss became nan saved it, and a model with
    such weights still "predicts" a class, with nan% certainty."""
    bad = [name for name, number in _numbers(value) if not (
        torch.isfinite(number).all() if isinstance(number, torch.Tensor)
        else abs(number) < float("inf"))]
    if bad:
        listed = ", ".join(map(shorten, bad[:3])) + (f" (+{len(bad) - 3} more)" if len(bad) > 3 else "")
        raise CourseError(
            f"{path} holds NaN or infinite {what} (in {listed}): the training that wrote it "
            "diverged (its loss became nan, for example with a learning rate too high), so "
            "nothing it computes means anything. Train again (with a smaller --lr), or use a "
            "checkpoint from before the loss became nan (a tudui_<i>.pth with a smaller i).",
            f"{path} 中的{'权重' if what == 'weights' else '状态'}含有 NaN 或无穷大（{listed}）："
            "写出它的训练已经发散（loss 变成了 nan，例如学习率太大），用它算出的结果没有意义。"
            "请重新训练（用更小的 --lr），或使用 loss 变成 nan 之前的检查点（编号更小的 tudui_<i>.pth）。")


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
