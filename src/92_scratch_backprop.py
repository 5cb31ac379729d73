"""手写反向传播 / Backpropagation by hand: the chain rule, layer by layer — P22-P24 revisited

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=23 (P23 损失函数与反向传播;
P22 搭建 Tudui ?p=22, P24 优化器 ?p=24)

"What I cannot create, I do not understand." / 知之不若行之。

你将学到 / What you learn:
- loss.backward() 做的事就是链式法则：从损失出发，每一层把 "损失对它输出的梯度" 变成
  "损失对它输入的梯度"，有参数的层顺便算出对权重和偏置的梯度。
  What loss.backward() does is the chain rule: starting from the loss, every layer turns
  dL/d(its output) into dL/d(its input), and layers with weights also produce dL/d(weight)
  and dL/d(bias).
- 从零实现的 Tudui（src/tudui/scratch/model.py）在一批 CIFAR-10 上手写反向传播，
  和 autograd 的结果逐层对照，打印最大差（--float64 约 1e-17：只是舍入误差）。
  The scratch Tudui (src/tudui/scratch/model.py) backpropagates one CIFAR-10 batch by hand;
  every layer's gradients are compared with autograd's and the largest difference printed
  (about 1e-17 with --float64: rounding only).
- float32 里差一般约 1e-8；但某个池化窗口里最大的两个值只差舍入误差时，两边可能选了不同的
  "赢家"，梯度就落到相邻像素上（第一层约 1e-5）。float64 下这种情况消失。
  In float32 the differences are about 1e-8, except where a max-pool window's two largest
  values differ only by rounding: the two sides may pick different winners and the gradient
  lands on a neighbouring pixel (about 1e-5 at the first layer). In float64 that goes away.
- 交叉熵的梯度是 "预测概率 - 真实类别的 one-hot"，再除以 batch 大小。
  The gradient of cross-entropy is "predicted probabilities minus the one-hot true class",
  divided by the batch size.

运行 / Run:   python src/92_scratch_backprop.py [--float64]
TensorBoard:  本课不写日志 / this lesson writes no logs.
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import torch
from torch import nn
from torch.utils.data import DataLoader

from tudui import scratch
from tudui.cli import lesson_parser
from tudui.data import cifar10, cifar10_is_synthetic, synthetic_banner
from tudui.errors import friendly_errors
from tudui.models import Tudui
from tudui.seeding import seed_everything

BATCH_SIZE = 64
QUICK_BATCH_SIZE = 16   # --quick: a smaller batch, the same comparison


def autograd_gradients(model: Tudui, images, targets) -> tuple[float, list, dict]:
    """PyTorch's side: loss, dL/d(each layer's output) (kept with retain_grad) and parameter grads."""
    outputs, x = [], images
    for layer in model.model:
        x = layer(x)
        x.retain_grad()              # keep the gradient of this intermediate result too
        outputs.append(x)
    loss = nn.CrossEntropyLoss()(x, targets)
    loss.backward()
    return loss.item(), [o.grad for o in outputs], {k: p.grad for k, p in model.named_parameters()}


@friendly_errors
def main(argv=None) -> dict:
    parser = lesson_parser(__doc__)
    parser.add_argument("--float64", action="store_true",
                        help="compute in float64: the differences shrink to rounding (~1e-17)")
    args = parser.parse_args(argv)
    seed_everything(args.seed)
    dtype = torch.float64 if args.float64 else torch.float32

    dataset = cifar10(args.data_root, train=True, quick=args.quick)
    if cifar10_is_synthetic(args.data_root):
        print(synthetic_banner("CIFAR-10"))
    batch_size = QUICK_BATCH_SIZE if args.quick else BATCH_SIZE
    images, targets = next(iter(DataLoader(dataset, batch_size=batch_size)))
    images = images.to(dtype)

    model = Tudui().to(dtype)
    ours = scratch.Tudui()
    ours.load_state_dict(model.state_dict())          # the same keys, the same weights

    torch_loss, torch_out_grads, torch_grads = autograd_gradients(model, images, targets)
    logits = ours(images)
    our_loss = scratch.cross_entropy(logits, targets).item()
    grads = ours.backward(scratch.cross_entropy_backward(logits, targets))   # the chain rule

    print(f"loss: 从零 / scratch {our_loss:.6f}   autograd {torch_loss:.6f}")
    print(f"\n{'layer':<10}{'kind':<9}{'dL/d(output) shape':<22}"
          f"{'max|diff| d(out)':>18}{'d(weight)':>12}{'d(bias)':>12}")
    layers, worst = [], 0.0
    for index in reversed(range(len(scratch.model.LAYERS))):   # backward goes last to first
        kind, name, _ = scratch.model.LAYERS[index]
        row = {"layer": name, "kind": kind,
               "output": (ours.output_grads[index] - torch_out_grads[index]).abs().max().item()}
        for part in ("weight", "bias"):
            key = f"{name}.{part}"
            if key in grads:
                row[part] = (grads[key] - torch_grads[key]).abs().max().item()
        worst = max(worst, *(v for k, v in row.items() if k not in ("layer", "kind")))
        layers.append(row)
        shape = str(list(ours.output_grads[index].shape))
        print(f"{name:<10}{kind:<9}{shape:<22}{row['output']:>18.2e}"
              + "".join(f"{row[p]:>12.2e}" if p in row else f"{'-':>12}" for p in ("weight", "bias")))
    print(f"\n最大差 / largest difference ({dtype}): {worst:.3g}")
    if worst > 1e-6:
        print("（float32 的舍入让个别池化窗口选了不同的最大值；试试 --float64）\n"
              "(float32 rounding made a few pooling windows pick a different winner; "
              "try --float64)")
    return {"loss": our_loss, "torch_loss": torch_loss, "layers": layers, "max_diff": worst,
            "dtype": str(dtype)}


if __name__ == "__main__":
    main()
