"""Files that try to crash, flood or fool the loaders: crafted CIFAR-10 pickles (with a re-signed
stand-in marker), model files that are zip bombs, in torch's legacy format, hold odd tensors,
NaN weights or cyclic modules, resume files of another shape; and the terminal around a lesson
(a full disk under TensorBoard's writer thread, a closed pipe, megabyte strings in messages).
Each case: one clear paragraph (exit 2) or a clean stop, never a traceback or a crash."""

from __future__ import annotations

import errno
import hashlib
import os
import pickle
import shutil
import struct
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import load_lesson
from tudui import data, models
from tudui.data import CIFAR10_CLASSES
from tudui.errors import CourseError
from tudui.infra import checkpoints, cifar10_files, legacy_pth, markers, safe_load
from tudui.infra.cifar10_files import CIFAR10_DIR, CIFAR10_FILES
from tudui.infra.cifar10_stand_in import write_synthetic_cifar10
from tudui.infra.hymenoptera_files import write_synthetic_hymenoptera
from tudui.infra.markers import SYNTHETIC_MARKER
from tudui.infra.pickle_scan import PickleRefused, scan_pickle
from tudui.paths import SRC_DIR


def _err(capsys) -> str:
    return " ".join(capsys.readouterr().err.split())


def _exit_code(main, argv) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return info.value.code


# ---------------------------------------------------------------- CIFAR-10 pickles

@pytest.fixture
def stand_in(tmp_path) -> Path:
    root = tmp_path / "dataset"
    write_synthetic_cifar10(root, 20, 10)
    return root


def plant(root: Path, name: str, raw: bytes) -> None:
    """Put ``raw`` in place of ``name`` and re-sign the stand-in's marker with its true size and
    sha256, as someone crafting the folder would: the hash check then vouches for the file."""
    folder = root / CIFAR10_DIR
    (folder / name).write_bytes(raw)
    text = (folder / SYNTHETIC_MARKER).read_text("utf-8")
    what, seed = text.split("stand-in for ")[1].split(", generated with seed ")
    files = {n: ((folder / n).stat().st_size, hashlib.sha256((folder / n).read_bytes()).hexdigest())
             for n in CIFAR10_FILES}
    markers.write_marker(folder, what, int(seed.split()[0]), files=files)


