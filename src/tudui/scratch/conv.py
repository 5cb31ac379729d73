"""conv2d from scratch (P17-P18): im2col, then one matrix product.

Forward. Every output pixel is a dot product between the kernel and the patch of input under it:

    out[n, o, y, x] = bias[o] + sum_{c,i,j} weight[o, c, i, j] * xp[n, c, y*sh + i, x*sw + j]

where ``xp`` is the input with ``padding`` zeros around it. "im2col" first cuts every patch out
(``Tensor.unfold`` does it without copying: a view of shape [N, C, OH, OW, kh, kw]), so the whole
convolution becomes a single matrix product of patches [N*OH*OW, C*kh*kw] with the flattened
kernels [C*kh*kw, O]. The output size is OH = (H + 2*ph - kh) // sh + 1 (same for the width).

Backward. The forward is linear in both ``weight`` and the patches, so with g = dL/d(out):

    dL/d(bias[o])     = sum_{n,y,x} g[n, o, y, x]
    dL/d(weight)      = patches^T @ g                 (each kernel weight saw every patch)
    dL/d(patches)     = g @ weight                    (each patch fed every output channel)
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


def _patches(x: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int],
             padding: tuple[int, int]) -> torch.Tensor:
    """im2col as a view: [N, C, H, W] -> [N, C, OH, OW, kh, kw], one kh x kw patch per output."""
    xp = _pad(x, padding)
    return xp.unfold(2, kernel[0], stride[0]).unfold(3, kernel[1], stride[1])


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
           stride=1, padding=0) -> torch.Tensor:
    """Same as ``torch.nn.functional.conv2d(x, weight, bias, stride, padding)``.

    x: [N, C, H, W], weight: [O, C, kh, kw], bias: [O] or None -> [N, O, OH, OW].
    """
    stride, padding = _pair(stride), _pair(padding)
    out_channels, _, kh, kw = weight.shape
    cols = _patches(x, (kh, kw), stride, padding)              # [N, C, OH, OW, kh, kw]
    n, c, oh, ow = cols.shape[:4]
    cols = cols.permute(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)
    out = cols @ weight.reshape(out_channels, -1).T            # [N*OH*OW, O]
    if bias is not None:
        out = out + bias
    return out.reshape(n, oh, ow, out_channels).permute(0, 3, 1, 2)


def conv2d_backward(grad_out: torch.Tensor, x: torch.Tensor, weight: torch.Tensor,
                    stride=1, padding=0):
    """Gradients of conv2d: returns (grad_x, grad_weight, grad_bias)."""
    stride, padding = _pair(stride), _pair(padding)
    out_channels, c, kh, kw = weight.shape
    n, _, oh, ow = grad_out.shape
    g = grad_out.permute(0, 2, 3, 1).reshape(n * oh * ow, out_channels)     # [N*OH*OW, O]
    cols = _patches(x, (kh, kw), stride, padding)
    cols = cols.permute(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)

    grad_bias = g.sum(0)
    grad_weight = (g.T @ cols).reshape(weight.shape)
    grad_cols = (g @ weight.reshape(out_channels, -1)).reshape(n, oh, ow, c, kh, kw)

    # col2im: kernel offset (i, j) of output (y, x) came from padded pixel (y*sh + i, x*sw + j).
    ph, pw = padding
    sh, sw = stride
    grad_xp = x.new_zeros(n, c, x.shape[2] + 2 * ph, x.shape[3] + 2 * pw)
    for i in range(kh):
        for j in range(kw):
            grad_xp[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] += \
                grad_cols[:, :, :, :, i, j].permute(0, 3, 1, 2)
    grad_x = grad_xp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    return grad_x, grad_weight, grad_bias
