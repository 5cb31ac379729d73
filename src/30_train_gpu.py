"""利用 GPU 训练 / Training on a GPU, the course's two ways — P30-P31

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=30 (P30-P31)

你将学到 / What you learn:
- 方式一 --way cuda（P30，课程的 train_gpu_1.py）：对 网络模型、损失函数、每批数据（imgs, targets）
  调用 .cuda()，并用 if torch.cuda.is_available() 保护，没有 GPU 的电脑也能运行。
  Way 1 (P30, the course's train_gpu_1.py): .cuda() on the model, the loss function and every
  batch, guarded by torch.cuda.is_available() so the script still runs without a GPU.
- 方式二 --way to（P31，train_gpu_2.py，推荐）：device = torch.device(...)，再对 网络模型、损失函数、
  imgs、targets 调用 .to(device)；--device auto 依次选 cuda、mps、cpu。
  Way 2 (P31, train_gpu_2.py, recommended): device = torch.device(...), then .to(device) on the
  model, the loss function, imgs and targets; --device auto picks cuda, mps, then cpu.
- 每轮用时打印并写入 TensorBoard，可以比较 CPU 和 GPU；每轮保存 tudui_<i>.pth（state_dict）。
  Seconds per epoch, printed and logged, to compare the CPU with a GPU; tudui_<i>.pth (a
  state_dict) saved after each epoch, as in 27_train.py.

运行 / Run:   python src/30_train_gpu.py                (--way to, --device auto, 10 epochs)
              python src/30_train_gpu.py --way cuda     (the course's .cuda() way)
              python src/30_train_gpu.py --quick        (seconds)
TensorBoard:  logs/30_train_gpu: epoch_seconds, test_loss, test_accuracy (per epoch), train_loss
              (every 100 steps).  检查点 / checkpoints: logs/30_train_gpu/tudui_<i>.pth
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import time

import torch
import torchvision
from torch import nn
from torch.utils.data import Subset
from torch.utils.tensorboard import SummaryWriter

from tudui import engine
from tudui.cli import learning_rate, lesson_parser, positive_int
from tudui.data import CIFAR10, QUICK_TEST_SIZE, QUICK_TRAIN_SIZE
from tudui.device import describe, pick_device
from tudui.errors import friendly_errors
from tudui.loaders import FastDataLoader
from tudui.paths import lesson_log_dir, lesson_name
from tudui.seeding import seed_everything
from tudui.training_run import TrainingRun

EPOCHS = 10
BATCH_SIZE = 64
LEARNING_RATE = 1e-2
LOG_EVERY = 100
# --quick: the same quick recipe as 27 (batch 32, lr 0.05, 20 epochs on 512 pictures), so that
# 32_test.py, which takes the newest checkpoint of 27 or 30, finds a model that has learned.
QUICK_EPOCHS, QUICK_BATCH_SIZE, QUICK_LEARNING_RATE = (
    engine.QUICK_EPOCHS, engine.QUICK_BATCH_SIZE, engine.QUICK_LEARNING_RATE)


def parse_args(argv):
    parser = lesson_parser(__doc__)
    parser.add_argument("--way", choices=("cuda", "to"), default="to",
                        help="cuda: .cuda() as in P30; to: .to(device) as in P31 (default)")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help=f"训练轮数 / epochs (default {EPOCHS}; --quick: {QUICK_EPOCHS})")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help=f"default {BATCH_SIZE} (--quick: {QUICK_BATCH_SIZE})")
    parser.add_argument("--lr", type=learning_rate, default=None,
                        help=f"learning rate, default {LEARNING_RATE} (--quick: {QUICK_LEARNING_RATE})")
    args = parser.parse_args(argv)
    args.epochs, args.batch_size, args.lr = engine.training_settings(
        args, EPOCHS, BATCH_SIZE, LEARNING_RATE)
    return args


# 创建网络模型: train_gpu_1.py and train_gpu_2.py write the class out (instead of
# `from model import *`), between the DataLoaders and tudui = Tudui()
class Tudui(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(
            nn.Conv2d(3, 32, 5, 1, 2),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 5, 1, 2),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, 1, 2),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64*4*4, 64),
            nn.Linear(64, 10)
        )

    def forward(self, x):
        x = self.model(x)
        return x


@friendly_errors
def main(argv=None) -> dict:
    args = parse_args(argv)
    way = args.way  # "cuda": 方式一 (P30, train_gpu_1.py); "to": 方式二 (P31, train_gpu_2.py)
    # 定义训练的设备 (方式二: the video's torch.device("cuda"); --device auto falls back to the CPU)
    device = pick_device(args.device)
    if way == "cuda":  # 方式一 has no device: it takes the GPU whenever there is one
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(describe(device))
    run = TrainingRun(lesson_log_dir(lesson_name(__file__), args.log_dir), args, device,
                      log_every=LOG_EVERY)  # extras: one run per folder, the time left

    # 准备数据集 (CIFAR10 and FastDataLoader: see 27_train.py)
    train_data = CIFAR10(root=args.data_root, train=True,
                         transform=torchvision.transforms.ToTensor(), download=True)
    test_data = CIFAR10(root=args.data_root, train=False,
                        transform=torchvision.transforms.ToTensor(), download=True)
    if args.quick:  # extra: the first 512 training and 256 test pictures, a run of seconds
        train_data = Subset(train_data, range(min(QUICK_TRAIN_SIZE, len(train_data))))
        test_data = Subset(test_data, range(min(QUICK_TEST_SIZE, len(test_data))))

    # length 长度
    train_data_size = len(train_data)
    test_data_size = len(test_data)
    print(f"训练数据集的长度为：{train_data_size}")
    print(f"测试数据集的长度为：{test_data_size}")

    # 利用 DataLoader 来加载数据集 (the batches start on the CPU, as in the video)
    train_dataloader = FastDataLoader(train_data, batch_size=args.batch_size)
    test_dataloader = FastDataLoader(test_data, batch_size=args.batch_size)

    # 创建网络模型
    seed_everything(args.seed)  # extra: the same --seed, the same starting weights
    tudui = Tudui()
    if way == "cuda":
        if torch.cuda.is_available():
            tudui = tudui.cuda()
    else:
        tudui = tudui.to(device)
    tudui = tudui.to(memory_format=torch.channels_last)  # extra: speed (NHWC layout), see 27

    # 损失函数
    loss_fn = nn.CrossEntropyLoss()
    if way == "cuda":
        if torch.cuda.is_available():
            loss_fn = loss_fn.cuda()
    else:
        loss_fn = loss_fn.to(device)

    # 优化器
    learning_rate = args.lr  # 1e-2 (--lr and --quick change it)
    optimizer = torch.optim.SGD(tudui.parameters(), lr=learning_rate)

    # 设置训练网络的一些参数
    # 记录训练的次数
    total_train_step = 0
    # 记录测试的次数
    total_test_step = 0
    # 训练的轮数
    epoch = args.epochs  # 10 (--epochs and --quick change it)

    # 添加tensorboard
    writer = SummaryWriter(str(run.folder))  # the video: SummaryWriter("../logs_train")
    run.start(tudui, loss_fn, optimizer, writer, train_dataloader)  # extra: old checkpoints out

    for i in range(epoch):
        print(f"-------第 {i + 1} 轮训练开始-------")
        start_time = time.time()  # extra: seconds per epoch, to compare the CPU with a GPU

        # 训练步骤开始
        tudui.train()
        for data in train_dataloader:
            imgs, targets = data
            if way == "cuda":
                if torch.cuda.is_available():
                    imgs = imgs.cuda()
                    targets = targets.cuda()
            else:
                imgs = imgs.to(device)
                targets = targets.to(device)
            outputs = tudui(imgs)
            loss = loss_fn(outputs, targets)

            # 优化器优化模型
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

            total_train_step = total_train_step + 1
            if total_train_step % LOG_EVERY == 0:
                print(f"训练次数：{total_train_step}, Loss: {loss.item()}")
                writer.add_scalar("train_loss", loss.item(), total_train_step)

        if device.type == "cuda":  # extra: GPU work is queued; wait for it before the clock
            torch.cuda.synchronize()
        seconds = time.time() - start_time
        print(f"本轮训练用时 / epoch time: {seconds:.2f} s ({device.type})")

        # 测试步骤开始
        tudui.eval()
        total_test_loss = 0
        total_accuracy = 0
        with torch.no_grad():
            for data in test_dataloader:
                imgs, targets = data
                if way == "cuda":
                    if torch.cuda.is_available():
                        imgs = imgs.cuda()
                        targets = targets.cuda()
                else:
                    imgs = imgs.to(device)
                    targets = targets.to(device)
                outputs = tudui(imgs)
                loss = loss_fn(outputs, targets)
                total_test_loss = total_test_loss + loss.item()
                accuracy = (outputs.argmax(1) == targets).sum()
                total_accuracy = total_accuracy + accuracy

        test_accuracy = total_accuracy.item() / test_data_size  # a number, not tensor(0.5312)
        print(f"整体测试集上的Loss: {total_test_loss}")
        print(f"整体测试集上的正确率: {test_accuracy}")
        writer.add_scalar("epoch_seconds", seconds, total_test_step)  # extra
        writer.add_scalar("test_loss", total_test_loss, total_test_step)
        writer.add_scalar("test_accuracy", test_accuracy, total_test_step)
        total_test_step = total_test_step + 1

        with run.atomic_file(f"tudui_{i}.pth") as f:  # method 2, as in 27_train.py
            torch.save(tudui.state_dict(), f)
        print(f"模型已保存 / saved {run.checkpoint}")
        run.end_epoch(total_test_loss, test_accuracy)  # extra: the time left

    writer.close()
    return run.finish(way=way, steps=total_train_step, epoch_seconds=seconds)


if __name__ == "__main__":
    main()
