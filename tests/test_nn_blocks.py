"""P16-P24, the neural-network building blocks: every number the course's slides show, the shapes
at every layer, the conv output-size formula against real convolutions, and TensorBoard tags."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from conftest import load_lesson, read_events
from tudui import models
from tudui.inspect_model import layer_shapes, shape_table

COURSE_INPUT = [[1, 2, 0, 3, 1], [0, 1, 2, 3, 1], [1, 2, 1, 0, 0], [5, 2, 3, 1, 1], [2, 1, 0, 1, 1]]


def test_16_module_forward_adds_one_and_call_runs_forward(run_lesson):
    result = run_lesson("16_nn_module")
    assert torch.equal(result["output"], torch.tensor(2.0))
    assert result["output"].dtype == torch.float32
    # tudui(x) runs the hook, tudui.forward(x) skips it
    assert (result["hook_calls_via_call"], result["hook_calls_via_forward"]) == (1, 0)
    assert result["hook_outputs"] == [2.0]
    tudui = load_lesson("16_nn_module").Tudui()  # the video's class: forward returns input + 1
    assert torch.equal(tudui(torch.tensor([1.0, -3.0])), torch.tensor([2.0, -2.0]))
    assert list(tudui.parameters()) == []


def test_17_conv_gives_the_course_outputs(run_lesson):
    result = run_lesson("17_conv")
    assert result["by_hand"] == 10
    assert result["outputs"] == {
        "stride=1": [[10, 12, 12], [18, 16, 16], [13, 9, 3]],
        "stride=2": [[10, 12], [13, 3]],
        "stride=1, padding=1": [[1, 3, 4, 10, 8], [5, 10, 12, 12, 6], [7, 18, 16, 16, 8],
                                [11, 13, 9, 3, 4], [14, 13, 9, 7, 4]],
        "stride=1, dilation=2": [[7]],  # 1*1 + 0*2 + 1*1 + 0 + 1*1 + 0 + 2*2 + 0*1 + 0
    }
    assert result["sizes"] == {"stride=1": (3, 3), "stride=2": (2, 2),
                               "stride=1, padding=1": (5, 5), "stride=1, dilation=2": (1, 1)}


@pytest.fixture
def one_thread():
    """For many tiny operations (few-pixel convolutions, batch-size-1 steps): a second thread
    only adds overhead, and on a busy 2-core machine its spin-waiting makes each call up to
    1000 times slower. The results do not depend on the thread count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_17_output_size_formula_matches_real_convolutions(one_thread):
    conv_output_size = load_lesson("17_conv").conv_output_size
    weight_cache: dict[int, torch.Tensor] = {}
    checked = refused = 0
    for size, kernel, stride, padding, dilation in itertools.product(
            range(1, 10), range(1, 5), range(1, 4), range(0, 3), range(1, 4)):
        height, width = size, size + 3  # not square: the helper is applied per dimension
        weight = weight_cache.setdefault(kernel, torch.ones(1, 1, kernel, kernel))
        try:
            real = F.conv2d(torch.ones(1, 1, height, width), weight, stride=stride,
                            padding=padding, dilation=dilation).shape[-2:]
        except RuntimeError:
            real = None
        try:
            predicted = tuple(conv_output_size(n, kernel, stride, padding, dilation)
                              for n in (height, width))
        except ValueError:
            predicted = None
        assert (None if real is None else tuple(real)) == predicted, \
            (size, kernel, stride, padding, dilation)
        checked += predicted is not None
        refused += predicted is None
    assert checked > 500 and refused > 20  # the grid covers both fitting and non-fitting kernels
    with pytest.raises(ValueError):
        conv_output_size(5, 3, stride=0)


def test_18_conv2d_on_cifar_batches_and_tensorboard(run_lesson, log_dir):
    result = run_lesson("18_nn_conv2d")
    assert result["steps"] == 4  # --quick: 256 test images in batches of 64
    assert set(result["shapes"]) == {((64, 3, 32, 32), (64, 6, 30, 30))}
    assert result["weight_shape"] == (6, 3, 3, 3)  # six 3x3x3 kernels in the video's self.conv1
    conv1 = load_lesson("18_nn_conv2d").Tudui().conv1
    assert (conv1.in_channels, conv1.out_channels, conv1.kernel_size) == (3, 6, (3, 3))
    events = read_events(log_dir / "18_nn_conv2d")
    assert events["images"] == {"input": [0, 1, 2, 3], "output": [0, 1, 2, 3]}


def test_19_maxpool_ceil_mode_and_cifar(run_lesson, log_dir):
    result = run_lesson("19_nn_maxpool")
    assert result["small"] == {True: [[2.0, 3.0], [5.0, 1.0]], False: [[2.0]]}
    maxpool1 = load_lesson("19_nn_maxpool").Tudui().maxpool1  # the course's CIFAR-10 setting
    assert (maxpool1.kernel_size, maxpool1.ceil_mode) == (3, False)
    assert set(result["shapes"]) == {((64, 3, 32, 32), (64, 3, 10, 10))}
    events = read_events(log_dir / "19_nn_maxpool")
    assert events["images"] == {"input": [0, 1, 2, 3], "output": [0, 1, 2, 3]}


