#!/usr/bin/env bash
# Checks the CUDA kernels' logic on the CPU (see test.cpp): compiles them with g++ through emu.h under
# AddressSanitizer and UBSan, then runs random shapes against float64 references.
#   run.sh [build dir]          EMU_ITERS=N (default 5) random shapes per op; EMU_FULL=1 adds the network's
#                               full-size layers (minutes)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../../target/emu}
mkdir -p "$out"
if ! command -v g++ >/dev/null; then
  echo "[kernels] emulated kernel check SKIPPED: g++ is not installed" >&2
  exit 0
fi
g++ -std=c++20 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -ffp-contract=off \
    -I"$here/../../main/cuda" -I"$here" -x c++ "$here/test.cpp" -o "$out/emu-test" -pthread
echo "[kernels] emulated kernel check: ${EMU_ITERS:-5} random shapes per op${EMU_FULL:+ plus the full-size layers}"
"$out/emu-test" all "${EMU_ITERS:-5}" ${EMU_FULL:+full}
