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
//   lrn_forward  v2: v1's threads and arithmetic (the same bits), with the window in registers for sizes up to 17:
//                    each step loads the 4 values entering the window together and finishes 4 channels, so a warp has
//                    4 independent DRAM reads in flight instead of one (v1 stalled on each channel's new value before
//                    issuing the next; at one 128-byte line per warp, 64 warps per SM cannot cover the H100's memory
//                    latency: about half of its bandwidth). Larger sizes keep v1's loop.
//   lrn_backward v1: the gradient, from the forward input a and output b (no saved intermediate):
//                      scale_j = k + alpha * sum_{i in window(j)} a_i^2          (exactly as lrn_forward rounds it)
//                      t_j     = (dB_j * b_j) / scale_j
//                      dA_c    = dB_c * scale_c^-beta - ((2 * alpha * beta) * a_c) * sum_{j : c in window(j)} t_j
//                    where {j : c in window(j)} = c - (size-1)/2 .. c + size/2 clipped to the group, summed in
//                    ascending j; every operation rounded on its own (__fmul_rn/__fadd_rn/__fsub_rn/__fdiv_rn),
//                    the order the CPU reference writes, powf as in the forward pass.
//                    Same threads as the forward pass: one per (n, group, h, w) column, adjacent threads on adjacent
//                    w, walking the group's channels j in order. Each t_j and scale_j^-beta is computed once and
//                    kept in register shift rings (t for the last 2*(size/2) + 1 channels, the power for the last
//                    size/2 + 1); channel c is finished as soon as t_{c + size/2} exists, size/2 channels behind
//                    (the walk runs size/2 steps past the group's end to finish the last ones). size/2 is a template
//                    parameter (0..8, sizes up to 17) so that every ring index is a compile-time constant and the
//                    rings stay in registers. DRAM traffic is the floor: a, b and dB read once, dA written once
//                    (window values are re-read from L1). Larger sizes take a plain path that recomputes each t_j
//                    for every c that needs it (the same arithmetic, so the same bits, O(size^2) per element).
//                    dIn must not alias any input.
//   lrn_backward v2: v1, and with relu = 1 the gradient goes on through the ReLU whose output the LRN read (conv1 and
//                    conv2 in the paper's network): dA_c = relu_grad(v1's dA_c, a_c) as relu_backward computes it, in
//                    the same pass (relu_backward's separate pass read dA and a again and wrote dA again; a_c is
//                    already in a register here). relu_grad is a selection: the same bits as the two passes.
//   lrn_backward v3: v2's threads and arithmetic (the same bits), fed as lrn_forward v2 is: for sizes up to 17 each
//                    step loads the UNROLL new a, dB and b values together (3 * UNROLL independent DRAM reads in
//                    flight per thread, where v2 issued one channel's loads at a time and re-read every scale's
//                    window through L1) and finishes UNROLL channels. a, t, scale^-beta and dB are kept in register
//                    windows, zero outside the group: a zero square adds +0.0f to a sum of squares, a zero t adds
//                    +0.0f to the sum of t (which, started at +0.0f, is never -0.0f), so summing every slot in
//                    ascending order gives v2's clipped sums exactly. Larger sizes keep v2's plain path.
//   lrn_forward v2, lrn_backward v3, as of this note: the column index is 32-bit only. Both kernels require
//                    N * groups * H * W plus the grid's threads to stay below 2^31 (the caller checks; element
//                    offsets are 64-bit). The 64-bit instantiation they also had served batches of over 350,000
//                    images, which no GPU's memory holds, and doubled the module the driver's JIT compiles when a
//                    process first loads it (about 10 s of ptxas for sm_90, now half).
#include "common.cuh"

namespace lrn_forward_v2 {
constexpr int UNROLL = 4;      // channels finished per step: their UNROLL new window values are loaded together
constexpr int MAX_BEFORE = 8;  // size / 2 for the largest size served by the register window (17)
}  // namespace lrn_forward_v2

