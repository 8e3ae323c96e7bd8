#!/usr/bin/env python3
"""What the host<->device link and device memory deliver, measured with PyTorch on the same GPU as CopyBench.

    python3 benchmarks/pytorch/copy_bandwidth.py [--json out.json]

Same sizes as CopyBench; pinned and pageable host tensors; device-to-device counts bytes read + written.
Times are CUDA-event medians over many repetitions after warm-up.
"""
import argparse
import json
import statistics

import torch


def time_ms(fn, reps):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    dev = torch.device("cuda:0")
    results = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "copies": []}
    print(f"{results['device']}, torch {torch.__version__}")
    print("| copy | size | ms | GB/s |")
    print("|---|---:|---:|---:|")
    for nbytes in (1 << 20, 64 << 20, 256 << 20):
        n = nbytes // 4
        d = torch.ones(n, device=dev)
        d2 = torch.empty(n, device=dev)
        pinned = torch.ones(n).pin_memory()
        pageable = torch.ones(n)
        cases = {
            "hostToDevicePageable": (lambda: d.copy_(pageable), nbytes),
            "hostToDevicePinned": (lambda: d.copy_(pinned, non_blocking=True), nbytes),
            "deviceToHostPageable": (lambda: pageable.copy_(d), nbytes),
            "deviceToHostPinned": (lambda: pinned.copy_(d, non_blocking=True), nbytes),
            "deviceToDevice": (lambda: d2.copy_(d), 2 * nbytes),
        }
        for name, (fn, moved) in cases.items():
            ms = time_ms(fn, args.reps)
            gbs = moved / (ms * 1e-3) / 1e9
            results["copies"].append({"name": name, "bytes": nbytes, "ms": ms, "GBps": gbs})
            print(f"| {name} | {nbytes >> 20} MiB | {ms:.3f} | {gbs:.1f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
