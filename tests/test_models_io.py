"""P25, P26, P32, P33: VGG16 changed, saving and loading (and the pickle trap), validating one
picture with a trained checkpoint, reading a project."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from conftest import load_lesson
from tudui import engine
from tudui.data import CIFAR10_CLASSES


@pytest.fixture(scope="module")
def trained(data_root, tmp_path_factory):
    """A short 27_train run: its log folder (holding the checkpoint) and its result."""
    log_dir = tmp_path_factory.mktemp("trained")
    result = load_lesson("27_train").main(["--data-root", str(data_root), "--log-dir",
                                           str(log_dir), "--device", "cpu", "--quick",
                                           "--epochs", "2"])
    return log_dir, result


def _test(data_root, log_dir, *args):
    return load_lesson("32_test").main(["--data-root", str(data_root), "--log-dir", str(log_dir),
                                        "--device", "cpu", "--quick", *args])


def test_vgg16_changed_two_ways(run_lesson):
    result = run_lesson("25_model_pretrained")
    assert result["output_shapes"] == {"add_linear": (1, 10), "replace_6": (1, 10)}
    add, six = result["add_linear"], result["classifier_6"]
    assert (add.in_features, add.out_features) == (1000, 10)
    assert (six.in_features, six.out_features) == (4096, 10)
    assert "(add_linear): Linear(in_features=1000, out_features=10" in result["added"]
    assert "(6): Linear(in_features=4096, out_features=10" in result["replaced"]
    assert result["parameters"] == 134_301_514  # VGG16 with a 10-class last layer


def test_pretrained_offline_is_a_clear_error(run_lesson, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # no cached weights here
    with pytest.raises(SystemExit) as info:
        run_lesson("25_model_pretrained", "--pretrained")
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert "528 MB" in err and "vgg16-397923af.pth" in err and "checkpoints" in err
    assert "Traceback" not in err


def test_save_two_ways_and_the_trap_in_a_separate_process(run_lesson, log_dir):
    saved = run_lesson("26_model_save")
    names = set(saved["files"])
    assert names == {"tudui_method1.pth", "tudui_method2.pth"}
    # Method 2 is a plain dict of tensors: weights_only=True loads it.
    state = torch.load(saved["files"]["tudui_method2.pth"], weights_only=True)
    assert list(state) == ["conv1.weight", "conv1.bias"]
    assert state["conv1.weight"].shape == (64, 3, 3, 3)

    loaded = run_lesson("26_model_load")
    assert loaded["loaded"] == {"tudui_method2": True}
    for key, value in saved["tudui_state"].items():
        assert torch.equal(loaded["tudui"].state_dict()[key], value)
    trap = loaded["trap"]
    # torch >= 2.6: refused by default; weights_only=False: the class cannot be found;
    # after "from model_save import *": loads.
    assert not trap["default"]["ok"] and "weights" in trap["default"]["result"].lower()
    assert not trap["weights_only_false"]["ok"]
    assert "Tudui" in trap["weights_only_false"]["result"] or \
        "lesson_26_model_save" in trap["weights_only_false"]["result"]
    assert trap["after_import"] == {"ok": True, "result": "Tudui"}


def test_load_before_save_is_a_clear_error(run_lesson, capsys):
    with pytest.raises(SystemExit) as info:
        run_lesson("26_model_load")
    assert info.value.code == 2 and "26_model_save" in capsys.readouterr().err


def test_validation_reproduces_the_trained_accuracy(data_root, trained):
    log_dir, result = trained
    out = _test(data_root, log_dir, "--evaluate")
    assert out["checkpoint"] == result["checkpoint"]  # the newest one by default
    assert out["test_accuracy"] == result["test_accuracy"]
    assert out["prediction"] in CIFAR10_CLASSES
    probabilities = [p for _, p in out["top3"]]
    assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1 + 1e-6
    assert out["image"].endswith("cifar10_test_0.png") and Image.open(out["image"]).size == (32, 32)


@pytest.mark.parametrize("mode,size", [("RGBA", (300, 200)), ("L", (50, 80)), ("P", (32, 32)),
                                       ("RGB", (1024, 768))])
def test_any_picture_mode_and_size(data_root, trained, tmp_path, mode, size):
    log_dir, _ = trained
    path = tmp_path / f"picture_{mode}.png"
    Image.new(mode, size, color=120).save(path)
    out = _test(data_root, log_dir, "--image", str(path))
    assert out["prediction"] in CIFAR10_CLASSES and len(out["top3"]) == 3


def test_validation_bad_inputs_are_clear_errors(data_root, trained, tmp_path, capsys):
    log_dir, result = trained

    def fails(*args, log=log_dir) -> str:
        with pytest.raises(SystemExit) as info:
            _test(data_root, log, *args)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        return " ".join(err.split())  # the paragraph is wrapped at 100 columns

    assert "does not exist" in fails("--image", str(tmp_path / "missing.png"))
    (tmp_path / "notes.png").write_text("not a picture")
    assert "not an image" in fails("--image", str(tmp_path / "notes.png"))
    assert "27_train.py" in fails(log=tmp_path / "empty_logs")
    # A checkpoint of another architecture names the keys that do not match.
    other = engine.save_checkpoint(tmp_path / "other.pth", torch.nn.Linear(3, 2))
    err = fails("--checkpoint", str(other))
    assert "different architecture" in err and "model1.0.weight" in err
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(open(result["checkpoint"], "rb").read()[:2000])
    assert "truncated" in fails("--checkpoint", str(truncated))
    whole = tmp_path / "whole.pth"
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 2)), whole)  # method 1: a pickled model
    assert "whole pickled model" in fails("--checkpoint", str(whole))


def test_read_project_maps_a_lesson(run_lesson):
    result = run_lesson("33_read_project")
    assert "27_train" in result["lessons"] and "32_test" in result["lessons"]
    assert result["lesson"] == "27_train"
    for option in ("--epochs", "--batch-size", "--lr", "--shuffle", "--resume", "--quick"):
        assert option in result["options"]
    assert all(result["parts"].values()), result["parts"]
    assert result["help"].startswith("usage: 27_train.py ")  # the lesson's name, not 33's
    other = run_lesson("33_read_project", "--lesson", "32")
    assert other["lesson"] == "32_test" and "--image" in other["options"]
    with pytest.raises(SystemExit) as info:
        run_lesson("33_read_project", "--lesson", "99")
    assert info.value.code == 2
