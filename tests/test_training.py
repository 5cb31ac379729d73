"""P27-P31: the training engine, 27_train (learning, checkpoints, resume, Ctrl-C) and 30_train_gpu."""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from conftest import load_lesson, read_events
from tudui import engine, loaders
from tudui.data import cifar10
from tudui.errors import CourseError
from tudui.infra import checkpoints, runlock
from tudui.models import Tudui
from tudui.paths import SRC_DIR


def _err(capsys) -> str:
    """What the lesson wrote to stderr, its wrapped lines joined again."""
    return " ".join(capsys.readouterr().err.split())


def _train(data_root, log_dir, *args):
    argv = ["--data-root", str(data_root), "--log-dir", str(log_dir), "--device", "cpu",
            "--quick", *args]
    return load_lesson("27_train").main(argv)


@pytest.fixture(scope="module")
def one_epoch(data_root, tmp_path_factory):
    """One --quick --epochs 1 run (seed 0, fp32, fast loader), printing a loss every 5 steps:
    (its result, what it printed). Shared by the tests that compare other runs with it."""
    lesson = load_lesson("27_train")
    log_every, lesson.LOG_EVERY = lesson.LOG_EVERY, 5  # 16 steps: print some
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            result = _train(data_root, tmp_path_factory.mktemp("one_epoch"), "--epochs", "1")
    finally:
        lesson.LOG_EVERY = log_every
    return result, out.getvalue()


def test_tensor_loader_gives_exactly_what_dataloader_and_totensor_give(data_root):
    data = cifar10(data_root, train=True, quick=True)
    fast = loaders.make_loader(data, 64)
    assert isinstance(fast, loaders.TensorLoader) and len(fast) == len(DataLoader(data, 64))
    pairs = list(zip(fast, DataLoader(data, batch_size=64)))
    assert len(pairs) == 8
    for (x_fast, y_fast), (x_slow, y_slow) in pairs:
        assert x_fast.dtype == torch.float32 and x_fast.shape == x_slow.shape
        assert torch.equal(x_fast, x_slow) and torch.equal(y_fast, y_slow)
        assert x_fast.is_contiguous(memory_format=torch.channels_last)
    # With shuffle: every picture once per epoch, a new order each pass, repeatable by epoch,
    # and the course's DataLoader (--slow-loader) shuffles into the very same batches.
    shuffled = loaders.make_loader(data, 100, shuffle=True, seed=1)
    first = torch.cat([y for _, y in shuffled])
    second = torch.cat([y for _, y in shuffled])  # the next pass is the next epoch
    assert sorted(first.tolist()) == sorted(second.tolist()) == sorted(data.dataset.targets[:512])
    assert not torch.equal(first, second)
    shuffled.set_epoch(0)
    assert torch.equal(first, torch.cat([y for _, y in shuffled]))
    slow = loaders.make_loader(data, 100, shuffle=True, seed=1, fast=False)
    fast = loaders.make_loader(data, 100, shuffle=True, seed=1)
    assert isinstance(slow, DataLoader)
    for _epoch in range(2):
        for (x_fast, y_fast), (x_slow, y_slow) in zip(fast, slow, strict=True):
            assert torch.equal(x_fast, x_slow) and torch.equal(y_fast, y_slow)
    # Other transforms fall back to a plain DataLoader.
    from torchvision import transforms
    other = cifar10(data_root, train=False, transform=transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize(0.5, 0.5)]))
    assert isinstance(loaders.make_loader(other, 64), DataLoader)


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
        loader = loaders.make_loader(data, 64) if fast else DataLoader(data, batch_size=64)
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


