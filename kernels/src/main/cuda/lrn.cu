// Local response normalisation across channels, forward.
//
//   out[n, c, h, w] = in[n, c, h, w] * (k + alpha * sum_{j in window(c)} in[n, j, h, w]^2)^-beta
//   window(c) = c - size/2 .. c + (size-1)/2 (PyTorch's LocalResponseNorm convention; the same as c +- size/2 for odd
//   sizes), clipped to the channels of c's group: [gi*Cg, (gi+1)*Cg) with Cg = C / groups.
//   alpha is the effective one (LrnSpec.effectiveAlpha(): already divided by size for PyTorch's convention).
//
// Versions
//   lrn_forward  v1: one thread per (n, group, h, w) pixel column; adjacent threads take adjacent w, so every load
//                    and store of a warp is one contiguous run. The thread walks its group's channels and, for each
//                    output channel, sums the squares of its window afresh in ascending channel order with separate
//                    rounded multiplies and adds (__fmul_rn/__fadd_rn: no FMA contraction), then k + alpha * sum and
//                    in * base^-beta, in the order and rounding of the CPU reference's float loops: the only
//                    difference is powf (a few ulp; no fast-math in this build) against its correctly rounded
//                    (float) Math.pow, ~1e-6 relative at most. The window's values are re-read from global memory;
//                    the same warp read them a few channels earlier, so they come from L1 and DRAM traffic stays
//                    one read and one write per element (the op is memory-bound).
//                    Grid-stride over N * groups * H * W threads.
#include "common.cuh"

// Index type I: int when N * groups * H * W (plus one grid stride) fits in an int, where division is several times
// cheaper, else long long.
template <typename I>
__device__ __forceinline__ void lrn_forward_body(float* __restrict__ out, const float* __restrict__ in, int C, int HW,
                                                 int size, float alpha, float beta, float k, int groups, I columns) {
    const int Cg = C / groups;
    const int before = size / 2;       // channels below c in the window
    const int after = (size - 1) / 2;  // channels above c in the window
    for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < columns; i += (I)blockDim.x * gridDim.x) {
        const int hw = (int)(i % HW);
        const I ng = i / HW;  // n * groups + gi
        const int gi = (int)(ng % groups);
        const I n = ng / groups;
        const int cFirst = gi * Cg, cLast = cFirst + Cg - 1;  // the group's channels, inclusive
        // Element (n, c, hw) is at base + c * HW.
        const float* src = in + (long long)n * C * HW + hw;
        float* dst = out + (long long)n * C * HW + hw;
        for (int c = cFirst; c <= cLast; c++) {
            const int lo = max(c - before, cFirst);
            const int hi = min(c + after, cLast);
            float sum = 0.0f;
            for (int j = lo; j <= hi; j++) {
                const float a = src[(long long)j * HW];
                sum = __fadd_rn(sum, __fmul_rn(a, a));
            }
            const float base = __fadd_rn(k, __fmul_rn(alpha, sum));
            dst[(long long)c * HW] = __fmul_rn(src[(long long)c * HW], powf(base, -beta));
        }
    }
}

// out, in: (N, C, H, W). out must not alias in (a channel's output would overwrite a later channel's window).
KERNEL void lrn_forward(float* __restrict__ out, const float* __restrict__ in, int N, int C, int H, int W, int size,
                        float alpha, float beta, float k, int groups) {
    const int HW = H * W;
    const long long columns = (long long)N * groups * HW;
    if (columns + (long long)blockDim.x * gridDim.x <= 0x7fffffffLL) {
        lrn_forward_body<int>(out, in, C, HW, size, alpha, beta, k, groups, (int)columns);
    } else {
        lrn_forward_body<long long>(out, in, C, HW, size, alpha, beta, k, groups, columns);
    }
}
