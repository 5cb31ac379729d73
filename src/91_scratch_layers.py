"""从零实现每一层 / Every building block from scratch, beside PyTorch's answer — P17-P24 revisited

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=17 (P17 卷积, P19 池化 ?p=19,
P20 非线性激活 ?p=20, P21 线性层 ?p=21, P23 损失函数 ?p=23, P24 优化器 ?p=24)

"What I cannot create, I do not understand." / 知之不若行之。

你将学到 / What you learn:
- 课程里的每个模块只用张量运算（索引、unfold、矩阵乘法、sum、max、exp）就能写出来：
  conv2d、max_pool2d、ReLU、Sigmoid、Linear、Flatten、L1/MSE/交叉熵损失、SGD 一步。
  Every block of the course can be written with plain tensor operations (indexing, unfold,
  matmul, sum, max, exp): conv2d, max_pool2d, ReLU, Sigmoid, Linear, Flatten, the L1/MSE/
  cross-entropy losses and one SGD step.
- 用课程自己的例子（5x5 输入和 3x3 卷积核、池化和激活的张量、损失的例子），逐个和 PyTorch 对照。
  Each one on the course's own examples (the 5x5 input and 3x3 kernel, the pooling and
  activation tensors, the loss examples), printed beside PyTorch's answer.
- 代码在 src/tudui/scratch/ 里，一个文件一个模块，每个都有前向和手写的反向。
  The code is in src/tudui/scratch/, one file per block, each with a forward and a
  hand-written backward (lesson 92 checks those).

运行 / Run:   python src/91_scratch_layers.py
TensorBoard:  本课不写日志 / this lesson writes no logs.
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import torch
import torch.nn.functional as F
from torch import nn

from tudui import scratch
from tudui.cli import lesson_parser
from tudui.errors import friendly_errors

# The course's examples: P17's input and kernel (P19 pools the same input), P20's activation
# input, P23's loss examples, and P21's Linear on the flattened input.
INPUT = [[1, 2, 0, 3, 1],
         [0, 1, 2, 3, 1],
         [1, 2, 1, 0, 0],
         [5, 2, 3, 1, 1],
         [2, 1, 0, 1, 1]]
KERNEL = [[1, 2, 1],
          [0, 1, 0],
          [2, 1, 0]]
ACTIVATION_INPUT = [[1, -0.5],
                    [-1, 3]]
LOSS_INPUTS, LOSS_TARGETS = [1, 2, 3], [1, 2, 5]
CE_LOGITS, CE_TARGET = [0.1, 0.2, 0.3], 1
LR = 0.01


def compare(results: dict, name: str, ours: torch.Tensor, theirs: torch.Tensor) -> None:
    """Print our answer beside PyTorch's and remember both with their largest difference."""
    ours, theirs = ours.detach(), theirs.detach()
    diff = (ours.double() - theirs.double()).abs().max().item()
    print(f"\n== {name} ==\n从零 / scratch:\n{ours!r}\nPyTorch:\n{theirs!r}\n"
          f"最大差 / max |diff| = {diff:.3g}")
    results[name] = {"scratch": ours.tolist(), "torch": theirs.tolist(), "max_diff": diff}


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    torch.manual_seed(args.seed)
    results: dict = {}

    image = torch.tensor(INPUT, dtype=torch.float32).reshape(1, 1, 5, 5)   # [batch, C, H, W]
    kernel = torch.tensor(KERNEL, dtype=torch.float32).reshape(1, 1, 3, 3)
    for setting in ({"stride": 1}, {"stride": 2}, {"stride": 1, "padding": 1}):
        label = ", ".join(f"{k}={v}" for k, v in setting.items())
        compare(results, f"conv2d {label}", scratch.conv2d(image, kernel, **setting),
                F.conv2d(image, kernel, **setting))

    for ceil_mode in (True, False):
        compare(results, f"max_pool2d kernel_size=3, ceil_mode={ceil_mode}",
                scratch.max_pool2d(image, 3, ceil_mode=ceil_mode),
                nn.MaxPool2d(3, ceil_mode=ceil_mode)(image))

    act = torch.tensor(ACTIVATION_INPUT).reshape(-1, 1, 2, 2)
    compare(results, "relu", scratch.relu(act), nn.ReLU()(act))
    compare(results, "sigmoid", scratch.sigmoid(act), nn.Sigmoid()(act))

    flat = scratch.flatten(image)                                # [1, 25], like torch.flatten
    compare(results, "flatten", flat, nn.Flatten()(image))
    layer = nn.Linear(25, 3)                                     # the same weights for both
    compare(results, "linear 25->3", scratch.linear(flat, layer.weight, layer.bias),
            layer(flat))

    inputs, targets = torch.tensor(LOSS_INPUTS, dtype=torch.float32), torch.tensor(LOSS_TARGETS,
                                                                                   dtype=torch.float32)
    compare(results, "L1Loss", scratch.l1_loss(inputs, targets), nn.L1Loss()(inputs, targets))
    compare(results, "L1Loss(reduction='sum')", scratch.l1_loss(inputs, targets, "sum"),
            nn.L1Loss(reduction="sum")(inputs, targets))
    compare(results, "MSELoss", scratch.mse_loss(inputs, targets), nn.MSELoss()(inputs, targets))
    logits, target = torch.tensor([CE_LOGITS]), torch.tensor([CE_TARGET])   # [N=1, 3 classes]
    compare(results, "CrossEntropyLoss", scratch.cross_entropy(logits, target),
            nn.CrossEntropyLoss()(logits, target))
    print("  = -x[class] + log(sum(exp(x))) = -0.2 + log(exp(0.1)+exp(0.2)+exp(0.3))")

    # One SGD step on the Linear layer: torch.optim.SGD against w <- w - lr * grad.
    loss = nn.CrossEntropyLoss()(layer(flat), target)
    optimizer = torch.optim.SGD(layer.parameters(), lr=LR)
    optimizer.zero_grad()
    loss.backward()
    ours = {"weight": layer.weight.detach().clone(), "bias": layer.bias.detach().clone()}
    scratch.sgd_step(ours, {"weight": layer.weight.grad, "bias": layer.bias.grad}, LR)
    optimizer.step()
    compare(results, f"sgd_step lr={LR} (bias)", ours["bias"], layer.bias)
    results["sgd_step weight max_diff"] = (ours["weight"] - layer.weight).abs().max().item()

    worst = max(r["max_diff"] for r in results.values() if isinstance(r, dict))
    print(f"\n全部模块的最大差 / largest difference over all blocks: {worst:.3g}")
    return {"results": results, "worst": worst}


if __name__ == "__main__":
    main()
