"""torchvision 中数据集的使用 / Data sets in torchvision, with a transform — P14

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=14 (P14)

你将学到 / What you learn:
- torchvision.datasets.CIFAR10(root, train=True/False, transform=..., download=True)：
  数据集下载到 dataset/，transform 把每张 PIL 图片变成 tensor。
  torchvision.datasets.CIFAR10 downloads into dataset/; the transform turns each PIL picture
  into a tensor.
- test_set.classes 是十个类别名；test_set[0] 是 (img, target)，classes[target] 是它的名字。
  test_set.classes holds the ten class names; test_set[0] is (img, target).
- 前 10 张测试图片写进 TensorBoard 的 "test_set"。
  The first 10 test pictures go to TensorBoard under "test_set".

和视频的不同 / Differences from the video: CIFAR10 来自 tudui.data，它就是 torchvision.datasets.CIFAR10，
只是读文件更安全（不会执行恶意文件里的代码），也接受离线替代数据，出错时给出清楚的说明；root 是
--data-root（默认 dataset/）；SummaryWriter 写到 <--log-dir>/14_dataset_transform/（视频里是 "p10"）。
CIFAR10 comes from tudui.data: torchvision.datasets.CIFAR10, reading the files safely (a malicious
file cannot run code), accepting the offline stand-in and explaining what went wrong; root is
--data-root (default dataset/); SummaryWriter writes to <--log-dir>/14_dataset_transform/ (the
video: "p10").

运行 / Run:   python src/14_dataset_transform.py   (先运行 / first run src/00_prepare_data.py)
TensorBoard:  tensorboard --logdir logs  ->  IMAGES "test_set", steps 0-9.
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import torchvision
from torch.utils.tensorboard import SummaryWriter

from tudui.cli import lesson_parser
from tudui.data import CIFAR10, cifar10_is_synthetic, synthetic_banner
from tudui.errors import friendly_errors
from tudui.tb import fresh_log_dir

SHOW = 10  # the course's range(10)


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    dataset_transform = torchvision.transforms.Compose([
        torchvision.transforms.ToTensor()
    ])
    # the video: torchvision.datasets.CIFAR10(root="./dataset", ...); see the docstring
    train_set = CIFAR10(root=args.data_root, train=True, transform=dataset_transform, download=True)
    test_set = CIFAR10(root=args.data_root, train=False, transform=dataset_transform, download=True)
    if cifar10_is_synthetic(args.data_root):
        print(synthetic_banner("CIFAR-10"))

    print(len(train_set), len(test_set))
    print(test_set.classes)
    img, target = test_set[0]
    print(img.shape, img.dtype)  # the video prints the PIL picture first, then adds the transform
    print(target)
    print(test_set.classes[target])

    writer = SummaryWriter(fresh_log_dir(__file__, args.log_dir))  # the video: SummaryWriter("p10")
    for i in range(SHOW):
        img, target = test_set[i]
        writer.add_image("test_set", img, i)
    writer.close()
    print(f"{SHOW} 张图片写入 / images written: {writer.log_dir}")
    img, target = test_set[0]
    return {"log_dir": writer.log_dir, "classes": list(test_set.classes),
            "img_shape": tuple(img.shape), "target": target,
            "class_name": test_set.classes[target], "img": img,
            "lengths": (len(train_set), len(test_set))}


if __name__ == "__main__":
    main()
