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
- 下载中断（断线、Ctrl-C）后再运行会接着下载；--url 可以加镜像。An interrupted download
  continues on the next run (HTTP Range, from <file>.part); --url adds a mirror (docs/data.md).
- 没有网络时用 --synthetic 生成格式完全相同的替代数据（带 SYNTHETIC.txt 标记）。
  Offline, --synthetic writes stand-ins in exactly the real formats (marked by SYNTHETIC.txt).
- 只有图片版的 CIFAR-10（train/<类别>/*.jpg, test/<类别>/...）时，--from-images 把它转成同样的
  格式，标记为非官方副本（REBUILT.txt），课程运行时会提示。
  A picture-folder copy of CIFAR-10 (train/<class>/*.jpg, test/<class>/...) becomes the same
  format with --from-images, marked as a non-official copy (REBUILT.txt); lessons say so.
- 你自己放进数据文件夹的图片（P6-P7）不会被删除：替代数据被真实数据或别的尺寸替换时，它们被移到
  <文件夹>.kept-<日期>/ 里。 Pictures you add to a data folder (P6-P7) are never deleted: when a
  stand-in is replaced by real data or another size, they are moved to <folder>.kept-<date>/.

运行 / Run:   python src/00_prepare_data.py              # real data (download or manual copy)
              python src/00_prepare_data.py --url URL    # a mirror of cifar-10-python.tar.gz first
              python src/00_prepare_data.py --synthetic  # offline stand-ins (real sizes)
              python src/00_prepare_data.py --synthetic --quick   # small stand-ins, for tests
              python src/00_prepare_data.py --from-images DIR     # CIFAR-10 from DIR's pictures
TensorBoard:  本课不写日志 / this lesson writes no logs.
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import argparse
from pathlib import Path

from tudui.cli import lesson_parser
from tudui.errors import CourseError, friendly_errors
from tudui.infra import cifar10_files
from tudui.infra.cifar10_files import (
    CIFAR10_ARCHIVE,
    CIFAR10_DIR,
    CIFAR10_URL,
    CIFAR10_URL_ENV,
    find_nested_cifar10,
    prepare_real_cifar10,
)
from tudui.infra.cifar10_from_images import rebuild_cifar10_from_images
from tudui.infra.cifar10_stand_in import ensure_synthetic_cifar10
from tudui.infra.commands import prepare_command
from tudui.infra.downloads import DownloadFailed, url_problem
from tudui.infra.files import remove_stale_temporaries
from tudui.infra.hymenoptera_files import (
    HYMENOPTERA_ARCHIVE,
    HYMENOPTERA_DIR,
    HYMENOPTERA_URL,
    HYMENOPTERA_URL_ENV,
    SPLITS,
    derive_course_layout,
    ensure_synthetic_hymenoptera,
    hymenoptera_is_real,
    layout_matches,
    nested_too_deep,
    prepare_real_hymenoptera,
    tree_problem,
)
from tudui.infra.markers import is_rebuilt, is_synthetic, rebuilt_source
from tudui.paths import absolute

# Stand-in sizes: the real ones by default, small ones with --quick.
CIFAR_STAND_IN = {"full": (50000, 10000), "quick": (1000, 500)}
FOLDERS = (HYMENOPTERA_DIR, *SPLITS, CIFAR10_DIR)  # what this lesson fills, in summary order


def kind(root: Path, name: str) -> str:
    """What ``root/name`` holds: a stand-in, the complete real data, or something incomplete
    (only complete data is ever called real)."""
    folder = root / name
    if is_synthetic(folder):
        return "synthetic stand-in / 替代数据"
    if is_rebuilt(folder):
        return f"non-official copy / 非官方副本, rebuilt from {rebuilt_source(folder)}"
    if name == HYMENOPTERA_DIR:
        problem = "one level too deep" if nested_too_deep(folder) else tree_problem(folder)
    elif name == CIFAR10_DIR:
        problem = "one level too deep" if find_nested_cifar10(root) else \
            cifar10_files.cifar10_folder_problem(folder)
    elif not (hymenoptera_is_real(root) and layout_matches(root / HYMENOPTERA_DIR, name, folder)):
        return "not a copy of the real hymenoptera_data / 不是真实数据的副本"
    else:
        problem = None
    return "real / 真实数据" if problem is None else f"incomplete / 不完整: {problem}"


def describe(root: Path, name: str, how: str) -> str:
    """One line of the summary: where, what kind of data, and what this run did."""
    return f"  {str(root / name):<60} {kind(root, name)}  ({how})"


def download_url(text: str) -> str:
    """An argparse type: an http(s) address, or exit 2 naming the flag."""
    problem = url_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r} is not a download address: {problem}")
    return text


def prepare_real(root: Path, cifar10_urls=(), hymenoptera_urls=()
                 ) -> tuple[list[tuple[Path, str]], dict[str, str]]:
    """Fetch and verify every data set, trying the given mirrors first; returns (what is
    where, {archive: why it failed})."""
    done, failures = [], {}
    try:
        done.append(prepare_real_hymenoptera(root, hymenoptera_urls))
        done += derive_course_layout(root)
    except DownloadFailed as err:
        failures[HYMENOPTERA_ARCHIVE] = f"ants/bees ({HYMENOPTERA_ARCHIVE}, {HYMENOPTERA_URL}): {err}"
    try:
        done.append(prepare_real_cifar10(root, cifar10_urls))
    except DownloadFailed as err:
        failures[CIFAR10_ARCHIVE] = f"CIFAR-10 ({CIFAR10_ARCHIVE}, 163 MB, {CIFAR10_URL}): {err}"
    return done, failures


@friendly_errors
def main(argv=None) -> dict:
    parser = lesson_parser(__doc__)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--synthetic", action="store_true",
                        help="write generated stand-ins (no network needed); real data is kept")
    source.add_argument("--from-images", metavar="DIR",
                        help="rebuild CIFAR-10 from DIR/train/<class>/*.png|jpg and DIR/test/... "
                             "(a non-official copy, marked REBUILT.txt); nothing else changes")
    parser.add_argument("--url", action="append", default=[], type=download_url, metavar="URL",
                        help=f"another address of {CIFAR10_ARCHIVE} (a mirror), tried before the "
                             f"official one; repeatable; also ${CIFAR10_URL_ENV} (separated by "
                             "spaces). Every copy is md5-checked")
    parser.add_argument("--hymenoptera-url", action="append", default=[], type=download_url,
                        metavar="URL",
                        help=f"the same for {HYMENOPTERA_ARCHIVE} (also ${HYMENOPTERA_URL_ENV}); "
                             "checked by its CRCs and picture counts")
    args = parser.parse_args(argv)
    root = absolute(args.data_root)  # messages show where exactly, whatever the current folder
    if not args.from_images:   # --from-images checks its pictures first, then makes the folder
        root.mkdir(parents=True, exist_ok=True)
    for name in FOLDERS:  # temporary folders of a run that was killed (kill -9, closed window)
        remove_stale_temporaries(root, name)

    if args.from_images:
        print(f"从图片重建 CIFAR-10 / rebuilding CIFAR-10 from the pictures in {args.from_images}")
        done, failures = [rebuild_cifar10_from_images(root, args.from_images)], {}
    elif args.synthetic:
        size = "quick" if args.quick else "full"
        print(f"生成替代数据 / writing stand-ins ({size} size, seed {args.seed}) in {root}")
        done = ensure_synthetic_hymenoptera(root, quick=args.quick, seed=args.seed)
        done.append(ensure_synthetic_cifar10(root, *CIFAR_STAND_IN[size], seed=args.seed))
        failures = {}
    else:
        print(f"准备真实数据 / preparing the real data in {root}")
        done, failures = prepare_real(root, args.url, args.hymenoptera_url)

    print("\n数据在哪里 / what is where:")
    this_run = {Path(folder).name: how for folder, how in done}
    for name in FOLDERS:
        if name in this_run:
            print(describe(root, name, this_run[name]))
        elif (root / name).is_dir():
            print(describe(root, name, "from an earlier run"))
    if not any((root / n).is_dir() for n in FOLDERS):
        print("  (nothing yet / 还没有数据)")
    if failures:
        synthetic = prepare_command(root, "--synthetic")
        raise CourseError(
            "Could not get " + "; and ".join(failures.values()) + ". Running "
            f"`{prepare_command(root)}` again continues an unfinished download where it "
            "stopped; a mirror of the same file can be added with --url URL (CIFAR-10) or "
            "--hymenoptera-url URL. If downloads are blocked or slow, download the archive "
            "elsewhere (the URL above, or a mirror / 网盘 copy) and put the file itself, "
            f"unchanged and named exactly {' / '.join(failures)}, into {root}/; running "
            f"`{prepare_command(root)}` again checks and unpacks it. To "
            f"carry on offline now, run `{synthetic}`: it writes generated stand-ins in the "
            "same formats so every lesson runs (their numbers differ from the video).",
            f"{' 和 '.join(failures)} 没有准备好（原因见下面的英文）。再运行同一条命令会接着下载"
            "没下载完的部分；可以用 --url 加镜像。也可以在别处下载 "
            f"{' / '.join(failures)}，文件名保持不变，放进 {root}/ 后重新运行 "
            f"`{prepare_command(root)}`；或者运行 `{synthetic}` 先用生成的替代数据学习。",
        )
    return {"root": root, "synthetic": args.synthetic,
            "folders": {str(folder): how for folder, how in done},
            "hymenoptera_synthetic": is_synthetic(root / HYMENOPTERA_DIR),
            "cifar10_synthetic": is_synthetic(root / CIFAR10_DIR),
            "cifar10_rebuilt": is_rebuilt(root / CIFAR10_DIR)}


if __name__ == "__main__":
    main()
