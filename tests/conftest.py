"""Shared test fixtures: stand-in data in temporary folders, running lessons in-process, and
reading TensorBoard event files back. Tests never touch the network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tudui.infra.cifar10_stand_in import write_synthetic_cifar10
from tudui.infra.hymenoptera_files import write_synthetic_hymenoptera
from tudui.paths import import_lesson as load_lesson  # noqa: F401 (the tests import it from here)

TEST_CIFAR_TRAIN, TEST_CIFAR_TEST = 1000, 500


def pytest_configure(config):
    """Under pytest-xdist (pyproject's ``-n auto``) each worker gets its share of the cores:
    N workers each running torch on every core would fight over them (a quick training run then
    takes 5x longer). Lessons the tests start as new processes inherit the same share."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        threads = max(1, cores // workers)
        os.environ["OMP_NUM_THREADS"] = str(threads)
        import torch

        torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Any attempt to open a socket to the outside fails at once, as on an offline laptop."""
    import socket

    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1") and \
                not host.startswith("/"):
            raise OSError(f"network disabled in tests (tried {address})")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    """A data root holding small, deterministic stand-ins of every data set the lessons use."""
    root = tmp_path_factory.mktemp("dataset")
    write_synthetic_cifar10(root, TEST_CIFAR_TRAIN, TEST_CIFAR_TEST, seed=0)
    # ants/bees in both layouts (hymenoptera_data/ and the course's train/, val/), quick size
    write_synthetic_hymenoptera(root, quick=True, seed=0)
    return root


@pytest.fixture
def log_dir(tmp_path) -> Path:
    return tmp_path / "logs"


@pytest.fixture
def run_lesson(data_root, log_dir):
    """``run_lesson("27_train", "--epochs", "2")``: call the lesson's main() in-process with the
    common test flags (stand-in data, temporary logs, CPU, --quick) and return its dict."""

    def run(name: str, *args: str, quick: bool = True) -> dict:
        argv = ["--data-root", str(data_root), "--log-dir", str(log_dir), "--device", "cpu",
                *(["--quick"] if quick else []), *args]
        return load_lesson(name).main(argv)

    return run


def read_events(folder: str | Path) -> dict:
    """Everything TensorBoard would show from ``folder``: {"scalars": {tag: [(step, value)]},
    "images": {tag: count}, "histograms": {...}, "graph": bool, "tags": {...}}."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0,
                                                       "histograms": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    return {
        "tags": tags,
        "scalars": {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in tags["scalars"]},
        "images": {t: [e.step for e in acc.Images(t)] for t in tags["images"]},
        "histograms": {t: [e.step for e in acc.Histograms(t)] for t in tags["histograms"]},
        "graph": bool(tags.get("graph")),
    }
