"""利用 GPU 训练 / Training on a GPU, the course's two ways — P30-P31

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=30 (P30-P31)

你将学到 / What you learn:
- 方式一 --way cuda：对 网络模型、损失函数、每批数据（imgs, targets）调用 .cuda()，
  并用 if torch.cuda.is_available() 保护，没有 GPU 的电脑也能运行。
  Way 1: call .cuda() on the model, the loss function and every batch, guarded by
  torch.cuda.is_available() so the script still runs without a GPU.
- 方式二 --way to（推荐）：device = torch.device(...)，再 .to(device)；--device auto 依次选
  cuda、mps、cpu。  Way 2 (recommended): .to(device); --device auto picks cuda, mps, then cpu.
- 每轮用时打印并写入 TensorBoard，可以比较 CPU 和 GPU。
  Seconds per epoch, printed and logged, to compare the CPU with a GPU.

运行 / Run:   python src/30_train_gpu.py                (--way to, --device auto, 10 epochs)
              python src/30_train_gpu.py --way cuda     (the course's .cuda() way)
              python src/30_train_gpu.py --quick        (seconds)
TensorBoard:  logs/30_train_gpu: epoch_seconds, test_loss, test_accuracy (per epoch), train_loss
              (every 100 steps).
"""

from __future__ import annotations

import time

import torch
from torch import nn

from tudui import engine
from tudui.cli import lesson_parser, positive_float, positive_int
from tudui.data import cifar10, cifar10_is_synthetic, synthetic_banner
from tudui.device import describe, pick_device
from tudui.errors import friendly_errors
from tudui.models import Tudui
from tudui.paths import lesson_log_dir, lesson_name
from tudui.seeding import seed_everything
from tudui.tb import make_writer

EPOCHS = 10
BATCH_SIZE = 64
LEARNING_RATE = 1e-2
LOG_EVERY = 100
# --quick: the same quick recipe as 27 (batch 32, lr 0.05, 20 epochs on 512 pictures), so that
# 32_test.py, which takes the newest checkpoint of 27 or 30, finds a model that has learned.
QUICK_EPOCHS, QUICK_BATCH_SIZE, QUICK_LEARNING_RATE = (
    engine.QUICK_EPOCHS, engine.QUICK_BATCH_SIZE, engine.QUICK_LEARNING_RATE)


