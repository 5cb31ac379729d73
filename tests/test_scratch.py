"""The from-scratch track (src/tudui/scratch/, lessons 91-93): every block equals PyTorch.

Forward passes against torch over randomly drawn shapes, strides, paddings and ceil modes
(float32, 1e-5); every hand-written backward against finite differences (gradcheck) and against
autograd (float64); the course's printed values; the scratch and nn Tudui side by side; and
scratch training following 27_train.py step for step.
"""

from __future__ import annotations

import random
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import read_events
from tudui import scratch
from tudui.models import Tudui
from tudui.paths import PACKAGE_DIR
from tudui.scratch.model import default_init

FLOAT32 = {"atol": 1e-5, "rtol": 1e-5}
FLOAT64 = {"atol": 1e-10, "rtol": 1e-10}


def hand_written(forward, backward):
    """An autograd Function whose backward is OUR backward, so gradcheck can judge it."""

    class Block(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *inputs):
            ctx.save_for_backward(*inputs)
            return forward(*inputs)

        @staticmethod
        def backward(ctx, grad_out):
            return backward(grad_out, *ctx.saved_tensors)

    return Block.apply


def conv_configs(count: int, seed: int, size: int = 11, channels: int = 4):
    """Random (N, C, O, H, W, kernel, stride, padding), kernel never larger than padded input."""
    rng = random.Random(seed)
    for _ in range(count):
        kernel = (rng.randint(1, 5), rng.randint(1, 5))
        stride = (rng.randint(1, 3), rng.randint(1, 3))
        padding = (rng.randint(0, 2), rng.randint(0, 2))
        height = rng.randint(max(1, kernel[0] - 2 * padding[0]), max(size, kernel[0]))
        width = rng.randint(max(1, kernel[1] - 2 * padding[1]), max(size, kernel[1]))
        yield (rng.randint(1, 2), rng.randint(1, channels), rng.randint(1, channels), height,
               width, kernel, stride, padding)


