"""网络模型的保存 / Saving a model, two ways — P26

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=26 (P26)

你将学到 / What you learn:
- 保存方式1：torch.save(model, path) 保存整个模型（结构 + 参数），用 pickle。
  Method 1: torch.save(model, path) pickles the whole model (structure + parameters).
- 保存方式2（官方推荐）：torch.save(model.state_dict(), path) 只保存参数（一个字典），文件更小更安全。
  Method 2 (recommended): torch.save(model.state_dict(), path) saves only the parameters.
- 陷阱：用方式1保存自己写的类（这里的 Tudui），加载时必须能 import 到这个类。
  The trap: a whole pickled model of your own class loads only where that class can be imported.
  下一课 26_model_load.py 在另一个进程里演示 / 26_model_load.py shows it in a separate process.

运行 / Run:   python src/26_model_save.py          (VGG16: 528 MB per file, as in the course)
              python src/26_model_save.py --quick  (only the small Tudui model)
TensorBoard:  本课不写日志 / no logs; files: logs/26_model_save/*_method1.pth, *_method2.pth
"""

from __future__ import annotations

import io

import torch
import torchvision
from torch import nn

from tudui.cli import lesson_parser
from tudui.errors import friendly_errors
from tudui.paths import atomic_write_bytes, lesson_log_dir, lesson_name
from tudui.seeding import seed_everything


class Tudui(nn.Module):
    """The course's trap: a class that lives only in this file (in the video: model_save.py)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3)

    def forward(self, x):
        return self.conv1(x)


def save(obj, path) -> None:
    """torch.save, but to a temporary name first and then renamed: never a half-written file."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    seed_everything(args.seed)
    out_dir = lesson_log_dir(lesson_name(__file__), args.log_dir)

    models = {"tudui": Tudui()}
    if not args.quick:  # the course saves VGG16 (528 MB per file); --quick skips it
        models["vgg16"] = torchvision.models.vgg16(weights=None)

    written = {}
    for name, model in models.items():
        # 保存方式1：模型结构 + 模型参数 / method 1: the whole model, pickled
        save(model, out_dir / f"{name}_method1.pth")
        # 保存方式2：模型参数（官方推荐）/ method 2: only the state_dict (recommended)
        save(model.state_dict(), out_dir / f"{name}_method2.pth")
        for method in (1, 2):
            path = out_dir / f"{name}_method{method}.pth"
            written[path.name] = path
            print(f"方式{method} / method {method}: {path}  ({path.stat().st_size / 1e6:.2f} MB)")
    print(f"Tudui 被 pickle 记录为 / pickled as: {Tudui.__module__}.{Tudui.__qualname__} "
          "— 加载它的进程必须能 import 这个名字 / the loading process must be able to import it.")
    return {"files": {k: str(v) for k, v in written.items()}, "out_dir": str(out_dir),
            "pickled_as": f"{Tudui.__module__}.{Tudui.__qualname__}",
            "tudui_state": {k: v.clone() for k, v in models["tudui"].state_dict().items()}}


if __name__ == "__main__":
    main()
