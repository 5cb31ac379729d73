"""conv2d from scratch (P17-P18): im2col, then one matrix product.

Forward. Every output pixel is a dot product between the kernel and the patch of input under it:

    out[n, o, y, x] = bias[o] + sum_{c,i,j} weight[o, c, i, j] * xp[n, c, y*sh + i, x*sw + j]

where ``xp`` is the input with ``padding`` zeros around it. "im2col" first cuts every patch out
(``Tensor.unfold``) and stands each one up as a column: cols [N, C*kh*kw, OH*OW]. Then the whole
convolution is one matrix product, kernels [O, C*kh*kw] @ cols -> [N, O, OH*OW], which is the
output once reshaped. The output size is OH = (H + 2*ph - kh) // sh + 1 (same for the width).

Backward. The forward is linear in both ``weight`` and the patches, so with g = dL/d(out):

    dL/d(bias[o])     = sum_{n,y,x} g[n, o, y, x]
    dL/d(weight)      = g @ cols^T, summed over n     (each kernel weight saw every patch)
    dL/d(cols)        = weight^T @ g                  (each patch fed every output channel)
    dL/d(x)           = "col2im": add every patch's gradient back where the patch came from;
                        patches overlap when stride < kernel, so the contributions add up.
"""

from __future__ import annotations

import torch


def _pair(value) -> tuple[int, int]:
    """3 -> (3, 3); (3, 2) stays (3, 2): PyTorch accepts either for sizes, strides, paddings."""
    return (value, value) if isinstance(value, int) else tuple(value)


def _pad(x: torch.Tensor, padding: tuple[int, int], value: float = 0.0) -> torch.Tensor:
    """Surround the last two dimensions with ``padding`` rows/columns of ``value``."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    out = x.new_full((*x.shape[:-2], x.shape[-2] + 2 * ph, x.shape[-1] + 2 * pw), value)
    out[..., ph:ph + x.shape[-2], pw:pw + x.shape[-1]] = x
    return out


def _im2col(x: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int],
            padding: tuple[int, int]) -> tuple[torch.Tensor, int, int]:
    """[N, C, H, W] -> columns [N, C*kh*kw, OH*OW]: column l is the patch under output pixel l.

    ``unfold`` twice gives a view [N, C, OH, OW, kh, kw] (no copy); the reshape copies it once.
    """
    windows = _pad(x, padding).unfold(2, kernel[0], stride[0]).unfold(3, kernel[1], stride[1])
    n, c, oh, ow, kh, kw = windows.shape
    return windows.permute(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, oh * ow), oh, ow


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
           stride=1, padding=0) -> torch.Tensor:
    """Same as ``torch.nn.functional.conv2d(x, weight, bias, stride, padding)``.

    x: [N, C, H, W], weight: [O, C, kh, kw], bias: [O] or None -> [N, O, OH, OW].
    """
    stride, padding = _pair(stride), _pair(padding)
    out_channels, _, kh, kw = weight.shape
    cols, oh, ow = _im2col(x, (kh, kw), stride, padding)          # [N, C*kh*kw, OH*OW]
    out = weight.reshape(out_channels, -1) @ cols                   # [N, O, OH*OW]
    if bias is not None:
        out = out + bias.reshape(out_channels, 1)
    return out.reshape(x.shape[0], out_channels, oh, ow)


def conv2d_backward(grad_out: torch.Tensor, x: torch.Tensor, weight: torch.Tensor,
                    stride=1, padding=0):
    """Gradients of conv2d: returns (grad_x, grad_weight, grad_bias)."""
    stride, padding = _pair(stride), _pair(padding)
    out_channels, c, kh, kw = weight.shape
    n, _, oh, ow = grad_out.shape
    g = grad_out.reshape(n, out_channels, oh * ow)                   # [N, O, OH*OW]
    cols, _, _ = _im2col(x, (kh, kw), stride, padding)               # [N, C*kh*kw, OH*OW]

    grad_bias = g.sum((0, 2))
    grad_weight = (g @ cols.transpose(1, 2)).sum(0).reshape(weight.shape)
    grad_cols = weight.reshape(out_channels, -1).T @ g               # [N, C*kh*kw, OH*OW]

    # col2im: kernel offset (i, j) of output (y, x) came from padded pixel (y*sh + i, x*sw + j).
    # Laid out offset-first, each offset's gradients are one contiguous block (much faster).
    grad_cols = grad_cols.reshape(n, c, kh, kw, oh, ow).permute(2, 3, 0, 1, 4, 5).contiguous()
    ph, pw = padding
    sh, sw = stride
    grad_xp = x.new_zeros(n, c, x.shape[2] + 2 * ph, x.shape[3] + 2 * pw)
    for i in range(kh):
        for j in range(kw):
            grad_xp[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] += grad_cols[i, j]
    grad_x = grad_xp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    return grad_x, grad_weight, grad_bias
