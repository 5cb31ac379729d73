"""常见的 Transforms / Useful transforms — P12-P13

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=12 (P12-P13)

你将学到 / What you learn:
- __call__：对象可以像函数一样调用，person("zhangsan")；transforms 的工具都是这样用的。
  __call__ lets an object be called like a function; every transform is used that way.
- ToTensor；Normalize：output = (input - mean) / std，打印一个像素归一化前后的值。
  Normalize computes (input - mean) / std; one pixel is printed before and after.
- Resize((512, 512)) 与 Resize(512)（短边变 512，保持比例）；Compose 把几个工具串起来，
  前一个的输出是后一个的输入。
  Resize((512, 512)) versus Resize(512) (shorter side to 512, aspect kept); Compose chains
  tools, each one's output being the next one's input.
- RandomCrop：每次随机裁一块；裁剪尺寸比图片大时会得到一段清楚的说明。
  RandomCrop cuts a random patch each call; a crop larger than the image is explained.

和视频的不同 / Differences from the video: 图片是第一只蚂蚁，用 open_picture 读（= Image.open，坏图片给出清楚
的说明）再 .convert("RGB")；SummaryWriter 写到 <--log-dir>/12_useful_transforms/；裁剪尺寸可以用
--crop-size 改，比图片大时先给出说明。
The picture is the first ant, read with open_picture (= Image.open, plus a clear message for a bad
picture), then .convert("RGB"); SummaryWriter writes to <--log-dir>/12_useful_transforms/; the
crop size is a flag, and one larger than the picture is explained first.

运行 / Run:   python src/12_useful_transforms.py  [--crop-size 512 | --crop-size 500 700]
TensorBoard:  tensorboard --logdir logs  ->  IMAGES "ToTensor", "Normalize" (steps 0, 1),
              "Resize" (step 0: 512x512, step 1: Resize(512)), "RandomCrop" (steps 0-9).
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
from torch.utils.tensorboard import SummaryWriter
from torchvision import transforms

from tudui.cli import lesson_parser, positive_int
from tudui.errors import CourseError, friendly_errors
from tudui.hymenoptera import course_dir, image_files, is_synthetic, open_picture, synthetic_banner
from tudui.seeding import seed_everything
from tudui.tb import fresh_log_dir

CROPS = 10


class Person:
    """P12: __call__ makes person("zhangsan") work, like tensor_trans(img)."""

    def __call__(self, name):
        print("__call__ " + "Hello " + name)
        return "Hello " + name

    def hello(self, name):
        print("hello " + name)
        return "hello " + name


@friendly_errors
def main(argv=None) -> dict:
    parser = lesson_parser(__doc__)
    parser.add_argument("--crop-size", type=positive_int, nargs="+", default=[512],
                        help="RandomCrop size: one number (square) or height width (default 512)")
    args = parser.parse_args(argv)
    if len(args.crop_size) > 2:  # checked before anything is written
        parser.error(f"argument --crop-size: 1 或 2 个数 / takes 1 number (a square) or 2 "
                     f"(height width), not {len(args.crop_size)}")
    seed_everything(args.seed)  # RandomCrop draws from torch's generator
    person = Person()
    person("zhangsan")
    person.hello("lisi")

    train_dir = course_dir(args.data_root, "train")
    if is_synthetic(train_dir):
        print(synthetic_banner("hymenoptera (train/)"))
    # Image.open(...), with a clear error for a damaged file
    img = open_picture(image_files(train_dir / "ants_image")[0]).convert("RGB")
    print(img)
    size = tuple(args.crop_size) if len(args.crop_size) > 1 else args.crop_size[0]
    crop_h, crop_w = args.crop_size * 2 if len(args.crop_size) == 1 else args.crop_size
    if crop_h > img.size[1] or crop_w > img.size[0]:  # told before any log is written
        raise CourseError(
            f"RandomCrop({size}) cannot cut a {crop_h}x{crop_w} (height x width) patch out of "
            f"a {img.size[0]}x{img.size[1]} (width x height) picture. Choose a smaller "
            "--crop-size (one number for a square, or height width), or use "
            "RandomCrop(size, pad_if_needed=True) to pad small pictures first.",
            f"裁剪尺寸 {size} 比图片 ({img.size[0]}x{img.size[1]}) 大。"
            "请用更小的 --crop-size，或 RandomCrop(size, pad_if_needed=True)。",
        )

    writer = SummaryWriter(fresh_log_dir(__file__, args.log_dir))  # the video: SummaryWriter("logs")

    # ToTensor
    trans_totensor = transforms.ToTensor()
    img_tensor = trans_totensor(img)
    writer.add_image("ToTensor", img_tensor)

    # Normalize: output = (input - mean) / std, channel by channel
    print(img_tensor[0][0][0])
    trans_norm = transforms.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])  # [0,1] -> [-1,1]
    img_norm = trans_norm(img_tensor)
    print(img_norm[0][0][0])
    writer.add_image("Normalize", img_norm, 0)
    normalized = [(img_tensor[:, 0, 0].tolist(), img_norm[:, 0, 0].tolist())]
    trans_norm = transforms.Normalize([1, 3, 5], [3, 2, 1])  # the video's second try: step 1
    img_norm = trans_norm(img_tensor)
    print(img_norm[0][0][0])
    writer.add_image("Normalize", img_norm, 1)
    normalized.append((img_tensor[:, 0, 0].tolist(), img_norm[:, 0, 0].tolist()))

    # Resize: PIL in, PIL out; then ToTensor
    print(img.size)
    trans_resize = transforms.Resize((512, 512))
    img_resize = trans_resize(img)
    img_resize = trans_totensor(img_resize)
    writer.add_image("Resize", img_resize, 0)
    print(img_resize.shape)

    # Compose - resize - 2: Resize(512) keeps the aspect ratio (the shorter side becomes 512)
    trans_resize_2 = transforms.Resize(512)
    trans_compose = transforms.Compose([trans_resize_2, trans_totensor])
    img_resize_2 = trans_compose(img)
    writer.add_image("Resize", img_resize_2, 1)
    print(img_resize_2.shape)

    # RandomCrop: a different patch every call
    trans_random = transforms.RandomCrop(size)
    trans_compose_2 = transforms.Compose([trans_random, trans_totensor])
    crops = []
    for i in range(CROPS):
        img_crop = trans_compose_2(img)
        writer.add_image("RandomCrop", img_crop, i)
        crops.append(img_crop)

    writer.close()
    print(f"RandomCrop({size}) x{CROPS} ->", tuple(crops[0].shape))
    print(f"写入 / written: {writer.log_dir}")
    return {"log_dir": writer.log_dir, "image_size": img.size, "tensor": img_tensor,
            "normalized": normalized, "resize_shape": tuple(img_resize.shape),
            "compose_shape": tuple(img_resize_2.shape), "crop_shapes": [tuple(c.shape)
                                                                        for c in crops],
            "crops_differ": any((c != crops[0]).any().item() for c in crops[1:])}


if __name__ == "__main__":
    main()
