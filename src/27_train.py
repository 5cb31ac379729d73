"""完整的模型训练套路 / The complete training recipe on CIFAR-10 — P27-P29

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=27 (P27-P29)

你将学到 / What you learn:
- 训练的完整套路：准备数据、DataLoader、搭建模型、损失函数、优化器、训练循环、测试循环。
  The whole recipe: data, DataLoader, model, loss function, optimizer, train loop, test loop.
- model.train() / model.eval()，测试时用 with torch.no_grad() 不计算梯度。
  model.train() / model.eval(), and torch.no_grad() while testing (no gradients needed).
- 正确率：outputs.argmax(1) == targets 再求和（P28）。
  Accuracy: (outputs.argmax(1) == targets).sum() (P28).
- 每轮保存 state_dict 检查点（先写临时文件再改名），--resume 从最后一个完整的检查点继续。
  A state_dict checkpoint each epoch (temporary name, then rename); --resume continues.
- 与课程相同的数学（fp32），但更快：整批张量代替逐张 PIL 转换，channels_last 内存布局；
  --bf16 用 bf16 自动混合精度，更快，数字略有不同。
  The course's mathematics (fp32), only faster: whole-batch tensors instead of one PIL image at
  a time, channels-last memory; --bf16 uses bf16 autocast (faster, slightly different numbers).

运行 / Run:   python src/27_train.py                 (课程设置 / course settings: 10 epochs)
              python src/27_train.py --quick         (几秒 / seconds, on a small part of the data)
              python src/27_train.py --resume        (Ctrl-C 之后继续 / continue after Ctrl-C)
TensorBoard:  logs/27_train: train_loss（每 100 步 / every 100 steps），test_loss 与
              test_accuracy（每轮 / per epoch）。检查点 / checkpoints: logs/27_train/tudui_<i>.pth
"""

from __future__ import annotations

import torch
from torch import nn

from tudui import engine
from tudui.cli import lesson_parser, positive_float, positive_int
from tudui.data import cifar10, cifar10_is_synthetic, synthetic_banner
from tudui.device import describe, pick_device
from tudui.errors import CourseError, friendly_errors
from tudui.models import Tudui
from tudui.paths import lesson_log_dir, lesson_name
from tudui.seeding import seed_everything
from tudui.tb import make_writer

EPOCHS = 10          # 训练的轮数 / the course's number of epochs
BATCH_SIZE = 64
LEARNING_RATE = 1e-2  # 1e-2 = 0.01
LOG_EVERY = 100      # 每 100 次训练打印一次 loss / print and log train_loss every 100 steps
# --quick: batch 32, lr 0.05, 20 epochs on 512 pictures (see engine.QUICK_*: with lr 0.01 the
# loss would not leave 2.30 within a quick run). Without --quick everything is the course's.
QUICK_EPOCHS, QUICK_BATCH_SIZE, QUICK_LEARNING_RATE = (
    engine.QUICK_EPOCHS, engine.QUICK_BATCH_SIZE, engine.QUICK_LEARNING_RATE)


def build_parser():
    parser = lesson_parser(__doc__)
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help=f"训练轮数 / epochs (default {EPOCHS}; --quick: {QUICK_EPOCHS})")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help=f"default {BATCH_SIZE} (--quick: {QUICK_BATCH_SIZE})")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help=f"learning rate, default {LEARNING_RATE} (--quick: {QUICK_LEARNING_RATE})")
    parser.add_argument("--shuffle", action="store_true",
                        help="打乱训练数据 / shuffle the training data (the course does not)")
    parser.add_argument("--resume", action="store_true",
                        help="从最后一个完整的检查点继续 / continue from the last complete checkpoint")
    parser.add_argument("--bf16", action="store_true",
                        help="bf16 自动混合精度 (GPU: bf16/fp16) / mixed precision, faster")
    parser.add_argument("--slow-loader", action="store_true",
                        help="用课程的 DataLoader + 逐张 ToTensor / the course's per-image DataLoader")
    return parser


def check_same_settings(checkpoint, saved: dict | None, current: dict) -> None:
    """--resume with other flags than the interrupted run would mix two different runs."""
    if not saved:
        return
    changed = {k: (saved[k], current[k]) for k in current if k in saved and saved[k] != current[k]}
    if changed:
        listed = ", ".join(f"{k}: {old} -> {new}" for k, (old, new) in changed.items())
        raise CourseError(
            f"--resume: {checkpoint} was trained with other settings ({listed}). Resume with the "
            "same flags as the interrupted run, or start a new run without --resume.",
            f"--resume：{checkpoint} 的训练设置不同（{listed}）。请用与中断那次相同的参数继续，"
            "或者去掉 --resume 重新训练。")


