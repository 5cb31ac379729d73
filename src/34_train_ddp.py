"""多进程训练 / The same training in several processes: DistributedDataParallel + torchrun
（课程 P27-P31 的延伸 / goes on from P27-P31）

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=27 (P27-P29 训练 / training) and
https://www.bilibili.com/video/BV1hE411t7RN?p=30 (P30-P31 GPU)

你将学到 / What you learn:
- torchrun 启动 N 个进程（rank 0..N-1）。每个进程有一份完整的模型，DistributedSampler 让它只看
  1/N 的数据；每次 backward 后 DDP 把所有进程的梯度求平均（all-reduce），所以每份模型走同样的
  一步，训练结束时完全相同。
  torchrun starts N processes (ranks). Each holds a whole copy of the model and, through
  DistributedSampler, sees 1/N of the data; after every backward DDP averages the gradients of
  all processes (all-reduce), so every copy takes the same step and they end identical.
- 后端自动选择：CPU 用 gloo，GPU 用 nccl（进程比 GPU 多时用 gloo，几个进程共用一块 GPU）。
  The backend is chosen for you: gloo on CPU, nccl on GPUs (gloo when there are more processes
  than GPUs, so that processes can share one).
- 只有 rank 0 打印、写 TensorBoard、保存检查点（与 27_train.py 格式相同，32_test.py 能读）。
  Only rank 0 prints, writes TensorBoard and saves checkpoints (27_train.py's format).
- sampler.set_epoch(epoch)：每轮换一种打乱顺序（所有进程一致）。A new shuffle every epoch.
- 有效批量 = 每进程 batch-size × 进程数；学习率按进程数线性放大（--no-scale-lr 关闭）。
  Effective batch = batch size per process × world size, so each step averages that many
  images and N processes take N times fewer steps per epoch; the learning rate is multiplied
  by the world size to make up for it (the linear scaling rule; a rough guide for Adam).

运行 / Run:
  torchrun --nproc_per_node=2 src/34_train_ddp.py          # 一台机器 2 个进程 / 2 processes
  python src/34_train_ddp.py                               # 单进程 / one process (world size 1)
  多台机器 / several machines (run on each, same endpoint):
  torchrun --nnodes=2 --nproc_per_node=1 --rdzv-backend=c10d --rdzv-endpoint=HOST:29500 \\
           --rdzv-id=tudui src/34_train_ddp.py
TensorBoard:  logs/34_train_ddp: train_loss（各进程平均 / averaged over ranks）, test_loss,
  test_accuracy per epoch; summary.json lists each rank's weight fingerprint.
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import hashlib
import json
import os
import signal
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.elastic.multiprocessing.errors import record
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, Subset

from tudui.cli import learning_rate, lesson_parser, positive_int
from tudui.data import cifar10, cifar10_is_synthetic, synthetic_banner
from tudui.device import describe, pick_device
from tudui.engine import evaluate, time_left_line, train_one_epoch
from tudui.errors import CourseError, friendly_errors
from tudui.infra.checkpoints import (
    check_checkpoint_names,
    remove_epoch_checkpoints,
    remove_stale_temporary_files,
    save_state_dict,
)
from tudui.infra.files import atomic_write_bytes
from tudui.infra.runlock import lock_folder
from tudui.models import Tudui
from tudui.paths import lesson_log_dir, lesson_name
from tudui.seeding import seed_everything
from tudui.tb import make_writer

EPOCHS = 10
BATCH_SIZE = 64          # per process, as in the course
LEARNING_RATE = 1e-2     # the course's, for one process; times the world size by default
ADAM_LR = 1e-3           # --optimizer adam: the usual Adam learning rate
QUICK_EPOCHS = 4         # --quick: 512 images x 4 epochs, shared among the processes


def fingerprint(model: nn.Module) -> str:
    """A short hash of every weight: equal fingerprints mean bit-identical models."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def all_sum(values: list[float], device) -> list[float]:
    """Add ``values`` up over all ranks (every rank gets the totals)."""
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def train(args, rank: int, world_size: int, device) -> dict:
    say = print if rank == 0 else (lambda *a, **k: None)   # only rank 0 talks
    epochs = args.epochs if args.epochs is not None else QUICK_EPOCHS if args.quick else EPOCHS
    base_lr = args.lr or (ADAM_LR if args.optimizer == "adam" else LEARNING_RATE)
    lr = base_lr * (1 if args.no_scale_lr else world_size)
    say(describe(device), f"| 进程数 / world size {world_size}, 后端 / backend "
        f"{dist.get_backend()}")
    say(f"有效批量 / effective batch {args.batch_size} x {world_size} = "
        f"{args.batch_size * world_size}, 学习率 / lr {lr:g}")
    if rank != 0:
        dist.barrier()   # rank 0 fetches or checks the data first, the others wait...
    train_data = cifar10(args.data_root, train=True, quick=args.quick)
    test_data = cifar10(args.data_root, train=False, quick=args.quick)
    if rank == 0:
        dist.barrier()   # ...then read it
        if cifar10_is_synthetic(args.data_root):
            say(synthetic_banner("CIFAR-10"))
    sampler = DistributedSampler(train_data, num_replicas=world_size, rank=rank, shuffle=True,
                                 seed=args.seed)
    train_loader = DataLoader(train_data, batch_size=args.batch_size, sampler=sampler)
    # Each rank tests its own slice; the counts are added up below (no padding, exact accuracy).
    test_shard = Subset(test_data, range(rank, len(test_data), world_size))
    test_loader = DataLoader(test_shard, batch_size=args.batch_size)

    seed_everything(args.seed)   # the same start on every rank (DDP also copies rank 0's weights)
    model = Tudui().to(device)
    ddp = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda"
                                  else None)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = (torch.optim.Adam if args.optimizer == "adam" else torch.optim.SGD)(
        ddp.parameters(), lr=lr)

    out_dir = lesson_log_dir(lesson_name(__file__), args.log_dir) if rank == 0 else None
    writer = make_writer(lesson_name(__file__), args.log_dir) if rank == 0 else None
    history, checkpoint, started = [], None, time.perf_counter()
    try:
        for epoch in range(epochs):
            sampler.set_epoch(epoch)   # without it, every epoch repeats the same order
            stats = train_one_epoch(ddp, train_loader, loss_fn, optimizer, device,
                                    desc=f"rank {rank} epoch {epoch + 1}")
            loss_total, steps = all_sum([stats["loss"] * stats["steps"], stats["steps"]], device)
            test = evaluate(model, test_loader, loss_fn, device)
            loss_sum, correct, total = all_sum([test["loss_sum"], test["correct"], test["total"]],
                                               device)
            row = {"epoch": epoch + 1, "train_loss": loss_total / steps, "test_loss": loss_sum,
                   "test_accuracy": correct / total, "seconds": stats["seconds"]}
            history.append(row)
            say(f"-------第 {epoch + 1} 轮 / epoch {epoch + 1}-------  train_loss "
                f"{row['train_loss']:.4f}  整体测试集上的Loss：{loss_sum:.4f}  "
                f"整体测试集上的正确率：{row['test_accuracy']:.4f}")
            if rank == 0:
                for tag in ("train_loss", "test_loss", "test_accuracy"):
                    writer.add_scalar(tag, row[tag], epoch + 1)
                # the model inside DDP (.module): a plain state_dict with 27_train.py's keys
                checkpoint = save_state_dict(ddp.module, out_dir / f"tudui_{epoch}.pth")
            say(time_left_line(epoch + 1, epochs, time.perf_counter() - started))
    finally:
        if writer is not None:
            writer.close()

    prints = [None] * world_size
    dist.all_gather_object(prints, fingerprint(ddp.module))   # every rank's own fingerprint
    identical = len(set(prints)) == 1
    say("各进程的权重指纹 / weight fingerprint per rank:", prints,
        "相同 / identical" if identical else "不同 / DIFFERENT")
    result = {"world_size": world_size, "backend": dist.get_backend(), "history": history,
              "test_accuracy": history[-1]["test_accuracy"], "fingerprints": prints,
              "identical": identical, "lr": lr, "effective_batch": args.batch_size * world_size,
              "checkpoint": str(checkpoint) if checkpoint else None}
    if rank == 0:
        say(f"模型已保存 / saved {checkpoint}")
        atomic_write_bytes(out_dir / "summary.json", json.dumps(result, indent=1).encode())
    return result


