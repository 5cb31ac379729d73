"""26 课的第二个程序：视频里的 model_load.py / 26's second program: the video's model_load.py — P26

26_model_load.py 在一个新的 Python 进程里运行它，就像视频里另开一个文件 model_load.py：
1. 先把 26_model_save.py 当作程序运行（它的 __name__ 是 "__main__"，和 python model_save.py 一样），
   保存到一个临时文件夹：方式1 保存的 Tudui 在文件里记作 "__main__.Tudui"；
2. 在这个程序里 torch.load(..., weights_only=False) 像视频里一样失败：
   AttributeError: Can't get attribute 'Tudui' on <module '__main__' ...>（这个 __main__ 里没有 Tudui）；
3. 课程的办法 from model_save import * 把 Tudui 放进这个 __main__，之后就能加载。
26_model_load.py runs it in a new Python process, like the video's second file model_load.py:
1. it runs 26_model_save.py as a program (its __name__ is "__main__", as `python model_save.py`)
   into a temporary folder: the Tudui saved by method 1 is recorded as "__main__.Tudui";
2. here torch.load(..., weights_only=False) fails as in the video: AttributeError: Can't get
   attribute 'Tudui' on <module '__main__' ...> (this program's __main__ has no Tudui);
3. the course's fix, from model_save import *, puts Tudui into this __main__, and it loads.

安全 / Safety: weights_only=False 会执行文件里写的任何函数，所以这个程序只加载它自己刚刚写在
私有临时文件夹里的那个文件，只读一次，从内存里加载。
weights_only=False runs whatever functions the file names, so this program loads only the file
it has just written itself into a private temporary folder, read once and loaded from memory.

运行 / Run:   由 26_model_load.py 启动，不单独运行 / started by 26_model_load.py, not by hand:
              python src/model_load_trap.py PATH/TO/26_model_save.py
(名字不以两位数字开头：它不是单独的一课 / its name starts with no number: it is not a lesson.)
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import contextlib
import io
import json
import runpy
import sys
import tempfile
from pathlib import Path

import torch

from tudui.paths import import_lesson


def saved_by_model_save(save_lesson: str) -> bytes:
    """Run ``save_lesson`` as a program (``__name__ == "__main__"``) with ``--quick`` into a
    private temporary folder; return the bytes of the tudui_method1.pth it wrote."""
    with tempfile.TemporaryDirectory(prefix="tudui_trap_") as folder:
        argv, sys.argv = sys.argv, [save_lesson, "--quick", "--log-dir", folder]
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # its printout is not this program's
                runpy.run_path(save_lesson, run_name="__main__")
        finally:
            sys.argv = argv
        return (Path(folder) / "26_model_save" / "tudui_method1.pth").read_bytes()


def attempt(data: bytes) -> dict:
    """torch.load on the bytes, with weights_only=False as the course does."""
    try:
        # weights_only=False only because these are bytes this process has just written itself:
        # it runs whatever the pickle names.
        model = torch.load(io.BytesIO(data), weights_only=False)
        return {"ok": True, "result": type(model).__name__, "printed": str(model)}
    except Exception as err:  # the trap: the class the file names cannot be found
        return {"ok": False, "result": f"{type(err).__name__}: {str(err).strip().splitlines()[0]}"}


if __name__ == "__main__":
    save_lesson = sys.argv[1]
    data = saved_by_model_save(save_lesson)  # the video: python model_save.py
    # model = torch.load('tudui_method1.pth')  — the video's line, in a program without Tudui
    report = {"weights_only_false": attempt(data)}
    # 课程的办法 / the course's fix: from model_save import * (26_model_save.py, under the
    # course's module name model_save): Tudui is now a name in this __main__
    import_lesson(save_lesson, "model_save")
    from model_save import *  # noqa: E402, F403
    report["after_import"] = attempt(data)
    print(json.dumps(report))
