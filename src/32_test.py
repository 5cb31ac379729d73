"""完整的模型验证套路 / Validating the trained model on one picture — P32

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=32 (P32)

你将学到 / What you learn:
- 用训练好的模型给一张真实的图片分类：Image.open -> convert("RGB") -> Resize((32, 32))
  -> ToTensor -> reshape(1, 3, 32, 32) -> model.eval() + torch.no_grad() -> argmax。
  Classify a real picture with the trained model, step by step.
- 为什么要 convert("RGB")：png 图片有 4 个通道（RGBA），灰度图 1 个，调色板图 P 模式。
  Why convert("RGB"): a PNG may have 4 channels (RGBA), grayscale 1, palette images mode P.
- 先 print 原图（PNG 常是 RGBA），再 convert('RGB') 后再 print 一次，看 mode 的变化。
  Print the picture before and after convert('RGB') and watch its mode change.
- 加载整个模型（课程的保存方式1，如 tudui_29_gpu.pth）：和视频一样先写出 class Tudui，再
  torch.load(..., map_location=...)；我们加 weights_only=True 和允许列表
  torch.serialization.safe_globals(ALLOW_LIST)，文件里的代码不会被执行。GPU 上训练的模型用
  map_location 在只有 CPU 的电脑上加载。27/30 课保存的 state_dict（方式2）由 load_tudui 加载。
  Loading a whole model (the course's method 1, like tudui_29_gpu.pth): class Tudui written out
  as in the video, then torch.load(..., map_location=...), here with weights_only=True and the
  allow-list safe_globals(ALLOW_LIST), so no code from the file runs; map_location loads a
  GPU-trained model on a CPU-only computer. 27/30's state_dict files (method 2) load through
  load_tudui, which reads every other layout as well.
- 模型只认识 CIFAR-10 的 10 类：任何图片都会被归入其中一类。
  The model knows only CIFAR-10's 10 classes: any picture is put in one of them.

运行 / Run:   python src/27_train.py --quick && python src/32_test.py
              python src/32_test.py --image dog.png            (任意大小、模式 / any size, any mode;
                                                               不需要 CIFAR-10 / no CIFAR-10 needed)
              python src/32_test.py --checkpoint logs/27_train/tudui_9.pth --evaluate
              python src/32_test.py --checkpoint tudui_29_gpu.pth   (课程保存的 / the course's own file)
              (相对路径从当前文件夹算起 / a relative path is read from the current folder)
TensorBoard:  本课不写日志 / no logs; without --image it writes logs/32_test/cifar10_test_<i>.png
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import io
from pathlib import Path

import torch
import torchvision
from PIL import Image
from torch import nn
from torchvision import transforms

from tudui import engine
from tudui.cli import absolute_path, lesson_parser
from tudui.data import CIFAR10_CLASSES, cifar10, cifar10_is_synthetic, synthetic_banner
from tudui.device import pick_device
from tudui.errors import CourseError, friendly_errors
from tudui.hymenoptera import open_picture
from tudui.infra.checkpoints import newest_checkpoint
from tudui.infra.commands import lesson_command
from tudui.infra.files import atomic_write_bytes
from tudui.infra.safe_load import check_model_file, existing_file, load_tudui, refuse_non_finite
from tudui.loaders import make_loader
from tudui.paths import lesson_log_dir, lesson_name

TRAINING_LESSONS = ("27_train", "30_train_gpu")  # where the checkpoints come from
TOP_K = 3


# The video's network (test.py writes it out, so that torch.load can find __main__.Tudui)
class Tudui(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(
            nn.Conv2d(3, 32, 5, 1, 2),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 5, 1, 2),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, 1, 2),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64*4*4, 64),
            nn.Linear(64, 10)
        )

    def forward(self, x):
        x = self.model(x)
        return x


# What torch.load(weights_only=True) may create from a whole pickled model (the course's save
# method 1, e.g. its tudui_29_gpu.pth, pickled as "__main__.Tudui"): this class and its layers,
# nothing else, so no code named in the file can run. torch >= 2.6 refuses such a file without it.
ALLOW_LIST = [(Tudui, "__main__.Tudui"), nn.Sequential, nn.Conv2d, nn.MaxPool2d, nn.Flatten,
              nn.Linear]


def parse_args(argv):
    parser = lesson_parser(__doc__)
    parser.add_argument("--checkpoint", type=absolute_path, default=None,
                        help="a model file: 27/30's tudui_<i>.pth, or the course's own (e.g. "
                             "tudui_29_gpu.pth); default: the newest of 27/30")
    parser.add_argument("--image", type=absolute_path, default=None,
                        help="picture to classify (default: a CIFAR-10 test picture written "
                             "under logs/)")
    parser.add_argument("--index", type=int, default=0, help="which CIFAR-10 test picture")
    parser.add_argument("--evaluate", action="store_true",
                        help="also measure the accuracy on the CIFAR-10 test set")
    return parser.parse_args(argv)


@friendly_errors
def main(argv=None) -> dict:
    args = parse_args(argv)
    device = pick_device(args.device)
    checkpoint = find_checkpoint(args)  # extra: --checkpoint, else the newest .pth of 27 or 30
    test_data = None
    if args.evaluate or not args.image:  # the learner's own picture needs no CIFAR-10
        test_data = cifar10_test_set(args)

    image_path = picture_path(args, test_data)  # the video: image_path = "../imgs/airplane.png"
    image = Image.open(image_path)
    print(image)  # 转换前 / before: a PNG is often mode=RGBA (4 channels), gray L, palette P
    image = image.convert('RGB')
    print(image)  # 转换后 / after: mode=RGB, 3 channels, what the model was trained on
    transform = torchvision.transforms.Compose([torchvision.transforms.Resize((32, 32)),
                                                torchvision.transforms.ToTensor()])

    image = transform(image)
    print(image.shape)

    # the video: model = torch.load("tudui_29_gpu.pth", map_location=torch.device('cpu')), a whole
    # pickled Tudui; weights_only=True + ALLOW_LIST load it without running code from the file
    check_model_file(checkpoint)  # ours: a file made to fill the memory is refused first
    try:
        with torch.serialization.safe_globals(ALLOW_LIST):
            model = torch.load(checkpoint, map_location=device, weights_only=True)  # ours: --device
    except Exception:  # another class name, a damaged file...: load_tudui below says which
        model = None
    if not is_whole_tudui(model):  # extra: our 27/30 state_dicts (method 2) and other layouts
        model = load_tudui(checkpoint, map_location=device)
    refuse_non_finite(model, checkpoint)  # extra: NaN weights would still "predict" a class
    print(f"模型 / model: {checkpoint}")
    print(model)
    image = torch.reshape(image, (1, 3, 32, 32)).to(device)
    model.eval()
    with torch.no_grad():
        output = model(image)
    print(output)

    print(output.argmax(1))

    # ---- extras: the class names and the three most likely ones; --evaluate
    probabilities = output.softmax(1)[0].float().cpu()
    top = probabilities.topk(TOP_K)
    predicted = CIFAR10_CLASSES[int(top.indices[0])]
    print(f"预测 / prediction: {predicted} (模型只认识 CIFAR-10 的 10 类，别的东西也会被归入其中一类 / "
          "the model knows only CIFAR-10's 10 classes: anything else is still put in one of them)")
    top3 = [(CIFAR10_CLASSES[i], p) for p, i in zip(top.values.tolist(), top.indices.tolist())]
    for name, p in top3:
        print(f"  {name:>10}: {p:.1%}")
    result = {"checkpoint": str(checkpoint), "image": str(image_path), "prediction": predicted,
              "top3": top3}
    if args.evaluate:
        test = engine.evaluate(engine.prepare_model(model, device),
                               make_loader(test_data, 64, device=device),
                               torch.nn.CrossEntropyLoss(), device)
        print(f"整体测试集上的正确率：{test['accuracy']:.4f}")
        result["test_accuracy"] = test["accuracy"]
    return result


def is_whole_tudui(model) -> bool:
    """True for a whole pickled Tudui exactly like a new one of the class above: the same layers
    (``self.model``) and shapes, and nothing else set by the file (no extra attribute, no hook).
    False for a state_dict, the P22 layout (``self.model1``), anything else: load_tudui then
    copies the weights into a new Tudui."""
    if not isinstance(model, Tudui):
        return False
    new = Tudui()
    try:
        pairs = list(zip(model.modules(), new.modules(), strict=True))
        shapes = {name: tuple(value.shape) for name, value in model.state_dict().items()}
    except Exception:  # attributes the file set that are no module or tensor
        return False
    for loaded, fresh in pairs:
        if type(loaded) is not type(fresh) or set(vars(loaded)) != set(vars(fresh)):
            return False
        if any(value for name, value in vars(loaded).items() if "hook" in name):
            return False
    return shapes == {name: tuple(value.shape) for name, value in new.state_dict().items()}


def find_checkpoint(args) -> Path:
    """``--checkpoint`` (a relative path is read from the current folder, like any command-line
    tool, and shown absolute), else the newest .pth of 27_train / 30_train_gpu."""
    if args.checkpoint:  # checked now, before a picture is written
        return existing_file(args.checkpoint)
    logs = Path(args.log_dir).expanduser().absolute()
    checkpoint = newest_checkpoint(*(logs / lesson for lesson in TRAINING_LESSONS))
    if checkpoint is None:
        first, second = logs / TRAINING_LESSONS[0], TRAINING_LESSONS[1]
        train = lesson_command("27_train", args.log_dir)  # same --log-dir: 32 looks there
        raise CourseError(
            f"no trained model yet in {first} or {second}. Run `{train}` (add --quick for a "
            "few seconds) first, or pass --checkpoint.",
            f"{first} 或 {second} 中还没有训练好的模型，请先运行 {train}（或加 --quick），"
            "或用 --checkpoint 指定。")
    return checkpoint


def cifar10_test_set(args):
    """The CIFAR-10 test set (--quick: its first pictures), for the default picture and
    --evaluate."""
    test_data = cifar10(args.data_root, train=False, quick=args.quick)
    if cifar10_is_synthetic(args.data_root):
        print(synthetic_banner("CIFAR-10"))
    return test_data


def picture_path(args, test_data) -> Path:
    """``--image``, else CIFAR-10 test picture ``--index`` written out as a PNG; checked first
    (missing, damaged or huge: a clear error)."""
    if args.image:
        image_path = Path(args.image).expanduser().absolute()
    else:
        image_path = cifar10_picture(test_data, args)
    open_picture(image_path, mode=None).close()
    return image_path


def cifar10_picture(test_data, args) -> Path:
    """Offline default picture: CIFAR-10 test picture ``--index``, written out as a PNG."""
    if not 0 <= args.index < len(test_data):
        raise CourseError(
            f"--index {args.index} is not a CIFAR-10 test picture: the test set here has "
            f"{len(test_data)} pictures{' (--quick)' if args.quick else ''}, so use 0 to "
            f"{len(test_data) - 1}.",
            f"--index {args.index} 超出范围：这里的测试集有 {len(test_data)} 张图片，"
            f"请使用 0 到 {len(test_data) - 1}。")
    picture, label = test_data[args.index]
    # the folder is made only now: a run that fails earlier leaves no empty 32_test/ behind
    image_path = lesson_log_dir(lesson_name(__file__), args.log_dir) / f"cifar10_test_{args.index}.png"
    png = io.BytesIO()
    transforms.ToPILImage()(picture).save(png, format="PNG")
    atomic_write_bytes(image_path, png.getvalue())  # never a half-written picture
    print(f"图片 / picture: {image_path} (真实类别 / true class: {CIFAR10_CLASSES[label]})")
    return image_path


if __name__ == "__main__":
    main()
