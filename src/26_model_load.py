"""网络模型的加载，以及 pickle 的陷阱 / Loading a model, and the pickle trap — P26

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=26 (P26)

你将学到 / What you learn:
- 方式2 加载：先搭好模型，再 vgg16.load_state_dict(torch.load(path, weights_only=True))。
  Method 2: build the model first, then load_state_dict(torch.load(path, weights_only=True)).
- 方式1 的文件（整个模型的 pickle），加载的三种写法 / a method-1 file, loaded three ways:
  1. torch.load(path)：torch >= 2.6 默认 weights_only=True，拒绝文件里记录的类 "__main__.Tudui"；
     since torch 2.6 the default weights_only=True refuses the class the file names;
  2. weights_only=True + 允许列表 torch.serialization.safe_globals([(Tudui, "__main__.Tudui"),
     nn.Conv2d])：只有列表里的类能被创建，其它一律拒绝 —— 别人给的文件也可以这样安全地加载；
     weights_only=True with an allow-list: only the listed classes can be created, anything else
     is refused — safe even for a file from someone else;
  3. weights_only=False（视频的写法）：会执行文件里写的任何函数，只能用于自己刚保存的文件。
     和视频一样：model_save.py 作为程序运行时 Tudui 记作 "__main__.Tudui"，另一个程序
     model_load.py 里没有它：AttributeError: Can't get attribute 'Tudui' on <module '__main__'>；
     课程的办法 from model_save import * 之后才能加载。
     weights_only=False (the video's way) runs whatever functions the file names: only for a file
     you have just saved yourself. As in the video, model_save.py run as a program records
     "__main__.Tudui", which the second program, model_load.py, does not have: AttributeError:
     Can't get attribute 'Tudui' on <module '__main__'>, until the course's fix,
     from model_save import *.

运行 / Run:   python src/26_model_save.py && python src/26_model_load.py   (--quick: Tudui only)
TensorBoard:  本课不写日志 / this lesson writes no logs.
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import contextlib
import json
import subprocess
import sys
from pathlib import Path

import torch
import torchvision
from torch import nn

from tudui.cli import lesson_parser
from tudui.errors import CourseError, friendly_errors
from tudui.infra import safe_load
from tudui.infra.commands import lesson_command
from tudui.paths import SRC_DIR, import_lesson

SAVE_LESSON = "26_model_save"
TRAP_SCRIPT = SRC_DIR / "model_load_trap.py"  # the video's second file, model_load.py
# What a whole pickled VGG16 is made of (its pickle needs nothing else torch does not allow)
VGG16_ALLOW_LIST = [torchvision.models.VGG, nn.Sequential, nn.Conv2d, nn.ReLU, nn.MaxPool2d,
                    nn.AdaptiveAvgPool2d, nn.Dropout, nn.Linear]


def broken(path, why: str, log_dir) -> CourseError:
    """A saved file that is damaged or was replaced: say which, and how to write it again."""
    again = lesson_command(SAVE_LESSON, log_dir)
    return CourseError(
        f"{path} is not the file {SAVE_LESSON}.py saved: {why}. It is damaged or was replaced "
        f"by another file. Run `{again}` again to write it anew, then this lesson.",
        f"{path} 不是 {SAVE_LESSON}.py 保存的文件（已损坏或被替换）。请重新运行 {again}，再运行本课。")


@contextlib.contextmanager
def explained(path, log_dir):
    """Any failure to load ``path`` inside the block becomes a CourseError saying why."""
    try:
        yield
    except Exception as err:
        text = " ".join(str(err).split())
        if "Error(s) in loading state_dict" in text:  # another model's parameters ...
            text = text if len(text) <= 240 else text[:240].rsplit(" ", 1)[0] + " ..."
            why = f"its parameters do not fit the model ({text.rstrip('. ')})"
        elif "Unsupported global: GLOBAL" in text:  # a global that is not on the allow-list
            name = text.split("Unsupported global: GLOBAL ")[1].split()[0]
            why = (f"torch.load(weights_only=True) refused it: it names {name}, which is not on "
                   "the allow-list, so nothing in it was created or run")
        else:  # truncated, random bytes, plain data where a model was expected ...
            why = f"torch.load(weights_only=True) cannot read it ({type(err).__name__})"
        raise broken(path, why, log_dir) from None


def refused_by_default(path, log_dir) -> str:
    """What the video's ``torch.load(path)`` answers today (torch >= 2.6: weights_only=True)."""
    try:
        data = torch.load(path, weights_only=True)  # explicit: torch < 2.6 defaulted to False
    except Exception as err:
        text = " ".join(str(err).split())
        if "Unsupported global: GLOBAL" not in text:  # truncated, random bytes ...
            raise broken(path, f"torch.load cannot read it ({type(err).__name__})", log_dir) from None
        return "Unsupported global: GLOBAL " + text.split("Unsupported global: GLOBAL ")[1].split()[0]
    raise broken(path, f"it holds plain data ({type(data).__name__}), not a whole pickled model",
                 log_dir)


