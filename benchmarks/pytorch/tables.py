#!/usr/bin/env python3
"""The reports of alexnet_torch_bench.py, without PyTorch: its Markdown table, and ours beside it.

    python3 tables.py torch.json [--ours ours.json]

torch.json is what `alexnet_torch_bench.py --json` wrote (on the GPU machine, in the same run as ours);
--ours takes our timings, in that script's JSON keys or as JMH's `-rf json` output, one file or several
(JMH result files of different benchmarks are merged). benchmarks/gpu-check.sh prints the comparison this
way after each of our benchmarks, so what was measured before a time limit is still compared.
"""

from __future__ import annotations

import argparse
import json
import sys


def fmt(v, digits=3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def markdown_table(res: dict) -> str:
    b = res["batch"]
    lines = [f"### PyTorch {res['torch']}, cuDNN {res['cudnn']}, {res['device']}, {res['precision_label']}, {res['date'][:10]}",
             "",
             "| layer | batch | fwd ms (median) | fwd min | bwd ms | GFLOP | fwd TFLOP/s |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, ms in res["layers_ms"].items():
        gf = res["layers_gflop"].get(name, 0.0)
        bwd = res.get("layers_bwd_ms", {}).get(name)
        gflop = f"{gf:.1f}" if gf else ""
        tflops = f"{gf / ms:.1f}" if gf and ms else ""
        lines.append(f"| {name} | {b} | {ms:.3f} | {res['layers_min_ms'][name]:.3f} | {fmt(bwd)} | {gflop} | {tflops} |")
    gpi = res["gflop_per_image"]
    for bs, ms in res["forward_ms"].items():
        extra = res.get("forward_graph_ms", {}).get(bs)
        note = f" (graph {extra:.3f})" if extra is not None else ""
        lines.append(f"| **forward**{note} | {bs} | {ms:.3f} | {res['forward_min_ms'][bs]:.3f} |  | "
                     f"{gpi * int(bs):.1f} | {gpi * int(bs) / ms:.1f} |")
    if res.get("train_step_ms") is not None:
        tb = res["train_batch"]
        lines.append(f"| **train step** | {tb} | {res['train_step_ms']:.3f} | {res['train_step_min_ms']:.3f} |  | "
                     f"{3 * gpi * tb:.1f} | {3 * gpi * tb / res['train_step_ms']:.1f} |")
    lines.append("")
    lines.append(f"Forward work {gpi:.3f} GFLOP per image; a train step is counted as 3x that (forward, and the "
                 f"data and weight gradients). "
                 f"Median of {res['reps']} after {res['warmup']} warm-up repetitions.")
    return "\n".join(lines)


JMH_UNITS_TO_MS = {"s/op": 1e3, "ms/op": 1.0, "us/op": 1e-3, "ns/op": 1e-6}


def load_ours(path: str) -> dict:
    """Our timings: this script's JSON keys, or JMH's `-rf json` list (see README.md for the mapping)."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, dict):
        return data
    out = {"forward_ms": {}, "layers_ms": {}, "layers_bwd_ms": {}, "train_step_ms": None}
    for r in data:
        metric = r.get("primaryMetric", {})
        score, unit = metric.get("score"), metric.get("scoreUnit", "")
        if score is None:
            continue
        if unit in JMH_UNITS_TO_MS:
            ms = score * JMH_UNITS_TO_MS[unit]
        elif unit.startswith("ops/"):
            per = {"ops/s": 1e3, "ops/ms": 1.0, "ops/us": 1e-3, "ops/ns": 1e-6}.get(unit)
            if per is None or score == 0:
                continue
            ms = per / score
        else:
            continue
        method = r.get("benchmark", "").rsplit(".", 1)[-1].lower()
        params = r.get("params", {}) or {}
        if "layer" in params:
            key = "layers_bwd_ms" if "backward" in method else "layers_ms"
            out[key][params["layer"]] = ms
        elif "train" in method:
            out["train_step_ms"] = ms
        elif method == "forwardgraph" and "batch" in params:
            out.setdefault("forward_graph_ms", {})[str(params["batch"])] = ms
        elif "forward" in method and "batch" in params:
            out["forward_ms"][str(params["batch"])] = ms
    return out


def comparison_table(ours: dict, res: dict) -> str:
    rows = []
    for name, ms in res["layers_ms"].items():
        rows.append((name, ours.get("layers_ms", {}).get(name), ms))
    for name, ms in res.get("layers_bwd_ms", {}).items():
        rows.append((name + " bwd", ours.get("layers_bwd_ms", {}).get(name), ms))
    for bs, ms in res["forward_ms"].items():
        rows.append((f"forward b{bs}", ours.get("forward_ms", {}).get(bs), ms))
    for bs, ms in res.get("forward_graph_ms", {}).items():  # both sides' forward replayed as one CUDA graph
        rows.append((f"forward b{bs} CUDA graph", ours.get("forward_graph_ms", {}).get(bs), ms))
    if res.get("train_step_ms") is not None:
        rows.append((f"train step b{res['train_batch']}", ours.get("train_step_ms"), res["train_step_ms"]))
    lines = ["| layer | ours ms | PyTorch ms | ratio ours/PyTorch |", "|---|---:|---:|---:|"]
    for name, o, t in rows:
        ratio = f"{o / t:.2f}" if o is not None and t else "–"
        lines.append(f"| {name} | {fmt(o)} | {fmt(t)} | {ratio} |")
    lines.append("")
    lines.append("ratio > 1: ours is slower. Our conv and fc rows include the ReLU fused into them (PyTorch times "
                 "it on its own row), and our backward rows are the data and weight gradients (weight with bias); "
                 "the convolutions' ReLU gradients are applied by the op below them in the backward pass (conv4's "
                 "data gradient for relu3, LRN or pooling for the others), so PyTorch's relu1..relu5 bwd rows have "
                 "no counterpart of ours. Compare only numbers measured on the same card.")
    return "\n".join(lines)


def load_all_ours(paths: list[str]) -> dict:
    """Our timings from several files (JMH results of different benchmarks, or this script's keys), merged."""
    merged = {"forward_ms": {}, "forward_graph_ms": {}, "layers_ms": {}, "layers_bwd_ms": {}, "train_step_ms": None}
    for path in paths:
        try:
            ours = load_ours(path)
        except (OSError, ValueError) as e:
            print(f"(no timings read from {path}: {e})", file=sys.stderr)
            continue
        for key in ("forward_ms", "forward_graph_ms", "layers_ms", "layers_bwd_ms"):
            merged[key].update(ours.get(key) or {})
        if ours.get("train_step_ms") is not None:
            merged["train_step_ms"] = ours["train_step_ms"]
    return merged


def report(res: dict, ours_paths: list[str] | None) -> str:
    """PyTorch's table and, given our timing files, ours beside it."""
    text = markdown_table(res)
    if ours_paths:
        text += (f"\n\n### alexnet-ffm ({', '.join(ours_paths)}) vs PyTorch, {res['device']}\n\n"
                 + comparison_table(load_all_ours(ours_paths), res))
    return text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("torch_json", help="what alexnet_torch_bench.py --json wrote")
    p.add_argument("--ours", nargs="+", metavar="JSON", default=[], help="our timings: JMH -rf json files or this script's keys")
    a = p.parse_args(argv)
    with open(a.torch_json, encoding="utf-8") as f:
        res = json.load(f)
    print(report(res, a.ours))
    return 0


if __name__ == "__main__":
    sys.exit(main())