def pool_configs(count: int, seed: int):
    """Random (H, W, kernel, stride or None, padding <= kernel/2, ceil_mode), as PyTorch allows."""
    rng = random.Random(seed)
    for _ in range(count):
        kernel = (rng.randint(1, 4), rng.randint(1, 4))
        stride = None if rng.random() < 0.25 else (rng.randint(1, 4), rng.randint(1, 4))
        padding = (rng.randint(0, kernel[0] // 2), rng.randint(0, kernel[1] // 2))
        yield (rng.randint(kernel[0], 12), rng.randint(kernel[1], 12), kernel, stride, padding,
               rng.random() < 0.5)


# ---------------------------------------------------------------------------------------------
# Forward passes against PyTorch, float32.

def test_conv2d_forward_matches_torch_over_random_shapes():
    torch.manual_seed(0)
    for n, c, o, h, w, kernel, stride, padding in conv_configs(60, seed=1):
        x = torch.rand(n, c, h, w)
        weight = torch.randn(o, c, *kernel) / (c * kernel[0] * kernel[1]) ** 0.5
        bias = torch.randn(o) if o % 2 else None
        expected = F.conv2d(x, weight, bias, stride, padding)
        torch.testing.assert_close(scratch.conv2d(x, weight, bias, stride, padding), expected,
                                   **FLOAT32)


def test_max_pool2d_forward_matches_torch_over_random_shapes_and_ceil_modes():
    torch.manual_seed(0)
    seen_ceil_difference = False
    for h, w, kernel, stride, padding, ceil_mode in pool_configs(80, seed=2):
        x = torch.randn(2, 3, h, w)
        expected = F.max_pool2d(x, kernel, stride, padding, ceil_mode=ceil_mode)
        ours = scratch.max_pool2d(x, kernel, stride, padding, ceil_mode)
        assert ours.shape == expected.shape, (h, w, kernel, stride, padding, ceil_mode)
        assert torch.equal(ours, expected)      # a maximum is exact: no rounding at all
        sizes = [scratch.pool_output_size(s, k, st, p, ceil_mode) for s, k, st, p in
                 zip((h, w), kernel, stride or kernel, padding)]
        assert tuple(sizes) == tuple(expected.shape[-2:])
        floor = F.max_pool2d(x, kernel, stride, padding, ceil_mode=False)
        seen_ceil_difference |= ceil_mode and floor.shape != expected.shape
    assert seen_ceil_difference, "the draw should include ceil_mode cases that add a window"


def test_elementwise_linear_and_loss_forwards_match_torch():
    torch.manual_seed(0)
    for shape in [(3,), (4, 5), (2, 3, 4, 5)]:
        x = torch.randn(shape) * 4
        torch.testing.assert_close(scratch.relu(x), torch.relu(x), **FLOAT32)
        torch.testing.assert_close(scratch.sigmoid(x), torch.sigmoid(x), **FLOAT32)
        y = torch.randn(shape)
        for reduction in ("mean", "sum"):
            torch.testing.assert_close(scratch.l1_loss(x, y, reduction),
                                       F.l1_loss(x, y, reduction=reduction), **FLOAT32)
            torch.testing.assert_close(scratch.mse_loss(x, y, reduction),
                                       F.mse_loss(x, y, reduction=reduction), **FLOAT32)
    for n, features, out in [(1, 25, 3), (7, 13, 5), (64, 1024, 64)]:
        x, layer = torch.randn(n, features), nn.Linear(features, out)
        torch.testing.assert_close(scratch.linear(x, layer.weight, layer.bias), layer(x),
                                   **FLOAT32)
        torch.testing.assert_close(scratch.linear(x, layer.weight), x @ layer.weight.T, **FLOAT32)
    images = torch.randn(4, 3, 5, 6)
    assert torch.equal(scratch.flatten(images), nn.Flatten()(images))
    for n, classes in [(1, 3), (5, 10), (64, 10)]:
        logits, target = torch.randn(n, classes) * 3, torch.randint(0, classes, (n,))
        torch.testing.assert_close(scratch.log_softmax(logits), torch.log_softmax(logits, -1),
                                   **FLOAT32)
        for reduction in ("mean", "sum"):
            torch.testing.assert_close(scratch.cross_entropy(logits, target, reduction),
                                       F.cross_entropy(logits, target, reduction=reduction),
                                       **FLOAT32)


def test_log_softmax_is_stable_for_huge_logits():
    logits = torch.tensor([[1000.0, 0.0, -1000.0], [-1e4, -1e4 + 1, -1e4 + 2]])
    ours = scratch.log_softmax(logits)
    assert torch.isfinite(ours).all()
    torch.testing.assert_close(ours, torch.log_softmax(logits, -1), **FLOAT32)
    naive = torch.log(torch.exp(logits) / torch.exp(logits).sum(-1, keepdim=True))
    assert not torch.isfinite(naive).all()     # why the max is subtracted first


# ---------------------------------------------------------------------------------------------
# Backward passes: gradcheck (our backward vs finite differences) and autograd, float64.

def test_conv2d_backward_passes_gradcheck():
    torch.manual_seed(0)
    for n, c, o, h, w, kernel, stride, padding in conv_configs(6, seed=3, size=6, channels=2):
        x = torch.randn(n, c, h, w, dtype=torch.float64, requires_grad=True)
        weight = torch.randn(o, c, *kernel, dtype=torch.float64, requires_grad=True)
        bias = torch.randn(o, dtype=torch.float64, requires_grad=True)
        block = hand_written(lambda x, w, b, s=stride, p=padding: scratch.conv2d(x, w, b, s, p),
                             lambda g, x, w, b, s=stride, p=padding:
                             scratch.conv2d_backward(g, x, w, s, p))
        assert torch.autograd.gradcheck(block, (x, weight, bias))
    # ...and autograd through the scratch forward itself agrees with finite differences too
    assert torch.autograd.gradcheck(lambda x, w, b: scratch.conv2d(x, w, b, 2, 1),
                                    (x[:1, :1, :5, :5], weight[:2, :1], bias[:2]))


def test_conv2d_backward_matches_autograd_over_random_shapes():
    torch.manual_seed(0)
    for n, c, o, h, w, kernel, stride, padding in conv_configs(40, seed=4):
        x = torch.randn(n, c, h, w, dtype=torch.float64, requires_grad=True)
        weight = torch.randn(o, c, *kernel, dtype=torch.float64, requires_grad=True)
        bias = torch.randn(o, dtype=torch.float64, requires_grad=True)
        out = F.conv2d(x, weight, bias, stride, padding)
        grad_out = torch.randn_like(out)
        expected = torch.autograd.grad(out, (x, weight, bias), grad_out)
        ours = scratch.conv2d_backward(grad_out, x.detach(), weight.detach(), stride, padding)
        for mine, theirs in zip(ours, expected):
            torch.testing.assert_close(mine, theirs, **FLOAT64)


def test_max_pool2d_backward_passes_gradcheck():
    torch.manual_seed(0)
    for h, w, kernel, stride, padding, ceil_mode in pool_configs(12, seed=5):
        # distinct values 0.1 apart: finite differences cannot change which one is the max
        x = (torch.randperm(2 * h * w).double() / 10).reshape(1, 2, h, w).requires_grad_()
        block = hand_written(
            lambda x, k=kernel, s=stride, p=padding, c=ceil_mode: scratch.max_pool2d(x, k, s, p, c),
            lambda g, x, k=kernel, s=stride, p=padding, c=ceil_mode:
            (scratch.max_pool2d_backward(g, x, k, s, p, c),))
        assert torch.autograd.gradcheck(block, (x,))


def test_max_pool2d_backward_matches_autograd_including_ties():
    torch.manual_seed(0)
    for index, (h, w, kernel, stride, padding, ceil_mode) in enumerate(pool_configs(80, seed=6)):
        if index % 2:   # small integers: many windows hold their maximum more than once
            x = torch.randint(0, 3, (2, 3, h, w)).double().requires_grad_()
        else:
            x = torch.randn(2, 3, h, w, dtype=torch.float64, requires_grad=True)
        out = F.max_pool2d(x, kernel, stride, padding, ceil_mode=ceil_mode)
        grad_out = torch.randn_like(out)
        (expected,) = torch.autograd.grad(out, x, grad_out)
        ours = scratch.max_pool2d_backward(grad_out, x.detach(), kernel, stride, padding,
                                           ceil_mode)
        torch.testing.assert_close(ours, expected, **FLOAT64)


def test_max_pool2d_ties_send_the_whole_gradient_to_the_first_maximum():
    x = torch.ones(1, 1, 4, 4)                              # every window is one big tie
    ours = scratch.max_pool2d_backward(torch.ones(1, 1, 2, 2), x, 2)
    expected = torch.zeros(1, 1, 4, 4)
    expected[..., 0::2, 0::2] = 1                           # the top-left of each window
    assert torch.equal(ours, expected)
    x.requires_grad_()
    F.max_pool2d(x, 2).sum().backward()
    assert torch.equal(x.grad, expected)                    # ...which is what PyTorch does
    # overlapping windows (stride 1): a pixel that wins several windows collects every gradient
    y = torch.tensor([[0.0, 5.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]).reshape(1, 1, 3, 3)
    grad = scratch.max_pool2d_backward(torch.ones(1, 1, 2, 2), y, 2, stride=1)
    assert grad[0, 0, 0, 1] == 2 and grad.sum() == 4       # 5 wins the two top windows


def test_elementwise_linear_and_loss_backwards_pass_gradcheck_and_match_autograd():
    torch.manual_seed(0)
    double = {"dtype": torch.float64}
    x = torch.randn(2, 3, 4, **double)
    x = (x + 0.1 * x.sign()).requires_grad_()               # away from relu's kink at 0
    y = torch.randn(2, 3, 4, **double)
    logits = torch.randn(4, 5, **double, requires_grad=True)
    target = torch.randint(0, 5, (4,))
    weight = torch.randn(3, 6, **double, requires_grad=True)
    bias = torch.randn(3, **double, requires_grad=True)
    features = torch.randn(4, 6, **double, requires_grad=True)

    cases = {   # name: (our forward, our backward, torch's forward, inputs)
        "relu": (scratch.relu, lambda g, x: (scratch.relu_backward(g, x),), torch.relu, (x,)),
        "sigmoid": (scratch.sigmoid, lambda g, x: (scratch.sigmoid_backward(g, x),),
                    torch.sigmoid, (x,)),
        "flatten": (scratch.flatten, lambda g, x: (scratch.flatten_backward(g, x),),
                    nn.Flatten(), (x,)),
        "linear": (scratch.linear, lambda g, x, w, b: scratch.linear_backward(g, x, w),
                   F.linear, (features, weight, bias)),
        "log_softmax": (scratch.log_softmax, lambda g, z: (scratch.log_softmax_backward(g, z),),
                        lambda z: torch.log_softmax(z, -1), (logits,)),
    }
    for reduction in ("mean", "sum"):
        cases[f"cross_entropy {reduction}"] = (
            lambda z, r=reduction: scratch.cross_entropy(z, target, r),
            lambda g, z, r=reduction: (g * scratch.cross_entropy_backward(z, target, r),),
            lambda z, r=reduction: F.cross_entropy(z, target, reduction=r), (logits,))
        cases[f"l1_loss {reduction}"] = (
            lambda a, r=reduction: scratch.l1_loss(a, y, r),
            lambda g, a, r=reduction: (g * scratch.l1_loss_backward(a, y, r),),
            lambda a, r=reduction: F.l1_loss(a, y, reduction=r), (x,))
        cases[f"mse_loss {reduction}"] = (
            lambda a, r=reduction: scratch.mse_loss(a, y, r),
            lambda g, a, r=reduction: (g * scratch.mse_loss_backward(a, y, r),),
            lambda a, r=reduction: F.mse_loss(a, y, reduction=r), (x,))

    for name, (forward, backward, reference, inputs) in cases.items():
        block = hand_written(forward, backward)
        assert torch.autograd.gradcheck(block, inputs), name
        out = reference(*inputs)
        grad_out = torch.randn_like(out)
        expected = torch.autograd.grad(out, inputs, grad_out)
        ours = backward(grad_out, *(t.detach() for t in inputs))
        for mine, theirs in zip(ours, expected):
            torch.testing.assert_close(mine, theirs, **FLOAT64, msg=name)


def test_relu_gradient_at_zero_is_zero_as_in_pytorch():
    x = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    torch.relu(x).sum().backward()
    assert torch.equal(scratch.relu_backward(torch.ones(3), x.detach()), x.grad)


def test_sgd_step_is_torch_optim_sgd():
    torch.manual_seed(0)
    layer = nn.Linear(5, 3)
    F.mse_loss(layer(torch.randn(4, 5)), torch.randn(4, 3)).backward()
    params = {k: v.detach().clone() for k, v in layer.named_parameters()}
    scratch.sgd_step(params, {k: v.grad for k, v in layer.named_parameters()}, lr=0.01)
    torch.optim.SGD(layer.parameters(), lr=0.01).step()
    for name, value in layer.named_parameters():
        assert torch.equal(params[name], value.detach())      # bit for bit


def test_scratch_blocks_use_no_nn_functional_or_autograd():
    for path in sorted((PACKAGE_DIR / "scratch").glob("*.py")):
        code = re.sub(r'"""(.|\n)*?"""', "", path.read_text(encoding="utf-8"))   # docstrings out
        code = re.sub(r"#.*", "", code)
        for banned in ("torch.nn", "from torch import nn", "functional", "autograd",
                       ".backward(", "requires_grad", "torch.max_pool", "torch.conv",
                       "torch.relu", "torch.sigmoid", "log_softmax(x, ", "torch.softmax"):
            assert banned not in code, f"{path.name} uses {banned}"


# ---------------------------------------------------------------------------------------------
# The scratch Tudui beside the nn.Module Tudui.

def test_scratch_tudui_starts_from_the_same_weights_and_keys_as_nn_tudui():
    torch.manual_seed(3)
    reference = Tudui()
    torch.manual_seed(3)
    ours = scratch.Tudui()
    assert list(ours.state_dict()) == list(reference.state_dict())
    for key, value in reference.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value), key
    weight, bias = default_init((64, 1024))
    assert weight.abs().max() <= 1024 ** -0.5 and bias.abs().max() <= 1024 ** -0.5


def test_scratch_tudui_state_dict_round_trips_and_rejects_other_models():
    torch.manual_seed(0)
    reference, ours = Tudui(), scratch.Tudui()
    ours.load_state_dict(reference.state_dict())
    reference.load_state_dict(ours.state_dict())      # and back into the nn.Module
    exported = ours.state_dict()
    exported["model.0.weight"] += 1                   # a copy: the model does not move
    assert not torch.equal(exported["model.0.weight"], ours.params["model.0.weight"])
    with pytest.raises(KeyError, match="model.9"):
        ours.load_state_dict({**reference.state_dict(), "model.9.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="model.8.weight"):
        ours.load_state_dict({**reference.state_dict(), "model.8.weight": torch.zeros(5, 64)})


@pytest.mark.parametrize("dtype, tolerance", [(torch.float64, FLOAT64),
                                              (torch.float32, {"atol": 1e-5, "rtol": 1e-4})])
def test_scratch_tudui_outputs_and_gradients_equal_nn_tudui(dtype, tolerance):
    torch.manual_seed(1)
    reference = Tudui().to(dtype)
    ours = scratch.Tudui()
    ours.load_state_dict(reference.state_dict())
    images, targets = torch.rand(4, 3, 32, 32, dtype=dtype), torch.randint(0, 10, (4,))
    images.requires_grad_()
    logits = reference(images)
    F.cross_entropy(logits, targets).backward()
    our_logits = ours(images.detach())
    torch.testing.assert_close(our_logits, logits.detach(), **tolerance)
    grads = ours.backward(scratch.cross_entropy_backward(our_logits, targets))
    assert list(grads) == list(reference.state_dict())
    if dtype == torch.float64:       # float32 near-ties in pooling may pick another winner
        for name, param in reference.named_parameters():
            torch.testing.assert_close(grads[name], param.grad, **tolerance, msg=name)
        torch.testing.assert_close(ours.input_grad, images.grad, **tolerance)


def test_a_few_steps_of_scratch_training_match_nn_training():
    torch.manual_seed(2)
    reference = Tudui().double()
    ours = scratch.Tudui()
    ours.load_state_dict(reference.state_dict())
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.05)
    for _ in range(3):
        images = torch.rand(8, 3, 32, 32, dtype=torch.float64)
        targets = torch.randint(0, 10, (8,))
        loss = F.cross_entropy(reference(images), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        logits = ours(images)
        our_loss = scratch.cross_entropy(logits, targets)
        scratch.sgd_step(ours.params, ours.backward(scratch.cross_entropy_backward(logits, targets)),
                         lr=0.05)
        assert our_loss.item() == pytest.approx(loss.item(), abs=1e-10)
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(ours.params[key], value, **FLOAT64)


# ---------------------------------------------------------------------------------------------
# The lessons.

def test_91_prints_the_course_values_beside_pytorch(run_lesson, capsys):
    result = run_lesson("91_scratch_layers")
    r = result["results"]
    assert r["conv2d stride=1"]["scratch"] == [[[[10, 12, 12], [18, 16, 16], [13, 9, 3]]]]
    assert r["conv2d stride=2"]["scratch"] == [[[[10, 12], [13, 3]]]]
    assert r["conv2d stride=1, padding=1"]["scratch"][0][0] == [
        [1, 3, 4, 10, 8], [5, 10, 12, 12, 6], [7, 18, 16, 16, 8], [11, 13, 9, 3, 4],
        [14, 13, 9, 7, 4]]
    assert r["max_pool2d kernel_size=3, ceil_mode=True"]["scratch"] == [[[[2, 3], [5, 1]]]]
    assert r["max_pool2d kernel_size=3, ceil_mode=False"]["scratch"] == [[[[2]]]]
    assert r["relu"]["scratch"] == [[[[1, 0], [0, 3]]]]
    assert r["L1Loss"]["scratch"] == pytest.approx(2 / 3)
    assert r["L1Loss(reduction='sum')"]["scratch"] == 2
    assert r["MSELoss"]["scratch"] == pytest.approx(4 / 3)
    assert r["CrossEntropyLoss"]["scratch"] == pytest.approx(1.1019, abs=1e-4)
    assert result["worst"] < 1e-6 and r["sgd_step weight max_diff"] < 1e-7
    out = capsys.readouterr().out
    assert "tensor(1.1019)" in out and "PyTorch" in out and "从零" in out


def test_92_hand_written_gradients_equal_autograd_layer_by_layer(run_lesson, capsys):
    result = run_lesson("92_scratch_backprop", "--float64")
    assert [row["layer"] for row in result["layers"]] == [f"model.{i}" for i in range(8, -1, -1)]
    assert result["max_diff"] < 1e-12
    assert result["loss"] == pytest.approx(result["torch_loss"], abs=1e-12)
    assert 2.0 < result["loss"] < 2.6           # about log(10) for a fresh model
    assert "model.0" in capsys.readouterr().out


def test_93_scratch_training_follows_27_train_step_for_step(run_lesson, log_dir):
    result = run_lesson("93_scratch_train")
    assert result["steps"] == 8 == len(result["nn_losses"])      # 512 quick images / 64
    assert result["max_diff"] < 1e-4
    assert result["scratch_losses"][0] == pytest.approx(result["nn_losses"][0], abs=1e-5)
    assert not (log_dir / "27_train").exists()      # 27_train.py ran in a temporary folder
    for run, losses in (("scratch", result["scratch_losses"]), ("nn", result["nn_losses"])):
        scalars = read_events(log_dir / "93_scratch_train" / run)["scalars"]["train_loss"]
        assert [step for step, _ in scalars] == list(range(1, 9))
        assert [value for _, value in scalars] == pytest.approx(losses, abs=1e-6)

