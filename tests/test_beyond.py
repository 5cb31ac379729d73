"""Beyond the course: 35_train_better.py (the recipe improved one idea at a time) and
34_train_ddp.py (DistributedDataParallel launched by torchrun, run here as 2 CPU processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from conftest import load_lesson, read_events
from tudui.data import cifar10, tensor_images
from tudui.engine import load_checkpoint
from tudui.models import Tudui
from tudui.paths import REPO_ROOT, SRC_DIR
from tudui.recipes import BetterTudui, TensorBatches, channel_stats, random_crop_flip

DDP_EPOCHS = 12        # 2 ranks x 8 steps of 32 images per epoch: enough for Adam to learn
SCRIPT_TIMEOUT = 300   # seconds: a hung process group fails the test instead of hanging CI


def run_script(name: str, *args: str, nproc: int | None = None, env: dict | None = None,
               timeout: float = SCRIPT_TIMEOUT) -> subprocess.CompletedProcess:
    """Run ``src/<name>.py`` in a fresh process; with ``nproc``, under torchrun with that many."""
    script = str(SRC_DIR / f"{name}.py")
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone",
                 f"--nproc_per_node={nproc}"] if nproc else [sys.executable])
    inherited = {k: v for k, v in os.environ.items() if k != "TUDUI_DDP_FAIL_RANK"}
    full_env = {**inherited, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
                "PYTHONIOENCODING": "utf-8", **(env or {})}
    try:
        return subprocess.run([*launcher, script, *args], cwd=REPO_ROOT, env=full_env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              encoding="utf-8", errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"{name} did not finish within {timeout}s (a hung process group?):\n"
                    f"{(err.stdout or '')[-3000:]}\n{(err.stderr or '')[-3000:]}")


def common(data_root: Path, log_dir: Path) -> list[str]:
    return ["--quick", "--data-root", str(data_root), "--log-dir", str(log_dir), "--device", "cpu"]


# ------------------------------------------------------------------------------------------
# 34: DistributedDataParallel

@pytest.fixture(scope="module")
def ddp_run(data_root, tmp_path_factory):
    """One torchrun run with 2 CPU processes, shared by the assertions below."""
    log_dir = tmp_path_factory.mktemp("ddp_logs")
    proc = run_script("34_train_ddp", *common(data_root, log_dir), "--optimizer", "adam",
                      "--batch-size", "32", "--epochs", str(DDP_EPOCHS), nproc=2)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    summary = json.loads((log_dir / "34_train_ddp" / "summary.json").read_text())
    return {"summary": summary, "output": output, "folder": log_dir / "34_train_ddp"}


def test_ddp_two_processes_learn_and_end_with_identical_weights(ddp_run):
    summary, output = ddp_run["summary"], ddp_run["output"]
    assert summary["world_size"] == 2 and summary["backend"] == "gloo"
    assert summary["effective_batch"] == 64
    assert summary["lr"] == pytest.approx(2e-3)             # 1e-3 (Adam) x 2 processes
    history = summary["history"]
    assert len(history) == DDP_EPOCHS
    assert history[-1]["train_loss"] < history[0]["train_loss"] - 0.5
    assert summary["test_accuracy"] > 0.4                    # chance is 0.1
    # each rank hashed its own weights; DDP's averaged gradients keep the copies bit-identical
    assert len(summary["fingerprints"]) == 2 and summary["identical"]
    assert summary["fingerprints"][0] == summary["fingerprints"][1]
    # only rank 0 prints and writes TensorBoard
    assert output.count("整体测试集上的正确率") == len(history)
    assert len(list(ddp_run["folder"].glob("events.out.tfevents.*"))) == 1
    scalars = read_events(ddp_run["folder"])["scalars"]
    assert [s for s, _ in scalars["test_accuracy"]] == list(range(1, len(history) + 1))
    assert scalars["test_accuracy"][-1][1] == pytest.approx(summary["test_accuracy"])


def test_ddp_checkpoint_is_27s_format_and_loads_in_32_test(ddp_run, data_root, log_dir):
    summary = ddp_run["summary"]
    path = Path(summary["checkpoint"])
    assert path.name == f"tudui_{len(summary['history']) - 1}.pth"   # 27_train.py's naming
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert not any(k.startswith("module.") for k in state["model"])    # unwrapped from DDP
    load_checkpoint(path, Tudui())                                     # the course's keys
    # 32_test.py reads it like one of 27's, and its plain pass over the test set gives the
    # accuracy the two ranks reported for their halves added up
    result = load_lesson("32_test").main(["--data-root", str(data_root), "--log-dir",
                                          str(log_dir), "--device", "cpu", "--quick",
                                          "--checkpoint", str(path), "--evaluate"])
    assert result["checkpoint"] == str(path)
    assert result["test_accuracy"] == pytest.approx(summary["test_accuracy"])


def test_ddp_a_failing_rank_fails_the_whole_run_with_a_clear_message(data_root, tmp_path):
    proc = run_script("34_train_ddp", *common(data_root, tmp_path), nproc=2,
                      env={"TUDUI_DDP_FAIL_RANK": "1"})
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "[rank 1] 训练失败 / training failed" in output
    assert "simulated failure on rank 1" in output
    assert "FAILED" in output                                   # torchrun's summary
    assert not (tmp_path / "34_train_ddp" / "summary.json").exists()


def test_ddp_runs_as_one_process_without_torchrun(run_lesson, log_dir):
    import torch.distributed as dist

    result = run_lesson("34_train_ddp", "--epochs", "2")
    assert result["world_size"] == 1 and result["lr"] == pytest.approx(1e-2)
    assert len(result["fingerprints"]) == 1 and result["identical"]
    assert Path(result["checkpoint"]) == log_dir / "34_train_ddp" / "tudui_1.pth"
    assert not dist.is_initialized()                           # the group is torn down


# ------------------------------------------------------------------------------------------
# 35: the better recipe

def test_full_recipe_beats_the_course_recipe_at_the_quick_budget(run_lesson, log_dir):
    result = run_lesson("35_train_better")
    lesson = load_lesson("35_train_better")
    course, full = result["rows"]
    assert (course["step"], full["step"]) == ("course", "full")
    assert full["ideas"] == list(lesson.IDEAS)
    assert full["accuracy"] > course["accuracy"] + 0.1, result["table"]
    assert full["accuracy"] > 0.2                            # chance is 0.1
    scalars = read_events(log_dir / "35_train_better")["scalars"]
    assert [s for s, _ in scalars["ablation/1_full/test_accuracy"]] == \
        list(range(1, result["epochs"] + 1))
    assert [v for _, v in scalars["ablation/final_test_accuracy"]] == \
        pytest.approx([course["accuracy"], full["accuracy"]])
    assert "| 1 | full |" in result["table"]


def test_ablation_adds_the_chosen_ideas_in_order(run_lesson):
    result = run_lesson("35_train_better", "--batchnorm", "--relu", "--ablation", "--epochs", "1")
    assert [r["step"] for r in result["rows"]] == ["course", "+relu", "+batchnorm"]
    assert [r["ideas"] for r in result["rows"]] == [[], ["relu"], ["relu", "batchnorm"]]


def test_the_plain_builder_is_the_course_model_and_flags_add_layers():
    plain, course = BetterTudui(), Tudui()
    assert list(plain.state_dict()) == list(course.state_dict())
    assert [p.shape for p in plain.parameters()] == [p.shape for p in course.parameters()]
    relu = BetterTudui(relu=True)
    assert sum(isinstance(m, nn.ReLU) for m in relu.modules()) == 4     # 3 convs + fc1
    bn = BetterTudui(batchnorm=True)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in bn.modules()) == 3
    assert not any(isinstance(m, nn.ReLU) for m in bn.modules())
    assert BetterTudui(True, True)(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


class RecordingBatches(TensorBatches):
    """TensorBatches that remembers how the lesson built each loader."""
    made: list[dict] = []

    def __init__(self, images, labels, batch_size=64, **options):
        super().__init__(images, labels, batch_size, **options)
        RecordingBatches.made.append({"n": len(labels), **options})


@pytest.mark.parametrize("idea", ["relu", "normalize", "shuffle", "momentum", "batchnorm",
                                  "augment", "onecycle", "label_smoothing"])
def test_each_flag_changes_what_it_says_and_nothing_else(idea, run_lesson, monkeypatch):
    lesson = load_lesson("35_train_better")
    RecordingBatches.made = []
    monkeypatch.setattr(lesson, "TensorBatches", RecordingBatches)
    result = run_lesson("35_train_better", f"--{idea.replace('_', '-')}", "--epochs", "1")
    assert [r["ideas"] for r in result["rows"]] == [[idea]]
    model, optimizer, loss_fn, lrs = (result["model"], result["optimizer"], result["loss_fn"],
                                      result["lrs"])
    train, test = RecordingBatches.made
    assert (train["n"], test["n"]) == (512, 256)
    modules = list(model.modules())
    assert any(isinstance(m, nn.ReLU) for m in modules) == (idea == "relu")
    assert any(isinstance(m, nn.BatchNorm2d) for m in modules) == (idea == "batchnorm")
    assert (train["mean"] is not None) == (idea == "normalize")
    assert train["mean"] is test["mean"]                      # the test set is normalized alike
    assert train["shuffle"] == (idea == "shuffle") and not test.get("shuffle", False)
    assert train["augment"] == (idea == "augment") and not test.get("augment", False)
    group = optimizer.param_groups[0]
    assert group["momentum"] == (lesson.MOMENTUM if idea == "momentum" else 0)
    assert group["weight_decay"] == (lesson.WEIGHT_DECAY if idea == "momentum" else 0)
    assert loss_fn.label_smoothing == (lesson.LABEL_SMOOTHING if idea == "label_smoothing" else 0)
    if idea == "onecycle":   # warm up from MAX_LR/25 to MAX_LR, then anneal
        assert lrs[0] == pytest.approx(lesson.MAX_LR / 25)
        assert max(lrs) == pytest.approx(lesson.MAX_LR, rel=0.05) and lrs[-1] < lrs[0]
    else:
        assert set(lrs) == {lesson.COURSE_LR}


def test_normalized_batches_have_zero_mean_unit_std(data_root):
    images, labels = tensor_images(cifar10(data_root, train=True))
    mean, std = channel_stats(images)
    batch = next(iter(TensorBatches(images, labels, batch_size=len(labels), mean=mean, std=std)))
    assert batch[0].mean(dim=(0, 2, 3)) == pytest.approx(torch.zeros(3), abs=1e-4)
    assert batch[0].std(dim=(0, 2, 3)) == pytest.approx(torch.ones(3), abs=1e-3)
    plain = next(iter(TensorBatches(images[:4], labels[:4])))[0]
    assert torch.equal(plain, images[:4].float() / 255)       # no flags: ToTensor exactly


def test_augmentation_is_a_padded_crop_maybe_flipped_and_changes_the_batches(data_root):
    images, labels = tensor_images(cifar10(data_root, train=True, quick=True))
    generator = torch.Generator().manual_seed(0)
    out = random_crop_flip(images[:6], generator=generator)
    assert out.shape == images[:6].shape and out.dtype == torch.uint8
    padded = nn.functional.pad(images[:6], (4, 4, 4, 4))
    for i in range(6):   # each output is one of the 81 crops of its padded image, or its mirror
        crops = [padded[i, :, y:y + 32, x:x + 32] for y in range(9) for x in range(9)]
        assert any(torch.equal(out[i], c) or torch.equal(out[i], c.flip(-1)) for c in crops)
    plain = next(iter(TensorBatches(images, labels, 64)))
    augmented = next(iter(TensorBatches(images, labels, 64, augment=True,
                                        generator=torch.Generator().manual_seed(1))))
    assert torch.equal(plain[1], augmented[1]) and not torch.equal(plain[0], augmented[0])


@pytest.mark.parametrize("lesson", ["34_train_ddp", "35_train_better"])
def test_zero_epochs_is_a_clear_error(lesson, run_lesson):
    with pytest.raises(SystemExit) as exit_info:
        run_lesson(lesson, "--epochs", "0")
    assert exit_info.value.code == 2
