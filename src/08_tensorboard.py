"""TensorBoard 的使用 / Using TensorBoard — P8-P9

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=8 (P8-P9)

你将学到 / What you learn:
- P8 add_scalar("y=2x", 2*i, i)：标签、数值、步数，画出一条直线。课程的文件最后写的是 3*i（标签没改）：
  视频用它演示同一个文件夹里两次运行的曲线会画在一起；本课每次先清空文件夹，所以只看到 y = 3x。
  add_scalar(tag, value, step) draws a line. The course's file ends with 3*i under the same tag:
  the video uses it to show two runs into one folder drawn in one chart; this lesson starts
  from a clean folder, so the chart shows y = 3x only.
- P9 add_image：从 numpy 数组 (H,W,C) 写图片要加 dataformats="HWC"；不加会报
  "TypeError: Cannot handle this data type"（默认按 C,H,W 理解）。
  add_image from a numpy (H,W,C) array needs dataformats="HWC"; without it TensorBoard reads
  the array as C,H,W and fails with "Cannot handle this data type".
- 课程笔记里的其它功能：直方图、模型结构图、图片网格、嵌入投影 (PROJECTOR)，以及
  torch.profiler 的性能追踪文件。
  The other features the course notes list: histograms, the model graph, an image grid,
  embeddings in the projector, and a torch.profiler trace.

运行 / Run:   python src/08_tensorboard.py
和视频的不同 / Differences from the video: SummaryWriter 写到 <--log-dir>/08_tensorboard/，先删掉上次的
事件文件（否则两条曲线叠在一起）；用到的图片先检查一遍，坏图片给出清楚的说明；np.array 之前
.convert("RGB")（课程的 JPEG 本来就是 RGB，灰度/CMYK/RGBA 图片也变成 3 通道）；图片 "train" 的第二步
用第一只蜜蜂。直方图、模型图、图片网格、嵌入和 profiler 是课程之外的补充。
SummaryWriter writes to <--log-dir>/08_tensorboard/ after removing the last run's event files
(two runs would draw overlapping curves); the pictures are checked first, so a bad one is a clear
message; .convert("RGB") before np.array (the course's JPEG already is RGB; a grey, CMYK or RGBA
picture becomes the 3 channels add_image expects); step 2 of "train" is the first bee. Histograms,
the graph, the grid, the projector and the profiler are extras beyond the course.

TensorBoard:  tensorboard --logdir logs  ->  SCALARS "y=2x" (y = 3x, see above); IMAGES "train"
              (steps 1, 2) and "image_grid"; HISTOGRAMS "normal"; GRAPHS "Tudui"; PROJECTOR
              "ants_vs_bees".
              性能追踪 / the profiler trace: logs/08_tensorboard/profiler_trace.json — open it in
              https://ui.perfetto.dev or chrome://tracing (Load).
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import os
import shutil
import warnings

import numpy as np
import torch
import torchvision
from PIL import Image
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import image as image_summary

from tudui.cli import lesson_parser
from tudui.errors import friendly_errors
from tudui.hymenoptera import course_dir, image_files, is_synthetic, open_picture, synthetic_banner
from tudui.infra.commands import shell_quote
from tudui.models import Tudui
from tudui.seeding import seed_everything
from tudui.tb import fresh_log_dir

SCALAR_STEPS = 100               # the course's range(100)
HISTOGRAM_STEPS = {False: 10, True: 3}      # keyed by --quick
GRID_IMAGES = {False: 16, True: 8}
EMBEDDING_IMAGES = {False: 64, True: 16}
PROFILE = {False: (64, 5), True: (2, 2)}    # (batch size, forward passes) to profile


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    seed_everything(args.seed)
    train_dir = course_dir(args.data_root, "train")
    if is_synthetic(train_dir):
        print(synthetic_banner("hymenoptera (train/)"))
    ants = image_files(train_dir / "ants_image")
    bees = image_files(train_dir / "bees_image")
    most = max(GRID_IMAGES[args.quick], EMBEDDING_IMAGES[args.quick]) // 2
    for path in ants[:most] + bees[:most]:  # ours: a bad picture stops us before any log is written
        open_picture(path).close()

    # ---- the course (P8-P9)
    writer = SummaryWriter(fresh_log_dir(__file__, args.log_dir))  # the video: SummaryWriter("logs")
    image_path = ants[0]  # the course: "data/train/ants_image/6240329_72c01e663e.jpg"
    img_PIL = Image.open(image_path)
    img_PIL = img_PIL.convert("RGB")  # ours: a no-op for the course's JPEG (see the docstring)
    img_array = np.array(img_PIL)
    print(type(img_array))
    print(img_array.shape)

    writer.add_image("train", img_array, 1, dataformats='HWC')
    # y = 2x. The course's file ends with 3*i under the same tag: in the video 2*i became 3*i and
    # the script ran again into the same folder, and TensorBoard drew both runs in one chart. We
    # start from a clean folder (fresh_log_dir), so the chart shows this run: y = 3x.
    for i in range(SCALAR_STEPS):
        writer.add_scalar("y=2x", 3*i, i)

    image_path = bees[0]  # P9 changes the picture and the step: a slider appears in IMAGES
    img_PIL = Image.open(image_path).convert("RGB")
    writer.add_image("train", np.array(img_PIL), 2, dataformats='HWC')

    # ---- extras beyond the course
    hwc_error = without_dataformats(img_array)
    grid_shape, points = write_extras(writer, ants, bees, args.quick)
    writer.close()
    trace, ops = profile_tudui(writer.log_dir, args.quick)
    print(f"打开 / open: tensorboard --logdir {shell_quote(str(args.log_dir))}  "
          f"(日志在 / logs in {writer.log_dir})")
    return {"log_dir": writer.log_dir, "image_shape": img_array.shape, "hwc_error": hwc_error,
            "grid_shape": grid_shape, "embedding_points": points, "trace": trace,
            "profiled_ops": ops}


def without_dataformats(img_array: np.ndarray) -> str:
    """What add_image says without dataformats="HWC" (checked without writing anything)."""
    try:
        image_summary("test", img_array, dataformats="CHW")  # add_image's default
    except TypeError as err:
        print(f"不加 dataformats 会报错 / without dataformats: TypeError: {err}\n"
              "  add_image 默认把数组当作 (C,H,W)，而 PIL/numpy 的图片是 (H,W,C)，所以要写 "
              "dataformats='HWC'. / add_image reads (C,H,W) by default; a numpy picture is "
              "(H,W,C), so say dataformats='HWC'.")
        return str(err)
    return ""


def load_rgb(path, size=None) -> np.ndarray:
    """A picture as a uint8 (H,W,3) array, optionally resized to (size, size)."""
    with open_picture(path) as img:  # Image.open, with a clear error for a bad picture
        img = img.convert("RGB")
        return np.array(img.resize((size, size)) if size else img)


def write_extras(writer: SummaryWriter, ants: list, bees: list, quick: bool) -> tuple:
    """Histograms, the model graph, an image grid and the projector; returns (grid shape,
    number of embedded points)."""
    # histograms: a distribution drifting to the right, step by step
    for step in range(HISTOGRAM_STEPS[quick]):
        writer.add_histogram("normal", torch.randn(1000) + 0.5 * step, step)

    # the graph of the course's model
    with warnings.catch_warnings():  # add_graph still traces with torch.jit (deprecated)
        warnings.simplefilter("ignore", FutureWarning)
        writer.add_graph(Tudui(), torch.zeros(1, 3, 32, 32))

    # an image grid: several pictures in one image
    n = GRID_IMAGES[quick] // 2
    thumbs = torch.stack([torch.from_numpy(load_rgb(p, 64)).permute(2, 0, 1)
                          for p in ants[:n] + bees[:n]])
    grid = torchvision.utils.make_grid(thumbs, nrow=n)
    writer.add_image("image_grid", grid, 0)

    # embeddings: each picture as a point (its 16x16 pixels), coloured by label
    n = EMBEDDING_IMAGES[quick] // 2
    picks = [(p, "ants") for p in ants[:n]] + [(p, "bees") for p in bees[:n]]
    small = torch.stack([torch.from_numpy(load_rgb(p, 16)) for p, _ in picks]).float() / 255
    label_img = torch.stack([torch.from_numpy(load_rgb(p, 32)).permute(2, 0, 1)
                             for p, _ in picks]).float() / 255
    shutil.rmtree(os.path.join(writer.log_dir, "00000"), ignore_errors=True)  # the last run's
    writer.add_embedding(small.reshape(len(picks), -1), metadata=[lbl for _, lbl in picks],
                         label_img=label_img, tag="ants_vs_bees")
    return tuple(grid.shape), len(picks)


def profile_tudui(log_dir: str, quick: bool) -> tuple[str, list[str]]:
    """torch.profiler: where the time goes in a few forward passes; returns (trace, op names)."""
    batch, passes = PROFILE[quick]
    model, x = Tudui().eval(), torch.randn(batch, 3, 32, 32)
    # Level 6 hides the profiler's own log lines (its "no GPU" error and two "USDT ...
    # profiler_start/stop" lines); it is read when the profiler first starts.
    os.environ.setdefault("KINETO_LOG_LEVEL", "6")
    with torch.no_grad():
        model(x)  # warm-up: the first call pays one-off set-up costs we don't want to measure
    with torch.no_grad(), torch.profiler.profile(
            activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(passes):
            model(x)
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=5))
    trace = os.path.join(log_dir, "profiler_trace.json")
    prof.export_chrome_trace(trace + ".tmp")  # written whole, then renamed
    os.replace(trace + ".tmp", trace)
    print(f"性能追踪 / profiler trace: {trace}\n  用 https://ui.perfetto.dev 或 chrome://tracing "
          "打开 (Load) / open it there.")
    return trace, [e.key for e in prof.key_averages()]


if __name__ == "__main__":
    main()
