"""损失函数与反向传播 / Loss functions and backpropagation — P23

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=23 (P23)

你将学到 / What you learn:
- 损失函数衡量输出和目标差多少，它给出更新参数的依据（越小越好）。
  A loss measures how far the output is from the target; it tells us how to update (lower is better).
- 输入 [1,2,3]、目标 [1,2,5]：L1Loss(reduction="sum") = 2.0，L1Loss 平均 = 0.6667，MSELoss = 1.3333。
  Inputs [1,2,3], targets [1,2,5]: L1Loss sum 2.0, L1Loss mean 0.6667, MSELoss 1.3333.
- CrossEntropyLoss（分类）：x = [[0.1,0.2,0.3]]，目标类别 1：
  loss = -x[1] + log(exp(0.1)+exp(0.2)+exp(0.3)) = 1.1019（下面手算一遍对照）。
  CrossEntropyLoss (classification): x = [[0.1,0.2,0.3]], class 1:
  loss = -x[1] + log(exp(0.1)+exp(0.2)+exp(0.3)) = 1.1019 (computed by hand beside it).
- 把 CIFAR-10 图片送进 Tudui，算交叉熵，再 backward()：之前每个参数的 .grad 都是 None，
  之后每个参数都有梯度，优化器（下一课）就用它更新参数。
  Feed CIFAR-10 images to Tudui, compute the cross-entropy, call backward(): before, every .grad
  is None; after, every parameter has a gradient, which the optimizer (next lesson) uses.

运行 / Run:   python src/23_nn_loss.py              (--quick: 4 images instead of the test set)
TensorBoard:  本课不写日志 / this lesson writes no logs.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

from tudui.cli import lesson_parser
from tudui.data import cifar10, cifar10_is_synthetic, synthetic_banner
from tudui.device import pick_device
from tudui.errors import friendly_errors
from tudui.models import Tudui
from tudui.seeding import seed_everything

INPUTS, TARGETS = [1, 2, 3], [1, 2, 5]
LOGITS, TARGET_CLASS = [0.1, 0.2, 0.3], 1
BATCH_SIZE = 1       # the course feeds one image at a time
QUICK_IMAGES = 4
SHOW = 3             # print the outputs of the first few images, as the course does


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    seed_everything(args.seed)
    device = pick_device(args.device)

    inputs = torch.reshape(torch.tensor(INPUTS, dtype=torch.float32), (1, 1, 1, 3))
    targets = torch.reshape(torch.tensor(TARGETS, dtype=torch.float32), (1, 1, 1, 3))
    l1_sum = nn.L1Loss(reduction="sum")(inputs, targets)   # |0| + |0| + |-2| = 2
    l1_mean = nn.L1Loss()(inputs, targets)                 # 2 / 3
    mse = nn.MSELoss()(inputs, targets)                    # (0 + 0 + 2^2) / 3
    print(f"L1Loss(sum) = {l1_sum}\nL1Loss(mean) = {l1_mean}\nMSELoss = {mse}")

    x = torch.reshape(torch.tensor(LOGITS), (1, 3))  # [batch N=1, classes C=3]
    y = torch.tensor([TARGET_CLASS])
    cross = nn.CrossEntropyLoss()(x, y)
    by_hand = -LOGITS[TARGET_CLASS] + math.log(sum(math.exp(v) for v in LOGITS))
    print(f"CrossEntropyLoss = {cross}\n手算 / by hand: -{LOGITS[TARGET_CLASS]} + "
          f"log(exp(0.1)+exp(0.2)+exp(0.3)) = {by_hand:.4f}")

    dataset = cifar10(args.data_root, train=False, quick=args.quick)
    if cifar10_is_synthetic(args.data_root):
        print(synthetic_banner("CIFAR-10"))
    if args.quick:
        dataset = Subset(dataset, range(min(QUICK_IMAGES, len(dataset))))
    dataloader = DataLoader(dataset, batch_size=BATCH_SIZE)
    tudui = Tudui().to(device)
    loss = nn.CrossEntropyLoss()
    grads_before = [p.grad for p in tudui.parameters()]
    for i, (imgs, labels) in enumerate(tqdm(dataloader, desc="backward", disable=None)):
        outputs = tudui(imgs.to(device))
        result_loss = loss(outputs, labels.to(device))
        result_loss.backward()  # with no zero_grad, gradients add up image after image
        if i < SHOW:
            print(f"outputs={outputs.detach().cpu().numpy().round(3)}, targets={labels.tolist()}, "
                  f"loss={result_loss.item():.4f}")

    grad_norms = {name: p.grad.norm().item() for name, p in tudui.named_parameters()}
    print("backward() 之前 .grad 全是 None / every .grad before backward() is None:",
          all(g is None for g in grads_before))
    for name, norm in grad_norms.items():
        print(f"  {name:<16} grad norm / 梯度范数 {norm:.4g}")
    return {"l1_sum": l1_sum.item(), "l1_mean": l1_mean.item(), "mse": mse.item(),
            "cross_entropy": cross.item(), "cross_entropy_by_hand": by_hand,
            "grads_before": grads_before, "grads": {n: p.grad for n, p in tudui.named_parameters()},
            "grad_norms": grad_norms, "images": len(dataset)}


if __name__ == "__main__":
    main()
