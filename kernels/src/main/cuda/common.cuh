// Shared helpers for every kernel family. Kernels are `extern "C"` so that the driver API finds them
// by their plain names; outputs come first, then `const float* __restrict__` inputs, then sizes.
#pragma once
#include <stdint.h>

#define KERNEL extern "C" __global__

// Grid-stride loop over [0, n): correct for any grid size, so launch configuration is a tuning
// choice, never a correctness one.
#define GRID_STRIDE(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); \
         i += (long long)blockDim.x * gridDim.x)

__device__ __forceinline__ bool aligned16(const void* p) {
    return (reinterpret_cast<uintptr_t>(p) & 15u) == 0;
}
