#!/usr/bin/env bash
# Every check that needs a GPU, in one script: run on a CUDA machine from the repository root, beside the bundle
# that scripts/gpu-bundle makes (a Java runtime, every jar, the compiled tests; the machine needs no JDK).
#   bash benchmarks/gpu-check.sh [WHAT ...]      (default: all)
#     all           tests, then bench
#     tests         every gpu-tagged JUnit test (TESTS_LIMIT seconds at most, default 300)
#     bench         the benchmark steps below, most important first: torch forward train profile winograd launch
#                   split layers copy loading; each can also be named alone
#       torch       PyTorch + cuDNN on the same network: every layer forward and backward, forward at batch
#                   1/32/128, the training step (benchmarks/pytorch/alexnet_torch_bench.py)
#       forward     ForwardBench (batch 1, 32, 128; eager and as a CUDA graph)   train  TrainStepBench (batch 128)
#       profile     `alexnet bench --profile`: every op of a batch-128 forward and training step, device-timed (the
#                   step's per-layer backward times go into the comparison with PyTorch's)
#       winograd    the same two profiles with conv3-5 and their gradients by Winograd (ALEXNET_WINOGRAD=1)
#       launch      LaunchBench                             split     SplitBench, and one traced split step
#       layers      LayerBench at batch 128                 copy      CopyBench and PyTorch's copies
#       loading     DataLoadingBench (decoding and augmentation, images/s per core)
#     sanitize      compute-sanitizer memcheck and racecheck around one batch-2 training step with the convolutions
#                   tuned (so that every row tile of every conv kernel runs), memcheck around it with Winograd, and
#                   memcheck around the split's step
#     fmnist        10 epochs of Fashion-MNIST, once per initialisation (FMNIST_INITS, default "paper kaiming";
#                   EPOCHS=N, TRAIN_ARGS="..."); needs scripts/gpu-bundle --with-fashion-mnist,
#                   then scripts/slim-gpu-bundle (it drops the benchmark jars, so that the data set fits in a 64 MiB copy)
#     experiments   `alexnet experiment` for each of the paper's claims (EXPERIMENTS="relu-tanh lrn ...",
#                   EXP_ARGS="..."); results copied to $OUT/results; the same bundle as fmnist
# The whole script keeps within BUDGET seconds (default 570: under the device's 600 s per command): each step's
# limit is cut to what is left, less 20 s for the report, and a step that cannot have 30 s is skipped and listed
# as such. After every step $OUT/summary.txt (the report) and $OUT/gpu-results.tgz (every log and JSON) are
# rewritten, so a run stopped at its limit still returns all it finished (checkpoints stay out: too large). $OUT defaults to ./gpu-out; the report
# has the GPU tests' counts, ours against PyTorch (benchmarks/pytorch/tables.py), the op profiles, the JMH tables.
set -uo pipefail
start=$SECONDS
budget=${BUDGET:-570}
dest=${OUT:-gpu-out}; mkdir -p "$dest"
out=$(mktemp -d /tmp/gpu-check.XXXX)
run=".gpu-bundle/run"
jar=.gpu-bundle/lib/alexnet-ffm.jar
bench_jar=.gpu-bundle/lib/benchmarks.jar
bench_steps="torch forward train profile winograd launch split layers copy loading"
summary=()

what=()
for w in "${@:-all}"; do
  case "$w" in
    all) what+=(tests $bench_steps);;
    bench) what+=($bench_steps);;
    tests|sanitize|fmnist|experiments|torch|forward|train|profile|winograd|launch|split|layers|copy|loading) what+=("$w");;
    *) echo "gpu-check.sh: unknown step '$w' (see the header of this script)" >&2; exit 2;;
  esac
done
[ -d .gpu-bundle ] || { echo "gpu-check.sh: no .gpu-bundle here: make it with scripts/gpu-bundle on a machine with a JDK 25 and copy it here" >&2; exit 2; }
if [ ! -f $bench_jar ] && printf '%s\n' "${what[@]}" | grep -qxE 'forward|train|launch|split|layers|copy|loading'; then
  echo "gpu-check.sh: $bench_jar is missing (a bundle slimmed for training?): the JMH steps need a full bundle" >&2; exit 2
fi

