#!/usr/bin/env python3
"""Our training step against PyTorch's, computed independently in float64.

    python3 benchmarks/pytorch/cross_check.py CASE.safetensors [--json out.json]

CASE is written by the engine's PyTorchCrossCheckTest: the paper's network without dropout (its weights under
PyTorch's names, conv1.weight ... fc8.bias), an input batch ("input", N x 3 x 227 x 227) with its labels ("labels",
class indices stored as floats), and what our backend computed for one training step from those weights:
"ours.logits", "ours.loss", its activations ("ours.act.conv1", "ours.act.norm1", ...: each layer's output, after
the ReLU for convolutions and fully connected layers), the gradient of every parameter ("ours.grad.<name>") and
every parameter after the paper's SGD update ("ours.after.<name>"). Its metadata gives the update's lr, momentum and weight_decay, the
network's variant (activation relu or tanh; lrn paper or none; pool "window,stride") and the backend's name.

PyTorch recomputes the step in float64 with its own layers (F.conv2d, F.local_response_norm inside each tower,
F.max_pool2d, F.linear, cross-entropy, autograd) and the paper's update v = momentum * v - weight_decay * lr * w
- lr * grad, w = w + v (from v = 0). Two kinds of decisions are taken from our activations rather than from its own:
which elements a ReLU passes (ours > 0) and which element each max-pooling window picks (F.max_pool2d's indices
on our pooling input, the first maximum as ours). Where two values of a window, or a pre-activation and zero, are
closer than float32 rounding, float32 and float64 can decide differently, and one re-routed gradient then moves a
whole bias gradient by 1e-3 or more; with about a million such decisions per step that happens in a fair share of
runs, whatever the implementation. With the decisions shared, every remaining difference is rounding. For each result the relative L2 error of ours against it is printed; for the
update, that of the change (after - before), so that the unchanged bulk of w does not hide it. Exits 1 if any
error exceeds --tolerance (default 1e-4; float32 rounding of these sums is about 1e-6).
"""
import argparse
import collections
import json
import math
import struct
import sys

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:  # pragma: no cover
    sys.exit("cross_check.py needs PyTorch (pip install torch, or Debian's python3-torch)")

from alexnet_torch_bench import TowerLRN

PARAMS = [f"{layer}.{kind}" for layer in ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")
          for kind in ("weight", "bias")]