// v1's arithmetic for one column (n, group, h, w), channels [cFirst, cLast] of src/dst (stride HW), with the window's
// values in registers: v[i] holds channel c0 - BEFORE + i, zero outside the group. A channel's window is summed over
// all BEFORE + AFTER + 1 slots in ascending order; the slots outside the group add +0.0f (to +0.0f before the first
// real term, to a sum >= +0 after the last), which changes no bit, so the result is v1's (and the CPU reference's)
// clipped sum exactly. Each step loads the UNROLL values entering the window at once, so a warp has UNROLL
// independent DRAM reads in flight where v1, re-reading its window through L1, had one.
template <int BEFORE, int AFTER>
__device__ __forceinline__ void lrn_forward_column(float* __restrict__ dst, const float* __restrict__ src, int HW,
                                                   int cFirst, int cLast, float alpha, float beta, float k) {
    constexpr int U = lrn_forward_v2::UNROLL;
    constexpr int SIZE = BEFORE + AFTER + 1;
    constexpr int SPAN = SIZE - 1 + U;  // channels c0 - BEFORE .. c0 + U - 1 + AFTER
    auto load = [&](int ch) { return ch >= cFirst && ch <= cLast ? src[(long long)ch * HW] : 0.0f; };
    float v[SPAN];
#pragma unroll
    for (int i = 0; i < SIZE - 1; i++) v[i] = load(cFirst - BEFORE + i);
    for (int c0 = cFirst; c0 <= cLast; c0 += U) {
#pragma unroll
        for (int u = 0; u < U; u++) v[SIZE - 1 + u] = load(c0 + AFTER + u);
#pragma unroll
        for (int u = 0; u < U; u++) {
            if (c0 + u <= cLast) {
                float sum = 0.0f;
#pragma unroll
                for (int j = 0; j < SIZE; j++) sum = __fadd_rn(sum, __fmul_rn(v[u + j], v[u + j]));
                const float base = __fadd_rn(k, __fmul_rn(alpha, sum));
                dst[(long long)(c0 + u) * HW] = __fmul_rn(v[u + BEFORE], powf(base, -beta));
            }
        }
#pragma unroll
        for (int i = 0; i < SIZE - 1; i++) v[i] = v[i + U];
    }
}

