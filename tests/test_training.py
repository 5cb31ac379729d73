"""P27-P31: the training engine, 27_train (learning, checkpoints, resume, Ctrl-C) and 30_train_gpu."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from conftest import load_lesson, read_events
from tudui import engine
from tudui.data import cifar10
from tudui.models import Tudui


def _train(data_root, log_dir, *args):
    argv = ["--data-root", str(data_root), "--log-dir", str(log_dir), "--device", "cpu",
            "--quick", *args]
    return load_lesson("27_train").main(argv)


@pytest.fixture(scope="module")
def quick_run(data_root, tmp_path_factory):
    """One default --quick training run, shared by the tests that only read its results."""
    log_dir = tmp_path_factory.mktemp("quick_logs")
    return _train(data_root, log_dir), log_dir


def test_tensor_loader_gives_exactly_what_dataloader_and_totensor_give(data_root):
    data = cifar10(data_root, train=True, quick=True)
    fast = engine.make_loader(data, 64)
    assert isinstance(fast, engine.TensorLoader) and len(fast) == len(DataLoader(data, 64))
    pairs = list(zip(fast, DataLoader(data, batch_size=64)))
    assert len(pairs) == 8
    for (x_fast, y_fast), (x_slow, y_slow) in pairs:
        assert x_fast.dtype == torch.float32 and x_fast.shape == x_slow.shape
        assert torch.equal(x_fast, x_slow) and torch.equal(y_fast, y_slow)
        assert x_fast.is_contiguous(memory_format=torch.channels_last)
    # With shuffle: every picture once per epoch, a new order each epoch, repeatable by epoch.
    shuffled = engine.make_loader(data, 100, shuffle=True, seed=1)
    first = torch.cat([y for _, y in shuffled])
    shuffled.set_epoch(1)
    second = torch.cat([y for _, y in shuffled])
    assert sorted(first.tolist()) == sorted(second.tolist()) == sorted(data.dataset.targets[:512])
    assert not torch.equal(first, second)
    shuffled.set_epoch(0)
    assert torch.equal(first, torch.cat([y for _, y in shuffled]))
    # Other transforms fall back to a plain DataLoader.
    from torchvision import transforms
    other = cifar10(data_root, train=False, transform=transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize(0.5, 0.5)]))
    assert isinstance(engine.make_loader(other, 64), DataLoader)


def test_engine_follows_the_course_loop_step_for_step(data_root):
    """Same seed, same data order: the fast path's losses are the course loop's, in fp32."""
    data = cifar10(data_root, train=True, quick=True)
    losses = []
    for fast in (False, True):
        torch.manual_seed(7)
        model = Tudui()
        if fast:
            model = engine.prepare_model(model, "cpu")
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)
        loader = engine.make_loader(data, 64) if fast else DataLoader(data, batch_size=64)
        if fast:
            result = engine.train_one_epoch(model, loader, nn.CrossEntropyLoss(), optimizer, "cpu")
            losses.append(result["step_losses"])
            assert result["steps"] == 8 and result["images"] == 512
            continue
        course = []
        for imgs, targets in loader:  # the course's loop, written out
            loss = nn.CrossEntropyLoss()(model(imgs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            course.append(loss.item())
        losses.append(course)
    assert losses[0] == pytest.approx(losses[1], rel=1e-4, abs=1e-5)


def test_quick_training_learns_and_logs(quick_run):
    result, log_dir = quick_run
    module = load_lesson("27_train")
    epochs = module.QUICK_EPOCHS
    steps_per_epoch = 512 // module.QUICK_BATCH_SIZE
    assert len(result["step_losses"]) == epochs * steps_per_epoch
    assert len(result["history"]) == epochs
    losses = result["step_losses"]
    first, last = sum(losses[:16]) / 16, sum(losses[-16:]) / 16
    assert last < first - 0.3, (first, last)
    assert all(v == v for v in losses)  # no NaN
    assert result["test_accuracy"] >= 0.25  # chance is 0.1
    assert result["history"][-1]["test_loss"] < result["history"][0]["test_loss"]
    assert all(h["seconds"] > 0 for h in result["history"])
    events = read_events(log_dir / "27_train")
    every = module.LOG_EVERY
    assert [s for s, _ in events["scalars"]["train_loss"]] == list(
        range(every, len(losses) + 1, every))
    for (step, value) in events["scalars"]["train_loss"]:
        assert value == pytest.approx(losses[step - 1], rel=1e-5)
    assert [s for s, _ in events["scalars"]["test_accuracy"]] == list(range(1, epochs + 1))
    assert events["scalars"]["test_accuracy"][-1][1] == pytest.approx(result["test_accuracy"])
    assert len(events["scalars"]["test_loss"]) == epochs
    # One complete state_dict checkpoint per epoch, loadable safely, holding optimizer and epoch.
    files = sorted(p.name for p in (log_dir / "27_train").glob("*.pth"))
    assert files == sorted(f"tudui_{i}.pth" for i in range(epochs))
    state = torch.load(result["checkpoint"], weights_only=True)
    assert state["epoch"] == epochs and state["optimizer"]["param_groups"][0]["lr"] == module.QUICK_LEARNING_RATE
    assert state["step_losses"] == losses


def test_same_seed_gives_the_same_run_and_another_seed_does_not(data_root, tmp_path):
    a = _train(data_root, tmp_path / "a", "--epochs", "1")
    b = _train(data_root, tmp_path / "b", "--epochs", "1")
    c = _train(data_root, tmp_path / "c", "--epochs", "1", "--seed", "1")
    assert a["step_losses"] == b["step_losses"]
    assert a["step_losses"] != c["step_losses"]


def test_ctrl_c_keeps_the_last_checkpoint_and_resume_matches_an_uninterrupted_run(
        data_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(load_lesson("27_train"), "LOG_EVERY", 5)  # points before the cut
    full = _train(data_root, tmp_path / "full", "--epochs", "3", "--shuffle")

    real_step, calls = torch.optim.SGD.step, {"n": 0}

    def step_then_ctrl_c(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 21:  # in the middle of the 2nd epoch (16 steps per epoch)
            raise KeyboardInterrupt
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.SGD, "step", step_then_ctrl_c)
    folder = tmp_path / "cut" / "27_train"
    with pytest.raises(SystemExit) as info:
        _train(data_root, tmp_path / "cut", "--epochs", "3", "--shuffle")
    assert info.value.code == 2 and "--resume" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir() if p.suffix in (".pth", ".tmp")) == [
        "tudui_0.pth"]
    state = torch.load(folder / "tudui_0.pth", weights_only=True)
    assert state["epoch"] == 1 and len(state["step_losses"]) == 16

    monkeypatch.setattr(torch.optim.SGD, "step", real_step)
    resumed = _train(data_root, tmp_path / "cut", "--epochs", "3", "--shuffle", "--resume")
    assert resumed["step_losses"] == full["step_losses"]
    assert [h["test_accuracy"] for h in resumed["history"]] == [
        h["test_accuracy"] for h in full["history"]]
    a = torch.load(full["checkpoint"], weights_only=True)["model"]
    b = torch.load(resumed["checkpoint"], weights_only=True)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # TensorBoard shows the resumed run exactly as the uninterrupted one: no step drawn twice
    # (steps 5-20 were logged before the cut, and steps 20 again after the resume).
    cut_events, full_events = read_events(folder), read_events(tmp_path / "full" / "27_train")
    for tag in ("train_loss", "test_loss", "test_accuracy"):
        steps, values = zip(*cut_events["scalars"][tag])
        full_steps, full_values = zip(*full_events["scalars"][tag])
        assert steps == full_steps and len(set(steps)) == len(steps), tag
        assert values == pytest.approx(full_values), tag


def test_resume_without_a_checkpoint_and_cuda_without_gpu_are_clear_errors(data_root, tmp_path,
                                                                           capsys):
    with pytest.raises(SystemExit) as info:
        _train(data_root, tmp_path, "--resume")
    assert info.value.code == 2 and "no checkpoint" in capsys.readouterr().err
    if not torch.cuda.is_available():
        for lesson in ("27_train", "30_train_gpu"):
            with pytest.raises(SystemExit) as info:
                load_lesson(lesson).main(["--data-root", str(data_root), "--log-dir",
                                          str(tmp_path), "--device", "cuda", "--quick"])
            assert info.value.code == 2 and "CUDA" in capsys.readouterr().err


def test_a_new_run_replaces_old_checkpoints_and_resume_keeps_the_runs_settings(
        data_root, tmp_path, capsys):
    folder = tmp_path / "27_train"
    _train(data_root, tmp_path, "--epochs", "3")
    _train(data_root, tmp_path, "--epochs", "2")  # a shorter new run: no tudui_2.pth left over
    assert sorted(p.name for p in folder.glob("*.pth")) == ["tudui_0.pth", "tudui_1.pth"]
    assert "removed the previous run's 3 checkpoint(s)" in capsys.readouterr().out

    done = _train(data_root, tmp_path, "--epochs", "2", "--resume")
    assert len(done["history"]) == 2 and "nothing to train" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        _train(data_root, tmp_path, "--epochs", "4", "--resume", "--lr", "0.2")
    assert info.value.code == 2 and "lr: 0.05 -> 0.2" in capsys.readouterr().err
    assert sorted(p.name for p in folder.glob("*.pth")) == ["tudui_0.pth", "tudui_1.pth"]


def test_bf16_runs_and_stays_close(data_root, tmp_path):
    fp32 = _train(data_root, tmp_path / "fp32", "--epochs", "1")
    bf16 = _train(data_root, tmp_path / "bf16", "--epochs", "1", "--bf16")
    assert len(bf16["step_losses"]) == 16
    assert all(torch.isfinite(torch.tensor(bf16["step_losses"])))
    assert bf16["step_losses"] != fp32["step_losses"]  # it really ran in another precision
    assert bf16["step_losses"] == pytest.approx(fp32["step_losses"], abs=0.05)


def test_slow_loader_flag_gives_the_same_numbers(data_root, tmp_path):
    fast = _train(data_root, tmp_path / "f", "--epochs", "1")
    slow = _train(data_root, tmp_path / "s", "--epochs", "1", "--slow-loader")
    assert slow["step_losses"] == fast["step_losses"]


@pytest.mark.parametrize("way", ["to", "cuda"])
def test_train_gpu_lesson_both_ways(run_lesson, log_dir, way):
    result = run_lesson("30_train_gpu", "--way", way, "--epochs", "1")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert result["device"].startswith(expected) if way == "cuda" else True
    assert result["steps"] == 16 and len(result["history"]) == 1  # --quick: 512 pictures, batch 32
    assert result["history"][0]["seconds"] > 0
    events = read_events(log_dir / "30_train_gpu")
    assert [s for s, _ in events["scalars"]["epoch_seconds"]] == [1]
    assert events["scalars"]["epoch_seconds"][0][1] == pytest.approx(
        result["history"][0]["seconds"], rel=1e-5)
    state = torch.load(result["checkpoint"], weights_only=True)
    assert state["arch"] == "Tudui" and state["epoch"] == 1


def test_train_gpu_quick_run_learns_so_32_test_gets_a_real_model(run_lesson, log_dir):
    # 32_test.py takes the newest checkpoint of 27 or 30; in the tour that is 30's.
    result = run_lesson("30_train_gpu")
    assert result["history"][-1]["test_accuracy"] >= 0.25  # chance is 0.1
    assert engine.newest_checkpoint(log_dir / "27_train", log_dir / "30_train_gpu") == Path(
        result["checkpoint"])


@pytest.mark.parametrize("lesson", ["24_nn_optim", "27_train", "30_train_gpu", "93_scratch_train"])
def test_impossible_flag_values_stop_before_anything_is_touched(lesson, data_root, tmp_path,
                                                                capsys):
    folder = tmp_path / lesson
    folder.mkdir()
    (folder / "tudui_0.pth").write_bytes(b"a previous run")
    flags = [("--epochs", "0"), ("--epochs", "-3")]
    if lesson != "93_scratch_train":
        flags.append(("--lr", "nan"))
    if lesson in ("27_train", "30_train_gpu"):
        flags += [("--batch-size", "0"), ("--batch-size", "-5"), ("--lr", "-1")]
    for flag, value in flags:
        with pytest.raises(SystemExit) as info:
            load_lesson(lesson).main(["--data-root", str(data_root), "--log-dir", str(tmp_path),
                                      "--quick", flag, value])
        assert info.value.code == 2 and f"argument {flag}" in capsys.readouterr().err
    assert [p.name for p in folder.iterdir()] == ["tudui_0.pth"]  # nothing deleted or written


def test_resume_from_a_bare_state_dict_is_a_clear_error(data_root, tmp_path, capsys):
    folder = tmp_path / "27_train"
    folder.mkdir()
    torch.save(Tudui().state_dict(), folder / "tudui_0.pth")
    with pytest.raises(SystemExit) as info:
        _train(data_root, tmp_path, "--resume")
    assert info.value.code == 2 and "no epoch number" in capsys.readouterr().err
