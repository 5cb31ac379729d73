"""The helper package's shape: every module imports on its own, and no module imports one that
imports it back (``pytest tests/test_package.py`` is the check anyone can run)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tudui.paths import PACKAGE_DIR, SRC_DIR


def package_modules() -> dict[str, Path]:
    """{"tudui.infra.files": its path, ...} for every module of the package."""
    modules = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = list(path.relative_to(SRC_DIR).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its file: at the top, and inside
    functions too (an import inside a function still makes a circle, only a later one), but
    not under ``if TYPE_CHECKING:`` (never run)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()

    def visit(node) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from .conv import ...: relative to this module's package
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:  # from tudui.infra import files: a module itself
                submodule = f"{module}.{alias.name}"
                found.add(submodule if submodule in known else module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {module for module in found if module in known and module != name}


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each circle of imports once, as [a, b, ..., a]."""
    circles, seen = [], set()

    def walk(module: str, trail: list[str]) -> None:
        for target in sorted(graph[module]):
            if target in trail:
                circle = trail[trail.index(target):] + [target]
                key = frozenset(circle)
                if key not in seen:
                    seen.add(key)
                    circles.append(circle)
            elif target not in done:
                walk(target, trail + [target])
        done.add(module)

    done: set[str] = set()
    for module in sorted(graph):
        if module not in done:
            walk(module, [module])
    return circles


def test_no_module_imports_one_that_imports_it_back():
    modules = package_modules()
    graph = {name: imported_modules(name, path, set(modules)) for name, path in modules.items()}
    assert graph["tudui.errors"] >= {"tudui.infra.oserrors"}  # the reader sees imports
    assert import_circles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    circles = import_circles(graph)
    assert not circles, "import circles (move what both need to a module that imports " \
                        "neither): " + "; ".join(" -> ".join(c) for c in circles)


# One interpreter imports every module as if it were the first one imported: before each, every
# tudui module is forgotten (torch and the other libraries stay loaded: they are not ours). The
# modules come in groups, lightest first, and after each group the script notes which of the
# heavy libraries had been loaded by then.
IMPORT_EACH_ALONE = """
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
failed, loaded_after = {}, []
for group in json.loads(sys.argv[2]):
    for name in group:
        for module in [m for m in sys.modules if m == "tudui" or m.startswith("tudui.")]:
            del sys.modules[module]
        try:
            importlib.import_module(name)
        except BaseException as err:
            failed[name] = f"{type(err).__name__}: {err}"
    loaded_after.append(sorted(set(sys.argv[3:]) & set(sys.modules)))
print(json.dumps({"failed": failed, "loaded_after": loaded_after}))
"""
HEAVY = ["torch", "torchvision", "torch.utils.tensorboard", "tensorboard", "cv2"]
# What run_lessons.py and 00_prepare_data.py import: they start at once (torch is for lessons)
WITHOUT_TORCH = ["tudui", "tudui.cli", "tudui.errors", "tudui.paths", "tudui.infra.lesson_runs",
                 "tudui.infra.files", "tudui.infra.commands", "tudui.infra.downloads",
                 "tudui.infra.cifar10_files", "tudui.infra.cifar10_stand_in",
                 "tudui.infra.hymenoptera_files", "tudui.infra.markers"]


def test_every_module_imports_on_its_own():
    modules = [name for name in package_modules() if name not in WITHOUT_TORCH]
    infra = [name for name in modules if name.startswith("tudui.infra")]
    rest = [name for name in modules if name not in infra]
    proc = subprocess.run([sys.executable, "-c", IMPORT_EACH_ALONE, str(SRC_DIR),
                           json.dumps([WITHOUT_TORCH, infra, rest]), *HEAVY],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["failed"] == {}
    light, plumbing, _ = result["loaded_after"]
    assert light == [], f"one of {WITHOUT_TORCH} imports {light}"
    assert plumbing == ["torch"], "tudui.infra's docstring: no torchvision, TensorBoard or OpenCV"
