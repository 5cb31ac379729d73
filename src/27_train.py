"""完整的模型训练套路 / The complete training recipe on CIFAR-10 — P27-P29

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=27 (P27-P29)

你将学到 / What you learn:
- 训练的完整套路：准备数据、DataLoader、搭建模型、损失函数、优化器、训练循环、测试循环。
  The whole recipe: data, DataLoader, model, loss function, optimizer, train loop, test loop.
- model.train() / model.eval()，测试时用 with torch.no_grad() 不计算梯度。
  model.train() / model.eval(), and torch.no_grad() while testing (no gradients needed).
- 正确率：outputs.argmax(1) == targets 再求和（P28）。
  Accuracy: (outputs.argmax(1) == targets).sum() (P28).
- 每轮保存 tudui_<i>.pth：torch.save(tudui.state_dict(), ...)（课程用的是方式1 torch.save(tudui)，
  我们用方式2，这样 torch.load(..., weights_only=True) 就能安全加载）。
  tudui_<i>.pth each epoch, a plain state_dict (save method 2; the course's train.py pickles the
  whole model, method 1, which torch >= 2.6 no longer loads by default).
- 课程之外 / extras: --resume 从最后一个完整的轮次继续（resume.pt 保存优化器、步数等）；
  同一个文件夹同时只能有一个训练；每轮之后打印预计剩余时间。
  --resume continues after the last complete epoch (resume.pt holds the optimizer, steps, ...);
  one run per folder at a time; the time left after each epoch.
- 与课程相同的数学（fp32），但更快：整批张量代替逐张 PIL 转换，channels_last 内存布局。
  --bf16 只在有原生 bf16 的硬件上使用（否则说明原因并用 fp32）。
  The course's mathematics (fp32), only faster: whole-batch tensors instead of one PIL image at
  a time, channels-last memory. --bf16: bf16 autocast where the hardware has native bf16 (else
  it says so and trains in fp32).

运行 / Run:   python src/27_train.py                 (课程设置 / course settings: 10 epochs)
              python src/27_train.py --quick         (几秒 / seconds, on a small part of the data)
              python src/27_train.py --resume        (Ctrl-C 之后继续 / continue after Ctrl-C)
TensorBoard:  logs/27_train: train_loss（每 100 步 / every 100 steps），test_loss 与
              test_accuracy（每轮 / per epoch）。检查点 / checkpoints: logs/27_train/tudui_<i>.pth
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
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
from tudui.models import Tudui  # the video: from model import * (the course's model.py)
from tudui.paths import lesson_log_dir, lesson_name
from tudui.seeding import seed_everything
from tudui.training_run import TrainingRun

EPOCHS = 10          # 训练的轮数 / the course's number of epochs
BATCH_SIZE = 64
LEARNING_RATE = 1e-2  # 1e-2 = 1 x (10)^(-2) = 1/100 = 0.01
LOG_EVERY = 100      # 每 100 次训练打印一次 loss / print and log train_loss every 100 steps
# --quick: batch 32, lr 0.05, 20 epochs on 512 pictures (see engine.QUICK_*: with lr 0.01 the
# loss would not leave 2.30 within a quick run). Without --quick everything is the course's.
QUICK_EPOCHS, QUICK_BATCH_SIZE, QUICK_LEARNING_RATE = (
    engine.QUICK_EPOCHS, engine.QUICK_BATCH_SIZE, engine.QUICK_LEARNING_RATE)


def parse_args(argv):
    parser = lesson_parser(__doc__)
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help=f"训练轮数 / epochs (default {EPOCHS}; --quick: {QUICK_EPOCHS})")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help=f"default {BATCH_SIZE} (--quick: {QUICK_BATCH_SIZE})")
    parser.add_argument("--lr", type=learning_rate, default=None,
                        help=f"learning rate, default {LEARNING_RATE} (--quick: {QUICK_LEARNING_RATE})")
    parser.add_argument("--shuffle", action="store_true",
                        help="打乱训练数据 / shuffle the training data (the course does not)")
    parser.add_argument("--resume", action="store_true",
                        help="从最后一个完整的检查点继续 / continue from the last complete checkpoint")
    parser.add_argument("--bf16", action="store_true",
                        help="bf16 自动混合精度，仅在有原生 bf16 的硬件上 / bf16 autocast where native")
    parser.add_argument("--slow-loader", action="store_true",
                        help="用课程的 DataLoader + 逐张 ToTensor / the course's per-image DataLoader")
    args = parser.parse_args(argv)
    # the flags when given, else --quick's recipe, else the course's settings
    args.epochs, args.batch_size, args.lr = engine.training_settings(
        args, EPOCHS, BATCH_SIZE, LEARNING_RATE)
    return args


@friendly_errors
def main(argv=None) -> dict:
    args = parse_args(argv)
    device = pick_device(args.device)
    print(describe(device))
    # extras: one run per folder, --bf16, each step's loss, --resume, the time left (TrainingRun)
    run = TrainingRun(lesson_log_dir(lesson_name(__file__), args.log_dir), args, device,
                      log_every=LOG_EVERY)

    # 准备数据集. CIFAR10 (tudui/data.py): torchvision.datasets.CIFAR10's subclass, called the same
    # way; it reads the files with an unpickler that cannot run code, where torchvision's own
    # __init__ uses pickle.load (see 14)
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
    # 如果train_data_size=10, 训练数据集的长度为：10
    print(f"训练数据集的长度为：{train_data_size}")
    print(f"测试数据集的长度为：{test_data_size}")

    # 利用 DataLoader 来加载数据集. The video: DataLoader(train_data, batch_size=64). FastDataLoader
    # (tudui/loaders.py) gives the same batches, bit for bit, cut from one tensor instead of one
    # PIL picture at a time; ours: --shuffle (seeded), the batches on `device`, --slow-loader
    train_dataloader = FastDataLoader(train_data, batch_size=args.batch_size, shuffle=args.shuffle,
                                      seed=args.seed, device=device, slow=args.slow_loader)
    test_dataloader = FastDataLoader(test_data, batch_size=args.batch_size, device=device,
                                     slow=args.slow_loader)

    # 创建网络模型
    seed_everything(args.seed)  # extra: the same --seed, the same starting weights
    tudui = Tudui()
    tudui = tudui.to(device, memory_format=torch.channels_last)  # extra: speed (NHWC layout)

    # 损失函数
    loss_fn = nn.CrossEntropyLoss()

    # 优化器
    learning_rate = args.lr  # 1e-2 = 1 x (10)^(-2) = 1/100 = 0.01 (--lr and --quick change it)
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

    # extras: a new run removes the old checkpoints; --bf16; each step's loss kept for resume.pt
    run.start(tudui, loss_fn, optimizer, writer, train_dataloader)
    if args.resume:  # extra: the last complete epoch's weights and optimizer, and both counters
        total_train_step, total_test_step = run.resume()

    # the video: range(epoch); total_test_step is the number of epochs done (0 unless --resume)
    for i in range(total_test_step, epoch):
        print(f"-------第 {i + 1} 轮训练开始-------")

        # 训练步骤开始
        tudui.train()
        for data in train_dataloader:
            imgs, targets = data
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

        # 测试步骤开始
        tudui.eval()
        total_test_loss = 0
        total_accuracy = 0
        with torch.no_grad():
            for data in test_dataloader:
                imgs, targets = data
                outputs = tudui(imgs)
                loss = loss_fn(outputs, targets)
                total_test_loss = total_test_loss + loss.item()
                accuracy = (outputs.argmax(1) == targets).sum()
                total_accuracy = total_accuracy + accuracy

        test_accuracy = total_accuracy.item() / test_data_size  # a number, not tensor(0.5312)
        print(f"整体测试集上的Loss: {total_test_loss}")
        print(f"整体测试集上的正确率: {test_accuracy}")
        writer.add_scalar("test_loss", total_test_loss, total_test_step)
        writer.add_scalar("test_accuracy", test_accuracy, total_test_step)
        total_test_step = total_test_step + 1

        # The video saves the whole model (method 1: torch.save(tudui, "tudui_{}.pth".format(i))),
        # which torch >= 2.6 refuses to load by default; the state_dict (method 2) loads with
        # weights_only=True. run.atomic_file: the file is complete, or not there at all.
        with run.atomic_file(f"tudui_{i}.pth") as f:
            torch.save(tudui.state_dict(), f)
        print(f"模型已保存 / saved {run.checkpoint}")
        run.end_epoch(total_test_loss, test_accuracy)  # extra: resume.pt, the time left

    writer.close()
    return run.finish(train_size=train_data_size, test_size=test_data_size)


if __name__ == "__main__":
    main()
