"""From scratch / 从零实现: every building block of the course, forward and backward, by hand.

"What I cannot create, I do not understand." / "知之不若行之".

One file per block, each a forward and a hand-written backward made of plain tensor arithmetic
(indexing, ``unfold``, matmul, sum, max, exp). No ``torch.nn``, no ``torch.nn.functional``
layers or losses, and no autograd: ``*_backward`` functions compute gradients with the chain
rule written out. ``tests/test_scratch.py`` checks every one against PyTorch.

- ``conv.py``        conv2d, conv2d_backward            (im2col with ``Tensor.unfold``)
- ``pool.py``        max_pool2d, max_pool2d_backward    (kernel, stride, padding, ceil_mode)
- ``activation.py``  relu, sigmoid and their backward
- ``linear.py``      linear, flatten and their backward
- ``loss.py``        log_softmax, cross_entropy, l1_loss, mse_loss and their backward
- ``sgd.py``         sgd_step
- ``model.py``       Tudui: the course's CIFAR-10 model built from the blocks above

Convention: ``block(x, ...)`` returns the output; ``block_backward(grad_out, x, ...)`` takes
the gradient of the loss with respect to that output plus the forward's inputs, and returns the
gradients with respect to those inputs (recomputing what it needs, so nothing is hidden).
"""

from tudui.scratch.activation import relu, relu_backward, sigmoid, sigmoid_backward
from tudui.scratch.conv import conv2d, conv2d_backward
from tudui.scratch.linear import flatten, flatten_backward, linear, linear_backward
from tudui.scratch.loss import (
    cross_entropy,
    cross_entropy_backward,
    l1_loss,
    l1_loss_backward,
    log_softmax,
    log_softmax_backward,
    mse_loss,
    mse_loss_backward,
)
from tudui.scratch.model import Tudui
from tudui.scratch.pool import max_pool2d, max_pool2d_backward, pool_output_size
from tudui.scratch.sgd import sgd_step

__all__ = [
    "Tudui", "conv2d", "conv2d_backward", "cross_entropy", "cross_entropy_backward", "flatten",
    "flatten_backward", "l1_loss", "l1_loss_backward", "linear", "linear_backward",
    "log_softmax", "log_softmax_backward", "max_pool2d", "max_pool2d_backward", "mse_loss",
    "mse_loss_backward", "pool_output_size", "relu", "relu_backward", "sgd_step", "sigmoid",
    "sigmoid_backward",
]
