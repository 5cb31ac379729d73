"""Writes model files the way the course's scripts do, for tests (run as a script: ``__main__``).

``python tests/course_style_models.py OUT_DIR`` defines ``class Tudui`` here, in ``__main__``, as
the course's train_gpu_2.py / test.py do, and saves with ``torch.save(tudui, ...)`` (method 1):

* ``model.pth``      the course's model.py layout (``self.model``), pickled as ``__main__.Tudui``
* ``model1.pth``     P22's layout (``self.model1``), pickled as ``__main__.Tudui``
* ``gpu.pth``        ``self.model``, its storages tagged ``cuda:0`` as on a GPU (no GPU needed)
* ``module.pth``     ``self.model``, pickled as ``model.Tudui`` (train.py's ``from model import *``)
* ``trap26.pth``     26_model_save's Tudui (``self.conv1``), pickled as ``__main__.Tudui``
* ``*_state.pth``    the same weights as plain state_dicts (method 2)
* ``reference.pth``  inputs and each model's outputs, to compare what the loaders give back
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn


def course_layers():
    return nn.Sequential(
        nn.Conv2d(3, 32, 5, 1, 2), nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 5, 1, 2), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, 1, 2), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 4 * 4, 64), nn.Linear(64, 10))


class Tagger:
    """While ``on``, torch.save records storages as on ``cuda:0`` (what a GPU-saved file says)."""
    on = False

    @classmethod
    def tag(cls, storage):
        return "cuda:0" if cls.on else None


def save_both(tudui, name, out, reference, inputs):
    tudui.eval()
    with torch.no_grad():
        reference[name] = tudui(inputs)
    torch.save(tudui, out / f"{name}.pth")
    torch.save(tudui.state_dict(), out / f"{name}_state.pth")


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.serialization.register_package(1, Tagger.tag, lambda storage, location: None)
    inputs = torch.rand(4, 3, 32, 32)
    reference = {"inputs": inputs}

    class Tudui(nn.Module):  # the course's model.py
        def __init__(self):
            super().__init__()
            self.model = course_layers()

        def forward(self, x):
            x = self.model(x)
            return x

    tudui = Tudui()
    save_both(tudui, "model", out, reference, inputs)
    Tagger.on = True
    torch.save(tudui, out / "gpu.pth")
    Tagger.on = False
    Tudui.__module__ = "model"  # as if imported from the course's model.py (train.py)
    sys.modules["model"] = sys.modules["__main__"]
    torch.save(tudui, out / "module.pth")

    # P22's layout
    class Tudui(nn.Module):  # noqa: F811
        def __init__(self):
            super().__init__()
            self.model1 = course_layers()

        def forward(self, x):
            x = self.model1(x)
            return x

    save_both(Tudui(), "model1", out, reference, inputs)

    # 26_model_save's trap class
    class Tudui(nn.Module):  # noqa: F811
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, kernel_size=3)

        def forward(self, x):
            x = self.conv1(x)
            return x

    trap = Tudui()
    torch.save(trap, out / "trap26.pth")
    reference["trap26"] = {k: v.clone() for k, v in trap.state_dict().items()}
    torch.save(reference, out / "reference.pth")