# The report, rewritten after every step.
report() {
  {
    echo "== $(date -u +%F) $(head -2 "$out/gpu.csv" | tail -1) ($((SECONDS - start)) s of $budget)"
    printf '%s\n' "${summary[@]}"
    [ -f "$out/gpu-tests-summary.txt" ] && cat "$out/gpu-tests-summary.txt"
    [ -f "$out/fmnist-summary.txt" ] && cat "$out/fmnist-summary.txt"
    for r in "$out"/results/*/README.md; do [ -f "$r" ] && { echo "-- $r"; grep -E "^\|" "$r"; }; done
    if [ -f "$out/torch.json" ]; then
      # later files win: the JMH figures over the profile's single call
      python3 benchmarks/pytorch/tables.py "$out/torch.json" --ours $(ls "$out"/{profile-train,forward,train,layers}.json 2>/dev/null) 2>&1
    fi
    for p in profile-forward profile-train winograd-forward winograd-train; do
      [ -f "$out/$p.log" ] && { echo "-- $p"; sed -n '/^median/,$p' "$out/$p.log"; }
    done
    local jmh=$(ls "$out"/{launch,copy,loading,split}.json 2>/dev/null)
    [ -n "$jmh" ] && python3 benchmarks/scripts/jmh_table.py $jmh 2>&1
    [ -f "$out/jmh-split.log" ] && grep -E "^(placement [a-z-]+|exchange):" "$out/jmh-split.log" | sort -u
    [ -f "$out/cli-split-trace.log" ] && { echo "-- cli-split-trace"; tail -n 8 "$out/cli-split-trace.log"; }
    [ -f "$out/torch-copy.log" ] && grep -E "deviceToDevice|Pinned" "$out/torch-copy.log" | head -12
    for f in "$out"/sanitize-*.log; do [ -f "$f" ] && { echo "-- $(basename "$f" .log)"; grep -E "ERROR SUMMARY|Invalid|Race|Hazard" "$f" | head -12; }; done
  } > "$out/summary.txt" 2>&1
  cp "$out/summary.txt" "$dest/summary.txt"
  [ -f "$out/split-trace.json" ] && cp "$out/split-trace.json" "$dest/split-trace.json"
  [ -d "$out/results" ] && { rm -rf "$dest/results"; cp -r "$out/results" "$dest/results"; }
  tar -C "$out" --exclude='*.safetensors' -czf "$dest/gpu-results.tgz.part" . && mv "$dest/gpu-results.tgz.part" "$dest/gpu-results.tgz"
}

step() { # name, limit in seconds, command...: runs within the budget, logs to $out/name.log, then reports
  local name=$1 limit=$2; shift 2
  local left=$((budget - (SECONDS - start) - 20))
  [ "$limit" -gt "$left" ] && limit=$left
  if [ "$limit" -lt 30 ]; then
    summary+=("$name: skipped (budget: $((SECONDS - start)) of $budget s used)")
    report
    return 1
  fi
  local t0=$SECONDS
  timeout "$limit" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  summary+=("$name: rc=$rc ($((SECONDS - t0)) s$([ $rc = 124 ] && echo ", stopped at its $limit s limit"))")
  report
  return $rc
}

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv > "$out/gpu.csv" 2>&1 ||
  echo "no nvidia-smi" > "$out/gpu.csv"
step info 60 bash $run java -jar $jar info
for w in "${what[@]}"; do
  case "$w" in
    tests)
      step gpu-tests "${TESTS_LIMIT:-300}" bash $run gpu-tests --reports-dir "$out/junit"
      grep -E "tests (found|successful|failed|skipped|aborted)" "$out/gpu-tests.log" | sed 's/^[[:space:]]*//' > "$out/gpu-tests-summary.txt"
      grep -E "\[X\]|✘" "$out/gpu-tests.log" | head -40 >> "$out/gpu-tests-summary.txt"
      # PyTorchCrossCheckTest's gpu cases: our CUDA training step against PyTorch's float64 one
      grep -E "^(ours: cuda|worst: )" "$out/gpu-tests.log" >> "$out/gpu-tests-summary.txt" || true
      report;;
    torch)
      step torch 200 env PYTHONUNBUFFERED=1 python3 benchmarks/pytorch/alexnet_torch_bench.py --train --layer-backward \
          --json "$out/torch.json";;
    forward) step jmh-forward 200 bash $run java -jar $bench_jar ForwardBench -wi 2 -i 3 -rf json -rff "$out/forward.json";;
    train) step jmh-train 120 bash $run java -jar $bench_jar TrainStepBench -wi 2 -i 3 -rf json -rff "$out/train.json";;
    profile)
      step profile-forward 90 bash $run java -jar $jar bench --batch 128 --iterations 20 --profile
      step profile-train 120 bash $run java -jar $jar bench --batch 128 --train --iterations 20 --profile-json "$out/profile-train.json";;
    winograd)
      step winograd-forward 90 env ALEXNET_WINOGRAD=1 bash $run java -jar $jar bench --batch 128 --iterations 20 --profile
      step winograd-train 120 env ALEXNET_WINOGRAD=1 bash $run java -jar $jar bench --batch 128 --train --iterations 20 --profile;;
    launch) step jmh-launch 90 bash $run java -jar $bench_jar LaunchBench -rf json -rff "$out/launch.json";;
    split)
      # two-gpus only where there are two GPUs
      placements=one,two-logical
      [ "$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')" -ge 2 ] && placements=$placements,two-gpus
      step jmh-split 200 bash $run java -jar $bench_jar SplitBench -p placement=$placements -wi 2 -i 3 -rf json -rff "$out/split.json"
      step cli-split-trace 120 bash $run java -jar $jar bench --devices 0,0 --train --batch 128 --trace "$out/split-trace.json";;
    layers) step jmh-layers 240 bash $run java -jar $bench_jar LayerBench -p batch=128 -wi 2 -w 1 -i 3 -r 1 -rf json -rff "$out/layers.json";;
    copy)
      step jmh-copy 240 bash $run java -jar $bench_jar CopyBench -wi 2 -i 3 -rf json -rff "$out/copy.json"
      step torch-copy 120 python3 benchmarks/pytorch/copy_bandwidth.py --json "$out/torch-copy.json";;
    sanitize)
      # ALEXNET_AUTOTUNE=1: tuning launches every candidate row tile of each conv shape
      for tool in memcheck racecheck; do
        step "sanitize-$tool" 200 env ALEXNET_AUTOTUNE=1 compute-sanitizer --tool $tool --target-processes all --error-exitcode 99 \
            --print-limit 20 bash $run java -jar $jar bench --batch 2 --train --iterations 1 --warmup 0
      done
      step sanitize-memcheck-winograd 150 env ALEXNET_WINOGRAD=1 compute-sanitizer --tool memcheck --target-processes all \
          --error-exitcode 99 --print-limit 20 bash $run java -jar $jar bench --batch 2 --train --iterations 1 --warmup 0
      step sanitize-memcheck-split 150 env ALEXNET_AUTOTUNE=1 compute-sanitizer --tool memcheck --target-processes all \
          --error-exitcode 99 --print-limit 20 bash $run java -jar $jar bench --devices 0,0 --batch 2 --train --iterations 1 --warmup 0;;
    loading) step jmh-loading 120 bash $run java -jar $bench_jar DataLoadingBench -t 1 -wi 1 -i 3 -r 2 -rf json -rff "$out/loading.json";;
    fmnist)
      # one run per initialisation: the paper's N(0, 0.01^2) (DESIGN.md's recipe), then He et al.'s, in case the
      # paper's starts on a plateau that 10 epochs do not leave; the first may take at most half of what is left
      : > "$out/fmnist-summary.txt"
      inits=(${FMNIST_INITS:-paper kaiming})
      for i in "${!inits[@]}"; do
        init=${inits[$i]}
        left=$((budget - (SECONDS - start) - 20))
        limit=$([ "$i" -lt $((${#inits[@]} - 1)) ] && echo $((left / 2)) || echo 590)
        step "fmnist-$init" "$limit" bash $run java -jar $jar train --data fashion-mnist --device cuda --epochs "${EPOCHS:-10}" \
            --init "$init" --run "$out/fmnist-$init" ${TRAIN_ARGS:-}
        grep -E "^epoch [0-9]+:|^done|rate now" "$out/fmnist-$init.log" | sed "s/^/[init $init] /" >> "$out/fmnist-summary.txt"
        report
      done;;
    experiments)
      # the paper's claims on Fashion-MNIST, scaled to fit the time budget
      for e in ${EXPERIMENTS:-relu-tanh lrn pooling dropout pca ten-crop}; do
        step "exp-$e" 590 bash $run java -jar $jar experiment "$e" --data fashion-mnist --device cuda \
            --out "$out/results/$e" --runs "$out/runs/$e" ${EXP_ARGS:---image-size 67 --epochs 10 --init kaiming}
        rm -rf "$out/runs/$e"   # checkpoints are large; the results folder keeps the tables, curves and charts
      done
      report;;
  esac
done
report
cat "$dest/summary.txt"
true
