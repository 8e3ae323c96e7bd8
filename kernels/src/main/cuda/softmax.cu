// Softmax over the last dimension, forward.
//
//   out[n, k] = exp(in[n, k] - max_j in[n, j]) / sum_j exp(in[n, j] - max_j in[n, j]),  in and out (N, K) row-major.
//
// Versions
//   softmax_forward  v1: one block per row (grid-stride over rows), any blockDim that is a multiple of 32 up to
//                        1024. Three passes over the row, each thread striding by blockDim: the max (float), the sum
//                        of exponentials, then the quotients. Like the CPU reference, everything after the max is
//                        computed in double and rounded once at the end (in float, in - max alone costs a relative
//                        error of |in - max| * 2^-24 after exp); the op is N * K elements, so double costs nothing
//                        measurable. The exponential is recomputed in the last pass rather than stored, so nothing is
//                        rounded before the division. Block reductions are fixed trees (warp butterfly, then one
//                        value per warp), so results are bitwise reproducible; they differ from the reference's
//                        sequential sum only by double rounding. A NaN anywhere in a row makes the whole row NaN.
//                        out may be in: a thread reads and writes only its own elements of the row.
//   softmax_xent     v1: softmax cross-entropy against class labels, loss and gradient in one kernel: the same
//                        block-per-row passes and fixed reduction trees as softmax_forward (max in float, sum of
//                        exponentials in double), then
//                          losses[n]     = (log(s) + m) - x[n, label[n]]                          (double)
//                          dLogits[n, k] = ((float) (exp(x[n, k] - m) / s) - (k == label ? 1 : 0)) / (float) N
//                        with the subtraction and division each rounded in float (__fsub_rn, __fdiv_rn), as the
//                        CPU reference computes them. The per-row losses stay in double for the host to add in row
//                        order (a fixed order, so the mean is reproducible). dLogits may be logits: the label's
//                        logit is read before the first barrier, and each thread rewrites only its own elements.
#include "common.cuh"

__device__ __forceinline__ float softmax_warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ __forceinline__ double softmax_warp_sum(double v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Every thread of the block must call these; every thread gets the result. scratch: 32 slots of shared memory.
__device__ float softmax_block_max(float v, float* scratch) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    v = softmax_warp_max(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = softmax_warp_max(lane < warps ? scratch[lane] : -INFINITY);
    __syncthreads();  // scratch is reused by the next reduction
    return v;
}

__device__ double softmax_block_sum(double v, double* scratch) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    v = softmax_warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = softmax_warp_sum(lane < warps ? scratch[lane] : 0.0);
    __syncthreads();
    return v;
}

// out, in: (N, K); out may be in (so neither is __restrict__).
KERNEL void softmax_forward(float* out, const float* in, int N, int K) {
    __shared__ float maxScratch[32];
    __shared__ double sumScratch[32];
    for (int row = blockIdx.x; row < N; row += gridDim.x) {  // uniform across the block
        const float* x = in + (long long)row * K;
        float* y = out + (long long)row * K;
        float m = -INFINITY;
        for (int i = threadIdx.x; i < K; i += blockDim.x) m = fmaxf(m, x[i]);
        const double dm = softmax_block_max(m, maxScratch);
        double s = 0.0;
        for (int i = threadIdx.x; i < K; i += blockDim.x) s += exp((double)x[i] - dm);
        s = softmax_block_sum(s, sumScratch);
        for (int i = threadIdx.x; i < K; i += blockDim.x) y[i] = (float)(exp((double)x[i] - dm) / s);
    }
}

// dLogits, logits: (N, K), dLogits may be logits; losses: (N) doubles; labels: (N) class indices in [0, K).
KERNEL void softmax_xent(float* dLogits, double* __restrict__ losses, const float* logits,
                         const int* __restrict__ labels, int N, int K) {
    __shared__ float maxScratch[32];
    __shared__ double sumScratch[32];
    const float rows = (float)N;  // exact up to 2^24 rows
    for (int row = blockIdx.x; row < N; row += gridDim.x) {  // uniform across the block
        const float* x = logits + (long long)row * K;
        float* y = dLogits + (long long)row * K;
        const int label = labels[row];
        // Read before any thread of the block can overwrite it (in place): the reductions below hold barriers.
        const float xLabel = threadIdx.x == 0 ? x[label] : 0.0f;
        float m = -INFINITY;
        for (int i = threadIdx.x; i < K; i += blockDim.x) m = fmaxf(m, x[i]);
        const float fm = softmax_block_max(m, maxScratch);
        const double dm = fm;
        double s = 0.0;
        for (int i = threadIdx.x; i < K; i += blockDim.x) s += exp((double)x[i] - dm);
        s = softmax_block_sum(s, sumScratch);
        if (threadIdx.x == 0) losses[row] = (log(s) + dm) - (double)xLabel;
        for (int i = threadIdx.x; i < K; i += blockDim.x) {
            const float prob = (float)(exp((double)x[i] - dm) / s);
            y[i] = __fdiv_rn(__fsub_rn(prob, i == label ? 1.0f : 0.0f), rows);
        }
    }
}
