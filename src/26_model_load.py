"""网络模型的加载，以及 pickle 的陷阱 / Loading a model, and the pickle trap — P26

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=26 (P26)

你将学到 / What you learn:
- 方式2 加载：先搭好模型，再 model.load_state_dict(torch.load(path, weights_only=True))。
  Method 2: build the model first, then load_state_dict(torch.load(path, weights_only=True)).
- 方式1 的陷阱，在另一个进程里真实演示（就像视频里在另一个文件 model_load.py 加载）：
  The method-1 trap, shown for real in a separate process (the video's second file):
  1. torch >= 2.6 的 torch.load 默认 weights_only=True，直接拒绝整个 pickle 的模型；
     since torch 2.6 torch.load defaults to weights_only=True and refuses a whole pickled model;
  2. 加 weights_only=False 也不行：pickle 只记下类的名字 "模块.Tudui"，这个类必须能被 import；
     weights_only=False still fails: pickle stores only the name "module.Tudui", which must import;
  3. 课程的办法 from model_save import * 让类可以被找到，才能加载。
     the course's fix, from model_save import *, makes the class findable, then it loads.
- 为什么危险 / why it is unsafe: 反序列化 (unpickling) 会调用文件里指定的任何函数，
  一个 .pth 文件可以在你加载时删除文件、装木马。别人给的文件只用 weights_only=True 加载；
  weights_only=False 只用于你自己保存、信得过的文件。
  Unpickling calls whatever functions the file names, so a .pth from someone else can run any
  code on your computer the moment you load it. Load files from others only with
  weights_only=True (plain tensors and dicts); weights_only=False only for files you trust.

运行 / Run:   python src/26_model_save.py && python src/26_model_load.py   (--quick: Tudui only)
TensorBoard:  本课不写日志 / this lesson writes no logs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import torch
import torchvision
from torch import nn

from tudui.cli import lesson_parser
from tudui.errors import CourseError, friendly_errors
from tudui.paths import SRC_DIR, lesson_command, lesson_log_dir

SAVE_LESSON = "26_model_save"

# What the separate process runs: three tries at loading a whole pickled model (method 1).
TRAP_SCRIPT = r"""
import importlib.util, json, sys, torch
path, save_lesson = sys.argv[1], sys.argv[2]
def attempt(**kwargs):
    try:
        model = torch.load(path, map_location="cpu", **kwargs)
        return {"ok": True, "result": type(model).__name__}
    except Exception as err:
        return {"ok": False, "result": f"{type(err).__name__}: {str(err).strip().splitlines()[0]}"}
report = {"default": attempt(), "weights_only_false": attempt(weights_only=False)}
# The course's fix, `from model_save import *`: make the class importable under the name
# pickle recorded (__main__ when 26_model_save.py ran as a script), then load again.
spec = importlib.util.spec_from_file_location("model_save", save_lesson)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
import __main__
__main__.Tudui = module.Tudui
sys.modules["model_save"] = sys.modules["lesson_26_model_save"] = module
report["after_import"] = attempt(weights_only=False)
print(json.dumps(report))
"""


def broken(path, why: str, log_dir) -> CourseError:
    """A saved file that is damaged or was replaced: say which, and how to write it again."""
    return CourseError(
        f"{path} is not the file {SAVE_LESSON}.py saved: {why}. It is damaged or was replaced "
        f"by another file. Run `{lesson_command(SAVE_LESSON, log_dir)}` again to write it anew, then this lesson.",
        f"{path} 不是 {SAVE_LESSON}.py 保存的文件（已损坏或被替换）。请重新运行 "
        f"{lesson_command(SAVE_LESSON, log_dir)}，再运行本课。")


def load_method2(model: nn.Module, path, log_dir) -> nn.Module:
    """方式2 加载 / method 2: model.load_state_dict(torch.load(path, weights_only=True))."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated, random bytes, a whole pickled model ...
        raise broken(path, f"torch.load(weights_only=True) cannot read it ({type(err).__name__})",
                     log_dir) from None
    try:
        model.load_state_dict(state)
    except Exception as err:  # another model's parameters, a 27_train checkpoint dict ...
        why = " ".join(str(err).split())  # "Error(s) in loading state_dict ...: Missing key(s) ..."
        why = why if len(why) <= 240 else why[:240].rsplit(" ", 1)[0] + " ..."
        raise broken(path, f"it does not fit {type(model).__name__} ({why.rstrip('. ')})",
                     log_dir) from None
    return model


