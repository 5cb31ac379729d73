"""网络模型的保存 / Saving a model, two ways — P26

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=26 (P26)

你将学到 / What you learn:
- 保存方式1：torch.save(vgg16, "vgg16_method1.pth") 保存整个模型（结构 + 参数），用 pickle。
  Method 1: torch.save(vgg16, "vgg16_method1.pth") pickles the whole model (structure + parameters).
- 保存方式2（官方推荐）：torch.save(vgg16.state_dict(), "vgg16_method2.pth") 只保存参数（一个字典）。
  Method 2 (recommended): torch.save(vgg16.state_dict(), "vgg16_method2.pth") saves the parameters.
- 陷阱：用方式1保存自己写的类 Tudui，文件里只记下类的名字（这里是 "__main__.Tudui"），不记代码。
  The trap: a whole pickled Tudui stores the class's name ("__main__.Tudui"), not its code.
  下一课 26_model_load.py 加载这些文件 / 26_model_load.py loads these files.

运行 / Run:   python src/26_model_save.py          (两个 VGG16 文件共约 1.1 GB / two VGG16 files, ~1.1 GB)
              python src/26_model_save.py --quick  (只保存小的 Tudui / only the small Tudui)
TensorBoard:  本课不写日志 / no logs; files: logs/26_model_save/vgg16_method1.pth, vgg16_method2.pth,
              tudui_method1.pth (and tudui_method2.pth, for 26_model_load.py)
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import contextlib
import io

import torch
import torchvision
from torch import nn

from tudui.cli import lesson_parser
from tudui.errors import friendly_errors
from tudui.infra.files import atomic_write_bytes
from tudui.paths import lesson_log_dir, lesson_name
from tudui.seeding import seed_everything

VGG16_FILES_GB = 1.1  # two files of about 553 MB each (measured)


# 陷阱 / the trap (in the video below the two VGG16 saves; here above main, where pickle and
# 26_model_load.py can find it)
class Tudui(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3)

    def forward(self, x):
        x = self.conv1(x)
        return x


@contextlib.contextmanager
def saved_as(path):
    """A file object for torch.save that becomes ``path`` when the block ends, written to a
    temporary name first and renamed: an interrupted save never leaves a half-written file."""
    buffer = io.BytesIO()
    yield buffer
    atomic_write_bytes(path, buffer.getbuffer())


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    seed_everything(args.seed)
    out_dir = lesson_log_dir(lesson_name(__file__), args.log_dir)  # the video: the current folder

    if not args.quick:  # --quick (tests, tour) skips the two big VGG16 files
        print(f"VGG16 的两个文件共约 {VGG16_FILES_GB} GB，写入 {out_dir} / the two VGG16 files take "
              f"about {VGG16_FILES_GB} GB in {out_dir} (--quick skips them)")
        vgg16 = torchvision.models.vgg16(weights=None)  # the video: pretrained=False (old API)
        # 保存方式1，模型结构+模型参数 / method 1: model structure + parameters
        with saved_as(out_dir / "vgg16_method1.pth") as f:
            torch.save(vgg16, f)  # the video: torch.save(vgg16, "vgg16_method1.pth")
        # 保存方式2，模型参数（官方推荐）/ method 2: the parameters only (recommended)
        with saved_as(out_dir / "vgg16_method2.pth") as f:
            torch.save(vgg16.state_dict(), f)  # the video: torch.save(vgg16.state_dict(), "vgg16_method2.pth")

    tudui = Tudui()
    with saved_as(out_dir / "tudui_method1.pth") as f:
        torch.save(tudui, f)
    # extra: Tudui by method 2 as well, so that 26_model_load.py can show both ways on it
    with saved_as(out_dir / "tudui_method2.pth") as f:
        torch.save(tudui.state_dict(), f)

    written = sorted(out_dir.glob("*_method[12].pth"))  # with VGG16 files of an earlier run
    for path in written:
        print(f"{path}  ({path.stat().st_size / 1e6:.2f} MB)")
    pickled_as = f"{Tudui.__module__}.{Tudui.__qualname__}"
    print(f"Tudui 被 pickle 记录为 / pickled as: {pickled_as} — 文件里只有这个名字，没有类的代码 / "
          "the file holds this name, not the class's code.")
    return {"files": {path.name: str(path) for path in written}, "out_dir": str(out_dir), "pickled_as": pickled_as,
            "tudui_state": {k: v.clone() for k, v in tudui.state_dict().items()}}


if __name__ == "__main__":
    main()
