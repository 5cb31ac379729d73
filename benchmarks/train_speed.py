"""Training speed: the course-style loop against the engine 27_train.py uses, side by side.

    python benchmarks/train_speed.py                  # about 1-2 minutes on a 2-core CPU
    python benchmarks/train_speed.py --accuracy 10    # also: fp32 vs --bf16 final accuracy

Measured in one process, on the same pictures, interleaved (every run once per round, then the
next round) so that a busy machine slows all of them alike; the best of ``--repeats`` rounds
counts, and the spread of the rounds is printed as the noise.

* course-style: ``DataLoader(dataset, 64)`` with ``ToTensor()`` (one PIL image at a time), the
  model in the default memory format, the course's loop.
* engine (fp32): ``tudui.engine`` as 27_train.py runs it (whole-batch tensors, the engine's
  memory format), and the same engine in the other memory format (channels_last or contiguous),
  to show which one this CPU trains faster.
* engine --bf16: the same with CPU bf16 autocast, timed only where the CPU has native bf16
  (``torch.ops.mkldnn._is_mkldnn_bf16_supported()``); elsewhere bf16 is emulated and many times
  slower, so it is reported as "not native on this CPU" (``--bf16-anyway`` times it, labelled).
* layers alone: Tudui's convolutions and max-pools, forward + backward, on the same batches in
  the engine's memory format, with nothing around them (no loader, linears, loss or optimizer):
  a ceiling for the engine, measured the same way as the engine.

It also measures the machine's dense fp32 rate (the best of a large matmul and a large
channels-last convolution), counts the model's training FLOPs per image (forward + backward),
and prints the engine's share of that compute limit. Real CIFAR-10 is used when it is in
dataset/, otherwise a generated stand-in (the speed does not depend on the pictures).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tudui import engine, loaders  # noqa: E402
from tudui.data import CIFAR10  # noqa: E402
from tudui.errors import CourseError  # noqa: E402
from tudui.infra.cifar10_stand_in import write_synthetic_cifar10
from tudui.models import Tudui  # noqa: E402
from tudui.paths import DATASET_DIR  # noqa: E402

BATCH_SIZE, LEARNING_RATE = 64, 1e-2
COURSE, ENGINE, BF16, LAYERS = "course-style", "engine (fp32)", "engine --bf16", "layers alone"
# Wall-clock time by default; --cpu-time (with --threads 1) counts only the CPU time this process
# used, which other programs on a shared machine barely change.
clock = time.perf_counter


def bf16_native() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 BF16 or AMX); without it oneDNN emulates
    bf16 and a bf16 step is many times slower than fp32 (about 13x on an AVX2-only CPU)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a build without oneDNN
        return False


def cpu_name() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo) and torch's view of its vector units."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            name = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{name}, capability {torch.backends.cpu.get_cpu_capability()}"


def load_data(root: Path | None, train_images: int, test_images: int):
    """CIFAR-10 from ``root`` (or dataset/) when it is there, else a stand-in in a temp folder."""
    from torchvision import transforms
    for folder in [root, DATASET_DIR]:
        if folder and (Path(folder) / "cifar-10-batches-py").is_dir():
            try:
                train = CIFAR10(str(folder), train=True, transform=transforms.ToTensor())
                test = CIFAR10(str(folder), train=False, transform=transforms.ToTensor())
                return train, test, str(folder)
            except (OSError, RuntimeError, CourseError):  # damaged data: use a stand-in
                pass
    # CIFAR10 reads the batches into memory, so the stand-in's folder can go at once
    with tempfile.TemporaryDirectory(prefix="tudui_bench_") as folder:
        write_synthetic_cifar10(folder, train_images, test_images, seed=0)
        train = CIFAR10(folder, train=True, transform=transforms.ToTensor())
        test = CIFAR10(folder, train=False, transform=transforms.ToTensor())
    return train, test, "a generated stand-in"


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
        start = clock()
        work()
        best = min(best, clock() - start)
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
    start = clock()
    for imgs, targets in loader:
        loss = loss_fn(model(imgs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()
    return images / (clock() - start)


def with_engine(data, images: int, amp_dtype=None, channels_last: bool | None = None) -> float:
    """The engine as 27_train.py uses it (the loader is built outside the clock, as 27 does once);
    ``channels_last`` None: the engine's own choice of memory format."""
    torch.manual_seed(0)
    model = _engine_model(channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loader = loaders.make_loader(Subset(data, range(images)), BATCH_SIZE)
    loss_fn = nn.CrossEntropyLoss()
    start = clock()
    result = engine.train_one_epoch(model, loader, loss_fn, optimizer, "cpu", amp_dtype=amp_dtype)
    return result["images"] / (clock() - start)


def _engine_model(channels_last: bool | None = None) -> nn.Module:
    if channels_last is None:
        return engine.prepare_model(Tudui(), "cpu")
    return Tudui().to(memory_format=torch.channels_last if channels_last else
                      torch.contiguous_format)


def engine_uses_channels_last() -> bool:
    """The memory format the engine gives Tudui on this machine (channels_last or contiguous)."""
    conv = next(m for m in _engine_model().modules() if isinstance(m, nn.Conv2d))
    return conv.weight.is_contiguous(memory_format=torch.channels_last) and \
        not conv.weight.is_contiguous()


def same_batches(data, images: int, channels_last: bool) -> list[torch.Tensor]:
    """The engine's batches of the first ``images`` pictures, already in the given layout."""
    loader = loaders.make_loader(Subset(data, range(images)), BATCH_SIZE)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    return [inputs.contiguous(memory_format=layout) for inputs, _ in loader]


def layers_alone(batches: list[torch.Tensor], channels_last: bool) -> float:
    """Images/s of Tudui's convolutions and max-pools alone, forward + backward over ``batches``,
    as the engine's step runs them (the pictures need no gradient; parameters' gradients are
    fresh each step, as after zero_grad). Everything else a step does is left out, so no
    training loop over the same batches can be faster, up to the noise of the machine."""
    torch.manual_seed(0)
    model = _engine_model(channels_last)
    layers = nn.Sequential(*[m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.MaxPool2d))])
    with torch.no_grad():
        grad = torch.ones_like(layers(batches[0]))
    images = 0
    start = clock()
    for inputs in batches:
        for p in layers.parameters():
            p.grad = None
        out = layers(inputs)
        out.backward(grad[:len(inputs)])
        images += len(inputs)
    return images / (clock() - start)


