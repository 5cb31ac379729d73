"""The course's CIFAR-10 model ``Tudui`` (P22) built only from the scratch blocks.

Same layers, same state_dict keys (``model.0.weight`` ... ``model.8.bias``) and, from the same
seed, the same initial weights as ``tudui.models.Tudui``, so the two can be compared number for
number. ``forward`` remembers each layer's input; ``backward`` walks the layers in reverse and
applies the chain rule: each layer turns dL/d(its output) into dL/d(its input), and the layers
with weights also hand out dL/d(weight) and dL/d(bias).
"""

from __future__ import annotations

import math

import torch

from tudui.scratch.conv import conv2d, conv2d_backward
from tudui.scratch.linear import flatten, flatten_backward, linear, linear_backward
from tudui.scratch.pool import max_pool2d, max_pool2d_backward

# (kind, state_dict prefix, weight shape): index i of model in the nn.Module version.
LAYERS = [
    ("conv", "model.0", (32, 3, 5, 5)),
    ("pool", "model.1", None),
    ("conv", "model.2", (32, 32, 5, 5)),
    ("pool", "model.3", None),
    ("conv", "model.4", (64, 32, 5, 5)),
    ("pool", "model.5", None),
    ("flatten", "model.6", None),
    ("linear", "model.7", (64, 64 * 4 * 4)),
    ("linear", "model.8", (10, 64)),
]
PADDING, POOL = 2, 2


def default_init(shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """PyTorch's default init for Conv2d and Linear: weight and bias ~ U(-1/sqrt(fan_in), +...).

    PyTorch writes it as kaiming_uniform_(a=sqrt(5)), whose bound sqrt(3) * gain / sqrt(fan_in)
    with gain = sqrt(2 / (1 + a^2)) is 1/sqrt(fan_in); we spell it the same way and draw in the
    same order (weight, then bias) so that the same seed gives the same numbers.
    """
    fan_in = math.prod(shape[1:])
    gain = math.sqrt(2.0 / (1 + math.sqrt(5) ** 2))
    weight = torch.empty(shape).uniform_(-math.sqrt(3.0) * gain / math.sqrt(fan_in),
                                         math.sqrt(3.0) * gain / math.sqrt(fan_in))
    bias = torch.empty(shape[0]).uniform_(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
    return weight, bias


class Tudui:
    """Conv-Pool x3, Flatten, Linear(1024->64), Linear(64->10), forward and backward by hand."""

    def __init__(self):
        self.params: dict[str, torch.Tensor] = {}
        for _kind, name, shape in LAYERS:
            if shape is not None:
                self.params[f"{name}.weight"], self.params[f"{name}.bias"] = default_init(shape)
        self.inputs: list[torch.Tensor] = []        # each layer's input, kept for backward
        self.output_grads: list[torch.Tensor] = []  # dL/d(each layer's output), after backward
        self.input_grad: torch.Tensor | None = None  # dL/d(images), after backward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.inputs = []
        for kind, name, _ in LAYERS:
            self.inputs.append(x)
            if kind == "conv":
                x = conv2d(x, self.params[f"{name}.weight"], self.params[f"{name}.bias"],
                           padding=PADDING)
            elif kind == "pool":
                x = max_pool2d(x, POOL)
            elif kind == "flatten":
                x = flatten(x)
            else:
                x = linear(x, self.params[f"{name}.weight"], self.params[f"{name}.bias"])
        return x

    __call__ = forward

    def backward(self, grad_out: torch.Tensor) -> dict[str, torch.Tensor]:
        """dL/d(every parameter), given dL/d(logits); also fills ``output_grads``."""
        grads: dict[str, torch.Tensor] = {}
        self.output_grads = [None] * len(LAYERS)
        for index in reversed(range(len(LAYERS))):
            kind, name, _ = LAYERS[index]
            x = self.inputs[index]
            self.output_grads[index] = grad_out
            if kind == "conv":
                grad_out, grads[f"{name}.weight"], grads[f"{name}.bias"] = conv2d_backward(
                    grad_out, x, self.params[f"{name}.weight"], padding=PADDING)
            elif kind == "pool":
                grad_out = max_pool2d_backward(grad_out, x, POOL)
            elif kind == "flatten":
                grad_out = flatten_backward(grad_out, x)
            else:
                grad_out, grads[f"{name}.weight"], grads[f"{name}.bias"] = linear_backward(
                    grad_out, x, self.params[f"{name}.weight"])
        self.input_grad = grad_out
        return {key: grads[key] for key in self.params}     # in state_dict order

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The weights under the nn.Module's keys (copies, so later training does not move them)."""
        return {key: value.clone() for key, value in self.params.items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Load weights saved from either version (keys and shapes must match; dtype is kept)."""
        if set(state) != set(self.params):
            raise KeyError(f"state_dict keys differ: missing {sorted(set(self.params) - set(state))}, "
                           f"unexpected {sorted(set(state) - set(self.params))}")
        for key, value in state.items():
            if value.shape != self.params[key].shape:
                raise ValueError(f"{key}: shape {tuple(value.shape)}, expected "
                                 f"{tuple(self.params[key].shape)}")
            self.params[key] = value.detach().clone()

    def to(self, dtype_or_device) -> Tudui:
        """Move/cast every weight (e.g. ``.to(torch.float64)`` for gradient checks)."""
        self.params = {k: v.to(dtype_or_device) for k, v in self.params.items()}
        return self
