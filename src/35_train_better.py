"""更好的训练配方 / The same small network, trained well — beyond the course (after P27-P29)

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=27 (课程 P27-P29 的延伸 / goes on from P27-P29)

你将学到 / What you learn:
- 课程的配方（无激活、未归一化、不打乱、普通 SGD）在 CIFAR-10 上 11 轮约 54%。同一个 32-32-64 网络，
  一次加一个想法，每一步提升多少：ReLU、按通道归一化、打乱、动量+权重衰减、BatchNorm、适合 CPU 的
  大 batch、数据增强（随机裁剪+水平翻转）、one-cycle 学习率、标签平滑、权重平均、测试时增强（翻转与平移）。
  The course recipe (no activation, raw inputs, no shuffling, plain SGD) reaches about 54% on
  CIFAR-10 in 11 epochs. Add one idea at a time to the same 32-32-64 network and see what each
  one gains: ReLU, per-channel normalization, shuffling, momentum + weight decay, BatchNorm, a
  batch size that suits a CPU (with the learning rate scaled alike), augmentation (random crop +
  flip), a one-cycle learning-rate schedule, label smoothing, a moving average of the weights,
  and test-time augmentation (mirror and one-pixel shifts).
- 消融表（每一步的测试正确率和秒数）。An ablation table: each step's test accuracy and seconds.
- 数据增强只改变训练批次，不改变测试集，而且必须保持标签正确：翻转后的飞机还是飞机。
  Augmentation changes the training batches, never the test set, and must keep the label true:
  a mirrored aeroplane is still an aeroplane (the generated stand-in is built so that this
  holds too: no class is the mirror image of another). Test-time augmentation asks the model
  about each test picture, its mirror image and both shifted by a pixel, and averages the answers.
- BatchNorm 和 ReLU 放在池化之后（conv → pool → BN → ReLU）：同样的层，CPU 上快约 1.5 倍。
  BatchNorm and ReLU sit behind each max-pool (conv → pool → BN → ReLU): the same layers, on a
  quarter of the numbers, about 1.5x faster on a CPU (a ReLU gives the same result either side).

运行 / Run:
  python src/35_train_better.py                 # 消融 / the ladder: course, +relu, ... 12 runs
  python src/35_train_better.py --all           # 只训练完整配方 / the full recipe only
  python src/35_train_better.py --relu --batchnorm [--ablation]   # 任选想法 / any mix
  (完整配方 11 轮：在 CIFAR-10 上 82% 以上，2 核 CPU 上 5-10 分钟；实测见 docs/beyond.md /
  the full recipe's 11 epochs: above 82% on CIFAR-10 in 5-10 minutes on a 2-core CPU; measured
  figures in docs/beyond.md)
TensorBoard:  tensorboard --logdir logs/35_train_better —— "ablation" 一组：每一步的 train_loss 与
  ablation/<k>_<step>/sample_test_accuracy 曲线（每轮后在前 2000 张测试图上 / on the first 2,000
  test pictures after each epoch），ablation/final_test_accuracy（全部 10000 张；横轴是步骤编号 /
  all 10,000; the x axis is the step number），以及文字页 ablation/table。
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import time

import torch
from torch import nn

from tudui.cli import lesson_parser, positive_int
from tudui.data import cifar10, cifar10_is_synthetic, synthetic_banner
from tudui.device import describe, pick_device
from tudui.engine import evaluate, time_left_line, train_one_epoch
from tudui.errors import friendly_errors
from tudui.loaders import TensorLoader, tensor_images
from tudui.paths import lesson_name
from tudui.recipes import (
    BetterTudui,
    ViewAverage,
    WeightAverage,
    channel_stats,
    keep_freed_memory,
)
from tudui.seeding import seed_everything
from tudui.tb import make_writer

BATCH_SIZE = 64          # the course's batch size, kept until the big-batch step
BIG_BATCH = 256          # --big-batch: 4x the batch and 4x the learning rates
QUICK_BIG_BATCH = 128    # with --quick, so that its 512 pictures still make 4 steps per epoch
COURSE_LR = 1e-2         # the course's SGD learning rate
EPOCHS = 11              # per run; sized so the full recipe fits 5 minutes on 2 AVX-512 CPU cores
SAMPLE_TEST = 2000       # after each epoch: accuracy on the first 2,000 test pictures (the curve)
MOMENTUM, WEIGHT_DECAY = 0.9, 5e-4
MAX_LR = 0.1             # one-cycle: warm up from MAX_LR/25 to this (x4 with a big batch)...
WARM_UP = 0.2            # ...over the first 20% of the steps, then straight down to ~0
LABEL_SMOOTHING = 0.1
CROP_PADDING = 2         # random crops shift by up to 2 pixels: 4 is too much for 11 epochs
EMA_DECAY = 0.99         # weight averaging: each step moves the average 1% towards the weights
QUICK_EPOCHS = 5         # --quick: 512 images x 5 epochs, course recipe vs full recipe only
# The ladder, in order: each step keeps every idea above it.
IDEAS = {
    "relu": "ReLU after each conv and the first linear layer / 激活函数",
    "normalize": "per-channel mean/std normalization / 按通道归一化",
    "shuffle": "a new random order every epoch / 打乱",
    "momentum": f"SGD Nesterov momentum {MOMENTUM} + weight decay {WEIGHT_DECAY} / 动量与权重衰减",
    "batchnorm": "BatchNorm after each conv's max-pool / 批归一化",
    "big_batch": f"batch {BIG_BATCH} and {BIG_BATCH // BATCH_SIZE}x the learning rate: fewer, "
                 "larger steps, which a CPU computes faster / 大 batch",
    "augment": f"random crop (padding {CROP_PADDING}) + horizontal flip / 数据增强",
    "onecycle": f"one-cycle learning rate up to {MAX_LR} (x4 with a big batch) / 学习率调度",
    "label_smoothing": f"label smoothing {LABEL_SMOOTHING} / 标签平滑",
    "weight_average": f"test a moving average of the weights (decay up to {EMA_DECAY}) / 权重平均",
    "tta": "the final test averages each picture, its mirror image and one-pixel shifts / 测试时增强",
}


def train_recipe(ideas: set[str], data: dict, epochs: int, device, seed: int,
                 writer=None, tag: str = "run", on_epoch=None, big_batch: int = BIG_BATCH) -> dict:
    """Train a fresh model with the given ideas switched on; return its accuracy and seconds."""
    seed_everything(seed)
    model = BetterTudui(relu="relu" in ideas, batchnorm="batchnorm" in ideas).to(device)
    fast_layout = device.type in ("cpu", "cuda")
    if fast_layout:
        model = model.to(memory_format=torch.channels_last)
    stats = data["stats"] if "normalize" in ideas else (None, None)
    batch_size, lr_scale = (big_batch, big_batch / BATCH_SIZE) if "big_batch" in ideas else \
        (BATCH_SIZE, 1.0)   # the linear scaling rule: 4x the batch, 4x the step
    train_loader = TensorLoader(*data["train"], batch_size, shuffle="shuffle" in ideas, seed=seed,
                                device=device, augment="augment" in ideas, mean=stats[0],
                                std=stats[1], channels_last=fast_layout, padding=CROP_PADDING)
    test_loader = TensorLoader(*data["test"], 500, device=device, mean=stats[0], std=stats[1],
                               channels_last=fast_layout)   # the test set: never augmented
    sample = [t[:SAMPLE_TEST] for t in data["test"]]   # the curve's quick look after each epoch
    sample_loader = TensorLoader(*sample, 500, device=device, mean=stats[0], std=stats[1],
                                 channels_last=fast_layout)
    lr = COURSE_LR * lr_scale
    if "momentum" in ideas:
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=MOMENTUM,
                                    weight_decay=WEIGHT_DECAY, nesterov=True)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = None
    if "onecycle" in ideas:
        scheduler = torch.optim.lr_scheduler.OneCycleLR(   # a triangle: straight up, straight down
            optimizer, max_lr=MAX_LR * lr_scale, epochs=epochs, steps_per_epoch=len(train_loader),
            pct_start=WARM_UP, anneal_strategy="linear", cycle_momentum=False)
    average = WeightAverage(model, EMA_DECAY) if "weight_average" in ideas else None
    smoothing = LABEL_SMOOTHING if "label_smoothing" in ideas else 0.0
    loss_fn = nn.CrossEntropyLoss(label_smoothing=smoothing)
    test_loss_fn = nn.CrossEntropyLoss()   # the test loss stays comparable across steps
    lrs: list[float] = []

    def on_step(step: int, loss: float) -> None:
        lrs.append(optimizer.param_groups[0]["lr"])
        if scheduler is not None:
            scheduler.step()   # one-cycle changes the learning rate after every batch
        if average is not None:
            average.update(model)   # the average is what gets tested

    seconds, history = 0.0, []
    for epoch in range(1, epochs + 1):
        stats_train = train_one_epoch(model, train_loader, loss_fn, optimizer, device,
                                      on_step=on_step, desc=f"{tag} epoch {epoch}")
        seconds += stats_train["seconds"]
        tested = average.module if average is not None else model
        history.append(evaluate(tested, sample_loader, test_loss_fn, device)["accuracy"])
        if writer is not None:
            writer.add_scalar(f"ablation/{tag}/train_loss", stats_train["loss"], epoch)
            writer.add_scalar(f"ablation/{tag}/sample_test_accuracy", history[-1], epoch)
        if on_epoch is not None:
            on_epoch()
    if "tta" in ideas:   # once, at the end: six views cost six forward passes
        tested = ViewAverage(tested)
    accuracy = evaluate(tested, test_loader, test_loss_fn, device)["accuracy"]  # all of it
    return {"accuracy": accuracy, "history": history, "seconds": seconds, "model": model,
            "tested": tested, "optimizer": optimizer, "loss_fn": loss_fn, "lrs": lrs,
            "batch_size": batch_size,
            "images_per_second": epochs * len(data["train"][1]) / max(seconds, 1e-9)}


@friendly_errors
def main(argv=None) -> dict:
    parser = lesson_parser(__doc__)
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help=f"epochs per run (default {EPOCHS}; {QUICK_EPOCHS} with --quick)")
    group = parser.add_argument_group("ideas / 想法 (none given: the whole ladder)")
    for name, what in IDEAS.items():
        group.add_argument(f"--{name.replace('_', '-')}", action="store_true", help=what)
    group.add_argument("--all", action="store_true", help="every idea: the full recipe")
    group.add_argument("--ablation", action="store_true",
                       help="train once per step: course, then each chosen idea added in turn")
    args = parser.parse_args(argv)
    epochs = args.epochs if args.epochs is not None else QUICK_EPOCHS if args.quick else EPOCHS

    chosen = [n for n in IDEAS if args.all or getattr(args, n)]
    whole_ladder = not chosen               # no idea named: the whole ladder
    if whole_ladder:
        chosen, args.ablation = list(IDEAS), True
    ladder = [chosen[:k] for k in range(len(chosen) + 1)] if args.ablation else [chosen]
    if args.quick and whole_ladder:
        ladder = [ladder[0], ladder[-1]]    # seconds, not minutes: the two ends of the ladder
        print("--quick: 只比较课程配方和完整配方 / only the course and the full recipe "
              "(drop --quick for every step)")

    device = pick_device(args.device)
    print(describe(device))
    keep_freed_memory()   # a speed path: see tudui/recipes.py
    if cifar10_is_synthetic(args.data_root):
        print(synthetic_banner("CIFAR-10"))
    train = tensor_images(cifar10(args.data_root, train=True, quick=args.quick))
    test = tensor_images(cifar10(args.data_root, train=False, quick=args.quick))
    data = {"train": train, "test": test, "stats": channel_stats(train[0])}
    print(f"训练集 {len(train[1])} 张，测试集 {len(test[1])} 张，每次 {epochs} 轮 / "
          f"{len(train[1])} train, {len(test[1])} test images, {epochs} "
          f"epoch{'s' if epochs > 1 else ''} per run")
    clock = {"epochs": 0, "start": time.perf_counter()}

    def one_more_epoch() -> None:  # the time left for the whole ladder, after every epoch
        clock["epochs"] += 1
        print(time_left_line(clock["epochs"], len(ladder) * epochs,
                             time.perf_counter() - clock["start"]))

    writer = make_writer(lesson_name(__file__), args.log_dir)
    rows = []
    try:
        for k, ideas in enumerate(ladder):
            name = ("course" if not ideas else f"+{ideas[-1]}" if args.ablation and k == len(ideas)
                    else "full" if len(ideas) == len(IDEAS) else "+".join(ideas))
            tag = f"{k}_{name.lstrip('+').replace('+', '_')}"
            run = train_recipe(set(ideas), data, epochs, device, args.seed, writer, tag,
                               on_epoch=one_more_epoch,
                               big_batch=QUICK_BIG_BATCH if args.quick else BIG_BATCH)
            rows.append({"step": name, "ideas": list(ideas), "accuracy": run["accuracy"],
                         "seconds": run["seconds"], "history": run["history"]})
            writer.add_scalar("ablation/final_test_accuracy", run["accuracy"], k)
            print(f"  [{k}] {name:<18} 测试正确率 / test accuracy {run['accuracy']:7.2%}   "
                  f"{run['seconds']:6.1f}s  ({run['images_per_second']:.0f} images/s)")
        table = ["| # | step | test accuracy | seconds |", "| - | - | - | - |"]
        table += [f"| {k} | {r['step']} | {r['accuracy']:.2%} | {r['seconds']:.1f} |"
                  for k, r in enumerate(rows)]
        writer.add_text("ablation/table", "\n".join(table))
    finally:
        writer.close()
    print("\n消融表 / ablation table:\n" + "\n".join(table))
    return {"rows": rows, "accuracy": rows[-1]["accuracy"], "model": run["model"],
            "tested": run["tested"], "batch_size": run["batch_size"],
            "optimizer": run["optimizer"], "loss_fn": run["loss_fn"], "lrs": run["lrs"],
            "epochs": epochs, "log_dir": writer.log_dir, "table": "\n".join(table)}


if __name__ == "__main__":
    main()
