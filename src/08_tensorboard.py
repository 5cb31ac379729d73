"""TensorBoard 的使用 / Using TensorBoard — P8-P9

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=8 (P8-P9)

你将学到 / What you learn:
- P8 add_scalar("y=2x", 2*i, i)：标签、数值、步数，画出一条直线。
  add_scalar(tag, value, step) draws the line y = 2x.
- P9 add_image：从 numpy 数组 (H,W,C) 写图片要加 dataformats="HWC"；不加会报
  "TypeError: Cannot handle this data type"（默认按 C,H,W 理解）。
  add_image from a numpy (H,W,C) array needs dataformats="HWC"; without it TensorBoard reads
  the array as C,H,W and fails with "Cannot handle this data type".
- 课程笔记里的其它功能：直方图、模型结构图、图片网格、嵌入投影 (PROJECTOR)，以及
  torch.profiler 的性能追踪文件。
  The other features the course notes list: histograms, the model graph, an image grid,
  embeddings in the projector, and a torch.profiler trace.

运行 / Run:   python src/08_tensorboard.py
TensorBoard:  tensorboard --logdir logs  ->  SCALARS "y=2x"; IMAGES "test" (steps 1, 2) and
              "image_grid"; HISTOGRAMS "normal"; GRAPHS "Tudui"; PROJECTOR "ants_vs_bees".
              性能追踪 / the profiler trace: logs/08_tensorboard/profiler_trace.json — open it in
              https://ui.perfetto.dev or chrome://tracing (Load).
"""

from __future__ import annotations

import os
import shutil
import warnings

import numpy as np
import torch
import torchvision
from torch.utils.tensorboard.summary import image as image_summary

from tudui.cli import lesson_parser
from tudui.data import is_synthetic, synthetic_banner
from tudui.errors import friendly_errors
from tudui.hymenoptera import course_dir, image_files, open_picture
from tudui.models import Tudui
from tudui.paths import lesson_name
from tudui.seeding import seed_everything
from tudui.tb import make_writer

SCALAR_STEPS = 100               # the course's range(100)
HISTOGRAM_STEPS = {False: 10, True: 3}      # keyed by --quick
GRID_IMAGES = {False: 16, True: 8}
EMBEDDING_IMAGES = {False: 64, True: 16}
PROFILE = {False: (64, 5), True: (2, 2)}    # (batch size, forward passes) to profile


def load_rgb(path, size=None) -> np.ndarray:
    """An image file as a uint8 (H,W,3) array, optionally resized to (size, size)."""
    with open_picture(path) as img:  # Image.open, with a clear error for a damaged file
        img = img.convert("RGB")
        return np.array(img.resize((size, size)) if size else img)


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
    for path in ants[:most] + bees[:most]:
        open_picture(path).close()  # a damaged picture stops the lesson before any log is written
    writer = make_writer(lesson_name(__file__), args.log_dir)
    try:
        # ---- P8: scalars
        for i in range(SCALAR_STEPS):
            writer.add_scalar("y=2x", 2 * i, i)

        # ---- P9: an image from a numpy array, channels last
        img_array = load_rgb(ants[0])
        print(type(img_array), img_array.shape, "(H, W, C)")
        try:  # what happens without dataformats (checked without writing anything)
            image_summary("test", img_array, dataformats="CHW")
            hwc_error = ""
        except TypeError as err:
            hwc_error = str(err)
            print(f"不加 dataformats 会报错 / without dataformats: TypeError: {err}\n"
                  "  add_image 默认把数组当作 (C,H,W)，而 PIL/numpy 的图片是 (H,W,C)，所以要写 "
                  "dataformats='HWC'. / add_image reads (C,H,W) by default; a numpy picture is "
                  "(H,W,C), so say dataformats='HWC'.")
        writer.add_image("test", img_array, 1, dataformats="HWC")
        writer.add_image("test", load_rgb(bees[0]), 2, dataformats="HWC")

        # ---- histograms: a distribution drifting to the right, step by step
        for step in range(HISTOGRAM_STEPS[args.quick]):
            writer.add_histogram("normal", torch.randn(1000) + 0.5 * step, step)

        # ---- the graph of the course's model
        with warnings.catch_warnings():  # add_graph still traces with torch.jit (deprecated)
            warnings.simplefilter("ignore", FutureWarning)
            writer.add_graph(Tudui(), torch.zeros(1, 3, 32, 32))

        # ---- an image grid: several pictures in one image
        n = GRID_IMAGES[args.quick] // 2
        picks = ants[:n] + bees[:n]
        thumbs = torch.stack([torch.from_numpy(load_rgb(p, 64)).permute(2, 0, 1) for p in picks])
        grid = torchvision.utils.make_grid(thumbs, nrow=n)
        writer.add_image("image_grid", grid, 0)

        # ---- embeddings: each picture as a point (its 16x16 pixels), coloured by label
        n = EMBEDDING_IMAGES[args.quick] // 2
        picks = [(p, "ants") for p in ants[:n]] + [(p, "bees") for p in bees[:n]]
        small = torch.stack([torch.from_numpy(load_rgb(p, 16)) for p, _ in picks]).float() / 255
        label_img = torch.stack([torch.from_numpy(load_rgb(p, 32)).permute(2, 0, 1)
                                 for p, _ in picks]).float() / 255
        shutil.rmtree(os.path.join(writer.log_dir, "00000"), ignore_errors=True)  # old run's
        writer.add_embedding(small.reshape(len(picks), -1), metadata=[lbl for _, lbl in picks],
                             label_img=label_img, tag="ants_vs_bees")
    finally:
        writer.close()

    # ---- torch.profiler: where the time goes in a few forward passes
    batch, passes = PROFILE[args.quick]
    model, x = Tudui().eval(), torch.randn(batch, 3, 32, 32)
    # Hides the profiler's "no GPU" error line; its two "USDT ... profiler_start/stop" lines
    # still print and are harmless.
    os.environ.setdefault("KINETO_LOG_LEVEL", "5")
    with torch.no_grad():
        model(x)  # warm-up: the first call pays one-off set-up costs we don't want to measure
    with torch.no_grad(), torch.profiler.profile(
            activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(passes):
            model(x)
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=5))
    trace = os.path.join(writer.log_dir, "profiler_trace.json")
    prof.export_chrome_trace(trace + ".tmp")  # written whole, then renamed
    os.replace(trace + ".tmp", trace)
    print(f"性能追踪 / profiler trace: {trace}\n  用 https://ui.perfetto.dev 或 chrome://tracing "
          "打开 (Load) / open it there.")
    print(f"打开 / open: tensorboard --logdir {args.log_dir}  (日志在 / logs in {writer.log_dir})")
    return {"log_dir": writer.log_dir, "image_shape": img_array.shape, "hwc_error": hwc_error,
            "grid_shape": tuple(grid.shape), "embedding_points": len(picks),
            "trace": trace, "profiled_ops": [e.key for e in prof.key_averages()]}


if __name__ == "__main__":
    main()