def _binunicode(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


CRAFTED_PICKLES = {
    # a dict whose key is a tuple nested 200,000 deep: hashing it overflowed the C stack (SIGSEGV)
    "deep tuple key": (b"\x80\x02}K\x00" + b"\x85" * 200_000 + b"K\x01s.",
                       "containers nested more than 32 deep"),
    # a label of 6,000 digits (LONG1): printing it in a message raised ValueError
    "6000-digit label": (b"\x80\x02}(" + _binunicode("data") + b"N" + _binunicode("labels") +
                         b"](\x8b" + struct.pack("<i", 2492) + b"\x01" * 2492 + b"eu.",
                         "an integer of 2,492 bytes"),
    "5000-digit text int": (b"\x80\x02}(" + _binunicode("x") + b"L" + b"9" * 5000 + b"L\nu.",
                            "an integer written with 5,001 digits"),
    # protocol 5 BYTEARRAY8 declaring 4 EiB in a 100-byte file: MemoryError, or gigabytes
    "huge bytearray8": (b"\x80\x05\x96" + struct.pack("<Q", 2 ** 62) + b"x" * 100 + b".",
                        "a length of 4,611,686,018,427,387,904 bytes where only 101 are left"),
    # a memo slot numbered 2**31: the unpickler would reserve 16 GB of memo for it
    "far memo slot": (b"\x80\x02}r" + struct.pack("<I", 2 ** 31) + b".",
                      "memo slot 2,147,483,648 while only 0 are in use"),
    # numpy.ndarray called directly: a 9 GB array from 20 bytes
    "ndarray call": (b"\x80\x02cnumpy\nndarray\nJ\xc0\xc6-\x00M\x00\x0c\x86\x85R.",
                     "TypeError"),
    # an object array with fewer items than its shape: numpy's own __setstate__ crashes on it
    "object array": (pickle.dumps({"data": np.array([1, 2], dtype=object)}, protocol=2),
                     "an array state that numpy does not write"),
}


@pytest.mark.parametrize("case", list(CRAFTED_PICKLES))
def test_a_crafted_cifar_pickle_is_damaged_not_a_crash(stand_in, tmp_path, capsys, case):
    raw, why = CRAFTED_PICKLES[case]
    plant(stand_in, "test_batch", raw)
    with pytest.raises(CourseError) as info:
        data.CIFAR10(stand_in, train=False)
    message = info.value.en
    assert "damaged (cannot be read): test_batch" in message and why in message, message
    assert "00_prepare_data.py --synthetic" in message and len(message) < 1000
    lesson = load_lesson("14_dataset_transform").main
    assert _exit_code(lesson, ["--data-root", str(stand_in), "--log-dir", str(tmp_path / "l"),
                               "--quick"]) == 2
    assert "Traceback" not in _err(capsys)


def test_cifar_messages_cut_long_strings_from_the_file(stand_in):
    plant(stand_in, "batches.meta", pickle.dumps({"k" * 3_000_000: 1}, protocol=2))
    with pytest.raises(CourseError) as info:
        data.CIFAR10(stand_in, train=False)
    assert "found: " + "k" * 200 + "…" in info.value.en and len(info.value.en) < 1000


def test_the_scan_bounds_but_accepts_every_real_pickle():
    import collections

    values = [1, -5, 2 ** 70, "x", b"y", bytearray(b"z"), 1.5, None, True, [1, [2, (3,)]],
              {"a": {1: (2, 3)}}, {1, 2}, frozenset([1]), (), collections.OrderedDict(a=1),
              np.arange(5), list(range(3000)), {i: str(i) for i in range(1500)}]
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        raw = pickle.dumps(values, protocol=protocol)
        assert scan_pickle(raw)[0] == len(raw)
    raw = pickle.dumps([[[[[1]]]]], protocol=2)
    with pytest.raises(PickleRefused, match="nested more than 4 deep"):
        scan_pickle(raw, max_depth=4)
    with pytest.raises(PickleRefused, match="more than 10 containers"):
        scan_pickle(pickle.dumps([[] for _ in range(20)], protocol=2), max_objects=10)


def test_real_and_stand_in_batches_still_load_unchanged(stand_in):
    """The stand-ins as written, and the real files' Python 2 layout (see test_data_safety)."""
    folder = stand_in / CIFAR10_DIR
    expected = pickle.loads((folder / "data_batch_1").read_bytes(), encoding="latin1")
    loaded = cifar10_files.restricted_unpickle((folder / "data_batch_1").read_bytes())
    assert type(loaded["data"]) is np.ndarray and loaded["data"].dtype == np.uint8
    assert np.array_equal(loaded["data"], expected["data"]) and loaded["labels"] == expected["labels"]
    labels = np.array([1, 2, 3], dtype=np.int64)  # some copies keep labels as an array
    assert np.array_equal(cifar10_files.restricted_unpickle(pickle.dumps(labels, protocol=2)), labels)


# ---------------------------------------------------------------- model files

class Tudui(torch.nn.Module):
    """The course's model.py layout, defined here as a learner's script does: its files name
    ``test_load_safety.Tudui``."""

    def __init__(self):
        super().__init__()
        self.model = models.Tudui().model

    def forward(self, x):
        return self.model(x)


def _outputs(model) -> torch.Tensor:
    torch.manual_seed(1)
    with torch.no_grad():
        return model.eval()(torch.rand(2, 3, 32, 32))


def _32(tmp_path, checkpoint, *, wrapped=False):
    """32_test on one picture of our own (no CIFAR-10 needed) with ``checkpoint``."""
    picture = tmp_path / "picture.png"
    Image.new("RGB", (40, 30), (200, 30, 30)).save(picture)
    main = load_lesson("32_test").main
    return (main.__wrapped__ if wrapped else main)(
        ["--log-dir", str(tmp_path / "logs"), "--device", "cpu", "--checkpoint", str(checkpoint),
         "--image", str(picture)])


@pytest.mark.parametrize("whole", [True, False], ids=["whole Tudui", "state_dict"])
def test_legacy_format_files_load_safely(tmp_path, capsys, whole):
    """torch < 1.6's format (many 2020-era copies of tudui_29_gpu.pth): the whole model used to
    stop 32, 27 --resume and 26 with a ValueError traceback from the checkpoint scanner."""
    torch.manual_seed(0)
    tudui = Tudui()
    path = tmp_path / "tudui_29_gpu.pth"
    torch.save(tudui if whole else tudui.state_dict(), path, _use_new_zipfile_serialization=False)
    state = safe_load.read_checkpoint(path)
    assert "legacy format" in state["format"]
    assert safe_load.pickled_names(path) == (["test_load_safety.Tudui"] if whole else [])
    assert torch.equal(_outputs(safe_load.load_tudui(path)), _outputs(tudui))
    fresh = models.Tudui()  # 27's --resume and 32 read through load_checkpoint as well
    checkpoints.load_checkpoint(path, fresh)
    assert torch.equal(_outputs(fresh), _outputs(tudui))
    assert _32(tmp_path, path)["prediction"] in CIFAR10_CLASSES
    assert "Traceback" not in capsys.readouterr().err


def test_a_legacy_file_may_not_declare_more_than_it_holds(tmp_path):
    raw = tmp_path / "legacy.pth"
    torch.save(models.Tudui().state_dict(), raw, _use_new_zipfile_serialization=False)
    data = raw.read_bytes()
    reader = legacy_pth.LegacyReader(data, 64, 1000)
    float_storage = legacy_pth._StorageType(torch.float32)
    reader.storage(float_storage, "0", "cpu", 100, None)  # 400 bytes: fine
    with pytest.raises(pickle.UnpicklingError, match="tensors declare 4,000,000,400 bytes"):
        reader.storage(float_storage, "1", "cpu", 10 ** 9, None)  # refused before allocating
    cut = tmp_path / "cut.pth"
    cut.write_bytes(data[:-1000])  # its last storage cut short
    with pytest.raises(CourseError, match="not a checkpoint that can be read"):
        safe_load.read_checkpoint(cut)


def _zip_with(tmp_path, name: str, records: dict, template=None) -> Path:
    """A torch zip file written by torch.save(template), its records replaced by ``records``
    ({name ending: bytes or (bytes, compress_type)})."""
    source = tmp_path / "template.pth"
    torch.save(template if template is not None else {"w": torch.zeros(4)}, source)
    path = tmp_path / name
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w") as out:
        for info in src.infolist():
            data, how = src.read(info), zipfile.ZIP_STORED
            for ending, new in records.items():
                if info.filename.endswith(ending):
                    data, how = new if isinstance(new, tuple) else (new, zipfile.ZIP_STORED)
            out.writestr(info.filename, data, compress_type=how)
    return path


def test_a_zip_bomb_is_refused_before_torch_reads_it(tmp_path, monkeypatch):
    """A 50 KB file whose tensor record inflates to 48 MB (the one reported: 6 MB declaring 6 GB,
    7 GB of memory used before it was refused): refused from the zip's directory alone."""
    bomb = _zip_with(tmp_path, "bomb.pth", {"/data/0": (bytes(48_000_000), zipfile.ZIP_DEFLATED)})
    assert bomb.stat().st_size < 100_000
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was reached"))
    with pytest.raises(CourseError) as info:
        safe_load.read_checkpoint(bomb)
    assert "declares 48.0 MB of data in a file of 0.0 MB" in info.value.en
    assert "zip bomb" in info.value.en and "not loaded" in info.value.en
    # a real file over the cap for a course model is refused the same way; VGG16 stays under it
    assert safe_load.MAX_MODEL_BYTES > 2 * 528_000_000
    monkeypatch.setattr(safe_load, "MAX_MODEL_BYTES", 1000)
    good = tmp_path / "good.pth"
    torch.save(models.Tudui().state_dict(), good)
    with pytest.raises(CourseError, match="at most 1e-06 GB"):
        safe_load.read_checkpoint(good)


def test_a_deeply_nested_pth_pickle_is_refused_not_a_crash(tmp_path):
    """A dict key nested 200,000 deep crashed torch's weights_only unpickler (SIGSEGV)."""
    deep = _zip_with(tmp_path, "deep.pth", {"/data.pkl": b"\x80\x02}K\x00" + b"\x85" * 200_000 +
                                            b"K\x01s."})
    with pytest.raises(CourseError) as info:
        safe_load.read_checkpoint(deep)
    assert "containers nested more than 64 deep" in info.value.en


def test_a_layer_class_is_restored_never_called(tmp_path, monkeypatch):
    """With the course's allow-list, a file could call Conv2d(3, 100000, 100) (12 GB): the
    layers are restored as holders that refuse to be called."""
    calls = []
    monkeypatch.setattr(torch.nn.Conv2d, "__init__", lambda self, *a, **k: calls.append(a))
    # (a Tudui, Conv2d(3, 64, 3)): names a Tudui, so the course's allow-list applies
    pkl = (b"\x80\x02cmodel\nTudui\nctorch.nn.modules.conv\nConv2d\nK\x03K@K\x03\x87R\x86.")
    crafted = _zip_with(tmp_path, "call.pth", {"/data.pkl": pkl})
    with pytest.raises(CourseError, match="not a checkpoint that can be read"):
        safe_load.read_checkpoint(crafted)
    assert calls == []


class _Calls:
    """torch.save(_Calls(f, *args)) writes a pickle that calls ``f(*args)`` while loading, as a
    crafted file can (torch.save itself only restores a layer: created empty, then filled)."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


# What a crafted model file could make torch.load(weights_only=True) allocate, each in a few
# bytes: a layer of an allow-list called (12 GB), and what torch allows by default (40 GB, 10 GB).
MEMORY_FILLERS = {
    "Conv2d(3, 100000, 100)": (torch.nn.Conv2d, 3, 100000, 100),
    "torch.Tensor(100000, 100000)": (torch.Tensor, 100000, 100000),
    "bytearray(10**10)": (bytearray, 10**10),
}


def test_the_hole_a_called_layer_class_opens_in_torch_load(tmp_path):
    """Why the scan looks at calls: with the real layer classes allowed (as 26 and 32 show the
    video's torch.load), torch builds a layer from numbers in the file, at any size."""
    small = tmp_path / "small.pth"
    torch.save(_Calls(torch.nn.Conv2d, 3, 7, 5), small)
    with torch.serialization.safe_globals([torch.nn.Conv2d]):
        layer = torch.load(small, weights_only=True)
    assert type(layer) is torch.nn.Conv2d and layer.weight.shape == (7, 3, 5, 5)  # it was called
    with pytest.raises(CourseError, match=r"a call of torch\.nn\.modules\.conv\.Conv2d"):
        safe_load.check_model_file(small)


@pytest.mark.parametrize("case", list(MEMORY_FILLERS))
def test_a_model_file_that_calls_a_class_is_refused_before_torch_reads_it(tmp_path, monkeypatch,
                                                                           case):
    crafted = tmp_path / "tudui_29_gpu.pth"
    torch.save(_Calls(*MEMORY_FILLERS[case]), crafted)
    assert crafted.stat().st_size < 2000
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was reached"))
    with pytest.raises(CourseError) as info:  # 32 loads the video's way, with the real layers
        _32(tmp_path, crafted, wrapped=True)
    assert "not a checkpoint that can be read safely: its pickle has a call of" in info.value.en
    assert "fill the memory, so it was not loaded" in info.value.en
    with pytest.raises(CourseError, match="a call of"):  # and every other reader of model files
        safe_load.read_checkpoint(crafted)


def test_objects_created_from_arguments_are_refused_and_real_files_still_load(tmp_path):
    # NEWOBJ (cls.__new__(cls, *args)) with arguments: torch.Tensor.__new__ allocates too
    newobj = b"\x80\x02ctorch\nTensor\nJ\xa0\x86\x01\x00J\xa0\x86\x01\x00\x86\x81."
    with pytest.raises(PickleRefused, match="torch.Tensor created from arguments"):
        scan_pickle(newobj, may_call=safe_load.may_call)
    scan_pickle(newobj)  # without may_call (CIFAR-10 batches) calls are not the scan's business
    with pytest.raises(CourseError, match="created from arguments"):
        safe_load.check_model_file(_zip_with(tmp_path, "newobj.pth", {"/data.pkl": newobj}))
    # what torch.save writes still loads: whole models (restored empty, then filled), state
    # dicts, an optimizer's state, and the course's own layout (pickled as __main__.Tudui)
    model = models.Tudui()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model(torch.rand(2, 3, 32, 32)).sum().backward()
    optimizer.step()
    files = {"whole.pth": model, "state.pth": model.state_dict(),
             "checkpoint.pth": {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                "epoch": 1, "device": torch.device("cpu"), "size": torch.Size([2])}}
    for name, saved in files.items():
        torch.save(saved, tmp_path / name)
        assert safe_load.check_model_file(tmp_path / name) == "zip", name
    assert safe_load.read_checkpoint(tmp_path / "whole.pth")["format"].startswith("whole model")


ODD_TENSORS = {
    "meta": lambda w: torch.empty(w.shape, device="meta"),
    "sparse": lambda w: w.to_sparse(),
    "quantized": lambda w: torch.quantize_per_tensor(w, 0.1, 0, torch.qint8),
}


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch: quantized tensors are deprecated
@pytest.mark.parametrize("kind", list(ODD_TENSORS))
def test_meta_sparse_and_quantized_weights_are_refused(tmp_path, capsys, kind):
    weights = models.Tudui().state_dict()
    weights["model.0.weight"] = ODD_TENSORS[kind](weights["model.0.weight"])
    path = tmp_path / f"{kind}.pth"
    torch.save(weights, path)
    with pytest.raises(CourseError) as info:
        safe_load.load_tudui(path)
    assert f"does not hold plain weights: model.0.weight is a {kind}" in info.value.en
    assert _exit_code(lambda argv: _32(tmp_path, path), None) == 2
    assert "Traceback" not in _err(capsys)


def test_a_cyclic_or_very_deep_module_graph_is_refused(tmp_path):
    cyclic = Tudui()
    cyclic.model.add_module("again", cyclic)  # the model inside itself
    torch.save(cyclic, tmp_path / "cyclic.pth")
    with pytest.raises(CourseError, match="holds a damaged Tudui .model.again is a module it "
                                          "already holds"):
        safe_load.read_checkpoint(tmp_path / "cyclic.pth")
    deep = Tudui()
    inner = deep.model
    for _ in range(40):
        inner.add_module("more", torch.nn.Sequential())
        inner = inner.more
    torch.save(deep, tmp_path / "deep.pth")  # refused from its pickle, before it is unpickled
    with pytest.raises(CourseError, match="its pickle has containers nested more than 64 deep"):
        safe_load.read_checkpoint(tmp_path / "deep.pth")
    root = module = torch.nn.Sequential()  # 3,000 deep: RecursionError before; no recursion now
    for _ in range(3000):
        module.add_module("m", torch.nn.Sequential())
        module = module.m
    with pytest.raises(CourseError, match="modules nested more than 32 deep"):
        safe_load._module_tensors(root, tmp_path / "x.pth")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_32_refuses_non_finite_weights(tmp_path, capsys, value):
    """NaN weights printed "prediction: ship ... nan%", a class other than the argmax above."""
    weights = models.Tudui().state_dict()
    weights["model.7.weight"][3, 5] = value
    path = tmp_path / "diverged.pth"
    torch.save(weights, path)
    with pytest.raises(CourseError) as info:
        _32(tmp_path, path, wrapped=True)
    assert "holds NaN or infinite weights (in model.7.weight)" in info.value.en
    assert "diverged" in info.value.en and "--lr" in info.value.en
    assert _exit_code(lambda argv: _32(tmp_path, path), None) == 2
    err = _err(capsys)
    assert "Traceback" not in err and "NaN" in err


def test_long_keys_from_a_model_file_are_cut_in_messages(tmp_path):
    weights = models.Tudui().state_dict()
    weights["k" * 3_000_000] = torch.zeros(1)
    torch.save(weights, tmp_path / "long.pth")
    with pytest.raises(CourseError) as info:
        safe_load.load_tudui(tmp_path / "long.pth")
    assert "unexpected keys: " + "k" * 200 + "…" in info.value.en
    assert len(info.value.en) < 1500 and len(info.value.zh) < 1500
    # and any word longer than a path that no message shortened
    assert CourseError("x" * 5000 + " tail").en == "x" * 200 + "… tail"


# ---------------------------------------------------------------- 27's --resume file

@pytest.fixture(scope="module")
def one_run(data_root, tmp_path_factory) -> Path:
    """The folder of a one-epoch 27_train --quick run: tudui_0.pth and resume.pt."""
    log_dir = tmp_path_factory.mktemp("one_run")
    load_lesson("27_train").main(["--data-root", str(data_root), "--log-dir", str(log_dir),
                                  "--device", "cpu", "--quick", "--epochs", "1"])
    return log_dir / "27_train"


def _adam_state() -> dict:
    tudui = models.Tudui()
    adam = torch.optim.Adam(tudui.parameters())
    tudui(torch.rand(2, 3, 32, 32)).sum().backward()
    adam.step()
    return adam.state_dict()


def _nan_weights(folder: Path) -> None:
    weights = torch.load(folder / "tudui_0.pth", weights_only=True)
    weights["model.0.bias"][0] = float("nan")
    torch.save(weights, folder / "tudui_0.pth")


RESUME_CHANGES = {  # what is done to a good run's folder -> what the paragraph says
    "Adam's state": (lambda state, folder: state.update(optimizer=_adam_state()),
                     "it holds the state of another optimizer (with the settings amsgrad, betas"),
    "no history": (lambda state, folder: state.pop("history"), "it has no history"),
    "epoch as text": (lambda state, folder: state.update(epoch="1"), "epoch is a str"),
    "epoch 0": (lambda state, folder: state.update(epoch=0), "its epoch is 0"),
    "nan loss": (lambda state, folder: state["step_losses"].__setitem__(3, float("nan")),
                 "holds NaN or infinite training state (in step_losses[3])"),
    "nan weights": (lambda state, folder: _nan_weights(folder),
                    "tudui_0.pth holds NaN or infinite weights (in model.0.bias)"),
}


@pytest.mark.parametrize("change", list(RESUME_CHANGES))
def test_a_resume_file_of_another_shape_is_refused_and_nothing_changes(one_run, data_root,
                                                                       tmp_path, capsys, change):
    folder = tmp_path / "27_train"
    shutil.copytree(one_run, folder)
    state = torch.load(folder / "resume.pt", weights_only=True)
    damage, why = RESUME_CHANGES[change]
    damage(state, folder)
    torch.save(state, folder / "resume.pt")
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    argv = ["--data-root", str(data_root), "--log-dir", str(tmp_path), "--device", "cpu",
            "--quick", "--epochs", "2", "--resume"]
    assert _exit_code(load_lesson("27_train").main, argv) == 2
    err = _err(capsys)
    assert why in err and "Traceback" not in err, err
    # checkpoints, resume.pt and the interrupted run's TensorBoard file as they were; no lock
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before


def test_the_resume_check_is_no_assert():
    """``python -O`` removes asserts: the checks are real ones."""
    source = (SRC_DIR / "tudui" / "infra" / "checkpoints.py").read_text("utf-8")
    assert "assert " not in source
    assert checkpoints._resume_state_problem({"epoch": 0, "optimizer": {}, "step_losses": [],
                                              "history": [], "settings": {}}) == "its epoch is 0"


# ---------------------------------------------------------------- the terminal around a lesson

def _disk_full_after(monkeypatch, writes: int) -> None:
    """TensorBoard's event writer (run in its writer thread) meets a full disk after ``writes``
    records, as on a laptop whose disk fills up during a lesson."""
    from tensorboard.summary.writer import record_writer

    real, done = record_writer.RecordWriter.write, []

    def write(self, data):
        done.append(1)
        if len(done) > writes:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(record_writer.RecordWriter, "write", write)


def test_a_full_disk_under_tensorboards_thread_is_one_paragraph(data_root, tmp_path, monkeypatch,
                                                                capsys):
    thread_reports = []
    monkeypatch.setattr(threading, "excepthook", thread_reports.append)
    _disk_full_after(monkeypatch, 3)
    argv = ["--data-root", str(data_root), "--log-dir", str(tmp_path), "--quick"]
    assert _exit_code(load_lesson("08_tensorboard").main, argv) == 2
    err = capsys.readouterr().err
    assert err.count("no space left on the disk") == 1 and "Traceback" not in err
    assert "Exception in thread" not in err and thread_reports == []


def test_the_writer_closed_at_exit_stays_quiet_on_a_full_disk(tmp_path):
    """27 and 30 close their writer at exit too (an interrupted run keeps its last points); on a
    full disk, already reported as the paragraph, that close raised a second traceback."""
    from types import SimpleNamespace

    from tudui.training_run import TrainingRun

    class FullDiskWriter:
        def close(self):
            raise OSError(errno.ENOSPC, "No space left on device")

    run = TrainingRun(tmp_path, SimpleNamespace(), torch.device("cpu"))
    try:
        run.writer = FullDiskWriter()
        run.close_writer()  # what atexit calls: no exception escapes
    finally:
        run.lock.release()


class _ClosedPipe:
    """sys.stdout after `| head -1` has gone: every write fails; its file descriptor is a pipe
    of the test's own (the lesson points it at the null device)."""

    encoding = "utf-8"

    def __init__(self, fd: int):
        self.fd = fd

    def write(self, text):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    def flush(self):
        pass

    def fileno(self):
        return self.fd


def test_a_closed_output_ends_a_lesson_quietly(data_root, monkeypatch, capsys):
    """`python src/06_read_data.py --quick | head -1` ended in a BrokenPipeError traceback: now
    the lesson stops without a word, 141 as a program stopped by SIGPIPE."""
    read_end, write_end = os.pipe()
    try:
        monkeypatch.setattr(sys, "stdout", _ClosedPipe(write_end))
        argv = ["--data-root", str(data_root), "--quick"]
        assert _exit_code(load_lesson("06_read_data").main, argv) == 141
    finally:
        os.close(read_end)
        os.close(write_end)
    assert capsys.readouterr().err == ""


def test_06_with_a_16_bit_picture_as_its_error_image(tmp_path, capsys):
    write_synthetic_hymenoptera(tmp_path, quick=True)
    folder = tmp_path / "train" / "ants_image"
    first = sorted(folder.iterdir())[0]
    first.unlink()  # replaced by a 16-bit PNG of the same name (its label file still pairs)
    sixteen_bit = first.with_suffix(".png")
    Image.fromarray(np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 20).save(sixteen_bit)
    assert Image.open(sixteen_bit).mode == "I;16"
    result = load_lesson("06_read_data").main(["--data-root", str(tmp_path), "--quick"])
    assert result["error_name"] == sixteen_bit.name and result["error_index"] == 0
    assert result["error_shape"] == (1, 256, 256) and result["fixed_shape"] == (3, 256, 256)
    assert "should be a float tensor" in result["error_message"]
    assert "Traceback" not in capsys.readouterr().err
