// Inverted dropout, forward and backward, with a counter-based mask that is never stored.
//
//   keep(i) = u(i) >= p,  u(i) = (word >> 8) * 2^-24 (a float in [0, 1) with 24 random bits: exact), where word is
//             word i & 3 of Philox4x32-10(counter = {i >> 2, layer, step, step >> 32}, key = {seed, seed >> 32})
//             (32-bit halves); i is the element's flat index.
//   forward:  out[i] = keep(i) ? in[i] * scale : 0;   backward: dIn[i] = keep(i) ? dOut[i] * scale : 0
//   scale = (float) (1 / (1 - p)), rounded once from double by the caller and passed in, so that every backend
//   multiplies by the same float. The mask is a pure function of (seed, layer, step, i): the backward pass redraws
//   the forward pass's mask, and a run is reproducible on any device count.
//
// Versions
//   dropout_forward   v1: one Philox call per four consecutive elements (its four words are their four draws),
//                         grid-stride over groups of four; float4 loads and stores when both pointers are 16-byte
//                         aligned, scalar otherwise and for the last partial group. ~10 multiply-xor rounds per
//                         four elements: far below the memory time, so the op runs at copy bandwidth.
//   dropout_backward  v1: the same kernel body on the gradient (the derivative of in * scale is scale).
//                         dIn == dOut is allowed (and out == in in the forward): a thread reads its group before
//                         writing it.
#include "common.cuh"
#include "philox.cuh"

__device__ __forceinline__ float dropout_apply(float x, uint32_t word, float p, float scale) {
    const float u = (float)(word >> 8) * 0x1p-24f;
    return u >= p ? x * scale : 0.0f;
}

__device__ __forceinline__ void dropout_body(float* out, const float* in, long long n, float p, float scale,
                                             unsigned long long seed, int layer, unsigned long long step) {
    const uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    const uint32_t c1 = (uint32_t)layer, c2 = (uint32_t)step, c3 = (uint32_t)(step >> 32);
    const long long groups = (n + 3) / 4;
    const bool vec = aligned16(out) && aligned16(in);
    GRID_STRIDE(g, groups) {
        const Philox4x32 r = philox4x32_10((uint32_t)g, c1, c2, c3, k0, k1);
        const long long i = 4 * g;
        if (vec && i + 3 < n) {
            const float4 x = reinterpret_cast<const float4*>(in)[g];
            reinterpret_cast<float4*>(out)[g] =
                make_float4(dropout_apply(x.x, r.v[0], p, scale), dropout_apply(x.y, r.v[1], p, scale),
                            dropout_apply(x.z, r.v[2], p, scale), dropout_apply(x.w, r.v[3], p, scale));
        } else {
            float x[4];
            for (int e = 0; e < 4 && i + e < n; e++) x[e] = in[i + e];  // all reads before any write (in place)
            for (int e = 0; e < 4 && i + e < n; e++) out[i + e] = dropout_apply(x[e], r.v[e], p, scale);
        }
    }
}

// out, in: n floats; out == in is allowed.
KERNEL void dropout_forward(float* out, const float* in, long long n, float p, float scale, unsigned long long seed,
                            int layer, unsigned long long step) {
    dropout_body(out, in, n, p, scale, seed, layer, step);
}

// dIn, dOut: n floats; dIn == dOut is allowed.
KERNEL void dropout_backward(float* dIn, const float* dOut, long long n, float p, float scale, unsigned long long seed,
                             int layer, unsigned long long step) {
    dropout_body(dIn, dOut, n, p, scale, seed, layer, step);
}
