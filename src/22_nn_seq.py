"""搭建小实战和 nn.Sequential / A first real model with nn.Sequential — P22

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=22 (P22)

你将学到 / What you learn:
- 照着 CIFAR-10 模型结构图搭网络：Conv2d(3,32,5,padding=2) MaxPool2d(2) Conv2d(32,32,5,padding=2)
  MaxPool2d(2) Conv2d(32,64,5,padding=2) MaxPool2d(2) Flatten Linear(1024,64) Linear(64,10)。
  Build the CIFAR-10 model from its diagram (the layers above).
- padding 从公式算出来：要 32 进 32 出，32 = (32 + 2p - (5-1) - 1)/1 + 1，所以 p = 2。
  The padding comes from the output-size formula: 32 in, 32 out needs p = 2.
- nn.Sequential 把层串起来，forward 只要一行。后面的课从 tudui/models.py（课程的 model.py）导入同一个
  网络，那里写作 self.model（课程 model.py 的写法），层和参数都一样。
  nn.Sequential chains layers so forward is one line. Later lessons import the same network from
  tudui/models.py (the course's model.py), which names it self.model as the course's model.py
  does: the same layers and parameters.
- 用 torch.ones((64,3,32,32)) 检查：输出 [64,10]；每层输出形状见表；共 145,578 个参数。
  Check with torch.ones((64,3,32,32)): the output is [64,10]; each layer's shape is in the table;
  145,578 parameters. 和课程一样，层之间没有激活函数 / as in the course, no activation.

和视频的不同 / Differences from the video: SummaryWriter 写到 <--log-dir>/22_nn_seq/（视频里是 "../logs_seq"）；
--device 选择设备；补充：用公式算 padding、每层输出形状表和参数个数。
SummaryWriter writes to <--log-dir>/22_nn_seq/ (the video: "../logs_seq"); --device picks the
device; extras: the padding from the formula, a table of every layer's output shape, the parameter
count.

运行 / Run:   python src/22_nn_seq.py
TensorBoard:  tensorboard --logdir logs  ->  GRAPHS: 双击 Tudui 展开每一层 / double-click Tudui
              to open it and see every layer.
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import warnings

import torch
from torch import nn
from torch.nn import Conv2d, Flatten, Linear, MaxPool2d, Sequential
from torch.utils.tensorboard import SummaryWriter

from tudui.cli import lesson_parser
from tudui.device import pick_device
from tudui.errors import friendly_errors
from tudui.inspect_model import layer_shapes, shape_table
from tudui.models import count_parameters
from tudui.seeding import seed_everything
from tudui.tb import fresh_log_dir

IMAGE_SIZE, KERNEL_SIZE = 32, 5


class Tudui(nn.Module):
    def __init__(self):
        super().__init__()
        self.model1 = Sequential(
            Conv2d(3, 32, 5, padding=2),
            MaxPool2d(2),
            Conv2d(32, 32, 5, padding=2),
            MaxPool2d(2),
            Conv2d(32, 64, 5, padding=2),
            MaxPool2d(2),
            Flatten(),
            Linear(1024, 64),
            Linear(64, 10)
        )

    def forward(self, x):
        x = self.model1(x)
        return x


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    seed_everything(args.seed)
    device = pick_device(args.device)

    # ---- extra: where padding=2 comes from
    padding = (KERNEL_SIZE - 1) // 2  # solve 32 = (32 + 2p - (5-1) - 1) / 1 + 1 for p
    print(f"padding: {IMAGE_SIZE} = ({IMAGE_SIZE} + 2p - ({KERNEL_SIZE}-1) - 1)/1 + 1 "
          f"-> p = {padding}")

    # ---- the course (P22)
    tudui = Tudui().to(device)
    print(tudui)
    input = torch.ones((64, 3, 32, 32), device=device)
    output = tudui(input)
    print(output.shape)

    writer = SummaryWriter(fresh_log_dir(__file__, args.log_dir))  # the video: "../logs_seq"
    with warnings.catch_warnings():  # add_graph traces with torch.jit, whose deprecation
        warnings.simplefilter("ignore", FutureWarning)  # warning is not about our code
        writer.add_graph(tudui, input)
    writer.close()
    print(f"计算图已写入 / graph written: {writer.log_dir}")

    # ---- extras: every layer's output shape, and the parameters
    rows = layer_shapes(tudui, input)
    print(shape_table(rows, tuple(input.shape)))
    parameters = count_parameters(tudui)
    print(f"参数总数 / parameters: {parameters:,}")
    return {"padding": padding, "output_shape": tuple(output.shape), "layers": rows,
            "parameters": parameters, "log_dir": writer.log_dir}


if __name__ == "__main__":
    main()