def test_20_relu_sigmoid_inplace_and_cifar(run_lesson, log_dir):
    result = run_lesson("20_nn_relu")
    tudui = load_lesson("20_nn_relu").Tudui()
    assert isinstance(tudui.relu1, torch.nn.ReLU) and isinstance(tudui.sigmoid1, torch.nn.Sigmoid)
    assert result["relu"] == [[1.0, 0.0], [0.0, 3.0]]
    sigmoid = [v for row in result["sigmoid"] for v in row]
    assert sigmoid == pytest.approx([0.7311, 0.3775, 0.2689, 0.9526], abs=1e-4)
    assert result["input_after_relu"] == [[1.0, -0.5], [-1.0, 3.0]]      # inplace=False
    assert result["input_after_inplace"] == [[1.0, 0.0], [0.0, 3.0]]     # inplace=True
    low, high = result["output_range"]  # pixels in [0,1] -> sigmoid in [0.5, 0.7311]
    assert 0.5 <= low < high <= 1 / (1 + math.exp(-1)) + 1e-6
    events = read_events(log_dir / "20_nn_relu")
    assert events["images"] == {"input": list(range(result["steps"])),
                                "output": list(range(result["steps"]))}


def test_21_linear_quick_batches_divide_evenly(run_lesson):
    result = run_lesson("21_nn_linear")
    # --quick: 200 = 3*64 + 8 pictures, so the short last batch shows even in the tour
    assert (result["dataset_size"], result["full_batches"], result["leftover"]) == (200, 3, 8)
    assert result["batches"] == result["loader_batches"] == 3
    assert result["flat_shape"] == (196608,) and result["linear_shape"] == (10,)
    assert result["per_image_shapes"] == [(64, 3072), (64, 10)]
    assert "24576" in result["leftover_error"] and "196608" in result["leftover_error"]
    assert result["per_image_leftover_shape"] == (8, 10)
    linear1 = load_lesson("21_nn_linear").Tudui().linear1
    assert (linear1.in_features, linear1.out_features) == (196608, 10) == (64 * 3 * 32 * 32, 10)


def test_21_linear_drop_last_on_a_set_that_does_not_divide(run_lesson, capsys):
    # what the docstring says of the real test set, asked of a DataLoader over 10000 items
    loader = torch.utils.data.DataLoader(range(10000), batch_size=64)
    assert len(loader) == 157 and len(list(loader)[-1]) == 16
    assert len(torch.utils.data.DataLoader(range(10000), batch_size=64, drop_last=True)) == 156
    assert "10000 = 156*64 + 16" in load_lesson("21_nn_linear").__doc__
    result = run_lesson("21_nn_linear", quick=False)  # the whole stand-in test set: 500 images
    assert "500 = 7*64 + 52" in capsys.readouterr().out
    assert (result["dataset_size"], result["full_batches"], result["leftover"]) == (500, 7, 52)
    assert result["batches"] == result["loader_batches"] == 7  # drop_last=True
    # without drop_last the last 52 images flatten to 159744 values: Linear(196608, 10) refuses
    assert "159744" in result["leftover_error"] and "196608" in result["leftover_error"]
    assert result["per_image_leftover_shape"] == (52, 10)


def test_22_tudui_shapes_parameters_and_graph(run_lesson, log_dir):
    result = run_lesson("22_nn_seq")
    assert result["padding"] == 2
    assert result["parameters"] == 145_578 == models.count_parameters(models.Tudui())
    assert result["output_shape"] == (64, 10)
    assert [(r["name"], r["shape"], r["params"]) for r in result["layers"]] == [
        ("model1.0", (64, 32, 32, 32), 2432), ("model1.1", (64, 32, 16, 16), 0),
        ("model1.2", (64, 32, 16, 16), 25632), ("model1.3", (64, 32, 8, 8), 0),
        ("model1.4", (64, 64, 8, 8), 51264), ("model1.5", (64, 64, 4, 4), 0),
        ("model1.6", (64, 1024), 0), ("model1.7", (64, 64), 65600), ("model1.8", (64, 10), 650),
    ]
    assert not any("ReLU" in r["layer"] or "Sigmoid" in r["layer"] for r in result["layers"])
    assert read_events(log_dir / "22_nn_seq")["graph"]


def test_22_model1_and_the_model_modules_model_are_the_same_network():
    written_in_22 = load_lesson("22_nn_seq").Tudui()
    module = models.Tudui()
    assert [repr(layer) for layer in written_in_22.model1] == [repr(layer) for layer in module.model]
    assert models.count_parameters(written_in_22) == models.count_parameters(module) == 145_578
    # the same weights give the same outputs: only the attribute's name differs
    module.load_state_dict(dict(zip(module.state_dict(), written_in_22.state_dict().values())))
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(module(x), written_in_22(x))


