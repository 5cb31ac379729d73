"""The tour's start-up: a lesson started in a new Python interpreter against a forked copy of a
process that has imported torch and torchvision already (what `make lessons` does on Linux), side
by side in one run, next to `python -c "import torch"`.

Short lessons are mostly start-up, so this is where the two ways differ; the tour's total is about
(lessons x the forked time) + the training lessons' own work. Rounds are interleaved (fresh,
forked, import torch, fresh, ...) and the best of each counts, so a busy moment hits all three.

    python benchmarks/tour_startup.py [--lessons 01 16 17 22] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from tudui.infra import lesson_runs  # noqa: E402  (after the path line above)
from tudui.paths import REPO_ROOT, lesson_files  # noqa: E402


def import_torch_seconds() -> float:
    """Wall time of ``python -c "import torch"``: the floor every new interpreter pays."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    return time.perf_counter() - start


def lesson_seconds(run, path: Path, log_dir: str) -> float:
    """Wall time of one ``--quick`` run of the lesson at ``path`` with ``run`` (it must pass)."""
    start = time.perf_counter()
    code, output = run(path, ["--quick", "--log-dir", log_dir], REPO_ROOT, lesson_runs.LESSON_ENV)
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"{path.name} exited {code}:\n{output[-2000:]}")
    return seconds


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="+", default=["01", "16", "17", "22"],
                        help="lesson numbers (short ones show the start-up best)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; best counts")
    args = parser.parse_args(argv)
    paths = [p for p in lesson_files() if p.stem[:2] in args.lessons]
    if not lesson_runs.preload():
        raise SystemExit("the tour forks on Linux only: nothing to compare on this system")

    fresh, forked, imports = {p.stem: [] for p in paths}, {p.stem: [] for p in paths}, []
    with tempfile.TemporaryDirectory() as log_dir:
        # untimed: the fork server starts (and imports torch) once per tour, before its lessons
        lesson_seconds(lesson_runs.run_script_forked, paths[0], log_dir)
        for _ in range(args.rounds):
            for path in paths:
                fresh[path.stem].append(lesson_seconds(lesson_runs.run_script, path, log_dir))
                forked[path.stem].append(
                    lesson_seconds(lesson_runs.run_script_forked, path, log_dir))
            imports.append(import_torch_seconds())

    import torch

    print(f"torch {torch.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}, "
          f"capability {torch.backends.cpu.get_cpu_capability()}")
    floor = min(imports)
    print(f'python -c "import torch": {floor:.2f} s (best of {len(imports)})\n')
    print(f"{'lesson':<22} {'new Python':>11} {'forked':>8} {'ratio':>7}   best of {args.rounds}")
    best = {}
    for name in fresh:
        best[name] = (min(fresh[name]), min(forked[name]))
        new, fork = best[name]
        print(f"{name:<22} {new:10.2f}s {fork:7.2f}s {new / fork:6.1f}x")
    saved = sum(new - fork for new, fork in best.values()) / len(best)
    print(f"\neach lesson starts {saved:.1f} s sooner forked; over 30 lessons about "
          f"{30 * saved:.0f} s of a tour (the floor of 30 new interpreters: {30 * floor:.0f} s)")
    return {"import_torch": floor, "best": best, "fresh": fresh, "forked": forked,
            "saved_per_lesson": saved}


if __name__ == "__main__":
    main()
