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
from torch import nn
from torch.utils.tensorboard import SummaryWriter

from tudui import engine
from tudui.cli import learning_rate, lesson_parser, positive_int
from tudui.data import cifar10
from tudui.device import describe, pick_device
from tudui.errors import friendly_errors
from tudui.models import Tudui
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


def to_device(way: str, device, imgs, targets):
    """The lines the video writes for imgs and targets in the train and the test loop."""
    if way == "cuda":  # 方式一 (P30, train_gpu_1.py)
        if torch.cuda.is_available():
            imgs = imgs.cuda()
            targets = targets.cuda()
    else:              # 方式二 (P31, train_gpu_2.py)
        imgs = imgs.to(device)
        targets = targets.to(device)
    return imgs, targets


@friendly_errors
def main(argv=None) -> dict:
    args = parse_args(argv)
    # 定义训练的设备 (方式二). 方式一 takes the GPU whenever torch.cuda.is_available().
    device = pick_device(args.device)
    if args.way == "cuda":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(describe(device))
    run = TrainingRun(lesson_log_dir(lesson_name(__file__), args.log_dir), args, device,
                      log_every=LOG_EVERY)  # one run per folder, time left (extras)

    train_data = cifar10(args.data_root, train=True, quick=args.quick)
    test_data = cifar10(args.data_root, train=False, quick=args.quick)
    train_data_size, test_data_size = len(train_data), len(test_data)
    print(f"训练数据集的长度为：{train_data_size}")
    print(f"测试数据集的长度为：{test_data_size}")
    # DataLoader(train_data, batch_size=64), fast (see 27). The batches start on the CPU, as in
    # the video; .cuda() / .to(device) below move them.
    train_dataloader = run.dataloader(train_data, device="cpu")
    test_dataloader = run.dataloader(test_data, device="cpu")

    seed_everything(args.seed)
    tudui = Tudui()
    loss_fn = nn.CrossEntropyLoss()
    if args.way == "cuda":  # 方式一: 网络模型、损失函数 .cuda()
        if torch.cuda.is_available():
            tudui = tudui.cuda()
            loss_fn = loss_fn.cuda()
    else:                   # 方式二: .to(device)
        tudui = tudui.to(device)
        loss_fn = loss_fn.to(device)
    tudui = tudui.to(memory_format=torch.channels_last)  # speed (not in the video), see 27
    optimizer = torch.optim.SGD(tudui.parameters(), lr=args.lr)
    total_train_step, total_test_step, epoch = 0, 0, args.epochs
    writer = SummaryWriter(str(run.folder))
    run.start(tudui, optimizer, writer, train_dataloader)  # removes the old checkpoints

    for i in range(epoch):
        print(f"-------第 {i + 1} 轮训练开始-------")
        start_time = time.time()
        tudui.train()
        for imgs, targets in train_dataloader:
            imgs, targets = to_device(args.way, device, imgs, targets)
            outputs = tudui(imgs)
            loss = loss_fn(outputs, targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_train_step = total_train_step + 1
            if total_train_step % LOG_EVERY == 0:
                print(f"训练次数：{total_train_step}, Loss: {loss.item()}")
                writer.add_scalar("train_loss", loss.item(), total_train_step)
        if device.type == "cuda":
            torch.cuda.synchronize()  # GPU work is queued: wait for it before reading the clock
        seconds = time.time() - start_time
        print(f"本轮训练用时 / epoch time: {seconds:.2f} s ({device.type})")

        tudui.eval()
        total_test_loss, total_accuracy = 0, 0
        with torch.no_grad():
            for imgs, targets in test_dataloader:
                imgs, targets = to_device(args.way, device, imgs, targets)
                outputs = tudui(imgs)
                total_test_loss = total_test_loss + loss_fn(outputs, targets).item()
                total_accuracy = total_accuracy + (outputs.argmax(1) == targets).sum().item()
        print(f"整体测试集上的Loss: {total_test_loss}")
        print(f"整体测试集上的正确率: {total_accuracy / test_data_size}")
        writer.add_scalar("epoch_seconds", seconds, total_test_step)
        writer.add_scalar("test_loss", total_test_loss, total_test_step)
        writer.add_scalar("test_accuracy", total_accuracy / test_data_size, total_test_step)
        total_test_step = total_test_step + 1
        with run.atomic_file(f"tudui_{i}.pth") as f:  # method 2, as in 27_train.py
            torch.save(tudui.state_dict(), f)
        print(f"模型已保存 / saved {run.checkpoint}")
        run.end_epoch(optimizer, total_test_loss, total_accuracy / test_data_size)

    writer.close()
    return run.finish(way=args.way, steps=total_train_step, epoch_seconds=seconds)


if __name__ == "__main__":
    main()
