#!/usr/bin/env python3
"""Times PyTorch + cuDNN on the paper's AlexNet, the same shapes as the alexnet-ffm JMH benchmarks.

The network is the one shared/DESIGN.md describes (Krizhevsky et al. 2012, two towers as groups):

    conv1  96 x 11x11x3, stride 4          -> 96x55x55    relu1, norm1 (LRN), pool1 3/2 -> 96x27x27
    conv2 256 x 5x5x48,  pad 2, groups 2   -> 256x27x27   relu2, norm2, pool2 -> 256x13x13
    conv3 384 x 3x3x256, pad 1             -> 384x13x13   relu3   (sees both towers)
    conv4 384 x 3x3x192, pad 1, groups 2   -> 384x13x13   relu4
    conv5 256 x 3x3x192, pad 1, groups 2   -> 256x13x13   relu5, pool5 -> 256x6x6
    fc6 9216 -> 4096, relu6, drop6 0.5;  fc7 4096 -> 4096, relu7, drop7;  fc8 4096 -> 1000

LRN is the paper's b = a / (k + alpha * sum_window a^2)^beta with n=5, k=2, alpha=1e-4, beta=0.75.
torch's LocalResponseNorm divides alpha by n, so it is given alpha * n = 5e-4. As in DESIGN.md the
window stays inside a tower's channels (a free reshape to N*2 x C/2 x H x W); --lrn-cross-towers
gives the single-tower window that plain PyTorch AlexNet code uses.

Precision: FP32 with TF32 off (the default, the mode alexnet-ffm is compared in), or --precision tf32 /
bf16 (autocast) for the other rows of DESIGN.md's anchor table. cudnn.benchmark is on.

Measured, each as the median of --reps timed repetitions after --warmup untimed ones, with CUDA events
around every repetition (repetitions are issued back to back; the time is GPU-stream time between the
two events, so a host-bound repetition includes the idle gaps the host leaves):
  (a) every layer's forward alone at --batch (conv includes its bias; ReLU on its own row; dropout in
      training mode, since in inference it is the identity and launches nothing),
      and with --layer-backward each layer's backward (input gradient except for conv1, plus weight
      and bias gradients);
  (b) the whole inference forward (eval mode, no_grad) at each of --forward-batches (1, 32, 128),
      and with --graph the same replayed from a CUDA graph;
  (c) with --train, the training step at --train-batch (128): zero_grad, forward, cross-entropy,
      backward, SGD momentum 0.9, weight decay 5e-4.

Usage (on the GPU machine, next to the JMH run):
    python3 alexnet_torch_bench.py --json torch.json [--train] [--ours ours.json]
--ours takes our own timings, in this script's JSON keys or as JMH's -rf json output (see README.md),
and prints layer | ours ms | PyTorch ms | ratio ours/PyTorch.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime
import json
import math
import platform
import statistics
import sys
import time
import warnings

from tables import report

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - a clear message instead of a traceback
    sys.exit("alexnet_torch_bench.py needs PyTorch (pip install torch); see benchmarks/pytorch/README.md")

INPUT = 227
CLASSES = 1000
# The paper's LRN constants, in the paper's convention (alpha not divided by n).
LRN_SIZE, LRN_K, LRN_ALPHA, LRN_BETA = 5, 2.0, 1e-4, 0.75


class TowerLRN(nn.Module):
    """Local response normalisation across channels with the window kept inside each tower.

    (N, C, H, W) is viewed as (N * towers, C / towers, H, W): each tower's channels are contiguous in
    NCHW, so this is a free view, and the window (zero-padded at the ends, as the paper clamps it)
    never reaches into the other tower. towers=1 is torch's plain LocalResponseNorm.
    """

    def __init__(self, towers: int = 2, size: int = LRN_SIZE, alpha: float = LRN_ALPHA,
                 beta: float = LRN_BETA, k: float = LRN_K):
        super().__init__()
        self.towers, self.size, self.alpha, self.beta, self.k = towers, size, alpha, beta, k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        t = self.towers
        # torch divides alpha by size; the paper does not.
        y = F.local_response_norm(x.reshape(n * t, c // t, h, w), self.size,
                                  alpha=self.alpha * self.size, beta=self.beta, k=self.k)
        return y.reshape(n, c, h, w)

    def extra_repr(self) -> str:
        return (f"towers={self.towers}, size={self.size}, alpha={self.alpha} (paper's), "
                f"beta={self.beta}, k={self.k}")


def alexnet(lrn_towers: int = 2) -> nn.Sequential:
    """The paper's network as one nn.Sequential whose module names are the layer names."""
    m = collections.OrderedDict([
        ("conv1", nn.Conv2d(3, 96, 11, stride=4)),
        ("relu1", nn.ReLU(inplace=True)),
        ("norm1", TowerLRN(lrn_towers)),
        ("pool1", nn.MaxPool2d(3, 2)),
        ("conv2", nn.Conv2d(96, 256, 5, padding=2, groups=2)),
        ("relu2", nn.ReLU(inplace=True)),
        ("norm2", TowerLRN(lrn_towers)),
        ("pool2", nn.MaxPool2d(3, 2)),
        ("conv3", nn.Conv2d(256, 384, 3, padding=1)),
        ("relu3", nn.ReLU(inplace=True)),
        ("conv4", nn.Conv2d(384, 384, 3, padding=1, groups=2)),
        ("relu4", nn.ReLU(inplace=True)),
        ("conv5", nn.Conv2d(384, 256, 3, padding=1, groups=2)),
        ("relu5", nn.ReLU(inplace=True)),
        ("pool5", nn.MaxPool2d(3, 2)),
        ("flatten", nn.Flatten()),
        ("fc6", nn.Linear(256 * 6 * 6, 4096)),
        ("relu6", nn.ReLU(inplace=True)),
        ("drop6", nn.Dropout(0.5)),
        ("fc7", nn.Linear(4096, 4096)),
        ("relu7", nn.ReLU(inplace=True)),
        ("drop7", nn.Dropout(0.5)),
        ("fc8", nn.Linear(4096, CLASSES)),
    ])
    model = nn.Sequential(m)
    # The paper's initialisation: weights N(0, 0.01^2); biases 1 in conv2, conv4, conv5, fc6, fc7, else 0.
    with torch.no_grad():
        for name, mod in model.named_children():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                mod.weight.normal_(0.0, 0.01)
                mod.bias.fill_(1.0 if name in ("conv2", "conv4", "conv5", "fc6", "fc7") else 0.0)
    return model


