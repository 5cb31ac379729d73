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

运行 / Run:   python src/17_conv.py
TensorBoard:  本课不写日志 / this lesson writes no logs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tudui.cli import lesson_parser
from tudui.errors import friendly_errors

INPUT = [[1, 2, 0, 3, 1],
         [0, 1, 2, 3, 1],
         [1, 2, 1, 0, 0],
         [5, 2, 3, 1, 1],
         [2, 1, 0, 1, 1]]
KERNEL = [[1, 2, 1],
          [0, 1, 0],
          [2, 1, 0]]
SETTINGS = {"stride=1": {"stride": 1}, "stride=2": {"stride": 2},
            "stride=1, padding=1": {"stride": 1, "padding": 1},
            # not on the slides: dilation=2 spreads the 3x3 kernel over 5x5 (空洞卷积, P18)
            "stride=1, dilation=2": {"stride": 1, "dilation": 2}}


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

    input = torch.tensor(INPUT)
    kernel = torch.tensor(KERNEL)
    print("input.shape:", input.shape, " kernel.shape:", kernel.shape)
    # F.conv2d needs [minibatch, in_channels, H, W] and a kernel [out_ch, in_ch, kH, kW].
    input = torch.reshape(input, (1, 1, 5, 5))
    kernel = torch.reshape(kernel, (1, 1, 3, 3))
    print("reshape 之后 / after reshape:", input.shape, kernel.shape)

    by_hand = int((input[0, 0, :3, :3] * kernel[0, 0]).sum())
    print(f"左上角手算 / top-left by hand: {by_hand}")

    outputs, sizes = {}, {}
    for label, setting in SETTINGS.items():
        output = F.conv2d(input, kernel, **setting)
        predicted = conv_output_size(5, 3, **setting)
        print(f"\n{label}:\n{output}")
        print(f"公式 / formula: floor((5 + 2*{setting.get('padding', 0)} - "
              f"{setting.get('dilation', 1)}*(3-1) - 1) / {setting['stride']} + 1) = {predicted}")
        outputs[label] = output[0, 0].tolist()
        sizes[label] = (predicted, output.shape[-1])

    return {"by_hand": by_hand, "outputs": outputs, "sizes": sizes}


if __name__ == "__main__":
    main()
