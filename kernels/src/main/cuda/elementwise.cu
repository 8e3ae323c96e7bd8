// Elementwise kernels: fill, ReLU, per-channel bias add. All memory-bound: one read and one write
// per element, so the only thing that matters is full-width coalesced access.
//
// Versions
//   fill              v1: grid-stride, float4 stores when the pointer is 16-byte aligned.
//   relu_forward      v1: grid-stride, float4 loads/stores when both pointers are 16-byte aligned.
//                         fmaxf(x, 0) would turn NaN into 0; (x > 0 ? x : 0) does too, by design of
//                         ReLU on NaN in PyTorch it propagates, so we keep NaN: x > 0 || x != x.
//   bias_add_forward  v1: out[n,c,i] = in[n,c,i] + bias[c] over NCHW (HW = 1 for a fully connected
//                         layer's N x K output); in-place (out == in) is allowed.
#include "common.cuh"

__device__ __forceinline__ float relu(float x) { return (x > 0.0f || x != x) ? x : 0.0f; }

// out[i] = value for i in [0, n)
KERNEL void fill(float* out, float value, long long n) {
    if (aligned16(out)) {
        long long n4 = n / 4;
        float4 v = make_float4(value, value, value, value);
        GRID_STRIDE(i, n4) reinterpret_cast<float4*>(out)[i] = v;
        GRID_STRIDE(i, n - 4 * n4) out[4 * n4 + i] = value;
    } else {
        GRID_STRIDE(i, n) out[i] = value;
    }
}

// out[i] = max(in[i], 0) for i in [0, n); out == in is allowed.
KERNEL void relu_forward(float* out, const float* in, long long n) {
    if (aligned16(out) && aligned16(in)) {
        long long n4 = n / 4;
        GRID_STRIDE(i, n4) {
            float4 x = reinterpret_cast<const float4*>(in)[i];
            reinterpret_cast<float4*>(out)[i] = make_float4(relu(x.x), relu(x.y), relu(x.z), relu(x.w));
        }
        GRID_STRIDE(i, n - 4 * n4) out[4 * n4 + i] = relu(in[4 * n4 + i]);
    } else {
        GRID_STRIDE(i, n) out[i] = relu(in[i]);
    }
}

// out, in: (N, C, HW) flattened; bias: (C). out == in is allowed.
KERNEL void bias_add_forward(float* out, const float* in, const float* __restrict__ bias,
                             int C, int HW, long long total) {
    GRID_STRIDE(i, total) out[i] = in[i] + bias[(i / HW) % C];
}
