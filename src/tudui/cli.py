"""The common command-line flags, spelled the same in every lesson."""

from __future__ import annotations

import argparse
import errno
import math
import os
import sys

from tudui.errors import EXIT_CODE
from tudui.infra.choices import DEVICE_CHOICES
from tudui.paths import DATASET_DIR, LOGS_DIR, absolute

MAX_SEED = 2**32 - 1  # numpy's seeds (and the DataLoader's) stop here
MAX_LEARNING_RATE = 10.0  # far above any rate that trains; larger ones overflow in float32


def absolute_path(text: str) -> str:
    """A path from the command line, read as every command-line tool reads it: ``~`` expanded,
    relative to the current folder, made absolute at once so that every message shows where it
    really is (no symlinks resolved: the learner's own spelling stays recognisable).

    Paths no lesson can use stop here, naming the flag (argparse, exit 2): see ``path_problem``."""
    problem = path_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return str(absolute(text))


def path_problem(text: str) -> str | None:
    """Why ``text`` cannot be used as a file or folder, or None.

    - empty: ``--image ""`` silently meant "not given" and ``--data-root ""`` the current folder;
    - not valid UTF-8 (Linux keeps any bytes in a name, e.g. a GBK name unpacked from a zip made
      on Chinese Windows): TensorBoard and the console cannot write such a name;
    - a symbolic link loop, or a name too long for the file system: nothing can be read or
      written there (os.stat says so without touching anything)."""
    if not text.strip():
        return ("不能为空：请给出文件或文件夹的名字（想用默认值就不要写这个参数）/ must not be empty: "
                "give a file or folder name (leave the flag out for the default)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(text).decode("utf-8", "backslashreplace")
        return (f"{shown}: 名字不是有效的 UTF-8 编码（常见于在中文 Windows 上打包的 zip 里的 GBK 名字），"
                "TensorBoard 和终端都无法处理；请把它改名（改成 UTF-8 的中文名也可以）或换一个路径 / "
                "the name is not valid UTF-8 (\\x.. marks each byte that is not; often a GBK name "
                "from a zip made on Chinese Windows), which TensorBoard and the console cannot "
                "handle: rename it (a Chinese name is fine once it is UTF-8) or give another path")
    try:
        os.stat(absolute(text))
    except OSError as err:
        if err.errno == errno.ELOOP:
            return (f"{absolute(text)}: 是一个循环的符号链接（直接或经过别的链接又指回自己），无法读写；"
                    "请删除这个链接或换一个路径 / is a symbolic link loop (it leads, directly or "
                    "through other links, back to itself), so nothing can be read or written "
                    "there: delete the link or give another path")
        if err.errno == errno.ENAMETOOLONG:
            longest = max(len(os.fsencode(part)) for part in absolute(text).parts)
            return (f"路径太长（{len(text)} 个字符），文件系统不接受；请用短一些的路径 / is too long for "
                    f"the file system ({len(text)} characters, its longest name {longest} bytes; "
                    "most allow at most 255 bytes per file or folder name and 4096 for the "
                    "whole path): give a shorter path")
    except ValueError:  # an embedded NUL byte
        return "含有空字符，不是有效的路径 / holds a NUL character: not a path"
    return None


def common_parser() -> argparse.ArgumentParser:
    """A parent parser with --data-root --log-dir --device --seed --quick."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("common flags / 通用参数")
    group.add_argument("--data-root", type=absolute_path, default=str(DATASET_DIR),
                       help="where data sets live (default: the repository's dataset/; a relative "
                            "path is read from the current folder)")
    group.add_argument("--log-dir", type=absolute_path, default=str(LOGS_DIR),
                       help="TensorBoard logs and outputs go to <log-dir>/<lesson>/ (default: the "
                            "repository's logs/; a relative path is read from the current folder)")
    group.add_argument("--device", default="auto", choices=DEVICE_CHOICES,
                       help="auto = cuda, then mps, then cpu (default: auto)")
    group.add_argument("--seed", type=seed, default=0,
                       help=f"random seed, 0 to {MAX_SEED} (default: 0)")
    group.add_argument("--quick", action="store_true",
                       help="small data and few steps: seconds instead of minutes (tests, tour)")
    return parser


class LessonParser(argparse.ArgumentParser):
    """An ArgumentParser that also checks ``--device`` (asking for a GPU that is not there is a
    clear error in every lesson, also in those that compute nothing on a device) and adds a
    Chinese line to argparse's own English errors."""

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        if getattr(parsed, "device", "auto") not in ("auto", "cpu"):
            from tudui.device import pick_device  # here: only a GPU request needs torch

            pick_device(parsed.device)  # CourseError (exit 2) when it is not available
        return parsed

    def error(self, message):
        """argparse's usage and English line, then the same in Chinese; exit 2 like every other
        expected failure (before the lesson has written anything)."""
        self.print_usage(sys.stderr)
        self.exit(EXIT_CODE, f"{self.prog}: error: {message}\n"
                             f"{self.prog}: 错误：命令行参数不对（原因见上一行）；"
                             f"加 --help 可以列出全部参数。\n")


def lesson_parser(doc: str | None) -> argparse.ArgumentParser:
    """A lesson's parser: the first lines of its docstring as description, plus the common flags."""
    description = "\n".join((doc or "").strip().splitlines()[:2])
    return LessonParser(
        description=description,
        parents=[common_parser()],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


# argparse types: a wrong value stops at once with exit 2 and names the flag, before a lesson
# touches any file (argparse prints "argument --epochs: ..." followed by our text).

def _whole_number_between(minimum: int, maximum: float, rule: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"{text!r} {rule}")
        return value
    return parse


# epochs, batch size
positive_int = _whole_number_between(1, math.inf, "必须是正整数 / must be a whole number of at least 1")
# number of DataLoader workers
non_negative_int = _whole_number_between(0, math.inf,
                                         "必须是 0 或正整数 / must be a whole number, 0 or more")
# --seed: the range numpy and torch's generators all accept
seed = _whole_number_between(0, MAX_SEED,
                             f"必须是 0 到 {MAX_SEED} 之间的整数 / must be a whole number from 0 "
                             f"to {MAX_SEED}")


def _finite_float_between(low: float, high: float, rule: str):
    """A number with ``low < value <= high`` (nan and inf never pass)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and low < value <= high):
            raise argparse.ArgumentTypeError(f"{text!r} {rule}")
        return value
    return parse


# a finite number above 0: fractional --epochs (36), any positive amount
positive_finite_float = _finite_float_between(
    0, math.inf, "必须是大于 0 的有限数 / must be a finite number above 0")
# --lr: above 0 and at most 10 (1e300 would overflow to inf in float32 and train nothing)
learning_rate = _finite_float_between(
    0, MAX_LEARNING_RATE,
    f"必须是大于 0、不超过 {MAX_LEARNING_RATE:g} 的数 / must be a number above 0 and at most "
    f"{MAX_LEARNING_RATE:g}")
