"""The common command-line flags, spelled the same in every lesson."""

from __future__ import annotations

import argparse
import math
import sys

from tudui.errors import EXIT_CODE
from tudui.paths import DATASET_DIR, LOGS_DIR, absolute

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
MAX_SEED = 2**32 - 1  # numpy's seeds (and the DataLoader's) stop here
MAX_LEARNING_RATE = 10.0  # far above any rate that trains; larger ones overflow in float32


def absolute_path(text: str) -> str:
    """A path from the command line, read as every command-line tool reads it: ``~`` expanded,
    relative to the current folder, made absolute at once so that every message shows where it
    really is (no symlinks resolved: the learner's own spelling stays recognisable)."""
    return str(absolute(text))


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