def accuracy_after(train, test, epochs: int, amp_dtype=None) -> float:
    torch.manual_seed(0)
    model = _engine_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.CrossEntropyLoss()
    train_loader, test_loader = loaders.make_loader(train, 64), loaders.make_loader(test, 64)
    for _ in range(epochs):
        engine.train_one_epoch(model, train_loader, loss_fn, optimizer, "cpu", amp_dtype=amp_dtype)
    return engine.evaluate(model, test_loader, loss_fn, "cpu", amp_dtype=amp_dtype)["accuracy"]


def _spread(values: list[float]) -> float:
    """How far the rounds of one run lie apart: (best - median) / best, the noise of the run
    (the lower median, so that two rounds give their whole difference)."""
    ordered = sorted(values)
    return (ordered[-1] - ordered[(len(ordered) - 1) // 2]) / ordered[-1] if ordered else 0.0


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--images", type=int, default=64 * 30, help="pictures per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds; best counts")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--cpu-time", action="store_true",
                        help="count the CPU time this process used, not wall time (a shared "
                             "machine; meaningful with --threads 1)")
    parser.add_argument("--bf16-anyway", action="store_true",
                        help="time --bf16 also on a CPU without native bf16 (slow, labelled)")
    parser.add_argument("--accuracy", type=int, default=0, metavar="EPOCHS",
                        help="also train fp32 and bf16 this many epochs and compare accuracy")
    args = parser.parse_args(argv)
    global clock
    clock = time.process_time if args.cpu_time else time.perf_counter
    if args.threads:
        torch.set_num_threads(args.threads)
    train, test, where = load_data(args.data_root, max(args.images, 5000), 1000)
    flops = training_flops_per_image(Tudui())
    native = bf16_native()
    time_bf16 = native or args.bf16_anyway
    bf16_name = BF16 if native else f"{BF16} (emulated: not native on this CPU)"
    default_cl = engine_uses_channels_last()
    other = "contiguous" if default_cl else "channels-last"
    other_name = f"engine fp32, {other}"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU: {cpu_name()}; "
          f"{'CPU time of this process' if args.cpu_time else 'wall-clock time'}")
    print(f"data: {where}; engine memory format: "
          f"{'channels-last' if default_cl else 'contiguous'}")
    print(f"Tudui training cost: {flops / 1e6:.1f} MFLOP per image (forward + backward)")
    if not time_bf16:
        print(f"{BF16}: not native on this CPU (no AVX-512 BF16 / AMX): bf16 would be emulated, "
              "many times slower than fp32, so it is not timed (--bf16-anyway times it)")

    batches = same_batches(train, args.images, default_cl)
    runs = {"dense": dense_rates,
            COURSE: lambda: course_style(train, args.images),
            ENGINE: lambda: with_engine(train, args.images),
            other_name: lambda: with_engine(train, args.images, channels_last=not default_cl),
            LAYERS: lambda: layers_alone(batches, default_cl)}
    if time_bf16:
        runs[bf16_name] = lambda: with_engine(train, args.images, torch.bfloat16)
    for run in runs.values():  # warm-up, not timed (oneDNN prepares its kernels on first use)
        run()
    rounds = {name: [] for name in runs if name != "dense"}
    rates, ratios = {"matmul": 0.0, "conv": 0.0}, []
    for round_ in range(args.repeats):
        for name, run in runs.items():
            if name == "dense":
                for kind, rate in run().items():
                    rates[kind] = max(rates[kind], rate)
            else:
                rounds[name].append(run())
        ratios.append(rounds[ENGINE][-1] / rounds[COURSE][-1])
        print(f"  round {round_ + 1}: " + ", ".join(f"{n} {v[-1]:.0f}" for n, v in rounds.items())
              + f" images/s; engine/course {ratios[-1]:.2f}x")
    best = {name: max(values) for name, values in rounds.items()}
    noise = max(_spread(values) for values in rounds.values())
    rates["limit"] = max(rates["matmul"], rates["conv"])
    course, fp32, alone = best[COURSE], best[ENGINE], best[LAYERS]
    limit_images = rates["limit"] / flops
    print(f"\ndense fp32 rate (best): matmul {rates['matmul'] / 1e9:.0f} GFLOP/s, channels-last "
          f"conv {rates['conv'] / 1e9:.0f} GFLOP/s -> limit {limit_images:.0f} images/s")
    print(f"engine/course ratio, median of the rounds: {sorted(ratios)[len(ratios) // 2]:.2f}x; "
          f"noise: the best round of a run is up to {noise:.0%} above its median")
    print(f"best of {args.repeats} rounds / 各自最好:")
    for name, speed in best.items():
        print(f"  {name:<24} {speed:7.0f} images/s   {speed / course:4.2f}x course-style   "
              f"{speed / limit_images:4.0%} of the fp32 compute limit")
    if not time_bf16:
        print(f"  {BF16:<24} not native on this CPU: not timed")

    faster_cl = best[ENGINE] >= best[other_name] if default_cl else best[other_name] > best[ENGINE]
    cl_speed = best[ENGINE] if default_cl else best[other_name]
    nchw_speed = best[other_name] if default_cl else best[ENGINE]
    gain = max(cl_speed, nchw_speed) / min(cl_speed, nchw_speed) - 1
    # each round times both back to back, so the median of the rounds' ratios shrugs off load
    # that comes and goes between rounds
    paired = sorted(a / b for a, b in zip(rounds[ENGINE], rounds[other_name]))
    cl_over_nchw = paired[len(paired) // 2] ** (1 if default_cl else -1)
    print(f"\nmemory format, fp32, capability {torch.backends.cpu.get_cpu_capability()}: "
          f"channels-last {cl_speed:.0f}, contiguous {nchw_speed:.0f} images/s (best) -> "
          f"{'channels-last' if faster_cl else 'contiguous'} is faster by {gain:.0%}"
          + (" (within the noise)" if gain <= noise else "")
          + f"; channels-last / contiguous, median of the rounds: {cl_over_nchw:.2f}x")
    # The ceiling: the same batches through nothing but the convolutions and max-pools, timed
    # like the engine. Only when the engine stays below it is it called a ceiling.
    step_ms = 1e3 * BATCH_SIZE / fp32
    if fp32 <= alone:
        print(f"ceiling, {LAYERS} (convolutions + max-pools on the same batches): {alone:.0f} "
              f"images/s = {alone / course:.2f}x course-style, {alone / limit_images:.0%} of the "
              f"limit; the engine ({step_ms:.1f} ms per step of {BATCH_SIZE}) reaches "
              f"{fp32 / alone:.0%} of it")
    else:
        print(f"{LAYERS} (convolutions + max-pools on the same batches) {alone:.0f} images/s, "
              f"engine {fp32:.0f} images/s: the engine measured {fp32 / alone - 1:.0%} faster "
              f"than its own layers (noise here: {noise:.0%}), so no ceiling is claimed")
    result = {"flops_per_image": flops, "rates": rates, "images_per_second": best,
              "rounds": rounds, "noise": noise, "bf16_native": native,
              "bf16": "timed" if time_bf16 else "not native on this CPU",
              "engine_channels_last": default_cl,
              "faster_memory_format": "channels_last" if faster_cl else "contiguous",
              "channels_last_over_contiguous": cl_over_nchw,
              "ceiling_images_per_second": alone if fp32 <= alone else None,
              "engine_ratio": fp32 / course, "engine_share_of_limit": fp32 / limit_images}
    if time_bf16:
        result["bf16_ratio"] = best[bf16_name] / course
    if args.accuracy:
        fp32_accuracy = accuracy_after(train, test, args.accuracy)
        print(f"\naccuracy after {args.accuracy} epochs: fp32 {fp32_accuracy:.4f}", end="")
        result["accuracy_fp32"] = fp32_accuracy
        if time_bf16:
            bf16_accuracy = accuracy_after(train, test, args.accuracy, torch.bfloat16)
            print(f", bf16 {bf16_accuracy:.4f} (difference "
                  f"{abs(fp32_accuracy - bf16_accuracy) * 100:.2f} points)", end="")
            result["accuracy_bf16"] = bf16_accuracy
        print()
    return result


if __name__ == "__main__":
    main()
