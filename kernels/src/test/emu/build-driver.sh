#!/usr/bin/env bash
# Builds the emulated CUDA driver (driver.cpp) as a shared library for the JVM to load in place of libcuda.so.1:
#   build-driver.sh <folder with the built PTX modules (one sm_XX folder)> <output .so>
# Its kernel table lists every .entry of those PTX files, so a kernel the modules declare and the emulator lacks
# fails to compile here.
# EMU_ALIGNMENT=1 adds UBSan's alignment check (-fsanitize=alignment): an access through a pointer its type's alignment
# does not fit (a float4 load from an address that is not a multiple of 16, which a GPU refuses with
# CUDA_ERROR_MISALIGNED_ADDRESS) stops the process with the kernel's source line. Slower (the split tests take about
# three times as long).
# EMU_CONTRACT=1 lets g++ fuse a * b + c into one FMA (-ffp-contract=fast), as nvcc does by default: a test that
# holds a kernel to the CPU reference's bits where the kernel's arithmetic may be contracted fails here too. g++ does
# not contract where nvcc does, exactly, so a pass is a hint, not a proof; the __f*_rn intrinsics stay unfused.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ptx=${1:?usage: build-driver.sh <ptx folder> <output .so>}
out=${2:?usage: build-driver.sh <ptx folder> <output .so>}
command -v g++ >/dev/null || { echo "build-driver.sh: g++ is needed (apt-get install g++)" >&2; exit 1; }
ls "$ptx"/*.ptx >/dev/null 2>&1 || { echo "build-driver.sh: no .ptx files in $ptx: build the kernels module first" >&2; exit 1; }
gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT
grep -h '\.entry ' "$ptx"/*.ptx | sed -E 's/.*\.entry ([A-Za-z_][A-Za-z0-9_]*).*/ENTRY(\1)/' | sort -u > "$gen/entries.inc"
# What a GPU holds each kernel to at launch: ptxas's registers, static shared memory and stack for the PTX folder's
# architecture, and the block size its __launch_bounds__ allow (.maxntid). The driver refuses a launch they do not
# fit, as the GPU would (CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES), and cuFuncGetAttribute reports them. Without ptxas
# (found as the kernels' build finds it: PTXAS, beside nvcc, on the PATH) the table stays empty and only the device's
# own limits are checked.
arch=$(basename "$ptx"); arch=${arch#sm_}
# shellcheck source=../../build/cuda-tools.sh
source "$here/../../build/cuda-tools.sh"
ptxas=$(find_ptxas "$(find_nvcc)")
: > "$gen/resources.inc"
if [ -x "$ptxas" ] && [[ "$arch" =~ ^[0-9]+$ ]]; then
  for f in "$ptx"/*.ptx; do
    bounds=$(awk '/\.entry /{ match($0, /\.entry [A-Za-z_][A-Za-z0-9_]*/); e = substr($0, RSTART + 7, RLENGTH - 7) }
                  /^\.maxntid/{ gsub(/[.a-z,]/, " "); print e, $1 * $2 * $3 }' "$f")
    "$ptxas" -arch=sm_"$arch" -O3 -v -o /dev/null "$f" 2>&1 | awk -v bounds="$bounds" '
      BEGIN { n = split(bounds, b, "\n"); for (i = 1; i <= n; i++) { split(b[i], kv, " "); max[kv[1]] = kv[2] } }
      /Compiling entry function/ { match($0, /function .[A-Za-z0-9_]+/); e = substr($0, RSTART + 10, RLENGTH - 10); stack = 0 }
      /bytes stack frame/ { stack = $1 }
      /Used [0-9]+ registers/ {
        match($0, /Used [0-9]+ registers/); regs = substr($0, RSTART + 5, RLENGTH - 15)
        smem = 0; if (match($0, /[0-9]+ bytes smem/)) smem = substr($0, RSTART, RLENGTH - 11)
        printf "RESOURCES(%s, %d, %d, %d, %d)\n", e, regs, smem, stack, (e in max) ? max[e] : 0
      }' >> "$gen/resources.inc"
  done
else
  echo "build-driver.sh: no ptxas for sm_$arch (set PTXAS): launches are not checked against the kernels' registers and launch bounds" >&2
fi
mkdir -p "$(dirname "$out")"
sanitize=(); [ "${EMU_ALIGNMENT:-0}" = 1 ] && sanitize=(-fsanitize=alignment -fno-sanitize-recover=alignment)
contract=off note=""; [ "${EMU_CONTRACT:-0}" = 1 ] && contract=fast note=", a * b + c fused"
g++ -std=c++20 -O2 -march=x86-64-v3 -g -fPIC -shared -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=0 -ffp-contract=$contract -pthread "${sanitize[@]}" \
    -I"$here/../../main/cuda" -I"$here" -I"$gen" -x c++ "$here/driver.cpp" -o "$out.tmp"
mv "$out.tmp" "$out"
echo "emulated driver: $out ($(wc -l < "$gen/entries.inc") kernels, $(wc -l < "$gen/resources.inc") with sm_$arch resources${sanitize:+, alignment checked}${note})"
