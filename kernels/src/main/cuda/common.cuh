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

// ReLU's gradient from its output y (y > 0 exactly where its input was): dy where y > 0, NaN where y is NaN (a
// diverged forward pass shows in the gradients), else 0. A selection, no arithmetic: fusing it into the op that
// produces dy (maxpool_backward, lrn_backward, conv2d_backward_data) gives relu_backward's bits.
__device__ __forceinline__ float relu_grad(float dy, float y) { return y > 0.0f ? dy : (y != y ? y : 0.0f); }

// The register micro-tile of the tiled GEMMs (conv2d.cu, gemm.cu): a block of 2*BM threads computes a BM x 128
// tile (BM = 2*HALF_M: 64 unless a kernel says otherwise), each thread an 8 x 8 part of it: rows tm*4 .. tm*4+3 and
// HALF_M+tm*4 .. HALF_M+tm*4+3, columns tn*4 .. tn*4+3 and 64+tn*4 .. 64+tn*4+3 (tm = tid / 16, tn = tid % 16).
// Split into float4 halves, a warp's shared-memory reads are contiguous and free of bank conflicts. The thread's
// acc[i][j] is the tile's element (tile_8x8_row<HALF_M>(i, tm), tile_8x8_col(j, tn)).
template <int HALF_M = 32>
__device__ __forceinline__ int tile_8x8_row(int i, int tm) { return i < 4 ? tm * 4 + i : HALF_M + tm * 4 + (i - 4); }
__device__ __forceinline__ int tile_8x8_col(int j, int tn) { return j < 4 ? tn * 4 + j : 64 + tn * 4 + (j - 4); }

__device__ __forceinline__ void tile_8x8_zero(float (&acc)[8][8]) {
#pragma unroll
    for (int i = 0; i < 8; i++)
#pragma unroll
        for (int j = 0; j < 8; j++) acc[i][j] = 0.0f;
}

// Adds one BK-deep slab: acc[i][j] += sum_k A[k][row i] * B[k][column j].
template <int BK, int HALF_M = 32, int LDA, int LDB>
__device__ __forceinline__ void tile_8x8_mma(float (&acc)[8][8], const float (*A)[LDA], const float (*B)[LDB], int tm, int tn) {
#pragma unroll
    for (int k = 0; k < BK; k++) {
        const float4 a0 = *reinterpret_cast<const float4*>(&A[k][tm * 4]);
        const float4 a1 = *reinterpret_cast<const float4*>(&A[k][HALF_M + tm * 4]);
        const float4 b0 = *reinterpret_cast<const float4*>(&B[k][tn * 4]);
        const float4 b1 = *reinterpret_cast<const float4*>(&B[k][64 + tn * 4]);
        const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
        const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
        for (int i = 0; i < 8; i++)
#pragma unroll
            for (int j = 0; j < 8; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
}

// The double-buffered slab loop of the tiled GEMMs (conv2d.cu, gemm.cu; MAY_BE_EMPTY: whether slabs can be 0): slab 0
// loaded and stored, then for each slab t the next slab's global loads in flight (load(t + 1) into registers) while
// slab t is multiplied out of shared memory buffer t & 1, then the next slab stored into the other buffer and one
// barrier. That buffer was last read in iteration t - 1,
// which every thread finished before that iteration's barrier: writing it cannot race with a reader.
template <bool MAY_BE_EMPTY, typename Load, typename Store, typename Multiply>
__device__ __forceinline__ void slab_loop(int slabs, Load load, Store store, Multiply multiply) {
    if (!MAY_BE_EMPTY || slabs > 0) {
        load(0);
        store(0);
    }
    __syncthreads();
    for (int t = 0; t < slabs; t++) {
        const int buf = t & 1;
        if (t + 1 < slabs) load(t + 1);
        multiply(buf);
        if (t + 1 < slabs) store(buf ^ 1);
        __syncthreads();
    }
}
