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
mkdir -p "$(dirname "$out")"
sanitize=(); [ "${EMU_ALIGNMENT:-0}" = 1 ] && sanitize=(-fsanitize=alignment -fno-sanitize-recover=alignment)
contract=off note=""; [ "${EMU_CONTRACT:-0}" = 1 ] && contract=fast note=", a * b + c fused"
g++ -std=c++20 -O2 -march=x86-64-v3 -g -fPIC -shared -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=0 -ffp-contract=$contract -pthread "${sanitize[@]}" \
    -I"$here/../../main/cuda" -I"$here" -I"$gen" -x c++ "$here/driver.cpp" -o "$out.tmp"
mv "$out.tmp" "$out"
echo "emulated driver: $out ($(wc -l < "$gen/entries.inc") kernels${sanitize:+, alignment checked}${note})"