// out, in: (N, C, H, W). out must not alias in (a channel's output would overwrite a later channel's window).
// Requires N * groups * H * W + the grid's threads < 2^31 (the caller checks).
KERNEL void lrn_forward(float* __restrict__ out, const float* __restrict__ in, int N, int C, int H, int W, int size,
                        float alpha, float beta, float k, int groups) {
    const int HW = H * W;
    const int columns = N * groups * HW;  // one thread per (n, group, h, w)
    const int Cg = C / groups;
    const int before = size / 2;       // channels below c in the window
    const int after = (size - 1) / 2;  // channels above c in the window
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < columns; i += blockDim.x * gridDim.x) {
        const int hw = i % HW;
        const int ng = i / HW;  // n * groups + gi
        const int gi = ng % groups;
        const int n = ng / groups;
        const int cFirst = gi * Cg, cLast = cFirst + Cg - 1;  // the group's channels, inclusive
        // Element (n, c, hw) is at base + c * HW.
        const float* src = in + (long long)n * C * HW + hw;
        float* dst = out + (long long)n * C * HW + hw;
        switch (size) {  // uniform across the grid
#define LRN_FORWARD_CASE(SIZE) \
    case SIZE: lrn_forward_column<SIZE / 2, (SIZE - 1) / 2>(dst, src, HW, cFirst, cLast, alpha, beta, k); continue;
            LRN_FORWARD_CASE(1) LRN_FORWARD_CASE(2) LRN_FORWARD_CASE(3) LRN_FORWARD_CASE(4) LRN_FORWARD_CASE(5)
            LRN_FORWARD_CASE(6) LRN_FORWARD_CASE(7) LRN_FORWARD_CASE(8) LRN_FORWARD_CASE(9) LRN_FORWARD_CASE(10)
            LRN_FORWARD_CASE(11) LRN_FORWARD_CASE(12) LRN_FORWARD_CASE(13) LRN_FORWARD_CASE(14) LRN_FORWARD_CASE(15)
            LRN_FORWARD_CASE(16) LRN_FORWARD_CASE(17)
#undef LRN_FORWARD_CASE
            default: break;
        }
        static_assert(lrn_forward_v2::MAX_BEFORE == 8, "the cases above go up to size 17");
        // v1, for larger windows: each channel's window re-read (through L1) and summed afresh.
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

namespace lrn_backward_v3 {
constexpr int UNROLL = 4;      // channels finished per step: their UNROLL new a, dB and b values are loaded together
constexpr int MAX_BEFORE = 8;  // size / 2 for the largest size served by the register windows (17): lrn_backward_wide
constexpr int NARROW_MAX_BEFORE = 2;  // ... and by lrn_backward's (5)
}  // namespace lrn_backward_v3

// k + alpha * (sum of a_i^2 over window(j), ascending), rounded as lrn_forward does. a: the column (stride HW).
__device__ __forceinline__ float lrn_scale(const float* a, int HW, int j, int before, int after, int cFirst, int cLast,
                                           float alpha, float k) {
    const int lo = max(j - before, cFirst), hi = min(j + after, cLast);
    float sum = 0.0f;
    for (int i = lo; i <= hi; i++) {
        const float v = a[(long long)i * HW];
        sum = __fadd_rn(sum, __fmul_rn(v, v));
    }
    return __fadd_rn(k, __fmul_rn(alpha, sum));
}

// dA_c from its inputs and the sum of t_j over the j whose window holds c; with relu, through the ReLU that output a.
__device__ __forceinline__ float lrn_grad(float dy, float pw, float coef, float a, float sum, int relu) {
    const float da = __fsub_rn(__fmul_rn(dy, pw), __fmul_rn(__fmul_rn(coef, a), sum));
    return relu ? relu_grad(da, a) : da;
}

// One column (n, group, h, w): a, b, dy, dx point at its element of channel 0; channels [cFirst, cLast] (v3).
// BEFORE = size / 2 and AFTER = (size - 1) / 2, both compile-time. Step j0 (= cFirst, cFirst + U, ...) computes
// scale_j, scale_j^-beta and t_j for the U channels j = j0 .. j0 + U - 1, then finishes the U channels
// c = j0 - BEFORE + u, whose last term t_{c + BEFORE} it has just computed. The register windows, shifted by U a step:
//   av[i] = a_{j0 - BEFORE + i},          i < SIZE - 1 + U  (the new channels' scale windows; a_c is av[u])
//   tv[i] = t_{j0 - BEFORE - AFTER + i},  i < SIZE - 1 + U  (c's terms are tv[u .. u + SIZE - 1])
//   pv[i], dv[i] = scale^-beta and dB of channel j0 - BEFORE + i,  i < BEFORE + U  (c's are [u])
template <int BEFORE, int AFTER>
__device__ __forceinline__ void lrn_backward_column(float* __restrict__ dx, const float* __restrict__ dy,
                                                    const float* __restrict__ a, const float* __restrict__ b, int HW,
                                                    int cFirst, int cLast, float alpha, float beta, float k,
                                                    float coef, int relu) {
    constexpr int U = lrn_backward_v3::UNROLL;
    constexpr int SIZE = BEFORE + AFTER + 1;
    constexpr int SPAN = SIZE - 1 + U;
    constexpr int LAG = BEFORE + U;
    auto load = [&](const float* src, int ch) { return ch >= cFirst && ch <= cLast ? src[(long long)ch * HW] : 0.0f; };
    float av[SPAN], tv[SPAN], pv[LAG], dv[LAG];
#pragma unroll
    for (int i = 0; i < SIZE - 1; i++) {
        av[i] = load(a, cFirst - BEFORE + i);
        tv[i] = 0.0f;  // channels below the group
    }
#pragma unroll
    for (int i = 0; i < BEFORE; i++) pv[i] = dv[i] = 0.0f;  // never read: their channels are below the group
    for (int j0 = cFirst; j0 - BEFORE <= cLast; j0 += U) {
        float bv[U];
#pragma unroll
        for (int u = 0; u < U; u++) {  // the step's 3U loads first: independent, in flight together
            av[SIZE - 1 + u] = load(a, j0 + AFTER + u);
            dv[BEFORE + u] = load(dy, j0 + u);
            bv[u] = load(b, j0 + u);
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            float t = 0.0f, p = 0.0f;  // past the group's end: t adds +0.0f, p is never read
            if (j0 + u <= cLast) {
                float sum = 0.0f;
#pragma unroll
                for (int i = 0; i < SIZE; i++) sum = __fadd_rn(sum, __fmul_rn(av[u + i], av[u + i]));
                const float scale = __fadd_rn(k, __fmul_rn(alpha, sum));
                p = powf(scale, -beta);
                t = __fdiv_rn(__fmul_rn(dv[BEFORE + u], bv[u]), scale);
            }
            tv[SIZE - 1 + u] = t;
            pv[BEFORE + u] = p;
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            const int c = j0 - BEFORE + u;
            if (c >= cFirst && c <= cLast) {
                float sum = 0.0f;
#pragma unroll
                for (int i = 0; i < SIZE; i++) sum = __fadd_rn(sum, tv[u + i]);  // ascending j = c - AFTER + i
                dx[(long long)c * HW] = lrn_grad(dv[u], pv[u], coef, av[u], sum, relu);
            }
        }
#pragma unroll
        for (int i = 0; i < SIZE - 1; i++) {
            av[i] = av[i + U];
            tv[i] = tv[i + U];
        }
#pragma unroll
        for (int i = 0; i < BEFORE; i++) {
            pv[i] = pv[i + U];
            dv[i] = dv[i + U];
        }
    }
}

// MAX_BEFORE: the largest size / 2 served by register windows in this instantiation; larger sizes take the plain path.
// Requires N * groups * H * W + the grid's threads < 2^31 (the caller checks).
template <int MAX_BEFORE>
__device__ __forceinline__ void lrn_backward_body(float* __restrict__ dIn, const float* __restrict__ dOut,
                                                  const float* __restrict__ in, const float* __restrict__ out, int N,
                                                  int C, int HW, int size, float alpha, float beta, float k, int groups,
                                                  int relu) {
    const int columns = N * groups * HW;  // one thread per (n, group, h, w), as the forward pass
    const int Cg = C / groups;
    const int before = size / 2;       // window(c) reaches this many channels below c ...
    const int after = (size - 1) / 2;  // ... and this many above; c is in window(j) for j in [c - after, c + before]
    const float coef = __fmul_rn(__fmul_rn(2.0f, alpha), beta);
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < columns; i += blockDim.x * gridDim.x) {
        const int hw = i % HW;
        const int ng = i / HW;
        const int gi = ng % groups;
        const int n = ng / groups;
        const int cFirst = gi * Cg, cLast = cFirst + Cg - 1;
        const long long base = (long long)n * C * HW + hw;
        const float* a = in + base;
        const float* b = out + base;
        const float* dy = dOut + base;
        float* dx = dIn + base;
        switch (before) {  // uniform across the grid
#define LRN_BACKWARD_CASE(B) \
    case B:                                                                                                           \
        if (B > MAX_BEFORE) break;                                                                                    \
        if (after == B) lrn_backward_column<B, B>(dx, dy, a, b, HW, cFirst, cLast, alpha, beta, k, coef, relu);       \
        else lrn_backward_column<B, (B > 0 ? B - 1 : 0)>(dx, dy, a, b, HW, cFirst, cLast, alpha, beta, k, coef, relu); \
        continue;
            LRN_BACKWARD_CASE(0)
            LRN_BACKWARD_CASE(1)
            LRN_BACKWARD_CASE(2)
            LRN_BACKWARD_CASE(3)
            LRN_BACKWARD_CASE(4)
            LRN_BACKWARD_CASE(5)
            LRN_BACKWARD_CASE(6)
            LRN_BACKWARD_CASE(7)
            LRN_BACKWARD_CASE(8)
#undef LRN_BACKWARD_CASE
            default: break;
        }
        static_assert(MAX_BEFORE <= 8, "the cases above go up to 8");
        for (int c = cFirst; c <= cLast; c++) {
            const int lo = max(c - after, cFirst), hi = min(c + before, cLast);
            float sum = 0.0f;
            for (int j = lo; j <= hi; j++) {
                const float scale = lrn_scale(a, HW, j, before, after, cFirst, cLast, alpha, k);
                const long long off = (long long)j * HW;
                sum = __fadd_rn(sum, __fdiv_rn(__fmul_rn(dy[off], b[off]), scale));
            }
            const float pw = powf(lrn_scale(a, HW, c, before, after, cFirst, cLast, alpha, k), -beta);
            const long long off = (long long)c * HW;
            dx[off] = lrn_grad(dy[off], pw, coef, a[off], sum, relu);
        }
    }
}

