#!/usr/bin/env python3
"""Turns JMH JSON results (-rf json) into Markdown tables for BENCHMARKS.md.

    python3 benchmarks/scripts/jmh_table.py launch.json copy.json

Copy benchmarks (CopyBench) get a GB/s column: bytes / time, with device-to-device counting bytes read + written.
"""
import json
import sys


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
    plain, copies = [], []
    for p in paths:
        for r in rows(p):
            name = r["benchmark"].rsplit(".", 2)[-2] + "." + r["benchmark"].rsplit(".", 1)[-1]
            m = r["primaryMetric"]
            score, err, unit = m["score"], m.get("scoreError", float("nan")), m["scoreUnit"]
            params = r.get("params") or {}
            if "bytes" in params and "CopyBench" in r["benchmark"]:
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


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
