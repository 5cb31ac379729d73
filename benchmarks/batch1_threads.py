"""Batch size 1 (lessons 23 and 24): Tudui forward + backward + SGD step with every intra-op thread
against one, side by side in one process.

A 1-image step is a few hundred small operations of microseconds each. Splitting each one over
several threads costs more in hand-over and spin-waiting than it saves, and on a machine whose
cores are busy with other work the waiting threads make it many times slower. This script prints
ms/step for both settings and their ratio; 23 and 24 use one thread for their batch-1 loops.

    python benchmarks/batch1_threads.py [--steps 300] [--rounds 3] [--busy 1]

``--busy N`` keeps N other processes spinning meanwhile, as a browser or another program does on a
learner's laptop (and as other jobs do on a shared machine).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from tudui.models import Tudui  # noqa: E402  (after the path line above)


def ms_per_step(threads: int, steps: int) -> float:
    """Milliseconds per batch-1 training step (the loop of 24_nn_optim) with ``threads``."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    tudui, loss = Tudui(), nn.CrossEntropyLoss()
    optim = torch.optim.SGD(tudui.parameters(), lr=0.01)
    imgs, targets = torch.rand(1, 3, 32, 32), torch.tensor([3])
    for step in range(steps + 10):
        if step == 10:  # the first steps pay one-off set-up costs
            start = time.perf_counter()
        result_loss = loss(tudui(imgs), targets)
        optim.zero_grad()
        result_loss.backward()
        optim.step()
    return (time.perf_counter() - start) * 1000 / steps


def _spin() -> None:
    while True:
        pass


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; best of each")
    parser.add_argument("--busy", type=int, default=0, help="other processes spinning meanwhile")
    args = parser.parse_args(argv)
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for spinner in spinners:
        spinner.start()
    default = torch.get_num_threads()
    print(f"torch {torch.__version__}, {cpu_name()}, {os.cpu_count()} logical CPUs, "
          f"default intra-op threads: {default}, {args.busy} busy process(es) beside")
    best = {default: float("inf"), 1: float("inf")}
    try:
        for round_ in range(args.rounds):
            for threads in best:  # interleaved, so a busy moment hurts both settings alike
                ms = ms_per_step(threads, args.steps)
                best[threads] = min(best[threads], ms)
                print(f"round {round_}: {threads} thread(s) {ms:7.2f} ms/step")
    finally:
        torch.set_num_threads(default)
        for spinner in spinners:
            spinner.terminate()
            spinner.join()
    ratio = best[default] / best[1]
    print(f"best: {default} thread(s) {best[default]:.2f} ms/step, 1 thread {best[1]:.2f} ms/step, "
          f"ratio {ratio:.1f}x")
    return {"ms": best, "ratio": ratio}


if __name__ == "__main__":
    main()
