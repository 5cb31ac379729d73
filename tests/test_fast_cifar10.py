"""Lesson 36, the CIFAR-10 speed run: the CPU --quick path end to end, and each trick on its own
(device-side crop/flip, flip-averaged evaluation, whitening, Lookahead, the lr schedule)."""

from __future__ import annotations

import math
import re
from statistics import mean, stdev

import pytest
import torch
import torch.nn.functional as F

from conftest import load_lesson, read_events
from tudui.fast import FastNet, Lookahead, predict, tta_logits, whitening_filters
from tudui.loaders import crop_flip

LESSON = "36_fast_cifar10"


def test_quick_run_learns_repeats_and_logs(run_lesson, log_dir):
    lesson = load_lesson("36_fast_cifar10")
    result = run_lesson("36_fast_cifar10", "--runs", "2", "--seed", "5")
    runs = result["runs"]
    assert [r["seed"] for r in runs] == [5, 6]
    steps_per_epoch = 512 // lesson.QUICK_BATCH_SIZE  # --quick trains on the first 512 images
    assert result["total_steps"] == math.ceil(lesson.QUICK_EPOCHS * steps_per_epoch)
    epochs = math.ceil(lesson.QUICK_EPOCHS)  # fractions allowed: the last epoch is cut short
    for r in runs:
        assert r["accuracy"] > 0.25, r            # ten classes: chance is 10%
        assert len(r["losses"]) == epochs
        assert r["losses"][-1] < r["losses"][0] - 0.2, r["losses"]
        assert r["seconds"] > 0
    assert runs[0]["losses"] != runs[1]["losses"]  # another seed, another run
    accs = [r["accuracy"] for r in runs]
    assert result["mean_accuracy"] == pytest.approx(mean(accs))
    assert result["std_accuracy"] == pytest.approx(stdev(accs))

    events = read_events(log_dir / LESSON)
    assert [s for s, _ in events["scalars"]["result/test_accuracy"]] == [0, 1]
    assert [v for _, v in events["scalars"]["result/test_accuracy"]] == pytest.approx(accs)
    assert len(events["scalars"]["result/train_seconds"]) == 2
    assert len(events["scalars"]["result/eval_seconds"]) == 2
    for run in (0, 1):
        curve = events["scalars"][f"train_loss/run_{run}"]
        assert [s for s, _ in curve] == list(range(1, epochs + 1))


@pytest.fixture
def small_full_recipe(monkeypatch):
    """The full recipe's code path with --quick's narrow net and batch: seconds, not minutes."""
    lesson = load_lesson(LESSON)
    monkeypatch.setattr(lesson, "WIDTHS", lesson.QUICK_WIDTHS)
    monkeypatch.setattr(lesson, "BATCH_SIZE", lesson.QUICK_BATCH_SIZE)
    return lesson


def test_without_a_gpu_it_times_a_few_steps_and_runs_only_with_cpu_ok(small_full_recipe,
                                                                        run_lesson, capsys):
    with pytest.raises(SystemExit) as exit_info:   # run_lesson passes --device cpu
        run_lesson(LESSON, "--epochs", "0.5", quick=False)
    assert exit_info.value.code == 3               # the tour shows "skipped"
    captured = capsys.readouterr()
    message = " ".join(captured.err.split())
    said = re.search(r"would take (less than a minute|about \d+ minutes) on this CPU", message)
    assert said and "--cpu-ok" in message, message   # seconds when idle; minutes on a busy CPU
    assert f"/ {said.group(1)} on this CPU" in captured.out   # the estimate line, printed first

    result = run_lesson(LESSON, "--epochs", "0.5", "--cpu-ok", quick=False)
    out = capsys.readouterr().out
    steps = 1000 // small_full_recipe.QUICK_BATCH_SIZE   # the test stand-in: 1,000 pictures
    assert result["total_steps"] == math.ceil(0.5 * steps) and result["estimate_seconds"] > 0
    assert result["runs"][0]["accuracy"] > 0.2 and result["data"] == "stand-in"
    assert "1/1 轮完成 / epochs done" in out       # the time-left line, after every epoch
    assert "this is a generated stand-in: not compared" in out and "not met" not in out