// dIn, dOut, in (the forward input), out (the forward output): (N, C, H, W). dIn must not alias the others.
// relu: 1 when in is a ReLU's output and dIn is to be the gradient with respect to that ReLU's input.
// Two entries, the same arguments and the same bits for every size: lrn_backward keeps register windows for sizes up
// to 5 only (the paper's LRN) and so its registers (60 on sm_90: 32 resident warps per SM at 256 threads), where the
// windows for sizes up to 17 take 94 (16 warps); lrn_backward_wide has them all. The host picks by size.
#define LRN_BACKWARD_ENTRY(name, MAX_BEFORE)                                                                          \
    KERNEL void name(float* __restrict__ dIn, const float* __restrict__ dOut, const float* __restrict__ in,           \
                     const float* __restrict__ out, int N, int C, int H, int W, int size, float alpha, float beta,    \
                     float k, int groups, int relu) {                                                                 \
        lrn_backward_body<MAX_BEFORE>(dIn, dOut, in, out, N, C, H * W, size, alpha, beta, k, groups, relu);         \
    }
LRN_BACKWARD_ENTRY(lrn_backward, lrn_backward_v3::NARROW_MAX_BEFORE)
LRN_BACKWARD_ENTRY(lrn_backward_wide, lrn_backward_v3::MAX_BEFORE)
