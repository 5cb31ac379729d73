"""看看开源项目 / How to read a training project — P33

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=33 (P33)

你将学到 / What you learn:
- 读一个训练项目的顺序：入口（if __name__ == "__main__"）-> 参数（argparse）-> 数据 ->
  模型 -> 训练循环 -> 输出（日志、检查点）。
  The order to read a training project in: entry point, arguments, data, model, loop, outputs.
- 参数都在 argparse 里：--help 列出全部；required=True 的参数必须给出，
  想在 PyCharm 里直接运行，可以把 required=True 改成 default=...（视频里的做法）。
  Every argument lives in argparse; --help lists them; required=True ones must be given (the
  video replaces required=True with a default to run the script from the IDE).
- 本课就拿这个仓库自己当例子：列出所有课，并打印你指定那一课的参数和结构。
  This repository itself is the example: it lists the lessons and maps the one you name.

运行 / Run:   python src/33_read_project.py                 (map of 27_train)
              python src/33_read_project.py --lesson 32     (any lesson, by number or name)
TensorBoard:  本课不写日志 / this lesson writes no logs.
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import contextlib
import io
import re
import sys

from tudui.cli import lesson_parser
from tudui.errors import CourseError, friendly_errors
from tudui.paths import import_lesson, lesson_files

DEFAULT_LESSON = "27_train"
# What to look for, in reading order: (part, a regular expression matching its lines).
PARTS = [
    ("入口 / entry point", r'if __name__ == "__main__"|^def main\('),
    ("参数 / arguments", r"add_argument\(|lesson_parser\("),
    ("数据 / data", r"cifar10\(|CIFAR10\(|DataLoader\(|make_loader\(|ImageFolder|Image\.open"),
    ("模型 / model", r"Tudui\(|vgg16\(|nn\.Sequential\(|load_checkpoint\("),
    ("训练循环 / loop", r"for .+ in |train_one_epoch\(|\.backward\(|evaluate\("),
    ("输出 / outputs", r"SummaryWriter\(|make_writer\(|add_scalar\(|save_checkpoint\(|torch\.save\(|\.save\("),
]


def find_lesson(name: str):
    """The lesson file whose name or number matches ``name`` (e.g. "27" or "27_train")."""
    files = lesson_files()
    matches = [p for p in files if p.stem == name or p.stem.split("_", 1)[0] == name]
    if not matches:
        raise CourseError(f"no lesson called {name!r}; run without --lesson to list them all.",
                          f"没有名为 {name!r} 的课，不加 --lesson 运行可以列出全部。")
    return matches[0]


def lesson_help(path) -> str:
    """The lesson's own ``--help`` text (its argparse parser), captured in this process."""
    module = import_lesson(path)
    buffer, argv = io.StringIO(), sys.argv
    sys.argv = [path.name]  # argparse names the program after sys.argv[0]: the lesson's, not ours
    try:
        with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
            module.main(["--help"])
    finally:
        sys.argv = argv
    return buffer.getvalue()


@friendly_errors
def main(argv=None) -> dict:
    parser = lesson_parser(__doc__)
    parser.add_argument("--lesson", default=DEFAULT_LESSON, help="number or name of a lesson")
    args = parser.parse_args(argv)

    lessons = {}
    print("== 本项目的课 / the lessons of this project ==")
    for path in lesson_files():
        first_line = path.read_text(encoding="utf-8").lstrip('"').splitlines()[0]
        lessons[path.stem] = first_line
        print(f"  {path.stem:<24} {first_line}")

    path = find_lesson(args.lesson)
    help_text = lesson_help(path)
    options = re.findall(r"^\s{2}(--[a-z][a-z0-9-]*)", help_text, flags=re.M)
    print(f"\n== {path.name} 的参数 / its arguments (python src/{path.name} --help) ==")
    print(help_text.strip())

    print(f"\n== {path.name} 按阅读顺序 / in reading order (line numbers) ==")
    source = path.read_text(encoding="utf-8").splitlines()
    parts = {}
    for part, pattern in PARTS:
        lines = [n for n, line in enumerate(source, 1) if re.search(pattern, line.strip())]
        parts[part] = lines
        shown = ", ".join(str(n) for n in lines[:8]) + (" ..." if len(lines) > 8 else "")
        print(f"  {part:<20} {shown or '-'}")
    return {"lessons": lessons, "lesson": path.stem, "options": options,
            "help": help_text, "parts": parts}


if __name__ == "__main__":
    main()