def read_safetensors(path):
    """(tensors as float64 torch tensors, metadata): a reader of its own, F32 only, which is all CASE holds."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    metadata = header.pop("__metadata__", {})
    body = data[8 + length:]
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            sys.exit(f"{path}: tensor {name} is {info['dtype']}, expected F32")
        begin, end = info["data_offsets"]
        count = math.prod(info["shape"])
        if end - begin != 4 * count:
            sys.exit(f"{path}: tensor {name} has {end - begin} bytes for shape {info['shape']}")
        t = torch.frombuffer(bytearray(body[begin:end]), dtype=torch.float32) if count else torch.zeros(0)
        tensors[name] = t.reshape(info["shape"]).double()
    return tensors, metadata


class PinnedReLU(nn.Module):
    """ReLU passing exactly the elements where our output is positive: x * mask, whose gradient is dy * mask."""

    def __init__(self, ours_output):
        super().__init__()
        self.mask = (ours_output > 0).double()

    def forward(self, x):
        return x * self.mask


class PinnedMaxPool(nn.Module):
    """Max pooling taking, in every window, the element F.max_pool2d picks from our pooling input (its first maximum,
    as ours); the gradient goes to that element (gather's backward adds overlapping windows' gradients)."""

    def __init__(self, window, stride, ours_input):
        super().__init__()
        _, self.index = F.max_pool2d(ours_input, window, stride, return_indices=True)

    def forward(self, x):
        return x.flatten(2).gather(2, self.index.flatten(2)).view(self.index.shape)


def network(classes, activation, lrn, pool, ours):
    """The paper's network, or one of its ablations: tanh for ReLU, no LRN, other pooling; no dropout. ours(name):
    our activation of that name, from which the ReLU masks and the pooling choices are taken."""
    window, stride = (int(v) for v in pool.split(","))
    act = (lambda layer: PinnedReLU(ours(layer))) if activation == "relu" else (lambda layer: nn.Tanh())
    norm = (lambda layer: TowerLRN(2)) if lrn == "paper" else (lambda layer: nn.Identity())
    pool_in = {"pool1": "norm1" if lrn == "paper" else "conv1", "pool2": "norm2" if lrn == "paper" else "conv2", "pool5": "conv5"}
    maxpool = lambda layer: PinnedMaxPool(window, stride, ours(pool_in[layer]))
    return nn.Sequential(collections.OrderedDict([
        ("conv1", nn.Conv2d(3, 96, 11, stride=4)), ("act1", act("conv1")), ("norm1", norm("norm1")), ("pool1", maxpool("pool1")),
        ("conv2", nn.Conv2d(96, 256, 5, padding=2, groups=2)), ("act2", act("conv2")), ("norm2", norm("norm2")),
        ("pool2", maxpool("pool2")),
        ("conv3", nn.Conv2d(256, 384, 3, padding=1)), ("act3", act("conv3")),
        ("conv4", nn.Conv2d(384, 384, 3, padding=1, groups=2)), ("act4", act("conv4")),
        ("conv5", nn.Conv2d(384, 256, 3, padding=1, groups=2)), ("act5", act("conv5")), ("pool5", maxpool("pool5")),
        ("flatten", nn.Flatten()),
        ("fc6", nn.Linear(256 * 6 * 6, 4096)), ("act6", act("fc6")),
        ("fc7", nn.Linear(4096, 4096)), ("act7", act("fc7")),
        ("fc8", nn.Linear(4096, classes)),
    ]))


def relative_l2(ours, want):
    den = want.norm().item()
    err = (ours - want).norm().item()
    return err / den if den > 0 else err


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", help="the case file the engine wrote")
    ap.add_argument("--tolerance", type=float, default=1e-4, help="largest relative L2 error accepted (default 1e-4)")
    ap.add_argument("--json", metavar="OUT", help="also write the errors as JSON")
    args = ap.parse_args(argv)

    t, meta = read_safetensors(args.case)
    missing = [n for n in ["input", "labels", "ours.logits", "ours.loss"] + PARAMS
               + [f"ours.grad.{p}" for p in PARAMS] + [f"ours.after.{p}" for p in PARAMS] if n not in t]
    if missing:
        sys.exit(f"{args.case}: missing tensors {missing}")
    lr, momentum, decay = (float(meta[k]) for k in ("lr", "momentum", "weight_decay"))

    variant = {k: meta.get(k, d) for k, d in (("activation", "relu"), ("lrn", "paper"), ("pool", "3,2"))}

    def ours(name):
        if f"ours.act.{name}" not in t:
            sys.exit(f"{args.case}: missing tensor ours.act.{name}")
        return t[f"ours.act.{name}"]

    model = network(t["fc8.weight"].shape[0], **variant, ours=ours).double()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.shape != t[name].shape:
                sys.exit(f"{name}: the case has shape {tuple(t[name].shape)}, PyTorch's network {tuple(p.shape)}")
            p.copy_(t[name])

    x = t["input"]
    labels = t["labels"].long()
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    model.zero_grad()
    loss.backward()

    rows = [("logits", relative_l2(t["ours.logits"], logits.detach())),
            ("loss", relative_l2(t["ours.loss"].reshape(()), loss.detach()))]
    for name, p in model.named_parameters():
        rows.append((f"grad {name}", relative_l2(t[f"ours.grad.{name}"], p.grad)))
    for name, p in model.named_parameters():
        v = -decay * lr * p.detach() - lr * p.grad  # momentum * 0 + ...
        rows.append((f"update {name}", relative_l2(t[f"ours.after.{name}"] - t[name], v)))

    print(f"ours: {meta.get('backend', '?')}; reference: PyTorch {torch.__version__}, float64, CPU; "
          + ", ".join(f"{k} {v}" for k, v in variant.items()))
    print(f"batch {x.shape[0]}, loss {loss.item():.6f} (ours {t['ours.loss'].item():.6f})")
    print("| result | relative L2 error |")
    print("|---|---:|")
    for what, err in rows:
        print(f"| {what} | {err:.2e} |")
    worst = max(rows, key=lambda r: r[1] if not math.isnan(r[1]) else math.inf)
    ok = all(err <= args.tolerance for _, err in rows)  # False for NaN
    print(f"worst: {worst[0]} {worst[1]:.2e}; tolerance {args.tolerance:.0e}: {'pass' if ok else 'FAIL'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"backend": meta.get("backend"), "torch": torch.__version__, "errors": dict(rows),
                       "tolerance": args.tolerance, "pass": ok}, f, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