@friendly_errors
def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    # the flags when given, else --quick's recipe, else the course's settings
    epochs, batch_size, lr = engine.training_settings(args, EPOCHS, BATCH_SIZE, LEARNING_RATE)
    device = pick_device(args.device)
    print(describe(device))
    lesson = lesson_name(__file__)
    out_dir = lesson_log_dir(lesson, args.log_dir)

    # 准备数据集 / the data sets, with ToTensor only (the engine turns them into whole batches)
    train_data = cifar10(args.data_root, train=True, quick=args.quick)
    test_data = cifar10(args.data_root, train=False, quick=args.quick)
    if cifar10_is_synthetic(args.data_root):
        print(synthetic_banner("CIFAR-10"))
    print(f"训练数据集的长度为：{len(train_data)}")
    print(f"测试数据集的长度为：{len(test_data)}")

    # The seed comes first, so the same --seed gives the same starting weights every time.
    seed_everything(args.seed)
    tudui = engine.prepare_model(Tudui(), device)         # 创建网络模型
    loss_fn = nn.CrossEntropyLoss().to(device)              # 损失函数
    optimizer = torch.optim.SGD(tudui.parameters(), lr=lr)  # 优化器
    fast = not args.slow_loader
    train_loader = engine.make_loader(train_data, batch_size, shuffle=args.shuffle,
                                      seed=args.seed, device=device, fast=fast)
    test_loader = engine.make_loader(test_data, batch_size, device=device, fast=fast)
    amp_dtype = engine.amp_dtype_for(device) if args.bf16 else None
    scaler = torch.amp.GradScaler(device.type) if amp_dtype == torch.float16 else None

    # Saved in every checkpoint: --resume must go on with the run's own settings.
    settings = {"quick": args.quick, "batch_size": batch_size, "lr": lr, "shuffle": args.shuffle,
                "seed": args.seed}
    start_epoch, step_losses, history, checkpoint = 0, [], [], None
    if args.resume:
        checkpoint = engine.last_epoch_checkpoint(out_dir)
        if checkpoint is None:
            raise CourseError(f"--resume: no checkpoint in {out_dir} yet. Run without --resume "
                              "first.", f"--resume：{out_dir} 里还没有检查点，请先不加 --resume 训练。")
        state = engine.load_checkpoint(checkpoint, tudui, optimizer, map_location=device)
        if not isinstance(state.get("epoch"), int):
            raise CourseError(
                f"--resume: {checkpoint} holds weights but no epoch number, so it was not written "
                "by this lesson. Start a new run without --resume.",
                f"--resume：{checkpoint} 只有权重、没有轮数，不是本课保存的检查点。请去掉 --resume 重新训练。")
        check_same_settings(checkpoint, state.get("settings"), settings)
        start_epoch = state["epoch"]
        step_losses, history = list(state.get("step_losses", [])), list(state.get("history", []))
        print(f"从 {checkpoint.name} 继续 / resuming after epoch {start_epoch}")
        if start_epoch >= epochs:
            print(f"已经训练了 {start_epoch} 轮，无需继续；要多训练几轮请加 --epochs N（N > {start_epoch}）。"
                  f"\n{start_epoch} epochs are already done, nothing to train; pass --epochs N "
                  f"with N > {start_epoch} to train further.")
    else:
        removed = engine.remove_epoch_checkpoints(out_dir)
        if removed:
            print(f"新的一轮训练：删除了上次的 {removed} 个检查点 / a new run: removed the previous "
                  f"run's {removed} checkpoint(s) from {out_dir}")
    # Always a fresh event file. On --resume the checkpoint's history is written into it again:
    # the interrupted epoch's points would otherwise be drawn twice once it is trained again.
    writer = make_writer(lesson, args.log_dir)
    for step in range(LOG_EVERY, len(step_losses) + 1, LOG_EVERY):
        writer.add_scalar("train_loss", step_losses[step - 1], step)
    for past in history:
        writer.add_scalar("test_loss", past["test_loss"], past["epoch"])
        writer.add_scalar("test_accuracy", past["test_accuracy"], past["epoch"])

    def log_step(step: int, loss: float) -> None:
        print(f"训练次数：{step}, Loss: {loss:.4f}")
        writer.add_scalar("train_loss", loss, step)

    try:
        for i in range(start_epoch, epochs):
            print(f"-------第 {i + 1} 轮训练开始-------")
            if hasattr(train_loader, "set_epoch"):
                train_loader.set_epoch(i)
            # 训练步骤开始: model.train(), forward, loss, zero_grad, backward, step
            train = engine.train_one_epoch(tudui, train_loader, loss_fn, optimizer, device,
                                           on_step=log_step, start_step=len(step_losses),
                                           log_every=LOG_EVERY, amp_dtype=amp_dtype,
                                           scaler=scaler, desc=f"epoch {i + 1}")
            step_losses += train["step_losses"]
            # 测试步骤开始: model.eval() and torch.no_grad()
            test = engine.evaluate(tudui, test_loader, loss_fn, device, amp_dtype=amp_dtype)
            print(f"整体测试集上的Loss：{test['loss_sum']:.4f}")
            print(f"整体测试集上的正确率：{test['accuracy']:.4f}")
            writer.add_scalar("test_loss", test["loss_sum"], i + 1)
            writer.add_scalar("test_accuracy", test["accuracy"], i + 1)
            history.append({"epoch": i + 1, "train_loss": train["loss"],
                            "test_loss": test["loss_sum"], "test_accuracy": test["accuracy"],
                            "seconds": train["seconds"],
                            "images_per_second": train["images_per_second"]})
            checkpoint = engine.save_checkpoint(
                engine.epoch_checkpoint_path(out_dir, i), tudui, optimizer, epoch=i + 1,
                step_losses=step_losses, history=history, seed=args.seed, settings=settings)
            print(f"模型已保存 / saved {checkpoint}  ({train['seconds']:.1f} s, "
                  f"{train['images_per_second']:.0f} images/s)")
    finally:
        writer.close()

    return {"step_losses": step_losses, "history": history,
            "test_accuracy": history[-1]["test_accuracy"] if history else None,
            "test_loss": history[-1]["test_loss"] if history else None,
            "checkpoint": str(checkpoint) if checkpoint else None, "epochs": epochs,
            "batch_size": batch_size, "lr": lr,
            "device": str(device), "log_dir": str(out_dir),
            "train_size": len(train_data), "test_size": len(test_data)}


if __name__ == "__main__":
    main()
