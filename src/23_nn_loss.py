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

和视频的不同 / Differences from the video: 补充：L1Loss 的默认平均值、交叉熵手算对照；CIFAR10 来自
tudui.data（见第 14 课）；只打印前 3 个 loss 并显示进度条；batch_size=1 的循环用 1 个线程（更快，见
benchmarks/batch1_threads.py）；最后打印每个参数的梯度范数（视频里在调试器里看 grad）。
Extras: L1Loss's default mean, the cross-entropy by hand; CIFAR10 comes from tudui.data (see
lesson 14); only the first 3 losses are printed, with a progress bar; the batch-size-1 loop runs
on one thread (faster, see benchmarks/batch1_threads.py); every parameter's gradient norm is
printed at the end (the video looks at grad in the debugger).

运行 / Run:   python src/23_nn_loss.py              (--quick: 4 images instead of the test set;
              the whole test set takes about a minute on a 2-core CPU)
TensorBoard:  本课不写日志 / this lesson writes no logs.
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import math

import torch
import torchvision
from torch import nn
from torch.nn import Conv2d, Flatten, L1Loss, Linear, MaxPool2d, Sequential
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

from tudui.cli import lesson_parser
from tudui.data import CIFAR10, cifar10_is_synthetic, synthetic_banner
from tudui.device import pick_device
from tudui.errors import friendly_errors
from tudui.seeding import seed_everything

QUICK_IMAGES = 4
SHOW = 3             # print the first few losses, not all 10000


# nn_loss_network.py writes the network of P22 again, with self.model1
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

    # ---- the course: nn_loss.py
    inputs = torch.tensor([1, 2, 3], dtype=torch.float32)
    targets = torch.tensor([1, 2, 5], dtype=torch.float32)

    inputs = torch.reshape(inputs, (1, 1, 1, 3))
    targets = torch.reshape(targets, (1, 1, 1, 3))

    loss = L1Loss(reduction="sum")
    result = loss(inputs, targets)  # |0| + |0| + |-2| = 2

    loss_mse = nn.MSELoss()
    result_mse = loss_mse(inputs, targets)  # (0 + 0 + 2^2) / 3

    print(result)
    print(result_mse)

    x = torch.tensor([0.1, 0.2, 0.3])
    y = torch.tensor([1])
    x = torch.reshape(x, (1, 3))  # [batch N=1, classes C=3]
    loss_cross = nn.CrossEntropyLoss()
    result_cross = loss_cross(x, y)
    print(result_cross)

    # ---- extras: L1Loss's default averages; the cross-entropy by hand
    result_mean = L1Loss()(inputs, targets)  # 2 / 3
    by_hand = -0.2 + math.log(math.exp(0.1) + math.exp(0.2) + math.exp(0.3))
    print(f"L1Loss() (mean) = {result_mean}\n手算 / by hand: -0.2 + "
          f"log(exp(0.1)+exp(0.2)+exp(0.3)) = {by_hand:.4f}")

    # ---- the course: nn_loss_network.py
    dataset = CIFAR10(args.data_root, train=False, transform=torchvision.transforms.ToTensor(),
                      download=True)
    if cifar10_is_synthetic(args.data_root):
        print(synthetic_banner("CIFAR-10"))
    if args.quick:  # ours: a few pictures only
        dataset = Subset(dataset, range(min(QUICK_IMAGES, len(dataset))))
    dataloader = DataLoader(dataset, batch_size=1)

    loss = nn.CrossEntropyLoss()
    tudui = Tudui().to(device)
    grads_before = [p.grad for p in tudui.parameters()]
    # Batch size 1: each step is hundreds of tiny operations that a second thread only slows
    # down (several times over on a busy 2-core CPU: benchmarks/batch1_threads.py).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        step = 0
        for data in tqdm(dataloader, desc="backward", disable=None):  # ours: a progress bar
            imgs, targets = data
            outputs = tudui(imgs.to(device))
            result_loss = loss(outputs, targets.to(device))
            result_loss.backward()  # with no zero_grad, gradients add up image after image
            if step < SHOW:
                print(result_loss)
            step = step + 1
    finally:
        torch.set_num_threads(threads)  # as it was: this process may go on with other work

    grad_norms = {name: p.grad.norm().item() for name, p in tudui.named_parameters()}
    print("backward() 之前 .grad 全是 None / every .grad before backward() is None:",
          all(g is None for g in grads_before))
    for name, norm in grad_norms.items():
        print(f"  {name:<16} grad norm / 梯度范数 {norm:.4g}")
    return {"l1_sum": result.item(), "l1_mean": result_mean.item(), "mse": result_mse.item(),
            "cross_entropy": result_cross.item(), "cross_entropy_by_hand": by_hand,
            "grads_before": grads_before, "grads": {n: p.grad for n, p in tudui.named_parameters()},
            "grad_norms": grad_norms, "images": len(dataset)}


if __name__ == "__main__":
    main()
