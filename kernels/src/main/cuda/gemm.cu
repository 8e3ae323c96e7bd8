// Fully connected layer, forward: a float32 SGEMM with bias and an optional fused ReLU.
//
//   out[n, k] = act(bias[k] + sum_c in[n, c] * weight[k, c]),  in (N, C), weight (K, C) as PyTorch stores it, bias (K),
//   out (N, K); all row-major. Both operands are contiguous along the reduction dimension c.
//
// Versions
//   linear_forward         v1: block tile 64 (n) x 128 (k), reduction slabs of 16, 128 threads, each thread an 8 x 8
//                              register micro-tile; slabs are loaded as float4 along c when C, the split length and
//                              both pointers allow it (scalar loads otherwise and at the tail), stored transposed in
//                              shared memory, and the next slab's loads are in flight while the current one is
//                              multiplied (double buffer, one __syncthreads per slab).
//                              Grid (ceil(N / 64), ceil(K / 128), splits), block 128. n tiles are the fastest grid
//                              dimension so that the blocks reading the same weight rows run together and share them
//                              in L2. Split-K, deterministically: with splits = gridDim.z > 1, block z sums only
//                              c in [z*chunk, min(C, (z+1)*chunk)) and writes the raw partial sum to
//                              out[z, n, k] (out is then a (splits, N, K) workspace, bias and relu unused);
//                              linear_forward_reduce adds the partials in a fixed order. With gridDim.z == 1 the bias
//                              and activation are applied and out is the (N, K) result. Needed because at batch 128
//                              fc6/fc7 have only 64 output tiles for 132 SMs.
//   linear_forward_reduce  v1: out[n, k] = act(bias[k] + partial[0, n, k] + ... + partial[splits-1, n, k]), summed
//                              in ascending split order; grid-stride over N*K.
//
//   linear_forward_small   v1: for batches of at most 8 rows, where linear_forward's 64-row tile would multiply
//                              56 to 63 rows of zeros per tile (at batch 1, fc6 issues 64x its multiply-adds): one
//                              warp per output feature k reads its weight row once, float4 along c when C and both
//                              pointers allow (scalar otherwise), each lane summing its strided share of c for every
//                              batch row in ascending c; the 32 lane sums are then added by a fixed butterfly
//                              (__shfl_xor_sync, offsets 16, 8, 4, 2, 1) and lane 0 adds the bias and applies the
//                              activation. Memory-bound on the weights, read once. Block 256 (8 warps, 8 features);
//                              grid-stride over K in steps of 8 features per block, the loop uniform across the block.
//
//   Backward: two products of the same shape of kernel, C (M x Ncol) = sum_r A(m, r) * B(r, j), B(r, j) = B[r*ldb + j]
//   (row-major, contiguous along j) and A either contiguous along r or along m:
//     dIn (N, C)  = dOut (N, K) x weight (K, C):     M = N, Ncol = C, reduction K; A(n, k) = dOut[n*K + k]
//     dW  (K, C)  = dOut^T (K, N) x in (N, C):       M = K, Ncol = C, reduction N; A(k, n) = dOut[n*K + k]
//   linear_backward_data    v1: linear_forward's tile (64 x 128, slabs of 16, 128 threads, 8 x 8 micro-tiles, double
//                               buffer, same product loop); A loaded as in linear_forward (float4 along r, stored
//                               transposed), B as float4 rows of the slab along j, stored as they are.
//                               Grid (ceil(N / 64), ceil(C / 128), splits); split-K exactly as linear_forward (block z
//                               sums r in [z*chunk, min(K, (z+1)*chunk)) into a (splits, N, C) workspace), needed at
//                               small batch where N / 64 x C / 128 tiles do not fill the GPU.
//   linear_backward_weight  v1: the same with A = dOut^T, whose slab rows are contiguous along m: float4 loads along
//                               m, stored without transposition. Grid (ceil(K / 64), ceil(C / 128), splits), split
//                               over the batch when the tiles alone do not fill the GPU (e.g. fc8: 16 x 32 tiles).
//   linear_backward_reduce  v1: out[i] = partial[0, i] + ... + partial[splits-1, i] in ascending split order,
//                               grid-stride over M*Ncol.
//   linear_backward_bias    v1: dBias[k] = dOut[0, k] + dOut[1, k] + ... in order of n, in float, one thread per k
//                               (grid-stride; a warp reads 32 consecutive k of a row): the CPU reference's bits.
#include "gemm_tile.cuh"

__device__ __forceinline__ float linear_act(float x, int relu) {
    // ReLU as relu_forward does it: NaN stays NaN.
    return (relu == 0 || x > 0.0f || x != x) ? x : 0.0f;
}

// out: (N, K), or a (gridDim.z, N, K) workspace of partial sums when gridDim.z > 1. in (N, C), weight (K, C),
// bias (K). chunk: reduction indices per split (only read when gridDim.z > 1: then it must make gridDim.z * chunk >= C).
KERNEL void __launch_bounds__(linear_v1::THREADS)
linear_forward(float* __restrict__ out, const float* __restrict__ in, const float* __restrict__ weight,
               const float* __restrict__ bias, int N, int C, int K, int chunk, int relu) {
    const int split = blockIdx.z;
    const bool direct = gridDim.z == 1;
    const int cBegin = direct ? 0 : (int)min((long long)split * chunk, (long long)C);
    const int cEnd = direct ? C : (int)min((long long)cBegin + chunk, (long long)C);
    // Epilogue: (bias, activation), or this split's raw partial sums (zeros for an empty split).
    linear_nt_tile([&] { return direct ? out : out + (long long)split * N * K; }, in, weight, N, C, K, cBegin, cEnd,
                   [&](float v, int k) { return direct ? linear_act(v + bias[k], relu) : v; });
}

