"""benchmarks/train_speed.py (the FLOP count it divides by, one short run end to end) and
benchmarks/tour_startup.py (both ways of starting a lesson, side by side)."""

from __future__ import annotations

import pytest
import torch

from tudui.infra import lesson_runs
from tudui.models import Tudui
from tudui.paths import REPO_ROOT, import_lesson


@pytest.fixture(scope="module")
def train_speed():
    return import_lesson(REPO_ROOT / "benchmarks" / "train_speed.py", "train_speed")


def test_training_flops_per_image_counts_every_multiply_add(train_speed):
    # forward, 2 FLOPs per multiply-add: conv1 32x32 outputs x 32 channels x 75 weights, conv2
    # 16x16 x 32 x 800, conv3 8x8 x 64 x 800, then the two linears
    forward = [2 * 32 * 32 * 32 * 75, 2 * 16 * 16 * 32 * 800, 2 * 8 * 8 * 64 * 800,
               2 * 1024 * 64, 2 * 64 * 10]
    # backward: gradients of inputs and of weights (2x forward), except conv1's input gradient
    assert train_speed.training_flops_per_image(Tudui()) == 3 * sum(forward) - forward[0]
    assert round(train_speed.training_flops_per_image(Tudui()) / 1e6, 1) == 69.2


def test_a_short_run_reports_every_figure(train_speed, data_root, capsys, monkeypatch):
    monkeypatch.setattr(train_speed, "bf16_native", lambda: False)  # an AVX2-only CPU
    threads = torch.get_num_threads()
    try:
        result = train_speed.main(["--data-root", str(data_root), "--images", "64",
                                   "--repeats", "1", "--threads", "1", "--cpu-time"])
    finally:
        torch.set_num_threads(threads)  # --threads is process-wide
    speeds = result["images_per_second"]
    other = "contiguous" if result["engine_channels_last"] else "channels-last"
    assert set(speeds) == {"course-style", "engine (fp32)", f"engine fp32, {other}", "layers alone"}
    assert all(v > 0 for v in speeds.values()) and 0 <= result["noise"] < 1
    assert all(len(rounds) == 1 and max(rounds) == speeds[name]  # best of the interleaved rounds
               for name, rounds in result["rounds"].items())
    assert result["engine_ratio"] == pytest.approx(speeds["engine (fp32)"] / speeds["course-style"])
    assert result["rates"]["limit"] == max(result["rates"]["matmul"], result["rates"]["conv"]) > 0
    assert result["faster_memory_format"] in ("channels_last", "contiguous")
    out = capsys.readouterr().out
    assert result["bf16"] == "not native on this CPU" and "engine --bf16" not in speeds
    assert "not native on this CPU: not timed" in out and "of the fp32 compute limit" in out
    if speeds["engine (fp32)"] <= speeds["layers alone"]:  # a ceiling only when it is one
        assert result["ceiling_images_per_second"] == speeds["layers alone"] and "ceiling" in out
    else:
        assert result["ceiling_images_per_second"] is None and "no ceiling is claimed" in out


@pytest.mark.skipif(not lesson_runs.fork_available(), reason="the tour forks on Linux only")
def test_tour_startup_reports_both_ways_side_by_side(monkeypatch, capsys):
    tour_startup = import_lesson(REPO_ROOT / "benchmarks" / "tour_startup.py", "tour_startup")
    new_pythons = []

    def new_python(path, *args):  # a new interpreter costs seconds; the arithmetic is the point
        new_pythons.append(path.name)
        return lesson_runs.run_script_forked(path, *args)

    monkeypatch.setattr(lesson_runs, "run_script", new_python)
    monkeypatch.setattr(tour_startup, "import_torch_seconds", lambda: 2.5)
    result = tour_startup.main(["--lessons", "16", "17", "--rounds", "2"])
    assert new_pythons == ["16_nn_module.py", "17_conv.py"] * 2  # interleaved rounds
    assert [len(runs) for runs in result["forked"].values()] == [2, 2]  # the warm-up not counted
    assert set(result["best"]) == {"16_nn_module", "17_conv"} and result["import_torch"] == 2.5
    for name, (new, fork) in result["best"].items():
        assert new == min(result["fresh"][name]) and fork == min(result["forked"][name]) > 0
    out = capsys.readouterr().out
    assert 'python -c "import torch": 2.50 s' in out and "16_nn_module" in out and "x\n" in out
