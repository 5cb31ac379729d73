"""非线性激活 nn.ReLU / nn.Sigmoid / Non-linear activations — P20

视频 / Video: https://www.bilibili.com/video/BV1hE411t7RN?p=20 (P20)

你将学到 / What you learn:
- ReLU 把负数变成 0，正数不变：[[1,-0.5],[-1,3]] -> [[1,0],[0,3]]。
  ReLU turns negatives into 0 and keeps positives: [[1,-0.5],[-1,3]] -> [[1,0],[0,3]].
- Sigmoid 把任何数压到 (0,1)：1/(1+e^-x)，得 [[0.7311,0.3775],[0.2689,0.9526]]。
  Sigmoid squashes any number into (0,1): 1/(1+e^-x), giving [[0.7311,0.3775],[0.2689,0.9526]].
- inplace=True 直接改写输入（省内存，但原来的值没了）；默认 False 返回新张量，输入不变。
  inplace=True overwrites the input (saves memory, loses the original); the default False
  returns a new tensor and leaves the input alone.
- 为什么需要非线性：没有它，多层线性层叠起来仍然只是一个线性变换。
  Why non-linearity: without it, a stack of linear layers is still one linear map.
- CIFAR-10 图片的像素在 [0,1]，Sigmoid 后落在 [0.5,0.73]：图片变灰、变淡。
  CIFAR-10 pixels lie in [0,1]; after Sigmoid they lie in [0.5,0.73]: the pictures turn grey.

和视频的不同 / Differences from the video: 2x2 的例子之外补充 inplace 的对比；CIFAR10 来自 tudui.data（见
第 14 课）；SummaryWriter 写到 <--log-dir>/20_nn_relu/；--quick 只用前 256 张。
An extra compares inplace=True and False; CIFAR10 comes from tudui.data (see lesson 14);
SummaryWriter writes to <--log-dir>/20_nn_relu/; --quick uses the first 256 pictures.

运行 / Run:   python src/20_nn_relu.py              (--quick: the first 256 images only)
TensorBoard:  tensorboard --logdir logs  ->  IMAGES: "input" and "output" (after Sigmoid).
"""

from __future__ import annotations

from tudui import torch_installed  # noqa: F401  # isort: skip (one clear line without torch)
import torch
import torchvision
from torch import nn
from torch.nn import ReLU, Sigmoid
from torch.utils.data import DataLoader, Subset
from torch.utils.tensorboard import SummaryWriter

from tudui.cli import lesson_parser
from tudui.data import CIFAR10, QUICK_TEST_SIZE, cifar10_is_synthetic, synthetic_banner
from tudui.device import pick_device
from tudui.errors import friendly_errors
from tudui.tb import fresh_log_dir


class Tudui(nn.Module):
    def __init__(self):
        super().__init__()
        self.relu1 = ReLU()  # inplace=False (the default): input is left as it was
        self.sigmoid1 = Sigmoid()

    def forward(self, input):
        output = self.sigmoid1(input)  # the video first returns self.relu1(input)
        return output


@friendly_errors
def main(argv=None) -> dict:
    args = lesson_parser(__doc__).parse_args(argv)
    device = pick_device(args.device)

    input = torch.tensor([[1, -0.5],
                          [-1, 3]])
    input = torch.reshape(input, (-1, 1, 2, 2))
    print(input.shape)
    tudui = Tudui()
    relu_out, sigmoid_out = tudui.relu1(input), tudui(input)
    print(f"ReLU:\n{relu_out}\nSigmoid:\n{sigmoid_out}")

    # ---- extra: inplace=True overwrites its input
    copy = input.clone()
    ReLU(inplace=True)(copy)
    print(f"inplace=False 之后 input / input after inplace=False: {input.flatten().tolist()}")
    print(f"inplace=True 之后 input / input after inplace=True:  {copy.flatten().tolist()}")

    dataset = CIFAR10(args.data_root, train=False, download=True,
                      transform=torchvision.transforms.ToTensor())
    if cifar10_is_synthetic(args.data_root):
        print(synthetic_banner("CIFAR-10"))
    if args.quick:  # ours: the first pictures only
        dataset = Subset(dataset, range(min(QUICK_TEST_SIZE, len(dataset))))
    dataloader = DataLoader(dataset, batch_size=64)

    writer = SummaryWriter(fresh_log_dir(__file__, args.log_dir))  # the video: "../logs_relu"
    low, high = 1.0, 0.0
    step = 0
    for data in dataloader:
        imgs, targets = data
        writer.add_images("input", imgs, global_step=step)
        output = tudui(imgs.to(device))
        low, high = min(low, output.min().item()), max(high, output.max().item())
        writer.add_images("output", output, step)
        step += 1
    writer.close()
    print(f"Sigmoid 后像素范围 / pixel range after Sigmoid: [{low:.4f}, {high:.4f}], "
          f"{step} 步 / steps -> {writer.log_dir}")
    return {"relu": relu_out[0, 0].tolist(), "sigmoid": sigmoid_out[0, 0].tolist(),
            "input_after_relu": input[0, 0].tolist(), "input_after_inplace": copy[0, 0].tolist(),
            "output_range": (low, high), "steps": step, "log_dir": writer.log_dir}


if __name__ == "__main__":
    main()
