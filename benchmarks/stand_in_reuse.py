"""What checking every stand-in file's sha256 before reusing it costs `make lessons`, against the
size-only check it replaced, side by side in one run, next to a whole `00_prepare_data.py
--synthetic` that reuses the stand-ins and `python -c "import torch"`.

Every tour runs 00_prepare_data first, and offline it reuses the full-size stand-ins (266 MB of
CIFAR-10 batches, the ants/bees pictures twice): the hashes are read each time. Rounds are
interleaved (sizes, hashes, whole run, import torch, ...) and the best of each counts; the files
are in the page cache after the first round, as on a tour run twice in a row.

    python benchmarks/stand_in_reuse.py [--data-root DIR] [--rounds 5]

Without --data-root the full-size stand-ins are written into a temporary folder first (about
10 s, not timed).
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
from tudui.infra.cifar10_files import CIFAR10_DIR  # noqa: E402  (after the path line above)
from tudui.infra.hymenoptera_files import HYMENOPTERA_DIR, SPLITS, layout_matches  # noqa: E402
from tudui.infra.markers import marker_files, marker_hashes_match  # noqa: E402
from tudui.paths import SRC_DIR  # noqa: E402


def sizes_only(root: Path) -> bool:
    """The earlier reuse check: every listed file there with its listed size (CIFAR-10)."""
    folder = root / CIFAR10_DIR
    return all((folder / name).stat().st_size == size
               for name, (size, _) in marker_files(folder).items())


def hashes(root: Path) -> bool:
    """Today's: every listed file's sha256, both stand-ins and the course layout's copies."""
    return (marker_hashes_match(root / CIFAR10_DIR) and marker_hashes_match(root / HYMENOPTERA_DIR)
            and all(layout_matches(root / HYMENOPTERA_DIR, split, root / split) for split in SPLITS))


def timed(work) -> float:
    start = time.perf_counter()
    result = work()
    if result is False:
        raise SystemExit("a stand-in did not check out: rewrite it with 00_prepare_data.py --synthetic")
    return time.perf_counter() - start


def prepare(root: Path) -> bool:
    done = subprocess.run([sys.executable, str(SRC_DIR / "00_prepare_data.py"), "--synthetic",
                           "--data-root", str(root)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    return True


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None, help="full-size stand-ins already there")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; best counts")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(args.data_root or scratch)
        prepare(root)  # writes them when missing (untimed); later rounds reuse them
        runs = {"sizes only (CIFAR-10)": [], "sha256, everything": [],
                "00_prepare_data.py --synthetic (reused)": [], 'python -c "import torch"': []}
        for _ in range(args.rounds):
            runs["sizes only (CIFAR-10)"].append(timed(lambda: sizes_only(root)))
            runs["sha256, everything"].append(timed(lambda: hashes(root)))
            runs["00_prepare_data.py --synthetic (reused)"].append(timed(lambda: prepare(root)))
            runs['python -c "import torch"'].append(timed(lambda: subprocess.run(
                [sys.executable, "-c", "import torch"], check=True) and None))
        total = sum(p.stat().st_size for folder in (CIFAR10_DIR, HYMENOPTERA_DIR, *SPLITS)
                    for p in (root / folder).rglob("*") if p.is_file())
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}; {total / 1e6:.0f} MB of stand-in files; "
          f"best of {args.rounds} rounds")
    for name, seconds in runs.items():
        print(f"  {name:<42} {min(seconds):6.2f} s")
    return {name: min(seconds) for name, seconds in runs.items()}


if __name__ == "__main__":
    main()
