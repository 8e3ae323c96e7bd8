// Elementwise kernels: fill, ReLU and its gradient, per-channel bias add, tensor add, channel copy. All memory-bound: one read and one write
// per element, so the only thing that matters is full-width coalesced access.
//
// Versions
//   fill              v1: grid-stride, float4 stores when the pointer is 16-byte aligned.
//   relu_forward      v1: grid-stride, float4 loads/stores when both pointers are 16-byte aligned.
//                         fmaxf(x, 0) would turn NaN into 0; (x > 0 ? x : 0) does too, by design of
//                         ReLU on NaN in PyTorch it propagates, so we keep NaN: x > 0 || x != x.
//   bias_add_forward  v1: out[n,c,i] = in[n,c,i] + bias[c] over NCHW (HW = 1 for a fully connected
//                         layer's N x K output); in-place (out == in) is allowed.
//   tanh_forward      v1: out = tanhf(in) (CUDA's tanhf: within 2 ulp; the CPU reference rounds Math.tanh once).
//   tanh_backward     v1: dIn = dOut * (1 - out * out), from tanh's output, each operation rounded once (no FMA),
//                         as the CPU reference evaluates it: bitwise equal.
//   relu_backward     v1: dIn = out > 0 ? dOut : (out is NaN ? out : 0), from the ReLU's output rather than its
//                         input (the same mask: out > 0 exactly where in > 0), so the forward input need not be
//                         kept. A NaN that went through the forward pass stays NaN in the gradient instead of
//                         being silently masked. Grid-stride, float4 when all three pointers are 16-byte
//                         aligned; dIn == dOut is allowed (each element is read before it is written, by the same
//                         thread).
//   add_forward       v1: out = a + b, one rounded add (__fadd_rn). Grid-stride, float4 when all three pointers are
//                         16-byte aligned; out may be a or b (each element is read before it is written, by the same
//                         thread).
//   copy_channels     v1: dst[n, dstOffset + c, :] = src[n, srcOffset + c, :] for c < count: per image one contiguous
//                         run of count * inner floats. Grid-stride over the flattened (image, position in run) pairs,
//                         one 64-bit division per item to split them; every index and stride is 64-bit (a tensor may
//                         hold more than 2^31 floats). float4 when both runs start 16-byte aligned in every image
//                         (pointers aligned, run and both image strides multiples of 4), else scalar. dst and src must
//                         not overlap (the host checks).
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

// dIn[i] = relu_grad(dOut[i], out[i]) for i in [0, n); dIn may be dOut (or out).
KERNEL void relu_backward(float* dIn, const float* dOut, const float* out, long long n) {
    if (aligned16(dIn) && aligned16(dOut) && aligned16(out)) {
        long long n4 = n / 4;
        GRID_STRIDE(i, n4) {
            const float4 d = reinterpret_cast<const float4*>(dOut)[i];
            const float4 y = reinterpret_cast<const float4*>(out)[i];
            reinterpret_cast<float4*>(dIn)[i] =
                make_float4(relu_grad(d.x, y.x), relu_grad(d.y, y.y), relu_grad(d.z, y.z), relu_grad(d.w, y.w));
        }
        GRID_STRIDE(i, n - 4 * n4) dIn[4 * n4 + i] = relu_grad(dOut[4 * n4 + i], out[4 * n4 + i]);
    } else {
        GRID_STRIDE(i, n) dIn[i] = relu_grad(dOut[i], out[i]);
    }
}

// out = tanh(in); out == in is allowed.
KERNEL void tanh_forward(float* out, const float* in, long long n) {
    GRID_STRIDE(i, n) out[i] = tanhf(in[i]);
}

// dIn = dOut * (1 - out^2) with out the tanh's output; any of the three may be the same buffer.
KERNEL void tanh_backward(float* dIn, const float* dOut, const float* out, long long n) {
    GRID_STRIDE(i, n) {
        const float y = out[i];
        dIn[i] = __fmul_rn(dOut[i], __fsub_rn(1.0f, __fmul_rn(y, y)));
    }
}

// out[i] = a[i] + b[i] for i in [0, n); out may be a or b.
KERNEL void add_forward(float* out, const float* a, const float* b, long long n) {
    if (aligned16(out) && aligned16(a) && aligned16(b)) {
        const long long n4 = n / 4;
        GRID_STRIDE(i, n4) {
            const float4 x = reinterpret_cast<const float4*>(a)[i];
            const float4 y = reinterpret_cast<const float4*>(b)[i];
            reinterpret_cast<float4*>(out)[i] =
                make_float4(__fadd_rn(x.x, y.x), __fadd_rn(x.y, y.y), __fadd_rn(x.z, y.z), __fadd_rn(x.w, y.w));
        }
        GRID_STRIDE(i, n - 4 * n4) out[4 * n4 + i] = __fadd_rn(a[4 * n4 + i], b[4 * n4 + i]);
    } else {
        GRID_STRIDE(i, n) out[i] = __fadd_rn(a[i], b[i]);
    }
}

// dst: (images, dstChannels, inner), src: (images, srcChannels, inner) flattened; copies channels
// [srcOffset, srcOffset + count) of src to [dstOffset, dstOffset + count) of dst, leaving dst's other channels as they
// are. dst and src do not overlap.
KERNEL void copy_channels(float* __restrict__ dst, const float* __restrict__ src, long long images,
                          int dstChannels, int srcChannels, int dstOffset, int srcOffset, int count, long long inner) {
    const long long run = (long long)count * inner;                 // floats copied per image
    const long long dstStride = (long long)dstChannels * inner;     // floats per image
    const long long srcStride = (long long)srcChannels * inner;
    float* const d = dst + (long long)dstOffset * inner;            // the run's start in image 0
    const float* const s = src + (long long)srcOffset * inner;
    if (aligned16(d) && aligned16(s) && ((run | dstStride | srcStride) & 3) == 0) {
        const long long run4 = run / 4, dstStride4 = dstStride / 4, srcStride4 = srcStride / 4;
        GRID_STRIDE(i, images * run4) {
            const long long n = i / run4, j = i - n * run4;
            reinterpret_cast<float4*>(d)[n * dstStride4 + j] = reinterpret_cast<const float4*>(s)[n * srcStride4 + j];
        }
    } else {
        GRID_STRIDE(i, images * run) {
            const long long n = i / run, j = i - n * run;
            d[n * dstStride + j] = s[n * srcStride + j];
        }
    }
}
