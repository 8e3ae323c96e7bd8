#!/usr/bin/env bash
# Compiles every kernels/src/main/cuda/*.cu to PTX, once per target architecture, and writes an index.
#   nvcc-ptx.sh <cuda source dir> <output dir> <archs, e.g. 80,90> [nvcc path]
# Output: <out>/sm_<arch>/<module>.ptx and <out>/index.properties (archs=..., modules=...).
# A module is rebuilt only when its .cu or any .cuh is newer than its PTX.
set -euo pipefail
src=$1 out=$2 archs=$3 nvcc=${4:-}

find_nvcc() {
  [ -n "$nvcc" ] && { echo "$nvcc"; return; }
  [ -n "${NVCC:-}" ] && { echo "$NVCC"; return; }
  [ -n "${CUDA_HOME:-}" ] && [ -x "$CUDA_HOME/bin/nvcc" ] && { echo "$CUDA_HOME/bin/nvcc"; return; }
  command -v nvcc 2>/dev/null && return
  [ -x /usr/local/cuda/bin/nvcc ] && { echo /usr/local/cuda/bin/nvcc; return; }
  return 0
}
nvcc=$(find_nvcc)
if [ -z "$nvcc" ] || ! [ -x "$(command -v "$nvcc" 2>/dev/null || echo "$nvcc")" ]; then
  cat >&2 <<MSG
[kernels] nvcc was not found${nvcc:+ at '$nvcc'}: the CUDA kernels cannot be compiled to PTX.
[kernels] Install the CUDA toolkit (12.x or 13.x), or point the build at an nvcc with one of:
[kernels]   mvn ... -Dnvcc=/path/to/cuda/bin/nvcc
[kernels]   export NVCC=/path/to/cuda/bin/nvcc   or   export CUDA_HOME=/path/to/cuda
MSG
  exit 1
fi

# ptxas (beside nvcc, else on the PATH) assembles each PTX for its GPU as the driver's JIT will, so a PTX that a GPU
# would reject fails the build here; it also reports register spills. Without it that check is skipped.
ptxas="$(dirname "$(command -v "$nvcc" 2>/dev/null || echo "$nvcc")")/ptxas"
[ -x "$ptxas" ] || ptxas=$(command -v ptxas 2>/dev/null || true)
[ -n "$ptxas" ] || echo "[kernels] ptxas not found beside nvcc or on the PATH: the PTX is not test-assembled" >&2

IFS=',' read -r -a arch_list <<< "$archs"
[ ${#arch_list[@]} -gt 0 ] || { echo "[kernels] cuda.archs is empty; give e.g. -Dcuda.archs=80,90" >&2; exit 1; }
mkdir -p "$out"
headers=("$src"/*.cuh)
modules=()
for cu in "$src"/*.cu; do
  name=$(basename "$cu" .cu); modules+=("$name")
  for arch in "${arch_list[@]}"; do
    arch=${arch// /}
    [[ "$arch" =~ ^[0-9]+[a-z]?$ ]] || { echo "[kernels] bad architecture '$arch' in cuda.archs (want e.g. 80,90)" >&2; exit 1; }
    ptx="$out/sm_$arch/$name.ptx"
    stale=0
    [ -f "$ptx" ] || stale=1
    for dep in "$cu" "${headers[@]}"; do [ -e "$dep" ] && [ "$dep" -nt "$ptx" ] && stale=1; done
    [ $stale = 1 ] || continue
    mkdir -p "$out/sm_$arch"
    echo "[kernels] nvcc $name.cu -> sm_$arch/$name.ptx"
    # No fast-math: results must match the CPU reference to float32 rounding.
    "$nvcc" -ptx -std=c++17 -O3 -lineinfo -arch=compute_"$arch" -I"$src" -o "$ptx.tmp" "$cu"
    if [ -n "$ptxas" ]; then
      if ! report=$("$ptxas" -arch=sm_"$arch" -O3 -v -o "$ptx.cubin.tmp" "$ptx.tmp" 2>&1); then
        echo "$report" >&2
        echo "[kernels] ptxas rejected sm_$arch/$name.ptx (above): the GPU's JIT would too" >&2
        rm -f "$ptx.tmp" "$ptx.cubin.tmp"
        exit 1
      fi
      rm -f "$ptx.cubin.tmp"
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
  done
done
{
  echo "# written by nvcc-ptx.sh: the PTX targets and modules packaged in this jar"
  echo "archs=$(IFS=,; echo "${arch_list[*]// /}")"
  echo "modules=$(IFS=,; echo "${modules[*]}")"
  echo "nvcc=$("$nvcc" --version | tail -1)"
} > "$out/index.properties"
