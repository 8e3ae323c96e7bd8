# The CUDA toolkit's programs, found the same way by every build script (sourced, not run):
#   find_nvcc [path]  the nvcc to use: the path given, else $NVCC, $CUDA_HOME/bin/nvcc, the PATH's, /usr/local/cuda's;
#                     prints nothing when there is none
#   find_ptxas nvcc   $PTXAS, else the ptxas beside that nvcc, else the PATH's; prints nothing when there is none

find_nvcc() {
  [ -n "${1:-}" ] && { echo "$1"; return; }
  [ -n "${NVCC:-}" ] && { echo "$NVCC"; return; }
  [ -n "${CUDA_HOME:-}" ] && [ -x "$CUDA_HOME/bin/nvcc" ] && { echo "$CUDA_HOME/bin/nvcc"; return; }
  command -v nvcc 2>/dev/null && return
  [ -x /usr/local/cuda/bin/nvcc ] && { echo /usr/local/cuda/bin/nvcc; return; }
  return 0
}

find_ptxas() {
  [ -n "${PTXAS:-}" ] && { echo "$PTXAS"; return; }
  if [ -n "${1:-}" ]; then
    local beside
    beside="$(dirname "$(command -v "$1" 2>/dev/null || echo "$1")")/ptxas"
    [ -x "$beside" ] && { echo "$beside"; return; }
  fi
  command -v ptxas 2>/dev/null || true
}