def check_lrn(device: torch.device) -> float:
    """Max |TowerLRN - the paper's formula| in float64; the window must stay inside each tower."""
    x = torch.randn(2, 96, 3, 4, device=device, dtype=torch.float64)
    y = TowerLRN(2)(x)
    ref = torch.empty_like(x)
    half = 48
    for t in range(2):
        a = x[:, t * half:(t + 1) * half]
        for i in range(half):
            lo, hi = max(0, i - LRN_SIZE // 2), min(half - 1, i + LRN_SIZE // 2)
            s = (a[:, lo:hi + 1] ** 2).sum(1)
            ref[:, t * half + i] = a[:, i] / (LRN_K + LRN_ALPHA * s) ** LRN_BETA
    return (y - ref).abs().max().item()


# Output shape (C, H, W) or (F,) after each layer, for a check before anything is timed.
EXPECTED_SHAPES = {
    "conv1": (96, 55, 55), "pool1": (96, 27, 27), "conv2": (256, 27, 27), "pool2": (256, 13, 13),
    "conv3": (384, 13, 13), "conv4": (384, 13, 13), "conv5": (256, 13, 13), "pool5": (256, 6, 6),
    "fc6": (4096,), "fc7": (4096,), "fc8": (CLASSES,),
}


def layer_flops(mod: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Multiply-adds x 2 of a convolution or linear layer (0 for the others)."""
    if isinstance(mod, nn.Conv2d):
        n, k, p, q = y.shape
        r, s = mod.kernel_size
        return 2.0 * n * k * p * q * (mod.in_channels // mod.groups) * r * s
    if isinstance(mod, nn.Linear):
        return 2.0 * x.shape[0] * mod.in_features * mod.out_features
    return 0.0


# ---------------------------------------------------------------------------------------- settings

def set_precision(precision: str) -> None:
    tf32 = precision == "tf32"
    with warnings.catch_warnings():
        # torch >= 2.9 prefers fp32_precision = "ieee" / "tf32" and warns about these flags, which
        # still set the same thing. Do not also set the new API: once it is set, reading these flags
        # raises, and code elsewhere that reads them would break.
        warnings.simplefilter("ignore")
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True


def precision_state() -> dict:
    state = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for key, get in (("matmul.allow_tf32", lambda: torch.backends.cuda.matmul.allow_tf32),
                         ("cudnn.allow_tf32", lambda: torch.backends.cudnn.allow_tf32),
                         ("fp32_precision", lambda: torch.backends.fp32_precision),
                         ("matmul.fp32_precision", lambda: torch.backends.cuda.matmul.fp32_precision),
                         ("cudnn.fp32_precision", lambda: torch.backends.cudnn.fp32_precision),
                         ("cudnn.conv.fp32_precision", lambda: torch.backends.cudnn.conv.fp32_precision),
                         ("cudnn.benchmark", lambda: torch.backends.cudnn.benchmark)):
            try:
                state[key] = get()
            except Exception:  # a setting this torch does not have (older ones raise AssertionError, not AttributeError)
                pass
    return state


def cudnn_version() -> str | None:
    v = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    if not v:
        return None
    if v >= 90000:  # cuDNN 9: major * 10000 + minor * 100 + patch
        return f"{v // 10000}.{v % 10000 // 100}.{v % 100}"
    return f"{v // 1000}.{v % 1000 // 100}.{v % 100}"


# ------------------------------------------------------------------------------------------ timing

class Timer:
    def __init__(self, device: torch.device, reps: int, warmup: int):
        self.device, self.reps, self.warmup = device, reps, warmup
        self.cuda = device.type == "cuda"

    def run(self, fn) -> list[float]:
        """Milliseconds of each of the timed repetitions of fn()."""
        reps = self.reps
        for _ in range(self.warmup):
            fn()
        if not self.cuda:  # a smoke run on a machine without a GPU: wall time, not meaningful
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1e3)
            return times
        torch.cuda.synchronize()
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
        for i in range(reps):
            starts[i].record()
            fn()
            ends[i].record()
        torch.cuda.synchronize()
        return [s.elapsed_time(e) for s, e in zip(starts, ends)]


def summary(times: list[float]) -> dict:
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "n": len(times)}


def autocast(precision: str, device: torch.device):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ measurements

def layer_inputs(model: nn.Sequential, batch: int, device: torch.device) -> dict:
    """Each layer's input at `batch`, from one eval-mode pass over a random image batch; checks shapes."""
    x = torch.randn(batch, 3, INPUT, INPUT, device=device)
    inputs = {}
    with torch.no_grad():
        for name, mod in model.named_children():
            inputs[name] = x.clone()
            x = mod(x)
            want = EXPECTED_SHAPES.get(name)
            if want is not None and tuple(x.shape[1:]) != want:
                raise SystemExit(f"{name} gives {tuple(x.shape)}, expected (N, {want}): the model is not the paper's")
    return inputs


def bench_layers(model, timer, batch, precision, device, backward: bool):
    """Forward (and optionally backward) of each layer alone; returns {name: summary}, flops."""
    inputs = layer_inputs(model, batch, device)
    fwd, bwd, flops = {}, {}, {}
    for name, mod in model.named_children():
        if name == "flatten":  # a view: no kernel
            continue
        x = inputs[name]
        train_only = isinstance(mod, nn.Dropout)
        mod.train(train_only)
        with torch.no_grad():
            y0 = mod(x.clone())
        flops[name] = layer_flops(mod, x, y0)

        def forward(mod=mod, x=x):
            with torch.no_grad(), autocast(precision, device):
                return mod(x)  # in-place ReLU on x: idempotent after the first call

        fwd[name] = summary(timer.run(forward))
        log(f"  {name:6s} forward  {fwd[name]['median']:8.3f} ms")
        if backward:
            bmod = nn.ReLU() if isinstance(mod, nn.ReLU) else mod  # autograd keeps no in-place output
            xin = x.detach().clone().requires_grad_(name != "conv1")  # nothing needs d(loss)/d(image)
            with autocast(precision, device):
                y = bmod(xin)
            g = torch.randn_like(y)
            wrt = ([xin] if xin.requires_grad else []) + [p for p in bmod.parameters()]

            def backward_fn(y=y, wrt=wrt, g=g):
                return torch.autograd.grad(y, wrt, g, retain_graph=True)

            bwd[name] = summary(timer.run(backward_fn))
            log(f"  {name:6s} backward {bwd[name]['median']:8.3f} ms")
        mod.eval()
    return fwd, bwd, flops


def bench_forward(model, timer, batch, precision, device, graph: bool):
    model.eval()
    x = torch.randn(batch, 3, INPUT, INPUT, device=device)

    def forward():
        with torch.no_grad(), autocast(precision, device):
            return model(x)

    eager = summary(timer.run(forward))
    log(f"  forward batch {batch:4d}          {eager['median']:8.3f} ms")
    graphed = None
    if graph and device.type == "cuda":
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):  # algorithm choice and allocations happen before capture
                forward()
        torch.cuda.current_stream().wait_stream(side)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            forward()
        graphed = summary(timer.run(g.replay))
        log(f"  forward batch {batch:4d} CUDA graph {graphed['median']:8.3f} ms")
    return eager, graphed


def bench_train(lrn_towers, timer, batch, precision, device):
    model = alexnet(lrn_towers).to(device)
    model.train()
    # torch's SGD: v = 0.9 v + (g + 5e-4 w); w -= lr v. The paper's v = 0.9 v - 5e-4 lr w - lr g;
    # w += v is the same update while lr is constant.
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(batch, 3, INPUT, INPUT, device=device)
    target = torch.randint(0, CLASSES, (batch,), device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        with autocast(precision, device):
            loss = loss_fn(model(x), target)
        loss.backward()
        opt.step()

    s = summary(timer.run(step))
    log(f"  train step batch {batch:4d}       {s['median']:8.3f} ms")
    return s


# ------------------------------------------------------------------------------------------- main

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=128, help="batch of the per-layer timings (default 128)")
    p.add_argument("--forward-batches", default="1,32,128", help="batches of the whole forward (default 1,32,128)")
    p.add_argument("--reps", type=int, default=100, help="timed repetitions, median reported (default 100)")
    p.add_argument("--warmup", type=int, default=20, help="untimed repetitions first (default 20)")
    p.add_argument("--train", action="store_true", help="also time the training step")
    p.add_argument("--train-batch", type=int, default=128, help="batch of the training step (default 128)")
    p.add_argument("--layer-backward", action="store_true", help="also time each layer's backward")
    p.add_argument("--graph", action="store_true", help="also time the forward replayed from a CUDA graph")
    p.add_argument("--no-layers", action="store_true", help="skip the per-layer timings")
    p.add_argument("--precision", choices=("fp32", "tf32", "bf16"), default="fp32",
                   help="fp32 with TF32 off (default), tf32, or bf16 autocast")
    p.add_argument("--lrn-cross-towers", action="store_true",
                   help="LRN window over all channels (single-tower code) instead of inside each tower")
    p.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu for a smoke run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="OUT", help="write the results as JSON")
    p.add_argument("--ours", nargs="+", metavar="JSON", help="our timings (same keys, or JMH -rf json; several files are merged) to compare with")
    a = p.parse_args(argv)
    try:
        a.forward_batches = [int(b) for b in a.forward_batches.split(",") if b.strip()]
    except ValueError:
        p.error(f"--forward-batches wants comma-separated integers, got {a.forward_batches!r}")
    if min([a.batch, a.reps, a.train_batch] + a.forward_batches) <= 0:
        p.error("batches and --reps must be positive")
    if a.warmup < 0:
        p.error("--warmup must be >= 0")
    return a