def pick_backend(device, local_world_size: int, local_rank: int = 0) -> str:
    """gloo on the CPU, nccl on GPUs; gloo also when this machine runs more processes than it
    has GPUs, since nccl refuses two processes on one GPU ("Duplicate GPU detected")."""
    if device.type != "cuda":
        return "gloo"
    gpus = torch.cuda.device_count()
    if local_world_size <= gpus:
        return "nccl"
    if local_rank == 0:
        print(f"{local_world_size} 个进程共用 {gpus} 块 GPU：nccl 要求每个进程一块 GPU，所以改用 gloo"
              f"（较慢）；想更快请用 --nproc_per_node={gpus} / {local_world_size} processes share "
              f"{gpus} GPU(s): nccl needs a GPU per process, so gloo is used (slower); for speed "
              f"run --nproc_per_node={gpus}", flush=True)
    return "gloo"


def claim_folder(args):
    """Rank 0, before training: one run per folder (a lock), then the folder cleaned for a new run
    (stale temporary files, the previous run's checkpoints). Returns the lock."""
    out_dir = lesson_log_dir(lesson_name(__file__), args.log_dir)
    lock = lock_folder(out_dir)
    check_checkpoint_names(out_dir)
    remove_stale_temporary_files(out_dir)
    remove_epoch_checkpoints(out_dir)
    (out_dir / "summary.json").unlink(missing_ok=True)
    return lock


