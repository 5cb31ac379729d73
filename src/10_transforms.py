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

和视频的不同 / Differences from the video: 图片用 open_picture 读（= Image.open，坏图片给出清楚的说明，
CMYK/16 位/RGBA/灰度/GIF 都变成 8 位 RGB）；cv2.imread 也能读中文路径，尺寸和 Pillow 的一致；
SummaryWriter 写到 <--log-dir>/10_transforms/。并排对比的三张图是补充。
Pictures are read with open_picture (= Image.open, plus a clear message for a bad picture, and
CMYK/16-bit/RGBA/grey/GIF all become 8-bit RGB); cv2.imread also reads Chinese paths and gives
Pillow's size; SummaryWriter writes to <--log-dir>/10_transforms/. The side-by-side image is an
extra.

运行 / Run:   python src/10_transforms.py
TensorBoard:  tensorboard --logdir logs  ->  IMAGES "Tensor_img" (the course's tag) and
              "PIL | OpenCV BGR | OpenCV fixed" (the three side by side).
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
from pathlib import Path

import cv2
import numpy as np
import torch
import torchvision
from torch.utils.tensorboard import SummaryWriter
from torchvision import transforms

from tudui.cli import lesson_parser
from tudui.errors import friendly_errors
from tudui.hymenoptera import course_dir, image_files, is_synthetic, open_picture, synthetic_banner
from tudui.tb import fresh_log_dir


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    train_dir = course_dir(args.data_root, "train")
    if is_synthetic(train_dir):
        print(synthetic_banner("hymenoptera (train/)"))

    # ---- the course (P10-P11)
    img_path = image_files(train_dir / "ants_image")[0]  # the video: "dataset/train/ants_image/0013035.jpg"
    img = open_picture(img_path)  # the video: Image.open(img_path); see the docstring
    print(img)

    tensor_trans = transforms.ToTensor()   # 1. make the tool
    tensor_img = tensor_trans(img)         # 2. use it
    print(tensor_img.shape, tensor_img.dtype, tensor_img.min().item(), tensor_img.max().item())

    cv_img = cv_imread(img_path, img.size)  # numpy (H,W,3), channels in B,G,R order
    print(type(cv_img), cv_img.shape)

    writer = SummaryWriter(fresh_log_dir(__file__, args.log_dir))  # the video: SummaryWriter("logs")
    writer.add_image("Tensor_img", tensor_img)

    # ---- extra: OpenCV's B,G,R order, and its fix, beside Pillow's picture
    cv_tensor = tensor_trans(cv_img)  # ToTensor does not know it is BGR: red and blue swap
    cv_fixed = tensor_trans(cv2.cvtColor(cv_img, cv2.COLOR_BGR2RGB))
    # Pillow and OpenCV may decode JPEG with tiny differences, so compare means, not bits
    diff_bgr = (cv_tensor - tensor_img).abs().mean().item()
    diff_fixed = (cv_fixed - tensor_img).abs().mean().item()
    print(f"|OpenCV BGR - PIL| = {diff_bgr:.4f}   |OpenCV fixed - PIL| = {diff_fixed:.4f}")
    side_by_side = torchvision.utils.make_grid([tensor_img, cv_tensor, cv_fixed], padding=8)
    writer.add_image("PIL | OpenCV BGR | OpenCV fixed", side_by_side)
    writer.close()
    print(f"写入 / written: {writer.log_dir}")
    return {"log_dir": writer.log_dir, "image": str(img_path), "size": img.size,
            "tensor_shape": tuple(tensor_img.shape), "tensor": tensor_img,
            "cv_tensor": cv_tensor, "cv_fixed": cv_fixed, "diff_bgr": diff_bgr,
            "diff_fixed": diff_fixed, "bgr_is_flipped_rgb": torch.equal(cv_tensor.flip(0),
                                                                       cv_fixed)}


def cv_imread(path, size: tuple[int, int]) -> np.ndarray:
    """``cv2.imread(path)`` as the course calls it: 8-bit B,G,R, 3 channels, whatever the file.

    Also for a path with Chinese characters on Windows (cv2.imread cannot open those: the bytes
    are decoded instead), and at Pillow's ``size`` (width, height): OpenCV turns photos by their
    EXIF orientation, and the side-by-side grid needs equal sizes. A file name that is not valid
    UTF-8 (a GBK name unpacked from a zip made on Chinese Windows) reaches Python with stand-in
    characters that crash cv2.imread (SIGSEGV): its bytes are read by Python and decoded.
    """
    try:
        str(path).encode("utf-8")
        img = cv2.imread(str(path))
    except UnicodeEncodeError:  # not valid UTF-8: never handed to OpenCV as a name
        img = None
    if img is None:
        img = cv2.imdecode(np.frombuffer(Path(path).read_bytes(), dtype=np.uint8),
                           cv2.IMREAD_COLOR)
    if img is None:  # a picture Pillow reads but this OpenCV build cannot: Pillow's pixels
        with open_picture(path) as pil:
            img = cv2.cvtColor(np.array(pil.convert("RGB")), cv2.COLOR_RGB2BGR)
        print(f"OpenCV 读不了 {path}，改用 Pillow 读出的像素 / OpenCV cannot decode it: Pillow's "
              "pixels, in OpenCV's B,G,R order, stand in.")
    if (img.shape[1], img.shape[0]) != tuple(size):
        img = cv2.resize(img, tuple(size), interpolation=cv2.INTER_AREA)
    return img


if __name__ == "__main__":
    main()
