"""神经网络的基本骨架 nn.Module / The skeleton of every network: nn.Module — P16

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=16 (P16)

你将学到 / What you learn:
- 自己的网络继承 nn.Module：__init__ 里先调用 super().__init__()，计算写在 forward 里。
  Your network subclasses nn.Module: call super().__init__() first in __init__, and put the
  computation in forward.
- 课程的例子：forward 返回 input + 1，输入 tensor(1.0)，输出 tensor(2.)。
  The course's example: forward returns input + 1; tensor(1.0) goes in, tensor(2.) comes out.
- tudui(x) 为什么会运行 forward：nn.Module.__call__ 先运行 hook，再调用 forward。
  所以要写 tudui(x)，不要写 tudui.forward(x)（那样会跳过 hook）。
  Why tudui(x) runs forward: nn.Module.__call__ runs the hooks, then forward. So write
  tudui(x), not tudui.forward(x), which skips the hooks.

和视频的不同 / Differences from the video: 之后多一段补充：给 tudui 注册一个 forward hook，看 tudui(x) 和
tudui.forward(x) 的区别。
An extra follows the course's code: a forward hook shows the difference between tudui(x) and
tudui.forward(x).

运行 / Run:   python src/16_nn_module.py
TensorBoard:  本课不写日志 / this lesson writes no logs.
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import torch
from torch import nn

from tudui.cli import lesson_parser
from tudui.errors import friendly_errors


class Tudui(nn.Module):
    def __init__(self):
        super().__init__()  # nn.Module's bookkeeping (parameters, hooks); without it nothing works

    def forward(self, input):
        output = input + 1
        return output


@friendly_errors
def main(argv=None) -> dict:
    lesson_parser(__doc__).parse_args(argv)

    # ---- the course (P16)
    tudui = Tudui()
    x = torch.tensor(1.0)
    output = tudui(x)
    print(output)  # tensor(2.)

    # ---- extra: __call__ = hooks + forward. A hook is a function nn.Module runs around forward;
    # later lessons (and our per-layer shape table) use them. Calling forward directly skips them.
    hook_calls = []
    tudui.register_forward_hook(lambda module, inputs, out: hook_calls.append(out.item()))
    tudui(x)
    via_call = len(hook_calls)
    tudui.forward(x)
    via_forward = len(hook_calls) - via_call
    print(f"hook 运行次数 / hook ran: tudui(x) -> {via_call}, tudui.forward(x) -> {via_forward}")
    print("所以总是写 tudui(x) / so always write tudui(x)")
    return {"output": output, "hook_calls_via_call": via_call,
            "hook_calls_via_forward": via_forward, "hook_outputs": hook_calls}


if __name__ == "__main__":
    main()