def method1_problem(path) -> str | None:
    """Why ``path`` is not a whole pickled Tudui (None when it is one), checked in this process."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a pickled Tudui is refused because it names its class
        text = str(err)
        if "Unsupported global" in text and "Tudui" in text:
            return None
        return f"torch.load cannot read it ({type(err).__name__})"
    return f"it holds plain data ({type(data).__name__}), not a whole pickled model"


def separate_process_load(path, log_dir) -> dict:
    """Load ``path`` as method 1 in a fresh Python process (a new program, as in the video)."""
    env = dict(os.environ,
               PYTHONPATH=os.pathsep.join([str(SRC_DIR), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", TRAP_SCRIPT, str(path),
                           str(SRC_DIR / f"{SAVE_LESSON}.py")],
                          capture_output=True, text=True, env=env, timeout=600)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise broken(path, f"loading it in a separate process crashed ({last[:200]})", log_dir)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def tudui_class():
    """Method 2 needs the model's code: here we import the class from 26_model_save.py."""
    spec = importlib.util.spec_from_file_location("model_save_code", SRC_DIR / f"{SAVE_LESSON}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Tudui


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    folder = lesson_log_dir(SAVE_LESSON, args.log_dir)
    trap_file, tudui_state = folder / "tudui_method1.pth", folder / "tudui_method2.pth"
    if not trap_file.is_file() or not tudui_state.is_file():
        raise CourseError(f"no saved models in {folder}. Run `{lesson_command(SAVE_LESSON, args.log_dir)}` first.",
                          f"{folder} 中没有保存的模型，请先运行 {lesson_command(SAVE_LESSON, args.log_dir)}。")

    # 方式2 -> 加载：先有模型结构，再装参数 / method 2: structure from code, then parameters
    tudui = load_method2(tudui_class()(), tudui_state, args.log_dir)
    print("方式2 加载成功 / method 2 loaded (weights_only=True):", tudui)
    loaded = {"tudui_method2": True}
    vgg_state = folder / "vgg16_method2.pth"
    if vgg_state.is_file():
        load_method2(torchvision.models.vgg16(weights=None), vgg_state, args.log_dir)
        print("方式2 加载成功 / method 2 loaded: vgg16")
        loaded["vgg16_method2"] = True

    # 方式1 -> 加载，在另一个进程里 / method 1, in a separate process: the trap
    if problem := method1_problem(trap_file):  # a damaged file would make every try fail
        raise broken(trap_file, problem, args.log_dir)
    print("\n陷阱 / the trap — loading", trap_file.name, "in a separate process:")
    trap = separate_process_load(trap_file, args.log_dir)
    if trap["after_import"] != {"ok": True, "result": "Tudui"}:  # the fix must work on a good file
        error = trap["after_import"]["result"].split(". ")[0][:200]  # its first sentence
        raise broken(trap_file, f"even with the class imported, loading it gives {error}, "
                     "not the Tudui model", args.log_dir)
    labels = {"default": "torch.load(path)                      ",
              "weights_only_false": "torch.load(path, weights_only=False) ",
              "after_import": "from model_save import * ; then again"}
    for key, label in labels.items():
        outcome = "OK -> " if trap[key]["ok"] else "失败 / fails -> "
        print(f"  {label}: {outcome}{trap[key]['result']}")
    print("为什么 / why: pickle 只保存类的名字，不保存代码；而反序列化会执行文件指定的函数，"
          "所以别人的文件只用 weights_only=True 加载。\n"
          "pickle stores a class's name, not its code, and unpickling runs functions named by "
          "the file: load files from others only with weights_only=True.")
    return {"loaded": loaded, "trap": trap, "tudui": tudui}


if __name__ == "__main__":
    main()