def epoch_way_cuda(tudui, loader, loss_fn, optimizer, step: int, log) -> tuple[int, float]:
    """One epoch written as in the video: .cuda() on each batch, guarded."""
    tudui.train()
    for imgs, targets in loader:
        if torch.cuda.is_available():
            imgs = imgs.cuda()
            targets = targets.cuda()
        loss = loss_fn(tudui(imgs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        if step % LOG_EVERY == 0:
            log(step, loss.item())
    return step, loss.item()


@friendly_errors
def main(argv=None) -> dict:
    parser = lesson_parser(__doc__)
    parser.add_argument("--way", choices=("cuda", "to"), default="to",
                        help="cuda: .cuda() as in P30; to: .to(device) as in P31 (default)")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help=f"训练轮数 / epochs (default {EPOCHS}; --quick: {QUICK_EPOCHS})")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help=f"default {BATCH_SIZE} (--quick: {QUICK_BATCH_SIZE})")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help=f"learning rate, default {LEARNING_RATE} (--quick: {QUICK_LEARNING_RATE})")
    parser.add_argument("--bf16", action="store_true", help="mixed precision (--way to only)")
    args = parser.parse_args(argv)
    # the flags when given, else --quick's recipe, else the course's settings
    epochs, batch_size, lr = engine.training_settings(args, EPOCHS, BATCH_SIZE, LEARNING_RATE)
    lesson = lesson_name(__file__)
    out_dir = lesson_log_dir(lesson, args.log_dir)

    train_data = cifar10(args.data_root, train=True, quick=args.quick)
    test_data = cifar10(args.data_root, train=False, quick=args.quick)
    if cifar10_is_synthetic(args.data_root):
        print(synthetic_banner("CIFAR-10"))
    seed_everything(args.seed)
    tudui, loss_fn = Tudui(), nn.CrossEntropyLoss()

    if args.way == "cuda":
        use_cuda = torch.cuda.is_available() and args.device in ("auto", "cuda")
        if args.device == "cuda":
            pick_device("cuda")  # a clear error when there is no GPU
        if use_cuda:
            tudui = tudui.cuda()        # 网络模型 .cuda()
            loss_fn = loss_fn.cuda()    # 损失函数 .cuda()
        device = torch.device("cuda" if use_cuda else "cpu")
        print(f"--way cuda: {'在 GPU 上 / on the GPU' if use_cuda else '没有 GPU，留在 CPU / no GPU, stays on the CPU'}")
    else:
        device = pick_device(args.device)  # 定义训练的设备 / auto: cuda, then mps, then cpu
        print(describe(device))
        tudui = engine.prepare_model(tudui, device)  # tudui.to(device), channels-last
        loss_fn = loss_fn.to(device)
    optimizer = torch.optim.SGD(tudui.parameters(), lr=lr)
    # Way 1 moves each batch itself, so its batches stay on the CPU until .cuda().
    train_loader = engine.make_loader(train_data, batch_size,
                                      device=device if args.way == "to" else None)
    test_loader = engine.make_loader(test_data, batch_size, device=device)
    amp_dtype = engine.amp_dtype_for(device) if args.bf16 and args.way == "to" else None
    scaler = torch.amp.GradScaler(device.type) if amp_dtype == torch.float16 else None

    writer = make_writer(lesson, args.log_dir)

    def log(step: int, loss: float) -> None:
        print(f"训练次数：{step}, Loss: {loss:.4f}")
        writer.add_scalar("train_loss", loss, step)

    history, step, checkpoint = [], 0, None
    try:
        for i in range(epochs):
            print(f"-------第 {i + 1} 轮训练开始-------")
            start_time = time.perf_counter()
            if args.way == "cuda":
                step, _ = epoch_way_cuda(tudui, train_loader, loss_fn, optimizer, step, log)
                if device.type == "cuda":
                    torch.cuda.synchronize()  # GPU work is queued: wait before reading the clock
            else:
                step += engine.train_one_epoch(tudui, train_loader, loss_fn, optimizer, device,
                                               on_step=log, start_step=step, log_every=LOG_EVERY,
                                               amp_dtype=amp_dtype, scaler=scaler)["steps"]
            seconds = time.perf_counter() - start_time
            test = engine.evaluate(tudui, test_loader, loss_fn, device, amp_dtype=amp_dtype)
            print(f"本轮训练用时 / epoch time: {seconds:.2f} s ({device.type})")
            print(f"整体测试集上的Loss：{test['loss_sum']:.4f}")
            print(f"整体测试集上的正确率：{test['accuracy']:.4f}")
            writer.add_scalar("epoch_seconds", seconds, i + 1)
            writer.add_scalar("test_loss", test["loss_sum"], i + 1)
            writer.add_scalar("test_accuracy", test["accuracy"], i + 1)
            history.append({"epoch": i + 1, "seconds": seconds, "test_loss": test["loss_sum"],
                            "test_accuracy": test["accuracy"]})
            checkpoint = engine.save_checkpoint(engine.epoch_checkpoint_path(out_dir, i), tudui,
                                                optimizer, epoch=i + 1, history=history)
    finally:
        writer.close()
    return {"history": history, "device": str(device), "way": args.way, "steps": step,
            "test_accuracy": history[-1]["test_accuracy"] if history else None,
            "checkpoint": str(checkpoint) if checkpoint else None, "log_dir": str(out_dir)}


if __name__ == "__main__":
    main()
