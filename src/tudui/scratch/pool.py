"""max_pool2d from scratch (P19): the largest value of every window, and where it was.

Forward. Cut the input into kh x kw windows, ``stride`` apart (stride defaults to the kernel
size, as in ``nn.MaxPool2d``), and keep each window's maximum. ``padding`` adds -inf around the
input (so it is never picked). The number of windows per row is

    OH = floor((H + 2*p - k) / s) + 1                       ceil_mode=False (default)
    OH = ceil ((H + 2*p - k) / s) + 1                       ceil_mode=True: keep the last,
                                                            partial window...
    ... minus one if that last window would start beyond the input and its left padding
    (PyTorch's rule), so that no window sees padding only.

A partial window at the edge (ceil_mode) just looks at the pixels that exist: we pad it with
-inf, which never wins.

Backward. Only the winner of each window influenced the output, so the window's gradient goes to
that one pixel and the others get 0. Where windows overlap (stride < kernel) one pixel can win
several windows, and its gradient is the sum.

Ties. PyTorch's CPU and CUDA kernels scan a window row by row and replace the running maximum
only by a strictly larger value, so when several pixels share the maximum the FIRST one in
row-major order wins and receives the whole gradient (it is not split). ``torch.argmax`` is
documented to return the first maximal index, so using it reproduces PyTorch exactly, and the
tests check it on windows full of equal values. (NaN is treated as the maximum by both.)
"""

from __future__ import annotations

import math

import torch

from tudui.scratch.conv import _pad, _pair


def pool_output_size(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool) -> int:
    """How many windows fit along one dimension (PyTorch's formula, see the module docstring)."""
    span = size + 2 * padding - kernel
    out = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _windows(x, kernel, stride, padding, ceil_mode):
    """[N, C, H, W] -> windows [N, C, OH, OW, kh*kw] (padded with -inf) and the padded size."""
    oh = pool_output_size(x.shape[-2], kernel[0], stride[0], padding[0], ceil_mode)
    ow = pool_output_size(x.shape[-1], kernel[1], stride[1], padding[1], ceil_mode)
    xp = _pad(x, padding, float("-inf"))
    # ceil_mode's last window may hang over the bottom/right edge: extend with -inf to cover it.
    need_h = max((oh - 1) * stride[0] + kernel[0], xp.shape[-2])
    need_w = max((ow - 1) * stride[1] + kernel[1], xp.shape[-1])
    if (need_h, need_w) != tuple(xp.shape[-2:]):
        grown = xp.new_full((*xp.shape[:-2], need_h, need_w), float("-inf"))
        grown[..., :xp.shape[-2], :xp.shape[-1]] = xp
        xp = grown
    win = xp.unfold(-2, kernel[0], stride[0]).unfold(-2, kernel[1], stride[1])
    return win[..., :oh, :ow, :, :].reshape(*win.shape[:-4], oh, ow, -1), (need_h, need_w)


def max_pool2d(x: torch.Tensor, kernel_size, stride=None, padding=0,
               ceil_mode: bool = False) -> torch.Tensor:
    """Same as ``torch.nn.functional.max_pool2d(x, kernel_size, stride, padding, ceil_mode=...)``."""
    kernel = _pair(kernel_size)
    stride = kernel if stride is None else _pair(stride)
    win, _ = _windows(x, kernel, stride, _pair(padding), ceil_mode)
    first_max = win.argmax(-1, keepdim=True)          # the first maximum wins, as in PyTorch
    return win.gather(-1, first_max).squeeze(-1)


def max_pool2d_backward(grad_out: torch.Tensor, x: torch.Tensor, kernel_size, stride=None,
                        padding=0, ceil_mode: bool = False) -> torch.Tensor:
    """Gradient of max_pool2d with respect to ``x``: each window's gradient goes to its winner."""
    kernel = _pair(kernel_size)
    stride = kernel if stride is None else _pair(stride)
    padding = _pair(padding)
    win, (hp, wp) = _windows(x, kernel, stride, padding, ceil_mode)
    first_max = win.argmax(-1)                                            # [N, C, OH, OW]
    oh, ow = first_max.shape[-2:]
    # Window (y, x), position t inside it  ->  padded pixel (y*sh + t // kw, x*sw + t % kw).
    rows = torch.arange(oh, device=x.device).reshape(oh, 1) * stride[0] + first_max // kernel[1]
    cols = torch.arange(ow, device=x.device).reshape(1, ow) * stride[1] + first_max % kernel[1]
    where = (rows * wp + cols).flatten(-2)                                # [N, C, OH*OW]
    grad_plane = grad_out.new_zeros(*x.shape[:-2], hp * wp)
    grad_plane.scatter_add_(-1, where, grad_out.flatten(-2))              # winners add up
    grad_xp = grad_plane.reshape(*x.shape[:-2], hp, wp)
    return grad_xp[..., padding[0]:padding[0] + x.shape[-2], padding[1]:padding[1] + x.shape[-1]]