def test_the_model_module_loads_a_state_dict_from_the_courses_model_py():
    class CourseTudui(torch.nn.Module):  # the course's model.py, as P27 imports it
        def __init__(self):
            super().__init__()
            self.model = torch.nn.Sequential(
                torch.nn.Conv2d(3, 32, 5, 1, 2), torch.nn.MaxPool2d(2),
                torch.nn.Conv2d(32, 32, 5, 1, 2), torch.nn.MaxPool2d(2),
                torch.nn.Conv2d(32, 64, 5, 1, 2), torch.nn.MaxPool2d(2),
                torch.nn.Flatten(), torch.nn.Linear(64 * 4 * 4, 64), torch.nn.Linear(64, 10))

        def forward(self, x):
            return self.model(x)

    learners = CourseTudui()
    tudui = models.Tudui()
    tudui.load_state_dict(learners.state_dict())  # strict: every key and shape matches
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(tudui(x), learners(x))


def test_layer_shapes_removes_its_hooks_and_tabulates():
    model = models.Tudui()
    rows = layer_shapes(model, torch.ones(2, 3, 32, 32))
    assert len(rows) == 9 and rows[-1]["shape"] == (2, 10)
    assert all(not m._forward_hooks for m in model.modules())
    table = shape_table(rows, (2, 3, 32, 32))
    assert "[2, 1024]" in table and "145,578" in table.splitlines()[-1]


def test_23_losses_and_every_parameter_gets_a_gradient(run_lesson):
    result = run_lesson("23_nn_loss")
    assert result["l1_sum"] == 2.0
    assert result["l1_mean"] == pytest.approx(0.6667, abs=1e-4)
    assert result["mse"] == pytest.approx(1.3333, abs=1e-4)
    assert result["cross_entropy"] == pytest.approx(1.1019, abs=1e-4)
    assert result["cross_entropy_by_hand"] == pytest.approx(result["cross_entropy"], abs=1e-6)
    assert result["images"] == 4
    assert all(g is None for g in result["grads_before"])
    grads = result["grads"]  # the video's class, written in the lesson: self.model1
    assert len(grads) == len(list(models.Tudui().parameters())) == 10
    assert next(iter(grads)) == "model1.0.weight"
    for name, grad in grads.items():
        assert grad is not None and torch.isfinite(grad).all(), name
        assert result["grad_norms"][name] > 0, name


def test_24_sgd_running_loss_falls_and_is_logged(run_lesson, log_dir):
    result = run_lesson("24_nn_optim")
    losses = result["running_losses"]
    assert result["epochs"] == len(losses) == 3 and result["images"] == 100
    assert all(isinstance(v, float) and math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0] and result["diverged_at_epoch"] is None
    scalars = read_events(log_dir / "24_nn_optim")["scalars"]["running_loss"]
    assert [step for step, _ in scalars] == [0, 1, 2]
    assert [value for _, value in scalars] == pytest.approx(losses, rel=1e-6)


def test_24_stops_and_explains_when_the_loss_overflows(run_lesson, capsys):
    result = run_lesson("24_nn_optim", "--lr", "10")  # the largest --lr allowed
    assert result["diverged_at_epoch"] == 0 and len(result["running_losses"]) == 1
    assert not math.isfinite(result["running_losses"][0])
    out = capsys.readouterr().out
    assert "Training stopped; try again with --lr 1.0" in out and out.count("running_loss") == 1


@pytest.mark.parametrize("lesson", ["23_nn_loss", "24_nn_optim"])
def test_batch_1_steps_run_on_one_thread_which_is_restored_after(run_lesson, monkeypatch, lesson):
    seen, stop_at = [], []

    class Recording(load_lesson(lesson).Tudui):  # the lesson's own class (self.model1)
        def forward(self, x):
            seen.append(torch.get_num_threads())
            if len(seen) in stop_at:
                raise ValueError("stopped mid-way")
            return super().forward(x)

    monkeypatch.setattr(load_lesson(lesson), "Tudui", Recording)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        run_lesson(lesson)
        assert seen and set(seen) == {1}
        assert torch.get_num_threads() == 2, "the lesson gives the threads back"
        stop_at.append(len(seen) + 3)
        with pytest.raises(ValueError):  # the third step of the next run fails
            run_lesson(lesson)
        assert torch.get_num_threads() == 2, "also when the lesson stops with an error"
    finally:
        torch.set_num_threads(threads)


def test_24_defaults_are_the_courses():
    lesson = load_lesson("24_nn_optim")
    assert (lesson.LEARNING_RATE, lesson.BATCH_SIZE, lesson.EPOCHS) == (0.01, 1, 20)


def test_missing_cifar_is_a_clear_error(tmp_path, log_dir):
    lesson = load_lesson("18_nn_conv2d")
    with pytest.raises(SystemExit) as info:
        lesson.main(["--data-root", str(tmp_path / "empty"), "--log-dir", str(log_dir),
                     "--device", "cpu", "--quick"])
    assert info.value.code == 2
