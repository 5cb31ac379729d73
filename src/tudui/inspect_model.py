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
    """``layer_shapes`` rows as a text table (name, layer type, output shape, parameters).

    Only the layer's type is shown: ``print(model)`` already shows each layer's settings.
    """
    lines = [f"{'name':<12} {'layer / 层':<12} {'output shape / 输出形状':<22} params / 参数",
             f"{'input':<12} {'':<12} {str(list(input_shape)):<22} 0"]
    for r in rows:
        kind = r["layer"].split("(", 1)[0]
        lines.append(f"{r['name']:<12} {kind:<12} {str(list(r['shape'])):<22} {r['params']:,}")
    lines.append(f"{'total':<12} {'':<12} {'':<22} {sum(r['params'] for r in rows):,}")
    return "\n".join(lines)
