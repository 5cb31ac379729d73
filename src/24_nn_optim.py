"""优化器 torch.optim / Optimizers: SGD makes the loss fall — P24

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=24 (P24)

你将学到 / What you learn:
- 优化器用 backward() 算出的梯度更新参数：optim = torch.optim.SGD(tudui.parameters(), lr=0.01)。
  An optimizer uses the gradients from backward() to update the parameters.
- 每一步三件事：optim.zero_grad() 清掉上一步的梯度（否则会累加），result_loss.backward()
  算新梯度，optim.step() 更新参数。
  Each step does three things: zero_grad() clears the last step's gradients (they would add
  up), backward() computes new ones, step() updates the parameters.
- 课程在 CIFAR-10 测试集上、batch_size=1、跑 20 轮，打印每轮的 running_loss（所有 loss 之和），
  它一轮比一轮小。
  The course runs batch size 1 over the CIFAR-10 test set for 20 epochs and prints each
  epoch's running_loss (the sum of all losses): it falls from epoch to epoch.
- running_loss 要加 result_loss.item()（一个 Python 数）。课程写 running_loss + result_loss，
  这样会把每一步的计算图都挂在 running_loss 上，内存越用越多。
  Add result_loss.item() (a plain number). The course added the tensor itself, which keeps
  every step's graph attached to running_loss, so memory keeps growing.
- 学习率太大时 loss 会溢出成 nan：本课会停下并说明原因（--lr 可以改学习率）。在生成的替代数据上，
  课程的 lr=0.01 大约 7 轮后就会这样。
  With too large a learning rate the loss overflows to nan: the lesson stops and says why
  (--lr changes it). On the generated stand-in the course's lr=0.01 does so after about 7 epochs.

和视频的不同 / Differences from the video: CIFAR10 来自 tudui.data（见第 14 课）；running_loss 加的是
result_loss.item()（见上）；每轮的 running_loss 也写进 TensorBoard；loss 溢出时停下并说明；
batch_size=1 的循环用 1 个线程（更快，见 benchmarks/batch1_threads.py）；--epochs、--lr 可以改。
CIFAR10 comes from tudui.data (see lesson 14); running_loss adds result_loss.item() (see above);
each epoch's running_loss also goes to TensorBoard; an overflowing loss stops the lesson with an
explanation; the batch-size-1 loop runs on one thread (faster, see benchmarks/batch1_threads.py);
--epochs and --lr are flags.

运行 / Run:   python src/24_nn_optim.py             (课程设置 / the course's settings: 10000
              images x 20 epochs, about 50 s of CPU per epoch on a 2-core CPU)
              python src/24_nn_optim.py --quick     (100 images x 3 epochs, seconds)
TensorBoard:  tensorboard --logdir logs  ->  SCALARS: "running_loss" (one point per epoch).
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import math
import time

import torch
import torchvision
from torch import nn
from torch.nn import Conv2d, Flatten, Linear, MaxPool2d, Sequential
from torch.utils.data import DataLoader, Subset
from torch.utils.tensorboard import SummaryWriter
from tqdm.auto import tqdm

from tudui.cli import learning_rate, lesson_parser, positive_int
from tudui.data import CIFAR10, cifar10_is_synthetic, synthetic_banner
from tudui.device import pick_device
from tudui.engine import time_left_line
from tudui.errors import friendly_errors
from tudui.seeding import seed_everything
from tudui.tb import fresh_log_dir

LEARNING_RATE = 0.01
BATCH_SIZE = 1
EPOCHS = 20
QUICK_IMAGES, QUICK_EPOCHS = 100, 3
DIVERGED = (
    "第 {epoch} 轮的 loss 溢出成了 nan/inf：学习率 {lr} 配上 batch_size=1 太大了，权重越长越大直到溢出"
    "（这个模型层与层之间没有激活函数）。训练已停止，可以用 --lr {smaller} 再试。\n"
    "The loss overflowed to nan/inf in epoch {epoch}: learning rate {lr} with batch size 1 is too "
    "large, so the weights grew until they overflowed (this model has no activation between its "
    "layers). Training stopped; try again with --lr {smaller}."
)


# nn_optim.py writes the network of P22 again, with self.model1 (as nn_loss_network.py, 23)
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
    parser = lesson_parser(__doc__)
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help=f"passes over the data (default: {EPOCHS}, with --quick {QUICK_EPOCHS})")
    parser.add_argument("--lr", type=learning_rate, default=LEARNING_RATE,
                        help=f"learning rate (default: {LEARNING_RATE}, as in the course)")
    args = parser.parse_args(argv)
    epochs = args.epochs or (QUICK_EPOCHS if args.quick else EPOCHS)
    seed_everything(args.seed)
    device = pick_device(args.device)

    dataset = CIFAR10(args.data_root, train=False, transform=torchvision.transforms.ToTensor(),
                      download=True)
    if cifar10_is_synthetic(args.data_root):
        print(synthetic_banner("CIFAR-10"))
    if args.quick:  # ours: a few pictures only
        dataset = Subset(dataset, range(min(QUICK_IMAGES, len(dataset))))
    dataloader = DataLoader(dataset, batch_size=BATCH_SIZE)  # no shuffle, as in the course

    loss = nn.CrossEntropyLoss()
    tudui = Tudui().to(device)
    optim = torch.optim.SGD(tudui.parameters(), lr=args.lr)
    writer = SummaryWriter(fresh_log_dir(__file__, args.log_dir))  # ours: running_loss per epoch
    running_losses, diverged_at = [], None
    # Batch size 1: each step is hundreds of tiny operations that a second thread only slows
    # down (several times over on a busy 2-core CPU: benchmarks/batch1_threads.py).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    started = time.perf_counter()
    try:
        for epoch in range(epochs):
            running_loss = 0.0
            for data in tqdm(dataloader, desc=f"epoch {epoch}", leave=False, disable=None):
                imgs, targets = data
                outputs = tudui(imgs.to(device))
                result_loss = loss(outputs, targets.to(device))
                optim.zero_grad()
                result_loss.backward()
                optim.step()
                running_loss = running_loss + result_loss.item()  # a float: the graph can go
            print(f"epoch {epoch}: running_loss = {running_loss:.4f}")
            writer.add_scalar("running_loss", running_loss, epoch)
            running_losses.append(running_loss)
            if not math.isfinite(running_loss):  # nan from here on: say why instead of printing it
                diverged_at = epoch
                print(DIVERGED.format(epoch=epoch, lr=args.lr, smaller=args.lr / 10))
                break
            print(time_left_line(epoch + 1, epochs, time.perf_counter() - started))  # extra
    finally:
        torch.set_num_threads(threads)  # as it was: this process may go on with other work
        writer.close()
    return {"running_losses": running_losses, "diverged_at_epoch": diverged_at,
            "images": len(dataset), "epochs": epochs, "log_dir": writer.log_dir}


if __name__ == "__main__":
    main()
