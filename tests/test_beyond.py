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
from tudui.data import cifar10
from tudui.infra.checkpoints import load_checkpoint
from tudui.loaders import TensorLoader, tensor_images
from tudui.models import Tudui
from tudui.paths import REPO_ROOT, SRC_DIR
from tudui.recipes import BetterTudui, ViewAverage, channel_stats

DDP_EPOCHS = 9         # 2 ranks x 8 steps of 32 images per epoch: enough for Adam to learn
                       # (on the stand-in: loss 2.31 -> 0.95, accuracy 0.56 after 9)
SCRIPT_TIMEOUT = 300   # seconds: a hung process group fails the test instead of hanging CI


def run_script(name: str, *args: str, nproc: int | None = None, env: dict | None = None,
               timeout: float = SCRIPT_TIMEOUT, script: Path | None = None
               ) -> subprocess.CompletedProcess:
    """Run ``src/<name>.py`` (or ``script``) in a fresh process; with ``nproc``, under torchrun
    with that many."""
    script = str(script or SRC_DIR / f"{name}.py")
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone",
                 f"--nproc_per_node={nproc}"] if nproc else [sys.executable])
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
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
    state = torch.load(path, map_location="cpu", weights_only=True)    # a plain state_dict
    assert state.keys() == Tudui().state_dict().keys()                 # unwrapped from DDP
    Tudui().load_state_dict(state)                                     # the video's load line
    load_checkpoint(path, Tudui())
    # 32_test.py reads it like one of 27's, and its plain pass over the test set gives the
    # accuracy the two ranks reported for their halves added up
    result = load_lesson("32_test").main(["--data-root", str(data_root), "--log-dir",
                                          str(log_dir), "--device", "cpu", "--quick",
                                          "--checkpoint", str(path), "--evaluate"])
    assert result["checkpoint"] == str(path)
    assert result["test_accuracy"] == pytest.approx(summary["test_accuracy"])


FAILING_RANK = """
import os, runpy, signal, sys
sys.path.insert(0, {src!r})
import torch
# rank 1 fails at its second optimizer step, and rank 0 gets the SIGTERM torchrun sends the
# others then, in the middle of that step (the lesson itself has no test hook)
real_step, steps = torch.optim.SGD.step, []
def failing_step(self, *args, **kwargs):
    steps.append(1)
    if os.environ["RANK"] == "1" and len(steps) == 2:
        raise RuntimeError("simulated failure on rank 1")
    if os.environ["RANK"] == "0" and len(steps) == 2:
        os.kill(os.getpid(), signal.SIGTERM)
    return real_step(self, *args, **kwargs)
torch.optim.SGD.step = failing_step
sys.argv = [{lesson!r}, *sys.argv[1:]]
runpy.run_path({lesson!r}, run_name="__main__")
"""


def test_ddp_a_failing_rank_fails_the_whole_run_with_a_clear_message(data_root, tmp_path):
    wrapper = tmp_path / "failing_rank.py"
    wrapper.write_text(FAILING_RANK.format(src=str(SRC_DIR),
                                           lesson=str(SRC_DIR / "34_train_ddp.py")))
    proc = run_script("34_train_ddp", *common(data_root, tmp_path), nproc=2, script=wrapper)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "[rank 1] 训练失败 / training failed" in output
    assert "simulated failure on rank 1" in output
    assert "FAILED" in output                                   # torchrun's summary
    assert not (tmp_path / "34_train_ddp" / "summary.json").exists()
    # released: rank 0 leaves through its finally blocks on torchrun's SIGTERM
    assert not (tmp_path / "34_train_ddp" / "training.lock").exists()


def test_ddp_runs_as_one_process_without_torchrun(run_lesson, log_dir):
    import torch.distributed as dist

    result = run_lesson("34_train_ddp", "--epochs", "2")
    assert result["world_size"] == 1 and result["lr"] == pytest.approx(1e-2)
    assert len(result["fingerprints"]) == 1 and result["identical"]
    assert Path(result["checkpoint"]) == log_dir / "34_train_ddp" / "tudui_1.pth"
    assert not dist.is_initialized()                           # the group is torn down


