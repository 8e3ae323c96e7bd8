// Stochastic gradient descent with momentum and weight decay, as the paper writes it (section 5):
//
//   v = momentum * v - decay * w - lr * grad;   w = w + v        with decay = weightDecay * lr
//
// Versions
//   sgd_update  v1: elementwise, grid-stride, float4 when the three pointers are 16-byte aligned. Evaluated as
//                   ((momentum * v) - (decay * w)) - (lr * grad), then w + v, each operation rounded on its own
//                   (__fmul_rn/__fsub_rn/__fadd_rn forbid FMA contraction) so that the result is bit for bit the
//                   CPU reference's float arithmetic; decay is computed once on the host, in float, and passed in,
//                   so both sides multiply by the same float. Memory-bound: 3 reads and 2 writes per parameter.
#include "common.cuh"

__device__ __forceinline__ void sgd_step(float& w, float& v, float g, float lr, float momentum, float decay) {
    v = __fsub_rn(__fsub_rn(__fmul_rn(momentum, v), __fmul_rn(decay, w)), __fmul_rn(lr, g));
    w = __fadd_rn(w, v);
}

// weight, velocity, grad: n floats. weight and velocity are updated in place.
KERNEL void sgd_update(float* __restrict__ weight, float* __restrict__ velocity, const float* __restrict__ grad,
                       float lr, float momentum, float decay, long long n) {
    if (aligned16(weight) && aligned16(velocity) && aligned16(grad)) {
        const long long n4 = n / 4;
        GRID_STRIDE(i, n4) {
            float4 w = reinterpret_cast<const float4*>(weight)[i];
            float4 v = reinterpret_cast<const float4*>(velocity)[i];
            const float4 g = reinterpret_cast<const float4*>(grad)[i];
            sgd_step(w.x, v.x, g.x, lr, momentum, decay);
            sgd_step(w.y, v.y, g.y, lr, momentum, decay);
            sgd_step(w.z, v.z, g.z, lr, momentum, decay);
            sgd_step(w.w, v.w, g.w, lr, momentum, decay);
            reinterpret_cast<float4*>(weight)[i] = w;
            reinterpret_cast<float4*>(velocity)[i] = v;
        }
        GRID_STRIDE(i, n - 4 * n4) {
            const long long j = 4 * n4 + i;
            float w = weight[j], v = velocity[j];
            sgd_step(w, v, grad[j], lr, momentum, decay);
            weight[j] = w;
            velocity[j] = v;
        }
    } else {
        GRID_STRIDE(i, n) {
            float w = weight[i], v = velocity[i];
            sgd_step(w, v, grad[i], lr, momentum, decay);
            weight[i] = w;
            velocity[i] = v;
        }
    }
}
