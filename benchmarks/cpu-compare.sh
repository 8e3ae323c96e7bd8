#!/usr/bin/env bash
# The CPU backend against PyTorch on the same CPU, in one run: the paper's network, FP32, forward at batch 1 and 32
# and the training step at batch 32 (medians), as a Markdown table. Run from the repository root after a build.
#   bash benchmarks/cpu-compare.sh            (REPS=N timed calls each, default 5; both sides use every core)
# PyTorch comes from the first python3 on PATH that has it (Debian: apt-get install python3-torch), else
# /usr/bin/python3; without it only our column is filled.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${REPS:-5}
threads=$(nproc)
py=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c "import torch" 2>/dev/null; then py=$candidate; break; fi
done

ours() {  # median ms of `alexnet bench --device cpu ARGS`
  ./alexnet bench --device cpu --iterations "$reps" --warmup 1 "$@" | sed -n 's/^median \([0-9.]*\) ms.*/\1/p'
}
declare -A mine torch
mine[f1]=$(ours --batch 1)
mine[f32]=$(ours --batch 32)
mine[t32]=$(ours --batch 32 --train)

if [ -n "$py" ]; then
  json=$(mktemp)
  OMP_NUM_THREADS=$threads "$py" benchmarks/pytorch/alexnet_torch_bench.py --device cpu --forward-batches 1,32 \
    --no-layers --train --train-batch 32 --reps "$reps" --warmup 1 --json "$json" >"$json.log" 2>&1 \
    || { cat "$json.log" >&2; exit 1; }
  read -r torch[f1] torch[f32] torch[t32] torch_version < <("$py" - "$json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
def ms(v):
    return "%.1f" % v if v else "-"
print(ms(r["forward_ms"].get("1")), ms(r["forward_ms"].get("32")), ms(r["train_step_ms"]), r["torch"])
EOF
  )
  rm -f "$json" "$json.log"
else
  torch[f1]=-; torch[f32]=-; torch[t32]=-; torch_version="(no PyTorch found)"
fi

echo "CPU: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $threads threads; $(date -u +%Y-%m-%d); PyTorch $torch_version"
echo
echo "| FP32, paper's network | ours ms | PyTorch ms | ours / PyTorch |"
echo "|---|---:|---:|---:|"
for row in "f1:forward, batch 1" "f32:forward, batch 32" "t32:training step (forward, backward, SGD), batch 32"; do
  key=${row%%:*}
  ratio=$(awk -v a="${mine[$key]}" -v b="${torch[$key]}" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }')
  printf '| %s | %.1f | %s | %s |\n' "${row#*:}" "${mine[$key]}" "${torch[$key]}" "$ratio"
done