def test_27_follows_the_course_loop_step_for_step(data_root, tmp_path):
    """27's own loop (fast batches, channels-last) against the course's train.py loop on
    DataLoader + ToTensor, from the same seed: the same losses step for step, in fp32."""
    lesson = _train(data_root, tmp_path, "--epochs", "1", "--batch-size", "64", "--lr", "0.01")
    torch.manual_seed(0)  # what --seed 0 does before Tudui()
    tudui = Tudui()
    optimizer = torch.optim.SGD(tudui.parameters(), lr=1e-2)
    loss_fn, course = nn.CrossEntropyLoss(), []
    for imgs, targets in DataLoader(cifar10(data_root, train=True, quick=True), batch_size=64):
        loss = loss_fn(tudui(imgs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        course.append(loss.item())
    assert len(course) == len(lesson["step_losses"]) == 8
    assert lesson["step_losses"] == pytest.approx(course, rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("name", ["27_train", "30_train_gpu"])
def test_without_quick_the_course_settings_are_used(name, data_root):
    args = load_lesson(name).parse_args(["--data-root", str(data_root)])
    assert (args.epochs, args.batch_size, args.lr) == (10, 64, 1e-2)
    quick = load_lesson(name).parse_args(["--quick", "--epochs", "3"])
    assert (quick.epochs, quick.batch_size, quick.lr) == (3, 32, 5e-2)


def test_quick_training_learns_and_logs(data_root, log_dir):
    module = load_lesson("27_train")
    # the tour's run: 27_train.py --quick with its defaults
    result = module.main(["--data-root", str(data_root), "--log-dir", str(log_dir),
                          "--device", "cpu", "--quick"])
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
    # test points at total_test_step 0..epochs-1, as the course logs them
    assert [s for s, _ in events["scalars"]["test_accuracy"]] == list(range(epochs))
    assert events["scalars"]["test_accuracy"][-1][1] == pytest.approx(result["test_accuracy"])
    assert [s for s, _ in events["scalars"]["test_loss"]] == list(range(epochs))
    # One complete checkpoint per epoch, a plain state_dict: the video's load line works on it.
    folder = log_dir / "27_train"
    files = sorted(p.name for p in folder.glob("*.pth"))
    assert files == sorted(f"tudui_{i}.pth" for i in range(epochs))
    assert result["checkpoint"] == str(folder / f"tudui_{epochs - 1}.pth")
    for i in range(epochs - 1):  # every epoch's file: the video's load line, strict
        Tudui().load_state_dict(torch.load(folder / f"tudui_{i}.pth", weights_only=True))
    tudui = Tudui()
    tudui.load_state_dict(torch.load(result["checkpoint"], weights_only=True))
    assert engine.evaluate(tudui, loaders.make_loader(cifar10(data_root, False, quick=True), 64),
                           nn.CrossEntropyLoss(), "cpu")["accuracy"] == pytest.approx(result["test_accuracy"])
    # What --resume needs is in a file of its own, next to them.
    state = torch.load(folder / "resume.pt", weights_only=True)
    assert state["epoch"] == epochs and state["step_losses"] == losses
    assert state["optimizer"]["param_groups"][0]["lr"] == module.QUICK_LEARNING_RATE
    assert not (folder / "training.lock").exists()  # released at the end


def test_same_seed_gives_the_same_run_and_prints_the_courses_lines(data_root, tmp_path,
                                                                   one_epoch):
    a, out = one_epoch
    for line in ("训练数据集的长度为：512", "测试数据集的长度为：256", "-------第 1 轮训练开始-------",
                 "训练次数：15, Loss: ", "整体测试集上的Loss: ", "整体测试集上的正确率", "模型已保存",
                 "1/1 轮完成 / epochs done"):
        assert line in out, line
    b = _train(data_root, tmp_path / "b", "--epochs", "1")
    c = _train(data_root, tmp_path / "c", "--epochs", "1", "--seed", "1")
    assert a["step_losses"] == b["step_losses"]
    assert a["step_losses"] != c["step_losses"]


def _cut_at_step(monkeypatch, step: int):
    """Make the optimizer's ``step``-th step raise KeyboardInterrupt (Ctrl-C); returns an undo."""
    real_step, calls = torch.optim.SGD.step, {"n": 0}

    def step_then_ctrl_c(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == step:
            raise KeyboardInterrupt
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.SGD, "step", step_then_ctrl_c)
    return lambda: monkeypatch.setattr(torch.optim.SGD, "step", real_step)


def test_ctrl_c_keeps_the_last_checkpoint_and_resume_matches_an_uninterrupted_run(
        data_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(load_lesson("27_train"), "LOG_EVERY", 5)  # points before the cut
    full = _train(data_root, tmp_path / "full", "--epochs", "3", "--shuffle")

    undo = _cut_at_step(monkeypatch, 21)  # in the middle of the 2nd epoch (16 steps per epoch)
    folder = tmp_path / "cut" / "27_train"
    with pytest.raises(SystemExit) as info:
        _train(data_root, tmp_path / "cut", "--epochs", "3", "--shuffle")
    assert info.value.code == 130 and "--resume" in _err(capsys)  # 128 + SIGINT
    assert sorted(p.name for p in folder.iterdir() if p.suffix in (".pth", ".pt", ".tmp")) == [
        "resume.pt", "tudui_0.pth"]
    state = torch.load(folder / "resume.pt", weights_only=True)
    assert state["epoch"] == 1 and len(state["step_losses"]) == 16

    undo()
    resumed = _train(data_root, tmp_path / "cut", "--epochs", "3", "--shuffle", "--resume")
    assert resumed["step_losses"] == full["step_losses"]
    assert [h["test_accuracy"] for h in resumed["history"]] == [
        h["test_accuracy"] for h in full["history"]]
    a = torch.load(full["checkpoint"], weights_only=True)
    b = torch.load(resumed["checkpoint"], weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # TensorBoard shows the resumed run exactly as the uninterrupted one: no step drawn twice
    # (steps 5-20 were logged before the cut, and steps 20 again after the resume).
    cut_events, full_events = read_events(folder), read_events(tmp_path / "full" / "27_train")
    for tag in ("train_loss", "test_loss", "test_accuracy"):
        steps, values = zip(*cut_events["scalars"][tag])
        full_steps, full_values = zip(*full_events["scalars"][tag])
        assert steps == full_steps and len(set(steps)) == len(steps), tag
        assert values == pytest.approx(full_values), tag


def test_slow_loader_shuffle_resume_matches_the_uninterrupted_and_the_fast_run(
        data_root, tmp_path, monkeypatch):
    flags = ("--epochs", "2", "--shuffle", "--slow-loader")
    full = _train(data_root, tmp_path / "full", *flags)
    fast = _train(data_root, tmp_path / "fast", "--epochs", "2", "--shuffle")
    assert full["step_losses"] == fast["step_losses"]  # the same orders, the same batches
    undo = _cut_at_step(monkeypatch, 21)
    with pytest.raises(SystemExit):
        _train(data_root, tmp_path / "cut", *flags)
    undo()
    resumed = _train(data_root, tmp_path / "cut", *flags, "--resume")
    assert resumed["step_losses"] == full["step_losses"]
    assert resumed["test_loss"] == full["test_loss"]


def test_resume_without_a_checkpoint_and_cuda_without_gpu_are_clear_errors(data_root, tmp_path,
                                                                           capsys):
    with pytest.raises(SystemExit) as info:
        _train(data_root, tmp_path, "--resume")
    assert info.value.code == 2 and "no checkpoint" in _err(capsys)
    if not torch.cuda.is_available():
        for lesson in ("27_train", "30_train_gpu"):
            with pytest.raises(SystemExit) as info:
                load_lesson(lesson).main(["--data-root", str(data_root), "--log-dir",
                                          str(tmp_path), "--device", "cuda", "--quick"])
            assert info.value.code == 2 and "CUDA" in _err(capsys)


def test_a_new_run_replaces_old_checkpoints_and_resume_keeps_the_runs_settings(
        data_root, tmp_path, capsys):
    folder = tmp_path / "27_train"
    _train(data_root, tmp_path, "--epochs", "2")
    _train(data_root, tmp_path, "--epochs", "1")  # a shorter new run: no tudui_1.pth left over
    assert sorted(p.name for p in folder.glob("*.pth")) == ["tudui_0.pth"]
    assert "removed the previous run's 2 checkpoint(s)" in capsys.readouterr().out

    done = _train(data_root, tmp_path, "--epochs", "1", "--resume")
    assert len(done["history"]) == 1 and "nothing to train" in capsys.readouterr().out
    for flag, change in ((("--lr", "0.2"), "lr: 0.05 -> 0.2"), (("--bf16",), "bf16: False -> True")):
        with pytest.raises(SystemExit) as info:
            _train(data_root, tmp_path, "--epochs", "3", "--resume", *flag)
        assert info.value.code == 2 and change in _err(capsys)
    assert sorted(p.name for p in folder.glob("*.pth")) == ["tudui_0.pth"]


def test_resume_needs_the_resume_file_and_refuses_a_damaged_one(data_root, tmp_path, capsys):
    folder = tmp_path / "27_train"
    folder.mkdir()
    torch.save(Tudui().state_dict(), folder / "tudui_0.pth")  # weights only: nothing to go on from
    with pytest.raises(SystemExit) as info:
        _train(data_root, tmp_path, "--resume")
    assert info.value.code == 2 and "no resume.pt" in _err(capsys)
    (folder / "resume.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(SystemExit) as info:
        _train(data_root, tmp_path, "--resume")
    err = _err(capsys)
    assert info.value.code == 2 and "resume.pt cannot be read" in err and "Traceback" not in err


def test_bf16_only_where_the_hardware_has_it(data_root, tmp_path, monkeypatch, capsys, one_epoch):
    fp32, _ = one_epoch
    # torch's check for native bf16 on a CPU, patched so both branches run on any machine
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    capsys.readouterr()
    fallback = _train(data_root, tmp_path / "no", "--epochs", "1", "--bf16")
    notes = [line for line in capsys.readouterr().out.splitlines() if "no native bf16" in line]
    assert len(notes) == 1 and "training in fp32" in notes[0] and "没有原生 bf16" in notes[0]
    assert fallback["step_losses"] == fp32["step_losses"]  # exactly the fp32 run
    # Real bf16 on a CPU without it is emulated and ~13x slower than fp32: it trains on the
    # first 128 training pictures (the fp32 run's first 4 batches) and tests on 64.
    lesson = load_lesson("27_train")
    monkeypatch.setattr(lesson, "QUICK_TRAIN_SIZE", 128)
    monkeypatch.setattr(lesson, "QUICK_TEST_SIZE", 64)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    bf16 = _train(data_root, tmp_path / "yes", "--epochs", "1", "--bf16")
    assert "no native bf16" not in capsys.readouterr().out
    fp32_steps = fp32["step_losses"][:4]  # the same batches from the same weights, in fp32
    assert len(bf16["step_losses"]) == 4 and all(torch.isfinite(torch.tensor(bf16["step_losses"])))
    assert bf16["step_losses"] != fp32_steps  # it really ran in bf16
    assert bf16["step_losses"] == pytest.approx(fp32_steps, abs=0.05)


def test_slow_loader_flag_gives_the_same_numbers(data_root, tmp_path, one_epoch):
    fast, _ = one_epoch
    slow = _train(data_root, tmp_path / "s", "--epochs", "1", "--slow-loader")
    assert slow["step_losses"] == fast["step_losses"]


@pytest.mark.parametrize("way", ["to", "cuda"])
def test_train_gpu_lesson_both_ways(run_lesson, log_dir, way, capsys):
    result = run_lesson("30_train_gpu", "--way", way, "--epochs", "1")
    # way 1 takes the GPU whenever there is one (as the video's code); way 2 the --device given
    gpu = torch.cuda.is_available() and way == "cuda"
    assert result["device"] == ("cuda" if gpu else "cpu")
    assert result["steps"] == 16 and len(result["history"]) == 1  # --quick: 512 pictures, batch 32
    out = capsys.readouterr().out
    for line in ("训练数据集的长度为：512", "测试数据集的长度为：256", "本轮训练用时", "模型已保存"):
        assert line in out, line
    events = read_events(log_dir / "30_train_gpu")
    assert [s for s, _ in events["scalars"]["epoch_seconds"]] == [0]  # total_test_step 0
    assert events["scalars"]["epoch_seconds"][0][1] == pytest.approx(result["epoch_seconds"],
                                                                     rel=1e-5)
    tudui = Tudui()
    tudui.load_state_dict(torch.load(result["checkpoint"], weights_only=True))
    assert Path(result["checkpoint"]).name == "tudui_0.pth"


def test_train_gpu_quick_run_learns_so_32_test_gets_a_real_model(run_lesson, log_dir):
    # 32_test.py takes the newest checkpoint of 27 or 30; in the tour that is 30's.
    result = run_lesson("30_train_gpu")
    epochs = load_lesson("30_train_gpu").QUICK_EPOCHS
    assert len(result["history"]) == epochs
    assert result["history"][-1]["test_accuracy"] >= 0.25  # chance is 0.1
    # test points at total_test_step 0..epochs-1, as the course logs them
    scalars = read_events(log_dir / "30_train_gpu")["scalars"]
    for tag in ("test_loss", "test_accuracy", "epoch_seconds"):
        assert [s for s, _ in scalars[tag]] == list(range(epochs)), tag
    assert scalars["test_accuracy"][-1][1] == pytest.approx(result["history"][-1]["test_accuracy"])
    assert checkpoints.newest_checkpoint(log_dir / "27_train", log_dir / "30_train_gpu") == Path(
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
        assert info.value.code == 2 and f"argument {flag}" in _err(capsys)
    assert [p.name for p in folder.iterdir()] == ["tudui_0.pth"]  # nothing deleted or written


# --------------------------------------------------------------------------------------------
# One run per folder, odd things in the folder, a closed output

@pytest.mark.parametrize("lesson", ["27_train", "30_train_gpu"])
def test_a_second_run_into_a_busy_folder_is_refused_and_a_stale_lock_taken_over(
        lesson, data_root, tmp_path, capsys):
    folder = tmp_path / lesson
    folder.mkdir()
    (folder / "tudui_0.pth").write_bytes(b"the running run's checkpoint")
    live = os.getppid()  # a process that is surely alive: pytest's parent
    (folder / "training.lock").write_text(json.dumps({"pid": live, "host": socket.gethostname()}))
    argv = ["--data-root", str(data_root), "--log-dir", str(tmp_path), "--quick", "--epochs", "1"]
    with pytest.raises(SystemExit) as info:
        load_lesson(lesson).main(argv)
    err = _err(capsys)
    assert info.value.code == 2 and f"PID {live}" in err and "--log-dir" in err
    assert (folder / "tudui_0.pth").read_bytes() == b"the running run's checkpoint"

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its PID now names no process: the lock is stale
    (folder / "training.lock").write_text(json.dumps({"pid": dead.pid,
                                                      "host": socket.gethostname()}))
    result = load_lesson(lesson).main(argv)
    assert result["history"] and not (folder / "training.lock").exists()


def test_run_lock_between_two_processes(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; sys.path.insert(0, sys.argv[1]); "
         "from tudui.infra.runlock import lock_folder; lock_folder(sys.argv[2]); print('locked', "
         "flush=True); time.sleep(60)", str(SRC_DIR), str(tmp_path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(CourseError, match=f"PID {holder.pid}"):
            runlock.lock_folder(tmp_path)
    finally:
        holder.kill()
        holder.wait()
    lock = runlock.lock_folder(tmp_path)  # the holder died: its lock is taken over
    assert json.loads((tmp_path / "training.lock").read_text())["pid"] == os.getpid()
    lock.release()
    assert not (tmp_path / "training.lock").exists()


def test_a_folder_named_like_a_checkpoint_is_a_clear_error(data_root, tmp_path, capsys):
    (tmp_path / "27_train" / "tudui_7.pth").mkdir(parents=True)
    for extra in ((), ("--resume",)):
        with pytest.raises(SystemExit) as info:
            _train(data_root, tmp_path, "--epochs", "1", *extra)
        err = _err(capsys)
        assert info.value.code == 2 and "tudui_7.pth is a folder" in err and "Traceback" not in err


def test_temporary_files_of_a_killed_run_are_cleaned_up(data_root, tmp_path):
    folder = tmp_path / "27_train"
    folder.mkdir()
    stale = [folder / ".tudui_3.pth.k2j4h5.tmp", folder / ".resume.pt.x8y7z6.tmp"]
    for path in stale:
        path.write_bytes(b"half a checkpoint")
    (folder / "notes.tmp").write_text("mine")  # not the lesson's: kept
    _train(data_root, tmp_path, "--epochs", "1")
    assert not any(p.exists() for p in stale) and (folder / "notes.tmp").exists()


def test_a_closed_output_does_not_stop_training(data_root, tmp_path):
    """`python src/27_train.py | head -1`: the reader leaves after one line; training goes on
    quietly and writes every checkpoint."""
    proc = subprocess.Popen(
        [sys.executable, str(SRC_DIR / "27_train.py"), "--quick", "--epochs", "2", "--device",
         "cpu", "--data-root", str(data_root), "--log-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    proc.stdout.readline()
    proc.stdout.close()  # like `head -1` exiting
    err = proc.stderr.read().decode("utf-8", "replace")
    assert proc.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err
    folder = tmp_path / "27_train"
    assert sorted(p.name for p in folder.glob("*.pth")) == ["tudui_0.pth", "tudui_1.pth"]
    assert torch.load(folder / "resume.pt", weights_only=True)["epoch"] == 2


def test_time_left_line():
    assert engine.time_left_line(1, 10, 120.0) == (
        "1/10 轮，预计还需 18 分钟 / 1/10 epochs, about 18 min left")
    assert "less than a minute left" in engine.time_left_line(2, 3, 20.0)
    assert engine.time_left_line(3, 3, 500.0) == "3/3 轮完成 / epochs done"
