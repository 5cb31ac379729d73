"""Transforms 的使用 / Using transforms: ToTensor — P10-P11

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=10 (P10-P11)

你将学到 / What you learn:
- transforms 是一个"工具箱"：先创建工具 tensor_trans = transforms.ToTensor()，再使用
  tensor_img = tensor_trans(img)。ToTensor 把 (H,W,C) 的 0-255 图片变成 (C,H,W) 的 0-1 tensor。
  transforms is a toolbox: make a tool, then call it. ToTensor turns a (H,W,C) 0-255 picture
  into a (C,H,W) float tensor in [0, 1].
- ToTensor 能处理 PIL 图片，也能处理 OpenCV 的 numpy 数组；但 cv2.imread 读出来是 BGR 顺序，
  直接显示红蓝会对调。修复：cv2.cvtColor(img, cv2.COLOR_BGR2RGB)。
  ToTensor takes a PIL image or an OpenCV array, but cv2.imread gives BGR order: red and
  blue are swapped. The fix: cv2.cvtColor(img, cv2.COLOR_BGR2RGB).

运行 / Run:   python src/10_transforms.py
TensorBoard:  tensorboard --logdir logs  ->  IMAGES "Tensor_img" (the course's tag) and
              "PIL | OpenCV BGR | OpenCV fixed" (the three side by side).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torchvision
from torchvision import transforms

from tudui.cli import lesson_parser
from tudui.data import is_synthetic, synthetic_banner
from tudui.errors import CourseError, friendly_errors
from tudui.hymenoptera import course_dir, image_files, open_picture
from tudui.paths import lesson_name
from tudui.tb import make_writer


def cv_imread(path) -> np.ndarray:
    """cv2.imread, which also works for paths with Chinese characters on Windows."""
    img = cv2.imread(str(path))
    if img is None:  # cv2.imread cannot open non-ASCII paths on Windows: decode the bytes
        img = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise CourseError(f"OpenCV could not read {path}: is it an image file?",
                          f"OpenCV 读不了 {path}，它是图片吗？")
    return img


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    train_dir = course_dir(args.data_root, "train")
    if is_synthetic(train_dir):
        print(synthetic_banner("hymenoptera (train/)"))
    img_path = image_files(train_dir / "ants_image")[0]

    img = open_picture(img_path)  # Image.open(img_path), with a clear error for a damaged file
    print(img)  # a PIL JpegImageFile: mode=RGB size=WxH
    tensor_trans = transforms.ToTensor()   # 1. make the tool
    tensor_img = tensor_trans(img)          # 2. use it
    print("tensor_img:", tensor_img.shape, tensor_img.dtype, tensor_img.min().item(),
          tensor_img.max().item())

    cv_img = cv_imread(img_path)                         # numpy (H,W,3), channels in B,G,R
    cv_tensor = tensor_trans(cv_img)                     # ToTensor does not know it is BGR
    cv_fixed = tensor_trans(cv2.cvtColor(cv_img, cv2.COLOR_BGR2RGB))
    print("cv_img:", type(cv_img), cv_img.shape, "(H, W, C), BGR")
    # PIL and OpenCV may decode JPEG with tiny differences, so compare means, not bits
    diff_bgr = (cv_tensor - tensor_img).abs().mean().item()
    diff_fixed = (cv_fixed - tensor_img).abs().mean().item()
    print(f"|OpenCV BGR - PIL| = {diff_bgr:.4f}   |OpenCV fixed - PIL| = {diff_fixed:.4f}")

    writer = make_writer(lesson_name(__file__), args.log_dir)
    try:
        writer.add_image("Tensor_img", tensor_img)
        side_by_side = torchvision.utils.make_grid([tensor_img, cv_tensor, cv_fixed], padding=8)
        writer.add_image("PIL | OpenCV BGR | OpenCV fixed", side_by_side)
    finally:
        writer.close()
    print(f"写入 / written: {writer.log_dir}")
    return {"log_dir": writer.log_dir, "image": str(img_path), "size": img.size,
            "tensor_shape": tuple(tensor_img.shape), "tensor": tensor_img,
            "cv_tensor": cv_tensor, "cv_fixed": cv_fixed, "diff_bgr": diff_bgr,
            "diff_fixed": diff_fixed, "bgr_is_flipped_rgb": torch.equal(cv_tensor.flip(0),
                                                                       cv_fixed)}


if __name__ == "__main__":
    main()