def video_trap_in_new_process() -> dict:
    """The video's two programs: model_load_trap.py, in a new process, runs 26_model_save.py as a
    program (so its Tudui is pickled as "__main__.Tudui") and loads that file with
    weights_only=False, before and after the course's ``from model_save import *``. It loads only
    the file it has just written itself, in a private temporary folder: none found on disk."""
    proc = subprocess.run([sys.executable, str(TRAP_SCRIPT), str(SRC_DIR / f"{SAVE_LESSON}.py")],
                          capture_output=True, text=True, timeout=600)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        last = (proc.stderr.strip().splitlines() or lines or ["no message"])[-1]
        raise CourseError(f"the second program {TRAP_SCRIPT.name} failed ({last[:200]}).",
                          f"第二个程序 {TRAP_SCRIPT.name} 运行失败（{last[:200]}）。")
    return json.loads(lines[-1])


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    folder = Path(args.log_dir) / SAVE_LESSON  # the video: the current folder
    trap_file = folder / "tudui_method1.pth"
    if not trap_file.is_file() or not (folder / "tudui_method2.pth").is_file():
        command = lesson_command(SAVE_LESSON, args.log_dir)
        raise CourseError(f"no saved models in {folder}. Run `{command}` first.",
                          f"{folder} 中没有保存的模型，请先运行 {command}。")
    model_save = import_lesson(SAVE_LESSON, "model_save")  # the video: from model_save import *
    Tudui = model_save.Tudui
    loaded = {}

    if (folder / "vgg16_method1.pth").is_file():  # written without --quick
        # 方式1 -> 保存方式1，加载模型；torch >= 2.6: weights_only=True + VGG16's classes
        safe_load.check_model_file(folder / "vgg16_method1.pth")  # ours: no file made to fill memory
        with explained(folder / "vgg16_method1.pth", args.log_dir), \
                torch.serialization.safe_globals(VGG16_ALLOW_LIST):
            model = torch.load(folder / "vgg16_method1.pth", weights_only=True)
        loaded["vgg16_method1"] = type(model).__name__
    if (folder / "vgg16_method2.pth").is_file():  # 方式2，加载模型 / method 2: structure, then parameters
        vgg16 = torchvision.models.vgg16(weights=None)  # the video: pretrained=False (old API)
        safe_load.check_model_file(folder / "vgg16_method2.pth")  # ours, as above
        with explained(folder / "vgg16_method2.pth", args.log_dir):
            vgg16.load_state_dict(torch.load(folder / "vgg16_method2.pth", weights_only=True))
        loaded["vgg16_method2"] = type(vgg16).__name__
    tudui = Tudui()  # extra: method 2 on the small model too (the one --quick saves)
    safe_load.check_model_file(folder / "tudui_method2.pth")  # ours, as above
    with explained(folder / "tudui_method2.pth", args.log_dir):
        tudui.load_state_dict(torch.load(folder / "tudui_method2.pth", weights_only=True))
    loaded["tudui_method2"] = type(tudui).__name__
    print("方式1、方式2 加载成功 / loaded:", loaded)

    # 陷阱1 / the trap: a whole pickled Tudui (method 1), three ways
    safe_load.check_model_file(trap_file)  # ours, as above
    print(f"\n1) torch.load('{trap_file.name}') -> 拒绝 / refused: "
          f"{(refused := refused_by_default(trap_file, args.log_dir))}")
    pickled_as = safe_load.pickled_names(trap_file)  # ["__main__.Tudui"]: the name in the file
    with explained(trap_file, args.log_dir), torch.serialization.safe_globals(
            [*((Tudui, name) for name in pickled_as), nn.Conv2d]):
        model = torch.load(trap_file, weights_only=True)
    if type(model) is not Tudui:  # it named Tudui, yet holds something else
        raise broken(trap_file, f"it holds a {type(model).__name__}, not a Tudui", args.log_dir)
    print(f"2) weights_only=True + 允许列表 / allow-list {pickled_as} -> OK:\n{model}")
    # 3) the video's way, weights_only=False, runs what the file says: only on a file written
    # just now by the video's two programs, never on trap_file (it could have been replaced)
    trap = video_trap_in_new_process()
    print("3) weights_only=False, 新进程 / new process (model_load_trap.py, 视频的 model_load.py), "
          "model_save.py 刚保存的文件 / the file model_save.py has just saved:")
    print(f"   torch.load -> {trap['weights_only_false']['result']}")
    print(f"   from model_save import * ; torch.load -> {trap['after_import']['result']}")
    print("为什么 / why: pickle 只保存类的名字，不保存代码；反序列化会执行文件指定的函数，所以别人的文件只用 "
          "weights_only=True（可加允许列表）加载。\npickle stores a class's name, not its code, and "
          "unpickling runs functions the file names: load files from others only with "
          "weights_only=True (plus an allow-list).")
    return {"loaded": loaded, "refused": refused, "pickled_as": pickled_as, "allow_list": model,
            "trap": trap, "tudui": tudui}


if __name__ == "__main__":
    main()
