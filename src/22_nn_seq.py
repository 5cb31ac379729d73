"""搭建小实战和 nn.Sequential / A first real model with nn.Sequential — P22

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=22 (P22)

你将学到 / What you learn:
- 照着 CIFAR-10 模型结构图搭网络：Conv2d(3,32,5,padding=2) MaxPool2d(2) Conv2d(32,32,5,padding=2)
  MaxPool2d(2) Conv2d(32,64,5,padding=2) MaxPool2d(2) Flatten Linear(1024,64) Linear(64,10)。
  Build the CIFAR-10 model from its diagram (the layers above).
- padding 从公式算出来：要 32 进 32 出，32 = (32 + 2p - (5-1) - 1)/1 + 1，所以 p = 2。
  The padding comes from the output-size formula: 32 in, 32 out needs p = 2.
- nn.Sequential 把层串起来，forward 只要一行；模型 Tudui 写在 tudui/models.py，后面的课都用它。
  nn.Sequential chains layers so forward is one line; the model Tudui lives in tudui/models.py and
  every later lesson imports it.
- 用 torch.ones((64,3,32,32)) 检查：输出 [64,10]；每层输出形状见表；共 145,578 个参数。
  Check with torch.ones((64,3,32,32)): the output is [64,10]; each layer's shape is in the table;
  145,578 parameters. 和课程一样，层之间没有激活函数 / as in the course, no activation.

运行 / Run:   python src/22_nn_seq.py
TensorBoard:  tensorboard --logdir logs  ->  GRAPHS: 双击 Tudui 展开每一层 / double-click Tudui
              to open it and see every layer.
"""

from __future__ import annotations

import warnings

import torch

from tudui.cli import lesson_parser
from tudui.device import pick_device
from tudui.errors import friendly_errors
from tudui.inspect_model import layer_shapes, shape_table
from tudui.models import Tudui, count_parameters
from tudui.paths import lesson_name
from tudui.seeding import seed_everything
from tudui.tb import make_writer

INPUT_SHAPE = (64, 3, 32, 32)  # the course checks the model with torch.ones((64, 3, 32, 32))
IMAGE_SIZE, KERNEL_SIZE = 32, 5


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    seed_everything(args.seed)
    device = pick_device(args.device)

    padding = (KERNEL_SIZE - 1) // 2  # solve 32 = (32 + 2p - (5-1) - 1) / 1 + 1 for p
    print(f"padding: {IMAGE_SIZE} = ({IMAGE_SIZE} + 2p - ({KERNEL_SIZE}-1) - 1)/1 + 1 "
          f"-> p = {padding}")

    tudui = Tudui().to(device)
    print(tudui)
    input = torch.ones(INPUT_SHAPE, device=device)
    output = tudui(input)
    print("output.shape:", output.shape)

    rows = layer_shapes(tudui, input)
    print(shape_table(rows, INPUT_SHAPE))
    parameters = count_parameters(tudui)
    print(f"参数总数 / parameters: {parameters:,}")

    writer = make_writer(lesson_name(__file__), args.log_dir)
    try:
        with warnings.catch_warnings():  # add_graph traces with torch.jit, whose deprecation
            warnings.simplefilter("ignore", FutureWarning)  # warning is not about our code
            writer.add_graph(tudui, input)
    finally:
        writer.close()
    print(f"计算图已写入 / graph written: {writer.log_dir}")
    return {"padding": padding, "output_shape": tuple(output.shape), "layers": rows,
            "parameters": parameters, "log_dir": writer.log_dir}


if __name__ == "__main__":
    main()
