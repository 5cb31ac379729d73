"""只用从零实现的模块训练 / Training with the scratch blocks only, step for step with 27_train.py — P27-P29 revisited

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=27 (P27-P29 完整的模型训练套路)

"What I cannot create, I do not understand." / 知之不若行之。

你将学到 / What you learn:
- 训练循环里没有魔法：前向、交叉熵、手写反向、w <- w - lr * grad，就是全部。
  No magic in the training loop: forward, cross-entropy, hand-written backward and
  w <- w - lr * grad are all there is.
- 同一个种子（同样的初始权重）、同样的数据顺序，从零实现的 Tudui 的 loss 与 27_train.py
  一步一步相同（只差 float32 的舍入，CPU 上约 1e-6；GPU 的 TF32 卷积差得多一些）。
  From the same seed (the same starting weights) and the same data order, the scratch Tudui's
  loss follows 27_train.py's step for step (differing only by float32 rounding: about 1e-6 on
  the CPU; more on a GPU, whose convolutions may round to TF32).
- 27_train.py 在临时文件夹里运行，你自己的 logs/27_train 不会被改动。
  27_train.py runs in a temporary log folder, so your own logs/27_train is left alone.

运行 / Run:   python src/93_scratch_train.py              (1 轮 / 1 epoch: 782 steps each)
              python src/93_scratch_train.py --quick      (512 张图 / images: 8 steps each)
TensorBoard:  logs/93_scratch_train/scratch 和 /nn：同一个标签 train_loss，每一步一个点，
              两条曲线重合 / the same tag train_loss, one point per step: the curves overlap.
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import tempfile
import time

from torch.utils.data import DataLoader

from tudui import scratch
from tudui.cli import lesson_parser, positive_int
from tudui.data import cifar10, cifar10_is_synthetic, synthetic_banner
from tudui.device import pick_device
from tudui.engine import time_left_line
from tudui.errors import friendly_errors
from tudui.paths import import_lesson, lesson_log_dir, lesson_name
from tudui.seeding import seed_everything
from tudui.tb import make_writer

EPOCHS = 1            # 一轮就够看出两条曲线重合 / one epoch shows the curves overlapping
BATCH_SIZE = 64       # the same recipe as 27_train.py
LEARNING_RATE = 1e-2
PRINT_EVERY = 100


def train_scratch(args, device) -> list[float]:
    """The course's training loop with scratch blocks only: no nn, no autograd, no optimizer."""
    data = cifar10(args.data_root, train=True, quick=args.quick)       # ToTensor only
    loader = DataLoader(data, batch_size=BATCH_SIZE, shuffle=False)    # the course's order
    seed_everything(args.seed)                     # the seed first: the same starting weights
    model = scratch.Tudui().to(device)
    losses, started = [], time.perf_counter()
    for epoch in range(args.epochs):
        for images, targets in loader:
            images, targets = images.to(device), targets.to(device)
            logits = model(images)                                     # forward
            losses.append(scratch.cross_entropy(logits, targets).item())
            if len(losses) % PRINT_EVERY == 0:
                print(f"训练次数：{len(losses)}, Loss: {losses[-1]:.4f}")
            grads = model.backward(scratch.cross_entropy_backward(logits, targets))  # backward
            scratch.sgd_step(model.params, grads, LEARNING_RATE)        # w <- w - lr * grad
        print("scratch:", time_left_line(epoch + 1, args.epochs, time.perf_counter() - started))
    return losses


def train_nn(args) -> list[float]:
    """27_train.py itself, same seed/data/epochs, in a temporary log folder; its step losses."""
    lesson = import_lesson("27_train")
    with tempfile.TemporaryDirectory() as tmp:
        result = lesson.main(["--data-root", args.data_root, "--log-dir", tmp, "--seed",
                              str(args.seed), "--device", args.device, "--epochs", str(args.epochs),
                              "--batch-size", str(BATCH_SIZE), "--lr", str(LEARNING_RATE),
                              *(["--quick"] if args.quick else [])])
    return result["step_losses"]


@friendly_errors
def main(argv=None) -> dict:
    parser = lesson_parser(__doc__)
    parser.add_argument("--epochs", type=positive_int, default=EPOCHS, help=f"训练轮数 / epochs (default {EPOCHS})")
    args = parser.parse_args(argv)
    device = pick_device(args.device)
    if cifar10_is_synthetic(args.data_root):
        print(synthetic_banner("CIFAR-10"))

    print("== 从零实现 / scratch ==")
    ours = train_scratch(args, device)
    print("== nn.Module: src/27_train.py ==")
    theirs = train_nn(args)

    lesson = lesson_name(__file__)
    diffs = [abs(a - b) for a, b in zip(ours, theirs)]
    print(f"\n{'step':>6}{'scratch':>12}{'27_train':>12}{'|diff|':>12}")
    for run, losses in (("scratch", ours), ("nn", theirs)):
        writer = make_writer(lesson, args.log_dir, run=run)      # one tag, two runs: they overlay
        for step, loss in enumerate(losses, start=1):
            writer.add_scalar("train_loss", loss, step)
        writer.close()
    for step in range(len(diffs)):
        if step % PRINT_EVERY == 0 or step == len(diffs) - 1:
            print(f"{step + 1:>6}{ours[step]:>12.6f}{theirs[step]:>12.6f}{diffs[step]:>12.2e}")
    max_diff = max(diffs, default=0.0)
    print(f"\n{len(ours)} 步 / steps; 最大差 / largest |loss difference|: {max_diff:.3g}")
    return {"scratch_losses": ours, "nn_losses": theirs, "max_diff": max_diff,
            "steps": len(ours), "log_dir": str(lesson_log_dir(lesson, args.log_dir))}


if __name__ == "__main__":
    main()
