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

运行 / Run:   python src/14_dataset_transform.py   (先运行 / first run src/00_prepare_data.py)
TensorBoard:  tensorboard --logdir logs  ->  IMAGES "test_set", steps 0-9.
"""

from __future__ import annotations

import torchvision
from torch.utils.data import Subset

from tudui.cli import lesson_parser
from tudui.data import cifar10, cifar10_is_synthetic, synthetic_banner
from tudui.errors import friendly_errors
from tudui.paths import lesson_name
from tudui.tb import make_writer

SHOW = 10  # the course's range(10)


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    dataset_transform = torchvision.transforms.Compose([torchvision.transforms.ToTensor()])
    # The course: torchvision.datasets.CIFAR10(root="./dataset", train=..., download=True)
    train_set = cifar10(args.data_root, train=True, transform=dataset_transform, quick=args.quick)
    test_set = cifar10(args.data_root, train=False, transform=dataset_transform, quick=args.quick)
    if cifar10_is_synthetic(args.data_root):
        print(synthetic_banner("CIFAR-10"))
    # --quick returns a Subset (the first images only); the class names live on the full set
    classes = (test_set.dataset if isinstance(test_set, Subset) else test_set).classes
    print("len(train_set), len(test_set):", len(train_set), len(test_set))
    print("test_set.classes:", classes)
    img, target = test_set[0]
    print("test_set[0]: img", tuple(img.shape), img.dtype, "target", target,
          f"-> classes[{target}] = {classes[target]}")

    writer = make_writer(lesson_name(__file__), args.log_dir)
    try:
        for i in range(SHOW):
            img_i, _target = test_set[i]
            writer.add_image("test_set", img_i, i)
    finally:
        writer.close()
    print(f"{SHOW} 张图片写入 / images written: {writer.log_dir}")
    return {"log_dir": writer.log_dir, "classes": list(classes), "img_shape": tuple(img.shape),
            "target": target, "class_name": classes[target], "img": img,
            "lengths": (len(train_set), len(test_set))}


if __name__ == "__main__":
    main()
