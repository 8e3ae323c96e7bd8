#!/usr/bin/env bash
# The GPU session's one prepared script: run on a CUDA machine from the repository root, with the bundle built
# here by make-bundle (a jlinked Java 25, every jar, test classes). Logs and JSON go to a work folder, packed at
# the end as $OUT/gpu-results.tgz beside $OUT/summary.txt ($OUT defaults to ./gpu-out); bench also leaves
# $OUT/split-trace.json, a Chrome trace of one training step of the two-tower split on GPU 0 (chrome://tracing).
#   bash benchmarks/gpu-check.sh [tests|bench|all|fmnist|experiments]   (default: all = tests + bench;
#     fmnist: 10 epochs of Fashion-MNIST, EPOCHS=N to change; experiments: `alexnet experiment` for each of the paper's
#     claims, EXPERIMENTS="relu-tanh lrn ..." and EXP_ARGS="..." to change, results copied to $OUT/results;
#     both need make-bundle --with-fashion-mnist)
# Prints a short summary last. Each step's time is bounded so one hang cannot eat the session (TESTS_LIMIT=seconds
# for the GPU tests, default 300; with ALEXNET_CUDA_LIBRARY pointing at the emulated driver they need about 900).
set -uo pipefail
dest=${OUT:-gpu-out}; mkdir -p "$dest"
out=$(mktemp -d /tmp/gpu-check.XXXX)
what=${1:-all}
run=".gpu-bundle/run"
bench_jar=$(ls .gpu-bundle/lib/benchmarks.jar 2>/dev/null || true)
summary=()
step() { # name, timeout seconds, command...
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS
  timeout "$limit" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  summary+=("$name: rc=$rc ($((SECONDS - t0)) s)")
  return $rc
}

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv > "$out/gpu.csv" 2>&1 ||
  echo "no nvidia-smi" > "$out/gpu.csv"
step info 60 bash $run java -jar .gpu-bundle/lib/alexnet-ffm.jar info
if [ "$what" = all ] || [ "$what" = tests ]; then
  step gpu-tests "${TESTS_LIMIT:-300}" bash $run gpu-tests --reports-dir "$out/junit"
  grep -E "tests (found|successful|failed|skipped|aborted)" "$out/gpu-tests.log" | sed 's/^[[:space:]]*//' > "$out/gpu-tests-summary.txt"
fi
if [ "$what" = all ] || [ "$what" = bench ]; then
  step jmh-launch 120 bash $run java -jar "$bench_jar" LaunchBench -rf json -rff "$out/launch.json"
  step jmh-copy 240 bash $run java -jar "$bench_jar" CopyBench -wi 2 -i 3 -rf json -rff "$out/copy.json"
  step torch-copy 120 python3 benchmarks/pytorch/copy_bandwidth.py --json "$out/torch-copy.json"
  step jmh-layers 240 bash $run java -jar "$bench_jar" LayerBench -p batch=128 -wi 2 -w 1 -i 3 -r 1 -rf json -rff "$out/layers.json"
  step jmh-forward 180 bash $run java -jar "$bench_jar" ForwardBench -wi 2 -i 3 -rf json -rff "$out/forward.json"
  step jmh-loading 90 bash $run java -jar "$bench_jar" DataLoadingBench -t 1 -wi 1 -i 3 -r 2 -rf json -rff "$out/loading.json"
  step jmh-train 120 bash $run java -jar "$bench_jar" TrainStepBench -wi 2 -i 3 -rf json -rff "$out/train.json"
  # the two-tower split against one device (two-gpus only where there are two GPUs); kept out of ours.json
  placements=one,two-logical
  [ "$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')" -ge 2 ] && placements=$placements,two-gpus
  step jmh-split 240 bash $run java -jar "$bench_jar" SplitBench -p placement=$placements -wi 2 -i 3 -rf json -rff "$out/split.json"
  step cli-split-trace 180 bash $run java -jar .gpu-bundle/lib/alexnet-ffm.jar bench --devices 0,0 --train --batch 128 \
      --trace "$out/split-trace.json"
  step cli-one-train 180 bash $run java -jar .gpu-bundle/lib/alexnet-ffm.jar bench --batch 128 --train
  [ -f "$out/split-trace.json" ] && cp "$out/split-trace.json" "$dest/split-trace.json"
  python3 - "$out/ours.json" "$out/layers.json" "$out/forward.json" "$out/train.json" <<'PY'
import json, os, sys
rows = []
for f in sys.argv[2:]:
    try:
        rows += json.load(open(f))
    except (OSError, ValueError):
        print(f"(no JMH results in {f})")
json.dump(rows, open(sys.argv[1], "w"))
PY
  step torch-alexnet 300 env PYTHONUNBUFFERED=1 python3 benchmarks/pytorch/alexnet_torch_bench.py --train --json "$out/torch.json" --ours "$out/ours.json"
  python3 benchmarks/scripts/jmh_table.py "$out/launch.json" "$out/copy.json" "$out/loading.json" "$out/split.json" > "$out/jmh-tables.md" 2>&1
fi
if [ "$what" = experiments ]; then
  # the paper's claims on Fashion-MNIST, scaled to fit a session: EXPERIMENTS (names) and EXP_ARGS (train options)
  for e in ${EXPERIMENTS:-relu-tanh lrn pooling dropout pca ten-crop}; do
    step "exp-$e" 590 bash $run java -jar .gpu-bundle/lib/alexnet-ffm.jar experiment "$e" --data fashion-mnist --device cuda \
        --out "$out/results/$e" --runs "$out/runs/$e" ${EXP_ARGS:---image-size 67 --epochs 10 --init kaiming}
    rm -rf "$out/runs/$e"   # checkpoints are large; the results folder keeps the tables, curves and charts
  done
  [ -d "$out/results" ] && cp -r "$out/results" "$dest/results"
fi
if [ "$what" = fmnist ]; then
  step fmnist 590 bash $run java -jar .gpu-bundle/lib/alexnet-ffm.jar train --data fashion-mnist --device cuda \
      --epochs "${EPOCHS:-10}" --run "$out/fmnist" ${TRAIN_ARGS:-}
  grep -E "^epoch [0-9]+:|^done|rate now" "$out/fmnist.log" > "$out/fmnist-summary.txt"
fi
{
echo "== $(date -u +%F) $(head -2 "$out/gpu.csv" | tail -1)"
printf '%s\n' "${summary[@]}"
[ -f "$out/gpu-tests-summary.txt" ] && cat "$out/gpu-tests-summary.txt"
[ -f "$out/fmnist-summary.txt" ] && cat "$out/fmnist-summary.txt"
for r in "$out"/results/*/README.md; do [ -f "$r" ] && { echo "-- $r"; grep -E "^\|" "$r"; }; done
[ -f "$out/jmh-tables.md" ] && cat "$out/jmh-tables.md"
[ -f "$out/jmh-split.log" ] && grep -E "^(placement [a-z-]+|exchange):" "$out/jmh-split.log" | sort -u
for b in cli-split-trace cli-one-train; do
  [ -f "$out/$b.log" ] && { echo "-- $b"; tail -n 15 "$out/$b.log"; }
done
[ -f "$out/torch-copy.json" ] && grep -E "deviceToDevice|Pinned" "$out/torch-copy.log" 2>/dev/null | head -12
[ -f "$out/torch-alexnet.log" ] && grep -A40 "ours ms" "$out/torch-alexnet.log" | head -40
} | tee "$out/summary.txt"
cp "$out/summary.txt" "$dest/summary.txt"
tar -C "$out" -czf "$dest/gpu-results.tgz" .
true
