"""加载数据 Dataset / Reading data with Dataset — P6-P7

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=6 (P6-P7)

你将学到 / What you learn:
- 自己写一个 Dataset：__init__ 记住图片在哪，__getitem__(idx) 返回一条数据，__len__ 返回总数。
  Writing your own Dataset: __init__ remembers where the images are, __getitem__(idx) returns
  one item, __len__ the count.
- 形式一：标签就是文件夹名（hymenoptera_data/train/ants）。ants + bees 直接相加得到 245 张，
  下标 124 是第一只蜜蜂。
  Form 1: the label is the folder name. ants + bees concatenate to 245 items; index 124 is
  the first bee.
- 形式二：图片文件夹 + 标签文件夹（train/ants_image + train/ants_label/<图片名>.txt），按排序配对，
  每条数据是 {"img", "label"}。
  Form 2: an image folder plus a label folder, paired by sorted name; items {"img", "label"}.
- 课程里的"报错图片"：train/ants 排序后第 119 张是调色板 GIF，ToTensor 后只有 1 个通道，
  和 3 通道的图片放在一起就报错；修复：Image.open(...).convert("RGB")。
  The course's "error" image: sorted index 119 of train ants is a palette GIF, a 1-channel
  tensor after ToTensor; the fix is .convert("RGB").

运行 / Run:   python src/06_read_data.py
TensorBoard:  本课不写日志 / this lesson writes no logs.
"""

from __future__ import annotations

import os

from torch.utils.data import Dataset
from torchvision import transforms

from tudui.cli import lesson_parser
from tudui.data import is_synthetic, synthetic_banner
from tudui.errors import friendly_errors
from tudui.hymenoptera import (
    ERROR_IMAGE,
    check_pairs,
    course_dir,
    hymenoptera_dir,
    open_picture,
    picture_names,
)

ANTS, BEES = "ants", "bees"


class MyData(Dataset):
    """P6: the label is the name of the folder the images are in."""

    def __init__(self, root_dir, label_dir):
        self.root_dir, self.label_dir = root_dir, label_dir
        self.path = os.path.join(root_dir, label_dir)
        # The course: os.listdir(self.path). picture_names sorts (the order differs between
        # systems) and skips hidden files such as macOS's .DS_Store, which are not pictures.
        self.img_path = picture_names(self.path)

    def __getitem__(self, idx):
        img_item_path = os.path.join(self.path, self.img_path[idx])
        img = open_picture(img_item_path, mode=None)  # Image.open (own mode), clear errors
        label = self.label_dir
        return img, label

    def __len__(self):
        return len(self.img_path)


class LabelFolderData(Dataset):
    """P7: images in ``<x>_image/``, each label in ``<x>_label/<image stem>.txt``."""

    def __init__(self, root_dir, image_dir, label_dir, transform=None, rgb=False):
        self.image_path = os.path.join(root_dir, image_dir)
        self.label_path = os.path.join(root_dir, label_dir)
        self.image_list = picture_names(self.image_path)  # sorted(os.listdir(...)), see MyData
        self.label_list = picture_names(self.label_path, (".txt",))  # same stems, same order
        check_pairs(self.image_path, self.image_list, self.label_path, self.label_list)
        self.transform, self.rgb = transform, rgb

    def __getitem__(self, idx):
        img = open_picture(os.path.join(self.image_path, self.image_list[idx]), mode=None)
        if self.rgb:
            img = img.convert("RGB")  # the fix: GIF/greyscale/RGBA all become 3 channels
        with open(os.path.join(self.label_path, self.label_list[idx]), encoding="utf-8") as f:
            label = f.read().strip()
        if self.transform:
            img = self.transform(img)
        return {"img": img, "label": label}

    def __len__(self):
        return len(self.image_list)  # check_pairs made sure there is one label per picture


def image_mode(path) -> str:
    """"RGB", "L" (grey), "P" (palette, e.g. GIF), "RGBA"...: read from the header only."""
    with open_picture(path, load=False) as img:
        return img.mode


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)

    # ---- P6: label = folder name
    root_dir = hymenoptera_dir(args.data_root, "train")
    if is_synthetic(root_dir.parent):
        print(synthetic_banner("hymenoptera_data"))
    ants_dataset = MyData(root_dir, ANTS)
    bees_dataset = MyData(root_dir, BEES)
    train_dataset = ants_dataset + bees_dataset  # a ConcatDataset: ants first, then bees
    print("len(ants_dataset), len(bees_dataset), len(train_dataset):",
          len(ants_dataset), len(bees_dataset), len(train_dataset))
    img, label = train_dataset[len(ants_dataset)]
    print(f"train_dataset[{len(ants_dataset)}] ->", img.size, label, "(第一只蜜蜂 / the first bee)")
    img.close()

    # ---- P7: image folder + label folder
    train_dir = course_dir(args.data_root, "train")
    to_tensor = transforms.ToTensor()
    ants_p7 = LabelFolderData(train_dir, "ants_image", "ants_label", transform=to_tensor)
    pairs = list(zip(ants_p7.image_list[:3], ants_p7.label_list[:3]))
    print("按排序配对 / sorted pairing:", pairs)
    first = ants_p7[0]
    print("ants_p7[0]:", {"img": tuple(first["img"].shape), "label": first["label"]})

    # The course's "error": one picture is a palette GIF. ToTensor gives it 1 channel, and
    # anything that expects 3 (Normalize with 3 means, stacking a batch) fails.
    error_index = next((i for i, name in enumerate(ants_p7.image_list)
                        if image_mode(os.path.join(ants_p7.image_path, name)) != "RGB"), None)
    error, bad_shape, fixed_shape = "", None, None
    if error_index is None:  # e.g. imageNotFound.gif was deleted: the rest still teaches
        print(f"没有非 RGB 的图片（{ERROR_IMAGE} 不在了），跳过报错演示 / no non-RGB picture "
              f"({ERROR_IMAGE} is gone): the error-image demo is skipped.")
    else:
        bad = ants_p7[error_index]["img"]
        bad_shape = tuple(bad.shape)
        print(f"报错的图片 / the error image: index {error_index}, "
              f"{ants_p7.image_list[error_index]}, shape {bad_shape}")
        try:
            transforms.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])(bad)
        except RuntimeError as err:
            error = str(err)
            print("  Normalize 报错 / fails:", error)
        fixed_shape = tuple(LabelFolderData(train_dir, "ants_image", "ants_label", transform=to_tensor,
                                            rgb=True)[error_index]["img"].shape)
        print(f"  修复 / fixed with .convert('RGB'): shape {fixed_shape}")

    return {"lengths": (len(ants_dataset), len(bees_dataset), len(train_dataset)),
            "first_bee_label": label, "first_bee_index": len(ants_dataset),
            "label_of_last_ant": train_dataset[len(ants_dataset) - 1][1],
            "pairs": pairs, "p7_length": len(ants_p7), "first_item_label": first["label"],
            "error_index": error_index,
            "error_name": None if error_index is None else ants_p7.image_list[error_index],
            "error_shape": bad_shape, "error_message": error, "fixed_shape": fixed_shape}


if __name__ == "__main__":
    main()
