"""准备数据 / Prepare the data sets — 课程用到的数据 (P6-P7, P14)

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=6 (ants/bees, P6-P7) and
https://www.bilibili.com/video/BV1hE411t7RN?p=14 (CIFAR-10, P14)

你将学到 / What you learn:
- 数据放在哪里：dataset/hymenoptera_data/{train,val}/{ants,bees}/（torchvision 的布局），
  dataset/{train,val}/{ants,bees}_image/ 和 *_label/（课程 P7 的布局），dataset/cifar-10-batches-py/。
  Where each data set lives, in the layouts the lessons read.
- 下载会校验（md5 / CRC），已经下载好的文件不会重新下载；下载不了时可以手动放置压缩包。
  Downloads are verified (md5 / CRC); a file already there is reused; when downloads are
  blocked you can put the archive into dataset/ by hand.
- 没有网络时用 --synthetic 生成格式完全相同的替代数据（带 SYNTHETIC.txt 标记）。
  Offline, --synthetic writes stand-ins in exactly the real formats (marked by SYNTHETIC.txt).

运行 / Run:   python src/00_prepare_data.py              # real data (download or manual copy)
              python src/00_prepare_data.py --synthetic  # offline stand-ins (real sizes)
              python src/00_prepare_data.py --synthetic --quick   # small stand-ins, for tests
TensorBoard:  本课不写日志 / this lesson writes no logs.
"""

from __future__ import annotations

from pathlib import Path

from tudui.cli import lesson_parser
from tudui.data import (
    CIFAR10_ARCHIVE,
    CIFAR10_DIR,
    CIFAR10_URL,
    DownloadFailed,
    ensure_synthetic_cifar10,
    is_synthetic,
    prepare_command,
    prepare_real_cifar10,
)
from tudui.errors import CourseError, friendly_errors
from tudui.hymenoptera import (
    HYMENOPTERA_ARCHIVE,
    HYMENOPTERA_URL,
    derive_course_layout,
    ensure_synthetic_hymenoptera,
    prepare_real_hymenoptera,
)

# Stand-in sizes: the real ones by default, small ones with --quick.
CIFAR_STAND_IN = {"full": (50000, 10000), "quick": (1000, 500)}


def describe(folder: Path) -> str:
    """One line of the summary: where, and real or synthetic."""
    kind = "synthetic stand-in / 替代数据" if is_synthetic(folder) else "real / 真实数据"
    return f"  {str(folder):<60} {kind}"


def prepare_real(root: Path) -> tuple[list[tuple[Path, str]], list[str]]:
    """Fetch and verify every data set; returns (what is where, failures)."""
    done, failures = [], []
    try:
        done.append(prepare_real_hymenoptera(root))
        done += derive_course_layout(root)
    except DownloadFailed as err:
        failures.append(f"ants/bees ({HYMENOPTERA_ARCHIVE}, {HYMENOPTERA_URL}): {err}")
    try:
        done.append(prepare_real_cifar10(root))
    except DownloadFailed as err:
        failures.append(f"CIFAR-10 ({CIFAR10_ARCHIVE}, 163 MB, {CIFAR10_URL}): {err}")
    return done, failures


@friendly_errors
def main(argv=None) -> dict:
    parser = lesson_parser(__doc__)
    parser.add_argument("--synthetic", action="store_true",
                        help="write generated stand-ins (no network needed); real data is kept")
    args = parser.parse_args(argv)
    root = Path(args.data_root)
    root.mkdir(parents=True, exist_ok=True)

    if args.synthetic:
        size = "quick" if args.quick else "full"
        print(f"生成替代数据 / writing stand-ins ({size} size, seed {args.seed}) in {root}")
        done = ensure_synthetic_hymenoptera(root, quick=args.quick, seed=args.seed)
        done.append(ensure_synthetic_cifar10(root, *CIFAR_STAND_IN[size], seed=args.seed))
        failures = []
    else:
        print(f"准备真实数据 / preparing the real data in {root}")
        done, failures = prepare_real(root)

    print("\n数据在哪里 / what is where:")
    for folder, how in done:
        print(f"{describe(folder)}  ({how})")
    listed = {folder for folder, _ in done}
    for name in ("hymenoptera_data", "train", "val", CIFAR10_DIR):  # left from earlier runs
        if (root / name).is_dir() and root / name not in listed:
            print(f"{describe(root / name)}  (from an earlier run)")
    if not any((root / n).is_dir() for n in ("hymenoptera_data", "train", "val", CIFAR10_DIR)):
        print("  (nothing yet / 还没有数据)")
    if failures:
        synthetic = prepare_command(root, "--synthetic")
        raise CourseError(
            "Could not get " + "; and ".join(failures) + f". If downloads are blocked or slow, "
            f"download the archive elsewhere (the URL above, or a mirror / 网盘 copy) and put "
            f"the file itself, unchanged, into {root}/; running `{prepare_command(root)}` "
            f"again checks and unpacks it. To carry on offline now, run `{synthetic}`: it "
            "writes generated stand-ins in the same formats so every lesson runs (their "
            "numbers differ from the video).",
            f"数据下载失败（没有网络或被拦截）。可以在别处下载 {HYMENOPTERA_ARCHIVE} / "
            f"{CIFAR10_ARCHIVE}，原样放进 {root}/ 后重新运行 `{prepare_command(root)}`；或者运行 "
            f"`{synthetic}` 先用生成的替代数据学习。",
        )
    return {"root": root, "synthetic": args.synthetic,
            "folders": {str(folder): how for folder, how in done},
            "hymenoptera_synthetic": is_synthetic(root / "hymenoptera_data"),
            "cifar10_synthetic": is_synthetic(root / CIFAR10_DIR)}


if __name__ == "__main__":
    main()