def test_ddp_backend_gloo_on_cpu_nccl_on_gpus_and_gloo_when_processes_share_a_gpu(monkeypatch,
                                                                                    capsys):
    pick_backend = load_lesson("34_train_ddp").pick_backend
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert pick_backend(torch.device("cpu"), 4) == "gloo"
    assert pick_backend(torch.device("cuda", 0), 2) == "nccl"              # a GPU per process
    assert capsys.readouterr().out == ""
    # more processes than GPUs: nccl would stop with "Duplicate GPU detected" (seen on a GPU)
    assert pick_backend(torch.device("cuda", 1), 3, local_rank=1) == "gloo"
    assert capsys.readouterr().out == ""                                   # one line, not N
    assert pick_backend(torch.device("cuda", 0), 3, local_rank=0) == "gloo"
    out = capsys.readouterr().out
    assert "3 processes share 2 GPU(s)" in out and "--nproc_per_node=2" in out
    assert "3 个进程共用 2 块 GPU" in out and out.count("\n") == 1


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
    assert [s for s, _ in scalars["ablation/1_full/sample_test_accuracy"]] == \
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

    def without_prefix(model):  # "model.0.weight" -> "0.weight", whatever the Sequential is called
        return [k.split(".", 1)[1] for k in model.state_dict()]

    assert without_prefix(plain) == without_prefix(course)
    assert [p.shape for p in plain.parameters()] == [p.shape for p in course.parameters()]
    relu = BetterTudui(relu=True)
    assert sum(isinstance(m, nn.ReLU) for m in relu.modules()) == 4     # 3 convs + fc1
    bn = BetterTudui(batchnorm=True)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in bn.modules()) == 3
    assert not any(isinstance(m, nn.ReLU) for m in bn.modules())
    assert BetterTudui(True, True)(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


class RecordingLoader(TensorLoader):
    """TensorLoader that remembers how the lesson built each loader."""
    made: list[dict] = []

    def __init__(self, images, labels, batch_size=64, **options):
        super().__init__(images, labels, batch_size, **options)
        RecordingLoader.made.append({"n": len(labels), "batch_size": batch_size, **options})


@pytest.mark.parametrize("idea", ["relu", "normalize", "shuffle", "momentum", "batchnorm",
                                  "big_batch", "augment", "onecycle", "label_smoothing",
                                  "weight_average", "tta"])
def test_each_flag_changes_what_it_says_and_nothing_else(idea, run_lesson, monkeypatch):
    lesson = load_lesson("35_train_better")
    RecordingLoader.made = []
    monkeypatch.setattr(lesson, "TensorLoader", RecordingLoader)
    result = run_lesson("35_train_better", f"--{idea.replace('_', '-')}", "--epochs", "1")
    assert [r["ideas"] for r in result["rows"]] == [[idea]]
    model, optimizer, loss_fn, lrs = (result["model"], result["optimizer"], result["loss_fn"],
                                      result["lrs"])
    train, test, sample = RecordingLoader.made
    assert (train["n"], test["n"], sample["n"]) == (512, 256, 256)   # --quick: all 256 in both
    assert {k: v for k, v in sample.items() if k != "n"} == {k: v for k, v in test.items()
                                                             if k != "n"}
    modules = list(model.modules())
    assert any(isinstance(m, nn.ReLU) for m in modules) == (idea == "relu")
    assert any(isinstance(m, nn.BatchNorm2d) for m in modules) == (idea == "batchnorm")
    assert (train["mean"] is not None) == (idea == "normalize")
    assert train["mean"] is test["mean"]                      # the test set is normalized alike
    assert train["seed"] == 0                                 # --seed: orders and crops repeat
    assert train["shuffle"] == (idea == "shuffle") and not test.get("shuffle", False)
    assert train["augment"] == (idea == "augment") and not test.get("augment", False)
    assert train["batch_size"] == (lesson.QUICK_BIG_BATCH if idea == "big_batch" else 64)
    tested = result["tested"]   # what the test set saw: the model, its average, or both mirrored
    assert isinstance(tested, ViewAverage) == (idea == "tta")
    assert (tested is not model) == (idea in ("weight_average", "tta"))
    if idea == "weight_average":
        assert not torch.equal(tested.model[0].weight, model.model[0].weight)
    lr = lesson.COURSE_LR * (lesson.QUICK_BIG_BATCH / 64 if idea == "big_batch" else 1)
    group = optimizer.param_groups[0]
    assert group["momentum"] == (lesson.MOMENTUM if idea == "momentum" else 0)
    assert group["nesterov"] == (idea == "momentum")
    assert group["weight_decay"] == (lesson.WEIGHT_DECAY if idea == "momentum" else 0)
    assert loss_fn.label_smoothing == (lesson.LABEL_SMOOTHING if idea == "label_smoothing" else 0)
    if idea == "onecycle":   # warm up from MAX_LR/25 to MAX_LR, then anneal
        assert lrs[0] == pytest.approx(lesson.MAX_LR / 25)
        assert max(lrs) == pytest.approx(lesson.MAX_LR, rel=0.1) and lrs[-1] < lrs[0]   # 8 steps
    else:
        assert set(lrs) == {lr}


def test_normalized_batches_have_zero_mean_unit_std(data_root):
    images, labels = tensor_images(cifar10(data_root, train=True))
    mean, std = channel_stats(images)
    batch = next(iter(TensorLoader(images, labels, batch_size=len(labels), mean=mean, std=std)))
    assert batch[0].mean(dim=(0, 2, 3)) == pytest.approx(torch.zeros(3), abs=1e-4)
    assert batch[0].std(dim=(0, 2, 3)) == pytest.approx(torch.ones(3), abs=1e-3)
    plain = next(iter(TensorLoader(images[:4], labels[:4], 64)))[0]
    assert torch.equal(plain, images[:4].float() / 255)       # no options: ToTensor exactly


def test_augmentation_is_a_padded_crop_maybe_flipped_and_repeats_by_epoch(data_root):
    images, labels = tensor_images(cifar10(data_root, train=True, quick=True))
    loader = TensorLoader(images[:6], labels[:6], 6, augment=True, seed=3)
    out, targets = next(iter(loader))
    assert out.shape == (6, 3, 32, 32) and torch.equal(targets, labels[:6])
    padded = nn.functional.pad(images[:6], (4, 4, 4, 4))
    for i in range(6):   # each output is one of the 81 crops of its padded image, or its mirror
        crops = [padded[i, :, y:y + 32, x:x + 32].float() / 255 for y in range(9) for x in range(9)]
        assert any(torch.equal(out[i], c) or torch.equal(out[i], c.flip(-1)) for c in crops)
    assert not torch.equal(out, next(iter(loader))[0])        # the next epoch: other crops
    loader.set_epoch(0)
    assert torch.equal(out, next(iter(loader))[0])            # epoch 0 again: the same crops
    plain = next(iter(TensorLoader(images, labels, 64)))
    assert not torch.equal(plain[0], next(iter(TensorLoader(images, labels, 64, augment=True)))[0])


def test_35_prints_epoch_in_the_singular_and_the_time_left(run_lesson, capsys):
    run_lesson("35_train_better", "--relu", "--epochs", "1")
    out = capsys.readouterr().out
    assert "1 epoch per run" in out and "1/1 轮完成 / epochs done" in out


@pytest.mark.parametrize("lesson", ["34_train_ddp", "35_train_better"])
def test_zero_epochs_is_a_clear_error(lesson, run_lesson, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_lesson(lesson, "--epochs", "0")
    assert exit_info.value.code == 2 and "argument --epochs" in capsys.readouterr().err


def test_ddp_refuses_a_folder_another_run_is_writing(run_lesson, log_dir, capsys):
    import socket

    folder = log_dir / "34_train_ddp"
    folder.mkdir(parents=True)
    (folder / "tudui_0.pth").write_bytes(b"the running run's checkpoint")
    live = os.getppid()  # surely alive: pytest's parent
    (folder / "training.lock").write_text(json.dumps({"pid": live, "host": socket.gethostname()}))
    with pytest.raises(SystemExit) as info:
        run_lesson("34_train_ddp", "--epochs", "1")
    err = " ".join(capsys.readouterr().err.split())
    assert info.value.code == 2 and f"PID {live}" in err and "--log-dir" in err
    assert (folder / "tudui_0.pth").read_bytes() == b"the running run's checkpoint"
