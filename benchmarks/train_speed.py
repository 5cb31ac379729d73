"""Training speed: the course-style loop against the engine 27_train.py uses, side by side.

    python benchmarks/train_speed.py                  # about 1-2 minutes on a 2-core CPU
    python benchmarks/train_speed.py --accuracy 10    # also: fp32 vs --bf16 final accuracy

Measured in one process, on the same pictures, interleaved (course, engine, engine+bf16, then
again) so that a busy machine slows all of them alike; the best of ``--repeats`` rounds counts.

* course-style: ``DataLoader(dataset, 64)`` with ``ToTensor()`` (one PIL image at a time), the
  model in the default memory format, the course's loop.
* engine: ``tudui.engine`` as 27_train.py runs it (whole-batch tensors, channels-last), fp32.
* engine --bf16: the same with CPU bf16 autocast (GPU: bf16/fp16).

It also measures the machine's dense fp32 rate (the best of a large matmul and a large
channels-last convolution), counts the model's training FLOPs per image (forward + backward),
and prints the engine's share of that compute limit. Real CIFAR-10 is used when it is in
dataset/, otherwise a generated stand-in (the speed does not depend on the pictures).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tudui import engine  # noqa: E402
from tudui.data import CIFAR10, write_synthetic_cifar10  # noqa: E402
from tudui.models import Tudui  # noqa: E402
from tudui.paths import DATASET_DIR  # noqa: E402

BATCH_SIZE, LEARNING_RATE = 64, 1e-2


def load_data(root: Path | None, train_images: int, test_images: int):
    """CIFAR-10 from ``root`` (or dataset/) when it is there, else a stand-in in a temp folder."""
    from torchvision import transforms
    for folder in [root, DATASET_DIR]:
        if folder and (Path(folder) / "cifar-10-batches-py").is_dir():
            try:
                train = CIFAR10(str(folder), train=True, transform=transforms.ToTensor())
                test = CIFAR10(str(folder), train=False, transform=transforms.ToTensor())
                return train, test, str(folder)
            except (OSError, RuntimeError):
                pass
    folder = Path(tempfile.mkdtemp(prefix="tudui_bench_"))
    write_synthetic_cifar10(folder, train_images, test_images, seed=0)
    train = CIFAR10(str(folder), train=True, transform=transforms.ToTensor())
    test = CIFAR10(str(folder), train=False, transform=transforms.ToTensor())
    return train, test, f"{folder} (generated stand-in)"


def training_flops_per_image(model: nn.Module) -> float:
    """Forward FLOPs (2 per multiply-add) of convs and linears, times 3 for forward + backward,
    minus the first layer's input gradient, which nobody needs (the pictures need no gradient)."""
    forward = []

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            k = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            forward.append(2 * output[0].numel() * k)
        elif isinstance(module, nn.Linear):
            forward.append(2 * module.in_features * module.out_features)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(torch.zeros(1, 3, 32, 32))
    for h in handles:
        h.remove()
    return 3 * sum(forward) - forward[0]


