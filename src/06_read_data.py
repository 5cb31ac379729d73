"""加载数据 Dataset / Reading data with Dataset — P6-P7

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=6 (P6-P7)

你将学到 / What you learn:
- 自己写一个 Dataset：__init__ 用 os.listdir 记住有哪些图片，__getitem__(idx) 用 Image.open
  返回一条数据，__len__ 返回总数。
  Writing your own Dataset: __init__ lists the pictures with os.listdir, __getitem__(idx) returns
  one item opened with Image.open, __len__ the count.
- 形式一 (P6)：标签就是文件夹名（dataset/train/ants）。ants_dataset + bees_dataset 直接相加得到
  245 张，下标 124 是第一只蜜蜂。
  Form 1 (P6): the label is the folder name. ants + bees concatenate to 245 items; index 124 is
  the first bee.
- 形式二 (P7)：图片文件夹 + 标签文件夹（train/ants_image + train/ants_label/<图片名>.txt），
  两个列表都排序后按位置配对，每条数据是 {"img", "label"}。
  Form 2 (P7): an image folder plus a label folder, both listings sorted and paired by position;
  items {"img", "label"}.
- 课程里的"报错图片"：train/ants 排序后第 119 张是调色板 GIF，ToTensor 后只有 1 个通道，
  和 3 通道的图片放在一起就报错；修复：img.convert("RGB")。
  The course's "error" image: sorted index 119 of train ants is a palette GIF, a 1-channel
  tensor after ToTensor; the fix is img.convert("RGB").
- 课程的 read_data.py 最后用 DataLoader(train_dataset, batch_size=1, num_workers=2) 包装数据集，
  并用 writer.add_image('error', ...) 在 TensorBoard 里看这张图片。
  The course's read_data.py ends with DataLoader(train_dataset, batch_size=1, num_workers=2) and
  writer.add_image('error', ...) to look at that picture in TensorBoard.

和视频的不同 / Differences from the video: 数据在 --data-root 下（默认 dataset/）；os.listdir 之后
多一行检查：去掉 .DS_Store 这类隐藏文件、排序、打开每张图片一次、检查图片和标签一一对应，
坏文件给出清楚的说明而不是 traceback。标签文件按 UTF-8 读。SummaryWriter 写到 <--log-dir>/06_read_data/，
在图片检查之后才创建；'error' 图片的下标按模式找（真实数据里是 119）。
The data lives under --data-root (default dataset/); after os.listdir one added line drops hidden
files such as .DS_Store, sorts, opens every picture once and checks that pictures and label files
pair up, so a bad file is a clear message instead of a traceback. Label files are read as UTF-8.
SummaryWriter writes to <--log-dir>/06_read_data/, made after the pictures are checked; the
'error' picture's index is found by its mode (119 in the real data).

运行 / Run:   python src/06_read_data.py
TensorBoard:  tensorboard --logdir logs  ->  IMAGES "error": 那张 GIF，只有一个（灰色）通道 /
              the GIF, one (gray) channel.
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import os

from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torch.utils.tensorboard import SummaryWriter
from torchvision import transforms

from tudui.cli import lesson_parser
from tudui.errors import friendly_errors
from tudui.hymenoptera import (
    ERROR_IMAGE,
    checked_pairs,
    checked_pictures,
    course_dir,
    hymenoptera_dir,
    is_synthetic,
    synthetic_banner,
)
from tudui.tb import fresh_log_dir


class MyData(Dataset):
    """P6: the label is the name of the folder the pictures are in."""

    def __init__(self, root_dir, label_dir):
        self.root_dir = root_dir
        self.label_dir = label_dir
        self.path = os.path.join(self.root_dir, self.label_dir)
        self.img_path = os.listdir(self.path)
        # ours: hidden files (macOS's .DS_Store) out, sorted (os.listdir's order differs between
        # systems), every picture opened once so a damaged one is a clear error
        self.img_path = checked_pictures(self.path, self.img_path)

    def __getitem__(self, idx):
        img_name = self.img_path[idx]
        img_item_path = os.path.join(self.root_dir, self.label_dir, img_name)
        img = Image.open(img_item_path)
        label = self.label_dir
        return img, label

    def __len__(self):
        return len(self.img_path)


class LabelFolderData(Dataset):
    """P7: pictures in ``<x>_image/``, each label in ``<x>_label/<picture name>.txt``.

    The course's read_data.py calls this class MyData as well (it replaces the P6 one there).
    """

    def __init__(self, root_dir, image_dir, label_dir, transform):
        self.root_dir = root_dir
        self.image_dir = image_dir
        self.label_dir = label_dir
        self.label_path = os.path.join(self.root_dir, self.label_dir)
        self.image_path = os.path.join(self.root_dir, self.image_dir)
        self.image_list = os.listdir(self.image_path)
        self.label_list = os.listdir(self.label_path)
        self.transform = transform
        # 因为 label 和 Image 文件名相同，进行一样的排序，可以保证取出的数据和 label 是一一对应的
        # The label files are named after the pictures: sorted alike, they pair up by position.
        self.image_list.sort()
        self.label_list.sort()
        # ours: the same checks as MyData, plus: every picture has its label file and vice versa
        self.image_list, self.label_list = checked_pairs(self.image_path, self.image_list,
                                                         self.label_path, self.label_list)

    def __getitem__(self, idx):
        img_name = self.image_list[idx]
        label_name = self.label_list[idx]
        img_item_path = os.path.join(self.root_dir, self.image_dir, img_name)
        label_item_path = os.path.join(self.root_dir, self.label_dir, label_name)
        img = Image.open(img_item_path)
        with open(label_item_path, encoding="utf-8") as f:  # the same on every system
            label = f.readline()
        img = self.transform(img)
        sample = {"img": img, "label": label}
        return sample

    def __len__(self):
        assert len(self.image_list) == len(self.label_list)
        return len(self.image_list)


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    p6 = folder_labels(args.data_root)
    p7 = label_files(args.data_root, args.log_dir)
    return {**p6, **p7}


def folder_labels(data_root) -> dict:
    """P6: the label is the folder name."""
    root_dir = hymenoptera_dir(data_root, "train")  # the video's "dataset/train"
    if is_synthetic(root_dir.parent):
        print(synthetic_banner("hymenoptera_data"))
    ants_label_dir = "ants"
    bees_label_dir = "bees"
    ants_dataset = MyData(root_dir, ants_label_dir)
    bees_dataset = MyData(root_dir, bees_label_dir)
    train_dataset = ants_dataset + bees_dataset  # a ConcatDataset: ants first, then bees
    print(len(ants_dataset), len(bees_dataset), len(train_dataset))
    img, label = train_dataset[len(ants_dataset)]  # 124 in the real data: the first bee
    print(img, label, "(第一只蜜蜂 / the first bee)")
    img.close()
    return {"lengths": (len(ants_dataset), len(bees_dataset), len(train_dataset)),
            "first_bee_label": label, "first_bee_index": len(ants_dataset),
            "label_of_last_ant": train_dataset[len(ants_dataset) - 1][1]}


def label_files(data_root, log_dir) -> dict:
    """P7: an image folder plus a label folder (the course's read_data.py)."""
    transform = transforms.Compose([transforms.Resize((256, 256)), transforms.ToTensor()])
    root_dir = course_dir(data_root, "train")  # the video's "dataset/train"
    image_ants = "ants_image"
    label_ants = "ants_label"
    ants_dataset = LabelFolderData(root_dir, image_ants, label_ants, transform)
    image_bees = "bees_image"
    label_bees = "bees_label"
    bees_dataset = LabelFolderData(root_dir, image_bees, label_bees, transform)
    train_dataset = ants_dataset + bees_dataset

    # The video makes the writer on the first line of read_data.py; here it comes once every
    # picture has been checked, so that a bad picture leaves no log folder behind.
    writer = SummaryWriter(fresh_log_dir(__file__, log_dir))  # the video: SummaryWriter("logs")
    dataloader = DataLoader(train_dataset, batch_size=1, num_workers=2)
    # the video: train_dataset[119], imageNotFound.gif in the real data; found by its mode here,
    # since the stand-in has fewer ants (and someone may have deleted it)
    error_index = first_non_rgb(ants_dataset)
    if error_index is not None:
        writer.add_image('error', train_dataset[error_index]['img'])
    writer.close()

    # ---- extras: the sorted pairs, one item, why the GIF is "the error" and its fix
    print(f"DataLoader: {len(dataloader)} batches of 1; IMAGES 'error' in {writer.log_dir}")
    pairs = list(zip(ants_dataset.image_list[:3], ants_dataset.label_list[:3]))
    print("按排序配对 / sorted pairing:", pairs)
    sample = train_dataset[0]
    print("train_dataset[0]:", {"img": tuple(sample["img"].shape), "label": sample["label"]})
    return {"pairs": pairs, "p7_length": len(ants_dataset), "first_item_label": sample["label"],
            "log_dir": writer.log_dir, "dataloader_batches": len(dataloader),
            **error_image_demo(ants_dataset, transform, error_index)}


def first_non_rgb(dataset: LabelFolderData) -> int | None:
    """The index of the first picture that is not RGB (the course's GIF is palette mode "P"),
    or None; reads the headers only."""
    for i, name in enumerate(dataset.image_list):
        with Image.open(os.path.join(dataset.image_path, name)) as img:
            if img.mode != "RGB":
                return i
    return None


def error_image_demo(dataset: LabelFolderData, transform, error_index: int | None) -> dict:
    """The course's "error" picture: a palette GIF gives a 1-channel tensor, and anything that
    expects 3 channels (Normalize with 3 means, stacking a batch) fails; .convert("RGB") fixes it."""
    if error_index is None:  # e.g. imageNotFound.gif was deleted: the rest still teaches
        print(f"没有非 RGB 的图片（{ERROR_IMAGE} 不在了），跳过报错演示 / no non-RGB picture "
              f"({ERROR_IMAGE} is gone): the error-image demo is skipped.")
        return {"error_index": None, "error_name": None, "error_shape": None,
                "error_message": "", "fixed_shape": None}
    error_name = dataset.image_list[error_index]
    bad = dataset[error_index]["img"]
    print(f"报错的图片 / the error image: index {error_index}, {error_name}, shape {tuple(bad.shape)}")
    error = ""
    try:
        transforms.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])(bad)
    except (RuntimeError, TypeError) as err:  # TypeError: a 16-bit picture's integer tensor
        error = str(err)
        print("  Normalize 报错 / fails:", error)
    fix = transforms.Compose([transforms.Lambda(lambda img: img.convert("RGB")), transform])
    fixed = LabelFolderData(dataset.root_dir, dataset.image_dir, dataset.label_dir, fix)[error_index]
    print(f"  修复 / fixed with img.convert('RGB'): shape {tuple(fixed['img'].shape)}")
    return {"error_index": error_index, "error_name": error_name, "error_shape": tuple(bad.shape),
            "error_message": error, "fixed_shape": tuple(fixed["img"].shape)}


if __name__ == "__main__":
    main()