def stopped_by_torchrun(signum, frame):
    """SIGTERM from torchrun (another process failed): leave through the ``finally`` blocks, so
    rank 0 releases training.lock, instead of dying on the spot."""
    raise SystemExit(128 + signum)


@friendly_errors
@record   # under torchrun: the failing rank's error becomes the "Root Cause" in the summary
def main(argv=None) -> dict:
    parser = lesson_parser(__doc__)
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help=f"epochs (default {EPOCHS}; {QUICK_EPOCHS} with --quick)")
    parser.add_argument("--batch-size", type=positive_int, default=BATCH_SIZE, help="per process")
    parser.add_argument("--lr", type=learning_rate, default=None,
                        help=f"for one process (default {LEARNING_RATE:g}; adam {ADAM_LR:g})")
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd",
                        help="sgd = the course's; adam learns the small stand-in in fewer steps")
    parser.add_argument("--no-scale-lr", action="store_true",
                        help="keep --lr as it is instead of multiplying it by the world size")
    args = parser.parse_args(argv)

    # torchrun tells each process who it is through environment variables.
    rank = int(os.environ.get("RANK", 0))
    world_size = int(os.environ.get("WORLD_SIZE", 1))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = pick_device(args.device)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
    elif device.type == "mps":   # gloo cannot all-reduce MPS tensors
        device = torch.device("cpu")
    backend = pick_backend(device, int(os.environ.get("LOCAL_WORLD_SIZE", 1)), local_rank)
    if "RANK" in os.environ:
        dist.init_process_group(backend)           # torchrun's rendezvous (env://)
    else:   # plain `python src/34_train_ddp.py`: a group of one, no network needed
        dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1)
    lock = None
    if world_size > 1:  # torchrun stops the others with SIGTERM when one fails: let go cleanly
        previous_handler = signal.signal(signal.SIGTERM, stopped_by_torchrun)
    try:
        lock = claim_folder(args) if rank == 0 else None
        return train(args, rank, world_size, device)
    except CourseError:
        raise
    except Exception as err:
        if world_size > 1:
            print(f"\n[rank {rank}] 训练失败 / training failed: {type(err).__name__}: {err}\n"
                  f"torchrun stops the other {world_size - 1} process(es); the whole run fails "
                  "(exit code 1). Fix the error above and start again.", flush=True)
        raise
    finally:
        if lock is not None:  # first: tearing the group down can wait on the failed process
            lock.release()
        dist.destroy_process_group()
        if world_size > 1:
            signal.signal(signal.SIGTERM, previous_handler)


if __name__ == "__main__":
    main()
