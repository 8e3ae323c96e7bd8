#!/usr/bin/env python3
"""Turns JMH JSON results (-rf json) into Markdown tables for BENCHMARKS.md.

    python3 benchmarks/scripts/jmh_table.py launch.json copy.json

Copy benchmarks (CopyBench) get a GB/s column: bytes / time, with device-to-device counting bytes read + written.
SplitBench (one device against the two-tower split) gets its own table, a row per placement and batch: forward
and train step times, their overhead against placement "one" at the same batch, and the bytes one training step
exchanges between the towers.
"""
import json
import sys

SPLIT_PLACEMENTS = {"one": "one device", "two-logical": "two logical devices on one GPU", "two-gpus": "two GPUs"}


def split_exchange_bytes(batch):
    """Bytes one training step of the paper's network moves between the towers at this batch: ExchangePlan's sum
    for AlexNetConfig.paper() (pool2 13x13 and pool5 6x6 halves of 128 channels, fc6 and fc7 halves of 2048, one
    way each; logits' half of 500 to device 0), forward and mirrored backward; 62,640,128 at batch 128. SplitBench
    prints the plan's own figure."""
    per_image = 2 * (128 * 13 * 13 + 128 * 6 * 6 + 2048 + 2048) + 500
    return 2 * 4 * per_image * batch


def split_table(results):
    """results: {(placement, batch): {"forward"|"trainStep": (score, err, unit)}} -> Markdown lines."""
    to_ms = {"s/op": 1e3, "ms/op": 1.0, "us/op": 1e-3, "ns/op": 1e-6}

    def ms(entry):
        return None if entry is None or entry[2] not in to_ms else (entry[0] * to_ms[entry[2]], entry[1] * to_ms[entry[2]])

    def overhead(x, base):
        return "—" if x is None or base is None or base[0] == 0 else f"{(x[0] / base[0] - 1) * 100:+.1f}"

    order = list(SPLIT_PLACEMENTS)
    keys = sorted(results, key=lambda k: (int(k[1]) if str(k[1]).isdigit() else 0, order.index(k[0]) if k[0] in order else 99, k[0]))
    lines = ["| placement | batch | forward ms | train step ms | overhead vs one (%), forward / train | bytes exchanged per step |",
             "|---|---:|---:|---:|---:|---:|"]
    for placement, batch in keys:
        fwd, train = ms(results[(placement, batch)].get("forward")), ms(results[(placement, batch)].get("trainStep"))
        one = results.get(("one", batch), {})
        base_fwd, base_train = ms(one.get("forward")), ms(one.get("trainStep"))
        cell = lambda x: "—" if x is None else f"{x[0]:.2f} ± {x[1]:.2f}"
        if placement == "one":
            over, moved = "—", "—"
        else:
            over = f"{overhead(fwd, base_fwd)} / {overhead(train, base_train)}"
            moved = f"{split_exchange_bytes(int(batch)):,}" if str(batch).isdigit() else "—"
        lines.append(f"| {SPLIT_PLACEMENTS.get(placement, placement)} | {batch} | {cell(fwd)} | {cell(train)} | {over} | {moved} |")
    return lines


def rows(path):
    """The JMH results in a file; none (with a note on stderr) when a run failed and left it empty or missing."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        print(f"(no JMH results in {path})", file=sys.stderr)
        return
    yield from data


def main(paths):
    plain, copies, split = [], [], {}
    for p in paths:
        for r in rows(p):
            name = r["benchmark"].rsplit(".", 2)[-2] + "." + r["benchmark"].rsplit(".", 1)[-1]
            m = r["primaryMetric"]
            score, err, unit = m["score"], m.get("scoreError", float("nan")), m["scoreUnit"]
            params = r.get("params") or {}
            if "SplitBench" in r["benchmark"] and "placement" in params:
                key = (params["placement"], params.get("batch", "?"))
                split.setdefault(key, {})[r["benchmark"].rsplit(".", 1)[-1]] = (score, err, unit)
            elif "bytes" in params and "CopyBench" in r["benchmark"]:
                nbytes = int(params["bytes"])
                seconds = score * {"us/op": 1e-6, "ms/op": 1e-3, "ns/op": 1e-9, "s/op": 1.0}[unit]
                moved = nbytes * (2 if name.endswith("deviceToDevice") else 1)
                copies.append((name, nbytes, score, err, unit, moved / seconds / 1e9))
            else:
                extra = ", ".join(f"{k}={v}" for k, v in params.items())
                plain.append((name + (f" ({extra})" if extra else ""), score, err, unit))
    if plain:
        print("| benchmark | score | ± error | unit |")
        print("|---|---:|---:|---|")
        for name, score, err, unit in plain:
            print(f"| {name} | {score:.3f} | {err:.3f} | {unit} |")
        print()
    if copies:
        print("| copy | size | time | ± error | GB/s |")
        print("|---|---:|---:|---:|---:|")
        for name, nbytes, score, err, unit, gbs in copies:
            size = f"{nbytes / 2**20:.0f} MiB"
            print(f"| {name} | {size} | {score:.1f} {unit} | {err:.1f} | {gbs:.1f} |")
        print()
    if split:
        print("\n".join(split_table(split)))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