// out (N, K); partials (splits, N, K) as linear_forward wrote them; bias (K).
KERNEL void linear_forward_reduce(float* __restrict__ out, const float* __restrict__ partials,
                                  const float* __restrict__ bias, int N, int K, int splits, int relu) {
    const long long total = (long long)N * K;
    GRID_STRIDE(i, total) {
        float s = partials[i];
        for (int z = 1; z < splits; z++) s += partials[(long long)z * total + i];
        out[i] = linear_act(s + bias[i % K], relu);
    }
}

namespace linear_small_v1 {
constexpr int MAX_N = 8;      // batch rows served
constexpr int THREADS = 256;  // 8 warps: 8 output features per block step
}  // namespace linear_small_v1

// out (N, K), in (N, C), weight (K, C), bias (K); N <= linear_small_v1::MAX_N.
KERNEL void __launch_bounds__(linear_small_v1::THREADS)
linear_forward_small(float* __restrict__ out, const float* __restrict__ in, const float* __restrict__ weight,
                     const float* __restrict__ bias, int N, int C, int K, int relu) {
    using namespace linear_small_v1;
    constexpr int WARPS = THREADS / 32;
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const bool vec = C % 4 == 0 && aligned16(in) && aligned16(weight);
    // The loop is uniform across the block (every warp steps together, idle past K), so the shuffles below are
    // reached by every thread the same number of times.
    for (long long kBase = (long long)blockIdx.x * WARPS; kBase < K; kBase += (long long)gridDim.x * WARPS) {
        const int k = (int)kBase + warp;
        const bool active = k < K;
        float acc[MAX_N];
#pragma unroll
        for (int n = 0; n < MAX_N; n++) acc[n] = 0.0f;
        if (active) {
            const float* wRow = weight + (long long)k * C;
            if (vec) {
                const int c4s = C / 4;
#pragma unroll 4
                for (int c4 = lane; c4 < c4s; c4 += 32) {
                    const float4 w = reinterpret_cast<const float4*>(wRow)[c4];
#pragma unroll
                    for (int n = 0; n < MAX_N; n++) {
                        if (n < N) {
                            const float4 x = reinterpret_cast<const float4*>(in + (long long)n * C)[c4];
                            acc[n] = fmaf(w.x, x.x, acc[n]);
                            acc[n] = fmaf(w.y, x.y, acc[n]);
                            acc[n] = fmaf(w.z, x.z, acc[n]);
                            acc[n] = fmaf(w.w, x.w, acc[n]);
                        }
                    }
                }
            } else {
                for (int c = lane; c < C; c += 32) {
                    const float w = wRow[c];
#pragma unroll
                    for (int n = 0; n < MAX_N; n++) {
                        if (n < N) acc[n] = fmaf(w, in[(long long)n * C + c], acc[n]);
                    }
                }
            }
        }
#pragma unroll
        for (int n = 0; n < MAX_N; n++) {
            if (n < N) {
#pragma unroll
                for (int offset = 16; offset > 0; offset >>= 1) acc[n] += __shfl_xor_sync(0xffffffffu, acc[n], offset);
            }
        }
        if (active && lane == 0) {
#pragma unroll
            for (int n = 0; n < MAX_N; n++) {
                if (n < N) out[(long long)n * K + k] = linear_act(acc[n] + bias[k], relu);
            }
        }
    }
}

// dIn (N, C), or a (gridDim.z, N, C) workspace; dOut (N, K), weight (K, C). chunk: reduction indices (k) per split.
KERNEL void __launch_bounds__(linear_v1::THREADS)
linear_backward_data(float* __restrict__ dIn, const float* __restrict__ dOut, const float* __restrict__ weight, int N,
                     int C, int K, int chunk) {
    linear_backward_gemm<false>(dIn, dOut, weight, N, C, K, K, C, chunk, blockIdx.z, gridDim.z);
}

// dWeight (K, C), or a (gridDim.z, K, C) workspace; dOut (N, K), in (N, C). chunk: reduction indices (n) per split.
KERNEL void __launch_bounds__(linear_v1::THREADS)
linear_backward_weight(float* __restrict__ dWeight, const float* __restrict__ dOut, const float* __restrict__ in, int N,
                       int C, int K, int chunk) {
    linear_backward_gemm<true>(dWeight, dOut, in, K, C, N, K, C, chunk, blockIdx.z, gridDim.z);
}

// out (total), partials (splits, total).
KERNEL void linear_backward_reduce(float* __restrict__ out, const float* __restrict__ partials, long long total,
                                   int splits) {
    GRID_STRIDE(i, total) {
        float s = partials[i];
        for (int z = 1; z < splits; z++) s += partials[(long long)z * total + i];
        out[i] = s;
    }
}

// dBias (K), dOut (N, K).
KERNEL void linear_backward_bias(float* __restrict__ dBias, const float* __restrict__ dOut, int N, int K) {
    GRID_STRIDE(k, K) {
        float s = 0.0f;
        for (int n = 0; n < N; n++) s += dOut[(long long)n * K + k];
        dBias[k] = s;
    }
}
