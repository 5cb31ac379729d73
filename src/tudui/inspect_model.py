"""Looking inside a model: the output shape of every layer, as a table a learner can read."""

from __future__ import annotations

import torch
from torch import nn


def layer_shapes(model: nn.Module, example: torch.Tensor) -> list[dict]:
    """Run ``example`` through ``model`` once and record every leaf layer it passes through.

    Returns one row per layer call, in order: ``{"name", "layer", "shape", "params"}`` where
    ``shape`` is the layer's output shape as a tuple and ``params`` its own parameter count.
    """
    rows: list[dict] = []
    handles = []
    for name, module in model.named_modules():
        if next(module.children(), None) is not None:
            continue  # containers (Sequential...) only pass data on; their leaves are recorded

        def record(module, _inputs, output, name=name):
            rows.append({"name": name or type(module).__name__, "layer": repr(module),
                         "shape": tuple(output.shape),
                         "params": sum(p.numel() for p in module.parameters())})

        handles.append(module.register_forward_hook(record))
    try:
        with torch.no_grad():
            model(example)
    finally:
        for handle in handles:
            handle.remove()  # hooks would otherwise fire on every later call
    return rows


def shape_table(rows: list[dict], input_shape: tuple) -> str:
    """``layer_shapes`` rows as a fixed-width text table, starting with the input's shape."""
    width = max([len(r["layer"]) for r in rows] + [len("layer / 层")])
    lines = [f"{'name':<10} {'layer / 层':<{width}}  {'output shape / 输出形状':<24} params / 参数",
             f"{'input':<10} {'':<{width}}  {str(list(input_shape)):<24} 0"]
    for r in rows:
        lines.append(f"{r['name']:<10} {r['layer']:<{width}}  {str(list(r['shape'])):<24} "
                     f"{r['params']:,}")
    lines.append(f"{'total':<10} {'':<{width}}  {'':<24} {sum(r['params'] for r in rows):,}")
    return "\n".join(lines)
