"""卷积操作 / The convolution operation (F.conv2d by hand) — P17

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=17 (P17)

你将学到 / What you learn:
- 卷积核在输入上滑动，每个位置对应元素相乘再相加（左上角：1*1+2*2+0*1+0*0+1*1+2*0+1*2+2*1+1*0 = 10）。
  The kernel slides over the input; at each position, multiply element-wise and add up
  (top-left: 1*1+2*2+0*1+0*0+1*1+2*0+1*2+2*1+1*0 = 10).
- F.conv2d 要求 4 维输入 [batch, 通道, 高, 宽]，所以 5x5 要 reshape 成 [1,1,5,5]。
  F.conv2d wants 4-D input [batch, channels, height, width], so the 5x5 becomes [1,1,5,5].
- stride（步长）和 padding（填充）如何改变输出：stride=1 得 3x3，stride=2 得 2x2，padding=1 得 5x5。
  How stride and padding change the output: 3x3 with stride 1, 2x2 with stride 2, 5x5 with padding 1.
- dilation=2（空洞卷积）把 3x3 卷积核的格子隔开，覆盖 5x5，输出 1x1 = [[7]]。
  dilation=2 (atrous convolution) spreads the 3x3 kernel over 5x5: a 1x1 output, [[7]].
- 输出尺寸公式（Conv2d 文档）/ The output-size formula from the Conv2d docs:
  H_out = floor((H_in + 2*padding - dilation*(kernel_size-1) - 1) / stride + 1)
  conv_output_size() 把它写成函数，后面设计网络时用来算 padding。
  conv_output_size() writes it as a function; later you use it to work out the padding.

和视频的不同 / Differences from the video: 课程的三次卷积之后是补充：左上角手算、dilation=2、用公式
核对每个输出尺寸。
Extras follow the course's three convolutions: the top-left value by hand, dilation=2, and every
output size checked against the formula.

运行 / Run:   python src/17_conv.py
TensorBoard:  本课不写日志 / this lesson writes no logs.
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import torch
import torch.nn.functional as F

from tudui.cli import lesson_parser
from tudui.errors import friendly_errors


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    """Output height (or width) of a convolution, the formula from the Conv2d docs.

    H_out = floor((H_in + 2*padding - dilation*(kernel_size-1) - 1) / stride + 1).
    Raises ValueError when the kernel does not fit (PyTorch raises an error there too).
    """
    if kernel_size < 1 or stride < 1 or dilation < 1 or padding < 0 or size < 1:
        raise ValueError("need size, kernel_size, stride, dilation >= 1 and padding >= 0")
    reach = dilation * (kernel_size - 1) + 1  # how many input pixels one kernel position spans
    if size + 2 * padding < reach:
        raise ValueError(f"kernel reaching {reach} pixels does not fit in {size}+2*{padding}")
    return (size + 2 * padding - reach) // stride + 1


@friendly_errors
def main(argv=None) -> dict:
    lesson_parser(__doc__).parse_args(argv)

    # ---- the course (P17)
    input = torch.tensor([[1, 2, 0, 3, 1],
                          [0, 1, 2, 3, 1],
                          [1, 2, 1, 0, 0],
                          [5, 2, 3, 1, 1],
                          [2, 1, 0, 1, 1]])

    kernel = torch.tensor([[1, 2, 1],
                           [0, 1, 0],
                           [2, 1, 0]])

    # F.conv2d needs [minibatch, in_channels, H, W] and a kernel [out_ch, in_ch, kH, kW]
    input = torch.reshape(input, (1, 1, 5, 5))
    kernel = torch.reshape(kernel, (1, 1, 3, 3))

    print(input.shape)
    print(kernel.shape)

    output = F.conv2d(input, kernel, stride=1)
    print(output)

    output2 = F.conv2d(input, kernel, stride=2)
    print(output2)

    output3 = F.conv2d(input, kernel, stride=1, padding=1)
    print(output3)

    # ---- extras: the top-left value by hand, dilation (空洞卷积, P18's slides), the formula
    by_hand = int((input[0, 0, :3, :3] * kernel[0, 0]).sum())
    print(f"左上角手算 / top-left by hand: {by_hand}")
    output4 = F.conv2d(input, kernel, stride=1, dilation=2)  # the 3x3 kernel spread over 5x5
    print(output4)
    settings = {"stride=1": (output, {"stride": 1}), "stride=2": (output2, {"stride": 2}),
                "stride=1, padding=1": (output3, {"stride": 1, "padding": 1}),
                "stride=1, dilation=2": (output4, {"stride": 1, "dilation": 2})}
    outputs, sizes = {}, {}
    for label, (result, setting) in settings.items():
        predicted = conv_output_size(5, 3, **setting)
        print(f"{label}: floor((5 + 2*{setting.get('padding', 0)} - "
              f"{setting.get('dilation', 1)}*(3-1) - 1) / {setting['stride']} + 1) = {predicted}")
        outputs[label] = result[0, 0].tolist()
        sizes[label] = (predicted, result.shape[-1])
    return {"by_hand": by_hand, "outputs": outputs, "sizes": sizes}


if __name__ == "__main__":
    main()
