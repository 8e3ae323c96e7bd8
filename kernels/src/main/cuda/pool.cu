// Pooling, forward.
//
//   out[n, c, p, q] = max_{0 <= r, s < window} in[n, c, p*stride + r, q*stride + s]
//   in (N, C, H, W), out (N, C, P, Q) with P = (H - window) / stride + 1, Q likewise; no padding.
//   NaN propagates: if any input in the window is NaN, the output is NaN (as PyTorch's max pooling does).
//
// Versions
//   maxpool_forward  v1: one thread per output element, grid-stride over N*C*P*Q; adjacent threads take adjacent q,
//                        so a warp's loads of one filter tap are a strided run within one or two input rows and
//                        the overlapping windows of neighbours are served by L1. Memory-bound: each input is read
//                        from DRAM about once. The window is clipped to the input (it never needs to be when P and Q
//                        are computed as above, but the kernel does not rely on its caller for memory safety).
#include "common.cuh"

// Index type I: int when the output has fewer than 2^31 elements (32-bit division is several times cheaper), else
// long long.
template <typename I>
__device__ __forceinline__ void maxpool_forward_body(float* __restrict__ out, const float* __restrict__ in, int H,
                                                     int W, int P, int Q, int window, int stride, I total) {
    for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (I)blockDim.x * gridDim.x) {
        const int q = (int)(i % Q);
        const I t = i / Q;
        const int p = (int)(t % P);
        const I nc = t / P;  // n * C + c
        const float* plane = in + (long long)nc * H * W;
        const int h0 = p * stride, w0 = q * stride;
        const int h1 = min(h0 + window, H), w1 = min(w0 + window, W);  // exclusive ends
        float m = -INFINITY;
        for (int h = h0; h < h1; h++) {
            for (int w = w0; w < w1; w++) {
                const float v = plane[h * W + w];
                // v != v: NaN wins and, once m is NaN, no comparison with it is true, so it stays.
                if (v > m || v != v) m = v;
            }
        }
        out[i] = m;
    }
}

// out (N, C, P, Q), in (N, C, H, W)
KERNEL void maxpool_forward(float* __restrict__ out, const float* __restrict__ in, int N, int C, int H, int W, int P,
                            int Q, int window, int stride) {
    const long long total = (long long)N * C * P * Q;
    // The grid never exceeds 2^31 threads in total (the backend caps it), so an int index cannot overflow while
    // stepping when total itself fits in an int with room for one more grid stride.
    if (total + (long long)blockDim.x * gridDim.x <= 0x7fffffffLL) {
        maxpool_forward_body<int>(out, in, H, W, P, Q, window, stride, (int)total);
    } else {
        maxpool_forward_body<long long>(out, in, H, W, P, Q, window, stride, total);
    }
}
