"""DataLoader 的使用 / Using DataLoader — P15

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=15 (P15)

你将学到 / What you learn:
- DataLoader 每次从数据集里取 batch_size 张，打包成 imgs [64,3,32,32] 和 targets [64]。
  DataLoader takes batch_size items at a time and stacks them: imgs [64,3,32,32], targets [64].
- shuffle=True：每个 epoch 顺序都不同；drop_last=True：最后不满 64 张的一批被丢掉
  （10000 张 -> 156 批，而不是 157 批）。
  shuffle=True gives a new order every epoch; drop_last=True drops the last incomplete batch
  (10000 images -> 156 batches instead of 157).
- num_workers=0：在主进程里读数据。Windows 上大于 0 时脚本必须有
  `if __name__ == "__main__":`，否则会报 BrokenPipeError / 无限重新启动。
  num_workers=0 loads in the main process. On Windows, more workers need the
  `if __name__ == "__main__":` guard, or you get a BrokenPipeError.

和视频的不同 / Differences from the video: CIFAR10 来自 tudui.data（见第 14 课）；batch_size 等可以用参数改；
shuffle 用 --seed 固定的随机数生成器；SummaryWriter 写到 <--log-dir>/15_dataloader/（视频里是
"dataloader"）；--quick 只用前 256 张。
CIFAR10 comes from tudui.data (see lesson 14); batch_size and friends are flags; the shuffle uses
a generator seeded by --seed; SummaryWriter writes to <--log-dir>/15_dataloader/ (the video:
"dataloader"); --quick uses the first 256 pictures.

运行 / Run:   python src/15_dataloader.py [--batch-size 64] [--no-shuffle] [--no-drop-last]
TensorBoard:  tensorboard --logdir logs  ->  IMAGES "Epoch: 0" and "Epoch: 1", one step per
              batch (64 images each); compare the two epochs to see the shuffle.
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import argparse

import torchvision
from torch.utils.data import DataLoader, Subset
from torch.utils.tensorboard import SummaryWriter

from tudui.cli import lesson_parser, non_negative_int, positive_int
from tudui.data import CIFAR10, QUICK_TEST_SIZE, cifar10_is_synthetic, synthetic_banner
from tudui.errors import CourseError, friendly_errors
from tudui.seeding import seed_everything
from tudui.tb import fresh_log_dir

BATCH_SIZE = 64
EPOCHS = 2


@friendly_errors
def main(argv=None) -> dict:
    parser = lesson_parser(__doc__)
    parser.add_argument("--batch-size", type=positive_int, default=BATCH_SIZE)
    parser.add_argument("--epochs", type=positive_int, default=EPOCHS)
    parser.add_argument("--shuffle", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--drop-last", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--num-workers", type=non_negative_int, default=0,
                        help="0 = load in the main process (the safe choice on Windows)")
    args = parser.parse_args(argv)
    generator = seed_everything(args.seed)  # the same --seed, the same shuffled order

    # 准备的测试数据集 / the test set
    test_data = CIFAR10(args.data_root, train=False, transform=torchvision.transforms.ToTensor())
    if cifar10_is_synthetic(args.data_root):
        print(synthetic_banner("CIFAR-10"))
    if args.quick:  # ours: the first pictures only
        test_data = Subset(test_data, range(min(QUICK_TEST_SIZE, len(test_data))))

    test_loader = DataLoader(dataset=test_data, batch_size=args.batch_size, shuffle=args.shuffle,
                             num_workers=args.num_workers, drop_last=args.drop_last,
                             generator=generator)
    check_not_empty(test_loader, test_data, args.batch_size)

    # 测试数据集中第一张图片及 target / the first test picture and its target
    img, target = test_data[0]
    print(img.shape)
    print(target)
    print(f"{len(test_data)} 张图片, batch_size={args.batch_size}, drop_last={args.drop_last} "
          f"-> {len(test_loader)} 批 / batches per epoch")

    writer = SummaryWriter(fresh_log_dir(__file__, args.log_dir))  # the video: "dataloader"
    steps, first_targets, last_shape = [], [], None
    for epoch in range(args.epochs):
        step = 0
        for data in test_loader:
            imgs, targets = data
            if step == 0:
                first_targets.append(targets.tolist())
                print(f"epoch {epoch} 第一批 / first batch: imgs {tuple(imgs.shape)}, "
                      f"targets[:8] {targets[:8].tolist()}")
            writer.add_images(f"Epoch: {epoch}", imgs, step)
            last_shape = tuple(imgs.shape)
            step = step + 1
        steps.append(step)
    writer.close()
    print(f"每个 epoch 的步数 / steps per epoch: {steps}; 最后一批 / last batch {last_shape}")
    return {"log_dir": writer.log_dir, "dataset_size": len(test_data), "steps": steps,
            "batches": len(test_loader), "first_targets": first_targets,
            "last_shape": last_shape, "img_shape": tuple(img.shape), "target": target}


def check_not_empty(test_loader: DataLoader, test_data, batch_size: int) -> None:
    """A clear error when drop_last dropped the only, incomplete batch: nothing to show."""
    if len(test_loader) == 0:
        raise CourseError(
            f"--batch-size {batch_size} is larger than the {len(test_data)} images, and "
            "drop_last=True drops that one incomplete batch, so there is no batch at all. Use a "
            "smaller --batch-size, or --no-drop-last.",
            f"batch_size={batch_size} 比图片数 {len(test_data)} 还大，drop_last=True 把唯一"
            "的一批也丢掉了。请用更小的 --batch-size，或加 --no-drop-last。",
        )


if __name__ == "__main__":
    main()