def test_the_target_line_names_the_data_it_was_measured_on():
    lesson, gpu, cpu = load_lesson(LESSON), torch.device("cuda"), torch.device("cpu")
    assert "not compared" in lesson.target_line(0.99, 1.0, "stand-in", gpu)
    copy = lesson.target_line(0.9061, 2.3, "non-official copy", gpu)
    assert "non-official copy: not compared" in copy and "90.51%" in copy and "not met" not in copy
    assert lesson.target_line(0.9405, 3.0, "official", gpu).endswith("达到 / met")
    assert lesson.target_line(0.9405, 6.0, "official", gpu).endswith("not met")
    assert lesson.target_line(0.9405, 900.0, "official", cpu).endswith("达到 / met")
    assert lesson.duration_words(30) == ("不到 1 分钟", "less than a minute")
    assert lesson.duration_words(44 * 60)[1] == "about 44 minutes"
    assert lesson.duration_words(150 * 60)[1] == "about 2.5 hours"


@pytest.mark.parametrize("flag, value", [("--runs", "0"), ("--epochs", "0"), ("--epochs", "nan"),
                                         ("--epochs", "inf"), ("--epochs", "-1")])
def test_impossible_runs_or_epochs_stop_in_argparse(run_lesson, flag, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_lesson("36_fast_cifar10", flag, value)
    assert exit_info.value.code == 2 and f"argument {flag}" in capsys.readouterr().err


def _coded_images(n: int, pad: int = 2) -> torch.Tensor:
    """Padded images whose every pixel says which image, channel, row and column it came from."""
    size = 32 + 2 * pad
    i, c, y, x = torch.meshgrid(torch.arange(n), torch.arange(3), torch.arange(size),
                                torch.arange(size), indexing="ij")
    return (i * 100_000 + c * 10_000 + y * 100 + x).float()  # exact in float32


def test_batches_crop_flip_keep_shapes_and_label_alignment():
    lesson = load_lesson("36_fast_cifar10")
    n, batch_size = 100, 32
    padded = _coded_images(n)
    labels = (torch.arange(n) * 7 + 3) % 10
    torch.manual_seed(0)
    flip = torch.rand(n) < 0.5
    flipped_in = {}
    offsets = set()
    for epoch in (0, 1):
        seen = []
        for images, targets in lesson.batches(padded, labels, flip, batch_size, epoch):
            assert images.shape == (batch_size, 3, 32, 32) and targets.shape == (batch_size,)
            source = (images[:, 0, 0, 0] // 100_000).long()       # which image each crop is from
            assert torch.equal(targets, labels[source])          # labels travel with their images
            assert torch.equal(images // 100_000, source.view(-1, 1, 1, 1).float().expand_as(images))
            for k, i in enumerate(source.tolist()):
                crop = images[k] - i * 100_000
                mirrored = bool(crop[0, 0, 1] < crop[0, 0, 0])
                upright = crop.flip(-1) if mirrored else crop
                top, left = int(upright[0, 0, 0]) // 100, int(upright[0, 0, 0]) % 100
                assert 0 <= top <= 4 and 0 <= left <= 4
                assert torch.equal(upright, padded[i, :, top:top + 32, left:left + 32] - i * 100_000)
                assert mirrored == bool(flip[i]) ^ bool(epoch % 2)  # odd epochs mirror the others
                flipped_in.setdefault(i, []).append(mirrored)
                offsets.add((top, left))
            seen += source.tolist()
        assert len(seen) == len(set(seen)) == (n // batch_size) * batch_size  # full batches, no repeats
    both = [v for v in flipped_in.values() if len(v) == 2]
    assert both and all(a != b for a, b in both)
    assert len(offsets) > 10  # the crops really move around (25 possible positions)


def test_crop_flip_is_one_gather_on_any_batch():
    padded = _coded_images(4)
    out = crop_flip(padded, torch.tensor([True, False, True, False]))
    assert out.shape == (4, 3, 32, 32) and out.dtype == padded.dtype
    assert (out[0, 0, 0, 1] - out[0, 0, 0, 0]).item() == -1   # mirrored: columns run backwards
    assert (out[1, 0, 0, 1] - out[1, 0, 0, 0]).item() == 1


def test_crop_flip_with_a_generator_repeats():
    padded = _coded_images(8)
    flip = torch.zeros(8, dtype=torch.bool)
    first = crop_flip(padded, flip, generator=torch.Generator().manual_seed(4))
    again = crop_flip(padded, flip, generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, again)


def _small_net() -> FastNet:
    torch.manual_seed(0)
    net = FastNet((8, 8, 8))
    net.reset(torch.randn(64, 3, 32, 32))
    net.train()
    net(torch.randn(16, 3, 32, 32))  # non-trivial BatchNorm running statistics
    return net.eval()


def test_flip_averaged_evaluation_is_the_mean_of_the_two_passes():
    net = _small_net()
    x = torch.randn(10, 3, 32, 32)
    with torch.no_grad():
        plain, mirror = net(x), net(x.flip(-1))
    averaged = predict(net, x, tta=1, batch_size=4)  # chunks of 4 must not change anything
    assert torch.allclose(averaged, (plain + mirror) / 2, atol=1e-6)
    assert not torch.allclose(averaged, plain, atol=1e-4)  # the mirror really counts
    assert torch.allclose(predict(net, x, tta=0), plain, atol=1e-6)
    with torch.no_grad():
        shifted = F.pad(x, (1, 1, 1, 1), mode="reflect")
        level2 = 0.5 * tta_logits(net, x, 1) + 0.25 * (tta_logits(net, shifted[..., :32, :32], 1)
                                                         + tta_logits(net, shifted[..., 2:, 2:], 1))
    assert torch.allclose(predict(net, x, tta=2), level2, atol=1e-6)


def test_whitening_filters_decorrelate_patches():
    torch.manual_seed(0)
    mix = torch.tensor([[1.0, 0.8, 0.6], [0.0, 0.5, 0.4], [0.0, 0.0, 0.3]])
    images = torch.einsum("dc,nchw->ndhw", mix, torch.randn(200, 3, 32, 32)) * 5
    images = images + torch.roll(images, 1, dims=-1)  # neighbouring pixels correlate too
    filters = whitening_filters(images)
    assert filters.shape == (24, 3, 2, 2)
    assert torch.equal(filters[12:], -filters[:12])
    out = F.conv2d(images, filters[:12]).permute(1, 0, 2, 3).reshape(12, -1)
    covariance = out @ out.T / out.shape[1]
    assert torch.allclose(covariance, torch.eye(12), atol=0.02)


def test_reset_starts_every_conv_group_as_identity_and_is_repeatable():
    net = FastNet((24, 24, 24))
    sample = torch.randn(32, 3, 32, 32)
    torch.manual_seed(1)
    net.reset(sample)
    first = {k: v.clone() for k, v in net.state_dict().items()}
    conv = net.groups[0].conv2.weight
    assert torch.equal(conv, torch.nn.init.dirac_(torch.empty_like(conv)))
    assert not net.whiten.weight.requires_grad and not net.groups[0].norm1.weight.requires_grad
    assert torch.equal(net.whiten.weight, whitening_filters(sample))
    assert not net.whiten.bias.any()
    torch.manual_seed(1)
    net.reset(sample)
    assert all(torch.equal(first[k], v) for k, v in net.state_dict().items())


def test_lookahead_moves_the_slow_copy_and_restarts_from_it():
    net = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        net.weight.fill_(1.0)
    look = Lookahead(net)
    with torch.no_grad():
        net.weight.fill_(3.0)
    look.step(net, decay=0.75)                      # 0.75 * 1 + 0.25 * 3
    assert torch.allclose(net.weight, torch.full((1, 2), 1.5))
    with torch.no_grad():
        net.weight.fill_(9.0)
    look.step(net, decay=1.0)                       # back to the slow copy
    assert torch.allclose(net.weight, torch.full((1, 2), 1.5))


def test_lr_schedule_is_a_triangle():
    lesson = load_lesson("36_fast_cifar10")
    total = 100
    factors = [lesson.lr_factor(s, total) for s in range(total + 1)]
    start, peak, end = lesson.LR_SHAPE
    assert factors[0] == pytest.approx(start)
    assert max(factors) == pytest.approx(1.0) and factors.index(max(factors)) == round(peak * total)
    assert factors[-1] == pytest.approx(end)
    rising, falling = factors[:24], factors[23:]
    assert rising == sorted(rising) and falling == sorted(falling, reverse=True)