def main(argv=None) -> int:
    a = parse_args(argv)
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device visible to PyTorch (torch.cuda.is_available() is False); "
                 "run on the GPU machine, or pass --device cpu for a smoke run whose times mean nothing")
    torch.manual_seed(a.seed)
    set_precision(a.precision)
    towers = 1 if a.lrn_cross_towers else 2
    label = {"fp32": "FP32 (TF32 off)", "tf32": "TF32", "bf16": "BF16 autocast"}[a.precision]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({platform.processor() or platform.machine()})"
    log(f"{name}; torch {torch.__version__}; cuDNN {cudnn_version()}; {label}; LRN "
        f"{'across towers' if towers == 1 else 'inside each tower'}")

    err = check_lrn(device)
    if err > 1e-12:
        sys.exit(f"TowerLRN differs from the paper's LRN by {err:g}: the alpha convention is wrong")

    model = alexnet(towers).to(device).eval()
    timer = Timer(device, a.reps, a.warmup)
    res = {
        "device": name,
        "torch": torch.__version__,
        "cudnn": cudnn_version(),
        "cuda": torch.version.cuda,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "precision": a.precision,
        "precision_label": label,
        "settings": precision_state(),
        "lrn": "cross-towers" if towers == 1 else "per-tower",
        "batch": a.batch,
        "reps": a.reps,
        "warmup": a.warmup,
        "forward_ms": {}, "forward_min_ms": {},
        "layers_ms": {}, "layers_min_ms": {}, "layers_gflop": {},
        "train_step_ms": None,
    }

    if not a.no_layers:
        log(f"layers, batch {a.batch}:")
        fwd, bwd, flops = bench_layers(model, timer, a.batch, a.precision, device, a.layer_backward)
        res["layers_ms"] = {k: v["median"] for k, v in fwd.items()}
        res["layers_min_ms"] = {k: v["min"] for k, v in fwd.items()}
        res["layers_gflop"] = {k: v / 1e9 for k, v in flops.items()}
        if bwd:
            res["layers_bwd_ms"] = {k: v["median"] for k, v in bwd.items()}
    # Forward work per image from the layer shapes at batch 1.
    one = layer_inputs(model, 1, device)
    with torch.no_grad():
        res["gflop_per_image"] = sum(layer_flops(m, one[n], m(one[n].clone()))
                                     for n, m in model.named_children()) / 1e9

    log("whole forward:")
    graphs = {}
    for b in a.forward_batches:
        eager, graphed = bench_forward(model, timer, b, a.precision, device, a.graph)
        res["forward_ms"][str(b)] = eager["median"]
        res["forward_min_ms"][str(b)] = eager["min"]
        if graphed:
            graphs[str(b)] = graphed["median"]
    if graphs:
        res["forward_graph_ms"] = graphs

    if a.train:
        log("training step:")
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
        s = bench_train(towers, timer, a.train_batch, a.precision, device)
        res["train_step_ms"] = s["median"]
        res["train_step_min_ms"] = s["min"]
        res["train_batch"] = a.train_batch

    if device.type == "cuda":
        res["peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2 ** 30

    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=2)
            f.write("\n")
        log(f"wrote {a.json}")

    print(report(res, a.ours))
    return 0


if __name__ == "__main__":
    sys.exit(main())
