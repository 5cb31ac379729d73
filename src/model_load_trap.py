"""26 课的第二个程序：视频里的 model_load.py / 26's second program: the video's model_load.py — P26

26_model_load.py 在一个新的 Python 进程里运行它，就像视频里另开一个文件 model_load.py：
这个进程里从来没有定义过 Tudui，所以 torch.load(..., weights_only=False) 找不到这个类；
课程的办法 from model_save import * 之后才能加载。
26_model_load.py runs it in a new Python process, like the video's second file model_load.py:
class Tudui was never defined here, so torch.load(..., weights_only=False) cannot find it; after
the course's fix, from model_save import *, it loads.

安全 / Safety: weights_only=False 会执行文件里写的任何函数，所以这个程序只加载 26_model_load.py
刚刚写的那个文件：先核对父进程算好的 SHA-256，再只从内存里这些核对过的字节加载。
weights_only=False runs whatever functions the file names, so this program loads only the file
26_model_load.py has just written: it checks the SHA-256 its parent computed, then unpickles
only those checked bytes, from memory (a file swapped in meanwhile is never read again).

运行 / Run:   由 26_model_load.py 启动，不单独运行 / started by 26_model_load.py, not by hand:
              python src/model_load_trap.py FILE SHA256 PATH/TO/26_model_save.py
(名字不以两位数字开头：它不是单独的一课 / its name starts with no number: it is not a lesson.)
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import hashlib
import io
import json
import sys
from pathlib import Path

import torch

from tudui.paths import import_lesson


def checked_bytes(path: str, sha256: str) -> bytes:
    """The bytes of ``path``, read once, if their SHA-256 is ``sha256``; otherwise exit 2."""
    data = Path(path).read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        print(json.dumps({"refused": f"{path} is not the file 26_model_load.py just wrote "
                                     "(its SHA-256 differs); it was not loaded"}))
        raise SystemExit(2)
    return data


def attempt(data: bytes) -> dict:
    """torch.load on the checked bytes, with weights_only=False as the course does."""
    try:
        # weights_only=False only because these are bytes our own parent process has just
        # written and we have checked their hash: it runs whatever the pickle names.
        model = torch.load(io.BytesIO(data), weights_only=False)
        return {"ok": True, "result": type(model).__name__, "printed": str(model)}
    except Exception as err:  # the trap: the class the file names cannot be found
        return {"ok": False, "result": f"{type(err).__name__}: {str(err).strip().splitlines()[0]}"}


if __name__ == "__main__":
    file, sha256, save_lesson = sys.argv[1:4]
    data = checked_bytes(file, sha256)
    # model = torch.load('tudui_method1.pth')  — the video's line, in a process without Tudui
    report = {"weights_only_false": attempt(data)}
    # 课程的办法 / the course's fix: from model_save import * (26_model_save.py, under the
    # course's module name model_save): Tudui can be found again, here and as model_save.Tudui
    import_lesson(save_lesson, "model_save")
    from model_save import *  # noqa: E402, F403
    report["after_import"] = attempt(data)
    print(json.dumps(report))
