// Kernels that exist to measure the launch path itself.
//
// Versions
//   noop  v1: does nothing; the cost of launching it is the engine's per-launch overhead.
#include "common.cuh"

KERNEL void noop() {}
