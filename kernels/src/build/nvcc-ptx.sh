#!/usr/bin/env bash
# Compiles every kernels/src/main/cuda/*.cu to PTX, once per target architecture, assembles each PTX for its GPU
# (a cubin: the machine code the driver loads without compiling), and writes an index.
#   nvcc-ptx.sh <cuda source dir> <output dir> <archs, e.g. 80,90> [nvcc path]
# Output: <out>/sm_<arch>/<module>.ptx and .cubin, and <out>/index.properties (archs=..., sass=..., modules=...).
# A module is rebuilt only when its .cu or any .cuh is newer than its PTX, or its cubin is missing.
set -euo pipefail
src=$1 out=$2 archs=$3 nvcc=${4:-}

# shellcheck source=cuda-tools.sh
source "$(dirname "$0")/cuda-tools.sh"
nvcc=$(find_nvcc "$nvcc")
if [ -z "$nvcc" ] || ! [ -x "$(command -v "$nvcc" 2>/dev/null || echo "$nvcc")" ]; then
  cat >&2 <<MSG
[kernels] nvcc was not found${nvcc:+ at '$nvcc'}: the CUDA kernels cannot be compiled to PTX.
[kernels] Install the CUDA toolkit (12.x or 13.x), or point the build at an nvcc with one of:
[kernels]   mvn ... -Dnvcc=/path/to/cuda/bin/nvcc
[kernels]   export NVCC=/path/to/cuda/bin/nvcc   or   export CUDA_HOME=/path/to/cuda
MSG
  exit 1
fi

# ptxas ($PTXAS, else beside nvcc, else on the PATH) assembles each PTX for its GPU as the driver's JIT would: a PTX that a GPU
# would reject fails the build here, register spills are reported, and the cubin is packaged so that a GPU of exactly
# that architecture loads machine code instead of JIT-compiling the PTX (seconds per process for conv2d and lrn).
# Without ptxas no cubin is written and the driver JIT-compiles the PTX.
ptxas=$(find_ptxas "$nvcc")
[ -n "$ptxas" ] || echo "[kernels] ptxas not found (PTXAS, beside nvcc or on the PATH): the PTX is not test-assembled" >&2

IFS=',' read -r -a arch_list <<< "$archs"
[ ${#arch_list[@]} -gt 0 ] || { echo "[kernels] cuda.archs is empty; give e.g. -Dcuda.archs=80,90" >&2; exit 1; }
for arch in "${arch_list[@]}"; do
  arch=${arch// /}
  if [[ "$arch" =~ ^[0-9]+[af]$ ]]; then
    # sm_90a, sm_100f and the like run on one GPU (or family) only, for its special instructions, which these
    # kernels do not use; the loader knows plain targets only.
    echo "[kernels] '$arch' in cuda.archs is an architecture-specific target, which these kernels do not need: give ${arch%[af]}" >&2
    exit 1
  fi
  [[ "$arch" =~ ^[0-9]+$ ]] || { echo "[kernels] bad architecture '$arch' in cuda.archs (want e.g. 80,90)" >&2; exit 1; }
done
mkdir -p "$out"
headers=("$src"/*.cuh)
modules=()
for cu in "$src"/*.cu; do
  name=$(basename "$cu" .cu); modules+=("$name")
  for arch in "${arch_list[@]}"; do
    arch=${arch// /}
    ptx="$out/sm_$arch/$name.ptx" cubin="$out/sm_$arch/$name.cubin"
    stale=0
    [ -f "$ptx" ] || stale=1
    [ -z "$ptxas" ] || [ -f "$cubin" ] || stale=1
    for dep in "$cu" "${headers[@]}"; do [ -e "$dep" ] && [ "$dep" -nt "$ptx" ] && stale=1; done
    [ $stale = 1 ] || continue
    mkdir -p "$out/sm_$arch"
    echo "[kernels] nvcc $name.cu -> sm_$arch/$name.ptx${ptxas:+ and .cubin}"
    rm -f "$cubin"  # a cubin is only ever packaged beside the PTX it was assembled from
    # No fast-math: results must match the CPU reference to float32 rounding.
    "$nvcc" -ptx -std=c++17 -O3 -lineinfo -arch=compute_"$arch" -I"$src" -o "$ptx.tmp" "$cu"
    if [ -n "$ptxas" ]; then
      # Without the line tables and the PTX text that -lineinfo would carry into it, as the driver's JIT compiles by
      # default: the same machine code, a third of the size.
      if ! report=$("$ptxas" -arch=sm_"$arch" -O3 --suppress-debug-info -v -o "$ptx.cubin.tmp" "$ptx.tmp" 2>&1); then
        echo "$report" >&2
        echo "[kernels] ptxas rejected sm_$arch/$name.ptx (above): the GPU's JIT would too" >&2
        rm -f "$ptx.tmp" "$ptx.cubin.tmp"
        exit 1
      fi
      # Entries named *_r128 are held to 128 registers per thread on purpose (conv2d.cu): their spills are expected.
      awk -v arch="$arch" '
        /Compiling entry function/ { match($0, /function .[A-Za-z0-9_]+/); entry = substr($0, RSTART + 10, RLENGTH - 10) }
        /[1-9][0-9]* bytes spill/ {
          match($0, /[0-9]+ bytes spill stores, [0-9]+ bytes spill loads/); what = substr($0, RSTART, RLENGTH)
          if (entry ~ /_r128$/) print "[kernels] sm_" arch ": " entry ": " what " (expected: held to 128 registers)"
          else print "[kernels] warning: register spills, sm_" arch ": " entry ": " what
        }' <<< "$report" >&2 || true
    fi
    mv "$ptx.tmp" "$ptx"
    [ -z "$ptxas" ] || mv "$ptx.cubin.tmp" "$cubin"
  done
done
sass=()
for arch in "${arch_list[@]}"; do
  arch=${arch// /} complete=1
  for name in "${modules[@]}"; do [ -f "$out/sm_$arch/$name.cubin" ] || complete=0; done
  [ $complete = 0 ] || sass+=("$arch")
done
{
  echo "# written by nvcc-ptx.sh: the PTX targets, the architectures with a cubin of every module, and the modules"
  echo "archs=$(IFS=,; echo "${arch_list[*]// /}")"
  echo "sass=$(IFS=,; echo "${sass[*]}")"
  echo "modules=$(IFS=,; echo "${modules[*]}")"
  echo "nvcc=$("$nvcc" --version | tail -1)"
} > "$out/index.properties"
