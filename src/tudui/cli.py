"""The common command-line flags, spelled the same in every lesson."""

from __future__ import annotations

import argparse
import math

from tudui.device import DEVICE_CHOICES, pick_device
from tudui.paths import DATASET_DIR, LOGS_DIR


def common_parser() -> argparse.ArgumentParser:
    """A parent parser with --data-root --log-dir --device --seed --quick."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("common flags / 通用参数")
    group.add_argument("--data-root", default=str(DATASET_DIR),
                       help="where data sets live (default: the repository's dataset/)")
    group.add_argument("--log-dir", default=str(LOGS_DIR),
                       help="TensorBoard logs and outputs go to <log-dir>/<lesson>/ (default: logs/)")
    group.add_argument("--device", default="auto", choices=DEVICE_CHOICES,
                       help="auto = cuda, then mps, then cpu (default: auto)")
    group.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    group.add_argument("--quick", action="store_true",
                       help="small data and few steps: seconds instead of minutes (tests, tour)")
    return parser


class LessonParser(argparse.ArgumentParser):
    """An ArgumentParser that also checks ``--device``: asking for a GPU that is not there is a
    clear error in every lesson, also in those that compute nothing on a device."""

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        if getattr(parsed, "device", "auto") not in ("auto", "cpu"):
            pick_device(parsed.device)  # CourseError (exit 2) when it is not available
        return parsed


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

def _whole_number_at_least(minimum: int, rule: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} {rule}")
        return value
    return parse


# epochs, batch size
positive_int = _whole_number_at_least(1, "必须是正整数 / must be a whole number of at least 1")
# number of DataLoader workers
non_negative_int = _whole_number_at_least(0, "必须是 0 或正整数 / must be a whole number, 0 or more")


def positive_float(text: str) -> float:
    """A finite number above 0 (learning rate)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} 必须是大于 0 的有限数 / must be a finite number above 0")
    return value
