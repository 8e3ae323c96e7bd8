#!/usr/bin/env bash
# Checks the CUDA kernels' logic on the CPU (see test.cpp): compiles them with g++ through emu.h under
# AddressSanitizer and UBSan, then runs random shapes against float64 references. Then the race check: the same
# tests (random shapes only) under ThreadSanitizer, with a block's threads as fibers whose only ordering is the
# block's barriers (emu.h), so that a missing or misplaced __syncthreads is reported where it happens, as
# compute-sanitizer's racecheck would on a GPU. EMU_RACE=0 skips it.
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
[ "${EMU_RACE:-1}" = 0 ] && exit 0
tsan=(g++ -std=c++20 -O1 -g -fsanitize=thread -DEMU_FIBERS -ffp-contract=off -I"$here/../../main/cuda" -I"$here" -pthread)
"${tsan[@]}" -x c++ "$here/test.cpp" -o "$out/emu-race"
"${tsan[@]}" -x c++ "$here/race-selftest.cpp" -o "$out/emu-race-selftest"
# Without address-space randomisation: on some Linux kernels a randomised layout clashes with ThreadSanitizer's
# shadow memory.
norandom=(); setarch "$(uname -m)" -R true 2>/dev/null && norandom=(setarch "$(uname -m)" -R)
export TSAN_OPTIONS="exitcode=66 ${TSAN_OPTIONS:-}"
# First the check itself: it must see the races of a kernel without its barrier, and none with it.
for mode in ok missing-barrier warp-only; do
  set +e; "${norandom[@]}" "$out/emu-race-selftest" $mode > "$out/race-selftest-$mode.log" 2>&1; rc=$?; set -e
  # ThreadSanitizer's runtime refuses some memory layouts (a kernel with more address randomisation than it knows,
  # where setarch may not turn it off): then the race check is reported as skipped, as where g++ is missing.
  if fatal=$(grep -m1 "FATAL: ThreadSanitizer" "$out/race-selftest-$mode.log"); then
    echo "[kernels] race check SKIPPED: ThreadSanitizer cannot run on this machine: $fatal" >&2
    exit 0
  fi
  want=66; [ $mode = ok ] && want=0
  if [ $rc != $want ]; then
    echo "[kernels] race check broken: its self-test '$mode' exited $rc, expected $want (ThreadSanitizer's report: $out/race-selftest-$mode.log)" >&2
    exit 1
  fi
done
echo "[kernels] race check (ThreadSanitizer; within a block only barriers order threads): ${EMU_ITERS:-5} random shapes per op"
"${norandom[@]}" "$out/emu-race" all "${EMU_ITERS:-5}" quick
