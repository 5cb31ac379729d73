"""tudui: the small helper package every lesson of this course imports.

小土堆课程的公共工具包. What a learner may open from a lesson, each module short:
``cli`` (the common flags), ``device``, ``seeding``, ``paths``, ``errors`` (CourseError,
friendly_errors), ``tb`` (where TensorBoard writes), ``data`` (CIFAR-10), ``hymenoptera`` (the
ants/bees pictures), ``models`` (the course's Tudui), ``engine`` (one epoch, the test pass),
``loaders`` (the fast DataLoader), ``training_run`` (27/30's extras around the course's loop),
``inspect_model``, ``pretrained`` (25's VGG16 weights), ``recipes`` (35), ``fast`` (36) and
``scratch`` (91-93).
The plumbing nobody needs to read (downloads, file checks, stand-ins, atomic writes, error
text...) lives in ``tudui.infra``.

Importing the package is cheap on purpose (no torch): each lesson's first import,
``from tudui import torch_installed``, runs before ``import torch`` and turns a Python without
torch into one line saying what to do instead of a ModuleNotFoundError traceback.
"""

import importlib.util
import sys

__all__ = ["cli", "data", "device", "engine", "errors", "fast", "hymenoptera", "infra",
           "inspect_model", "loaders", "models", "paths", "pretrained", "recipes", "scratch",
           "seeding", "tb", "torch_installed", "training_run"]

NO_TORCH = ("没有找到 torch：请先运行 make lessons（会创建 .venv），或者先激活它 "
            "source .venv/bin/activate（Windows: .venv\\Scripts\\activate；conda: conda activate "
            "tudui-pytorch）/ torch is not installed in {python}: run `make lessons` once (it "
            "creates .venv), or activate it with `source .venv/bin/activate` (Windows: "
            "`.venv\\Scripts\\activate`, conda: `conda activate tudui-pytorch`), then run the "
            "lesson again.")


def _torch_installed() -> bool:
    """True when torch can be imported; otherwise print NO_TORCH and exit 2.

    ``find_spec`` only looks for the package, so this costs nothing next to importing torch.
    """
    if importlib.util.find_spec("torch") is not None:
        return True
    from tudui.errors import EXIT_CODE
    from tudui.infra.console import printable_chinese
    printable_chinese(sys.stderr)
    print(NO_TORCH.format(python=sys.executable), file=sys.stderr)
    raise SystemExit(EXIT_CODE)


def _show_ctrl_c_as_one_line() -> None:
    """Ctrl-C while the heavy imports run (before a lesson's main()) prints the one-line
    interrupted message too, not a traceback; main() itself handles it in friendly_errors."""
    from tudui.infra.console import interrupted_hook
    if not getattr(sys.excepthook, "tudui", False):
        sys.excepthook = interrupted_hook(sys.excepthook)


torch_installed = _torch_installed()
_show_ctrl_c_as_one_line()