def _best_rate(work, flops: float, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return flops / best


N_MATMUL = 2048
_A, _B = torch.randn(N_MATMUL, N_MATMUL), torch.randn(N_MATMUL, N_MATMUL)
_CONV = nn.Conv2d(64, 64, 5, padding=2).to(memory_format=torch.channels_last)
_X = torch.randn(64, 64, 32, 32).contiguous(memory_format=torch.channels_last)


def dense_rates() -> dict:
    """The machine's measured fp32 rate (FLOP/s): a large matmul, a large channels-last conv."""
    matmul = _best_rate(lambda: _A @ _B, 2 * N_MATMUL ** 3)
    with torch.no_grad():
        conv = _best_rate(lambda: _CONV(_X), 2 * 64 * 64 * 32 * 32 * 64 * 25)
    return {"matmul": matmul, "conv": conv}


def course_style(data, images: int) -> float:
    """The course's loop: per-image ToTensor in a DataLoader, default memory format."""
    torch.manual_seed(0)
    model, loss_fn = Tudui(), nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loader = DataLoader(Subset(data, range(images)), batch_size=BATCH_SIZE)
    model.train()
    start = time.perf_counter()
    for imgs, targets in loader:
        loss = loss_fn(model(imgs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()
    return images / (time.perf_counter() - start)


def with_engine(data, images: int, amp_dtype=None) -> float:
    """The engine as 27_train.py uses it (the loader is built outside the clock, as 27 does once)."""
    torch.manual_seed(0)
    model = engine.prepare_model(Tudui(), "cpu")
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loader = engine.make_loader(Subset(data, range(images)), BATCH_SIZE)
    result = engine.train_one_epoch(model, loader, nn.CrossEntropyLoss(), optimizer, "cpu",
                                    amp_dtype=amp_dtype)
    return result["images_per_second"]


def layer_costs(repeats: int = 5, calls: int = 20) -> dict:
    """Milliseconds per batch for Tudui's convolutions and max-pools, each layer timed alone,
    forward + backward, as the engine runs them (channels-last; the first conv computes no input
    gradient). What the rest of a step (linears, loss, optimizer, Python) may cost on top."""
    torch.manual_seed(0)
    model = engine.prepare_model(Tudui(), "cpu")
    x = torch.rand(BATCH_SIZE, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    costs = {"conv": 0.0, "max-pool": 0.0}
    for index, layer in enumerate(model.model1):
        kind = ("conv" if isinstance(layer, nn.Conv2d)
                else "max-pool" if isinstance(layer, nn.MaxPool2d) else None)
        if kind is not None:
            inputs = x.detach().requires_grad_(index > 0)
            grad = torch.randn_like(layer(inputs))

            def work(layer=layer, inputs=inputs, grad=grad):
                for _ in range(calls):
                    layer(inputs).backward(grad)

            costs[kind] += 1e3 / _best_rate(work, calls, repeats)
        with torch.no_grad():
            x = layer(x)
    return costs


def accuracy_after(train, test, epochs: int, amp_dtype=None) -> float:
    torch.manual_seed(0)
    model = engine.prepare_model(Tudui(), "cpu")
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.CrossEntropyLoss()
    train_loader, test_loader = engine.make_loader(train, 64), engine.make_loader(test, 64)
    for _ in range(epochs):
        engine.train_one_epoch(model, train_loader, loss_fn, optimizer, "cpu", amp_dtype=amp_dtype)
    return engine.evaluate(model, test_loader, loss_fn, "cpu", amp_dtype=amp_dtype)["accuracy"]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--images", type=int, default=64 * 30, help="pictures per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds; best counts")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--accuracy", type=int, default=0, metavar="EPOCHS",
                        help="also train fp32 and bf16 this many epochs and compare accuracy")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    train, test, where = load_data(args.data_root, max(args.images, 5000), 1000)
    flops = training_flops_per_image(Tudui())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, data: {where}")
    print(f"Tudui training cost: {flops / 1e6:.1f} MFLOP per image (forward + backward)")

    runs = {"dense": dense_rates, "layers": lambda: layer_costs(repeats=1),
            "course-style": lambda: course_style(train, args.images),
            "engine (fp32)": lambda: with_engine(train, args.images),
            "engine --bf16": lambda: with_engine(train, args.images, torch.bfloat16)}
    for run in runs.values():  # warm-up, not timed (oneDNN prepares its kernels on first use)
        run()
    best, rates, ratios, costs = dict.fromkeys(runs, 0.0), {"matmul": 0.0, "conv": 0.0}, [], {}
    for round_ in range(args.repeats):
        speeds = {}
        for name, run in runs.items():
            if name == "dense":
                for kind, rate in run().items():
                    rates[kind] = max(rates[kind], rate)
                continue
            if name == "layers":
                for kind, ms in run().items():
                    costs[kind] = min(costs.get(kind, float("inf")), ms)
                continue
            speeds[name] = run()
            best[name] = max(best[name], speeds[name])
        ratios.append(speeds["engine (fp32)"] / speeds["course-style"])
        print(f"  round {round_ + 1}: " + ", ".join(f"{n} {v:.0f}" for n, v in speeds.items())
              + f" images/s; engine/course {ratios[-1]:.2f}x")
    del best["dense"], best["layers"]
    rates["limit"] = max(rates["matmul"], rates["conv"])
    course = best["course-style"]
    limit_images = rates["limit"] / flops
    print(f"\ndense fp32 rate (best): matmul {rates['matmul'] / 1e9:.0f} GFLOP/s, channels-last "
          f"conv {rates['conv'] / 1e9:.0f} GFLOP/s -> limit {limit_images:.0f} images/s")
    print(f"engine/course ratio, median of the rounds: {sorted(ratios)[len(ratios) // 2]:.2f}x")
    print("best of each / 各自最好:")
    for name, speed in best.items():
        print(f"  {name:<14} {speed:7.0f} images/s   {speed / course:4.2f}x course-style   "
              f"{speed / limit_images:4.0%} of the fp32 compute limit")
    # Where the time goes: the convolutions and max-pools alone, at the speed they run, set a
    # ceiling that no training loop around them can pass.
    conv_rate = flops * BATCH_SIZE / (costs["conv"] / 1e3)
    step_ms = 1e3 * BATCH_SIZE / best["engine (fp32)"]
    ceiling = 1e3 * BATCH_SIZE / (costs["conv"] + costs["max-pool"])
    print(f"\none engine step, batch {BATCH_SIZE}: {step_ms:.1f} ms. Timed alone (best of the "
          f"rounds), its convolutions take {costs['conv']:.1f} ms ({conv_rate / 1e9:.0f} GFLOP/s, "
          f"{conv_rate / rates['limit']:.0%} of the dense rate), its max-pools "
          f"{costs['max-pool']:.1f} ms")
    print(f"ceiling with nothing but those layers: {ceiling:.0f} images/s = "
          f"{ceiling / course:.2f}x course-style, {ceiling / limit_images:.0%} of the limit; "
          f"the engine reaches {best['engine (fp32)'] / ceiling:.0%} of it")
    result = {"flops_per_image": flops, "rates": rates, "images_per_second": best,
              "layer_ms": costs, "ceiling_images_per_second": ceiling,
              "engine_ratio": best["engine (fp32)"] / course,
              "bf16_ratio": best["engine --bf16"] / course,
              "engine_share_of_limit": best["engine (fp32)"] / limit_images}
    if args.accuracy:
        fp32 = accuracy_after(train, test, args.accuracy)
        bf16 = accuracy_after(train, test, args.accuracy, torch.bfloat16)
        print(f"\naccuracy after {args.accuracy} epochs: fp32 {fp32:.4f}, bf16 {bf16:.4f} "
              f"(difference {abs(fp32 - bf16) * 100:.2f} points)")
        result.update(accuracy_fp32=fp32, accuracy_bf16=bf16)
    return result


if __name__ == "__main__":
    main()
