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
//   maxpool_backward v1: gather, so that no two threads add into one element and the bits never depend on timing:
//                        one thread per input element (n, c, h, w), grid-stride over N*C*H*W, adjacent threads on
//                        adjacent w. The thread visits the windows that contain its element, p ascending then
//                        q ascending (ceil(window / stride)^2 of them at most: 4 for AlexNet's 3x3 stride 2), finds
//                        each window's choice again, the FIRST maximum in row-major (r, s) order, a NaN counting
//                        as a maximum and the first NaN winning (the element whose value the forward pass output),
//                        and adds that window's gradient if the choice is its element: dIn = 0 + g1 + g2 + ... in
//                        that order, exactly as the CPU reference. No argmax is stored, so the backward pass needs
//                        only the forward input. Re-reading a window costs window^2 loads, mostly L1 hits (the
//                        same windows are scanned by neighbouring threads).
//   maxpool_backward v2: v1, and with relu = 1 the gradient goes on through the ReLU whose output the pooling read
//                        (conv5 -> pool5, conv1/conv2 -> pool without LRN): dIn = relu_grad(sum, in) as
//                        relu_backward computes it, in the same pass (relu_backward's separate pass read dIn and
//                        in again and wrote dIn again). The element's own input is among the values its windows'
//                        scans read, so the mask costs no DRAM traffic. relu_grad is a selection: the same bits.
//   maxpool_backward_planes v1: v2's sums (the same bits), each window's choice found once: in v2 every element of a
//                        window re-scanned it (9 threads per 3x3 window, each element in up to 4 windows: ~20 loads
//                        per input element, and 36 in warps where even and odd columns diverge). A block takes
//                        `planes` whole consecutive (n, c) planes: first one thread per window finds its choice
//                        (maxpool_argmax, as v2) into shared memory, then one thread per input element adds the
//                        gradients of the windows that chose it, p ascending then q ascending, from 0, with v2's
//                        ReLU mask. About 2.25 loads per input element for 3x3 stride 2. The host picks `planes` so
//                        that a block has about MAXPOOL_PLANES_ELEMENTS inputs and its choices fit in
//                        MAXPOOL_PLANES_WINDOWS ints; planes with more windows than that take v2.
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

// Offset (h * W + w in the plane) of the first maximum of the window at (h0, w0); a NaN is a maximum, the first wins.
__device__ __forceinline__ int maxpool_argmax(const float* plane, int H, int W, int h0, int w0, int window) {
    const int h1 = min(h0 + window, H), w1 = min(w0 + window, W);
    int best = h0 * W + w0;
    float m = plane[best];
    for (int h = h0; h < h1 && m == m; h++) {
        for (int w = w0; w < w1; w++) {
            const float v = plane[h * W + w];
            if (v > m || v != v) {
                m = v;
                best = h * W + w;
                if (v != v) break;  // the first NaN wins; the outer condition ends the scan
            }
        }
    }
    return best;
}

// The gradient of input element (h, w) of one plane: the sum, p ascending then q ascending from 0, of the gradients of
// the windows (p, q) whose choice chose(p, q) (an offset h * W + w in the plane) is this element; with relu, through
// the ReLU whose output the pooling read (x: the element's input value).
template <typename Chose>
__device__ __forceinline__ float maxpool_gather(const float* grad, float x, int h, int w, int W, int P, int Q,
                                                int window, int stride, int relu, Chose chose) {
    // Windows p with p*stride <= h < p*stride + window, likewise q.
    const int pLo = h < window ? 0 : (h - window) / stride + 1, pHi = min(h / stride, P - 1);
    const int qLo = w < window ? 0 : (w - window) / stride + 1, qHi = min(w / stride, Q - 1);
    const int self = h * W + w;
    float sum = 0.0f;
    for (int p = pLo; p <= pHi; p++) {
        for (int q = qLo; q <= qHi; q++) {
            if (chose(p, q) == self) sum += grad[p * Q + q];
        }
    }
    return relu ? relu_grad(sum, x) : sum;
}

template <typename I>
__device__ __forceinline__ void maxpool_backward_body(float* __restrict__ dIn, const float* __restrict__ dOut,
                                                      const float* __restrict__ in, int H, int W, int P, int Q,
                                                      int window, int stride, int relu, I total) {
    for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (I)blockDim.x * gridDim.x) {
        const int w = (int)(i % W);
        const I t = i / W;
        const int h = (int)(t % H);
        const I nc = t / H;  // n * C + c
        const float* plane = in + (long long)nc * H * W;
        const float* grad = dOut + (long long)nc * P * Q;
        dIn[i] = maxpool_gather(grad, plane[h * W + w], h, w, W, P, Q, window, stride, relu,
                                [&](int p, int q) { return maxpool_argmax(plane, H, W, p * stride, q * stride, window); });
    }
}

// dIn (N, C, H, W), dOut (N, C, P, Q), in (N, C, H, W): the forward pass's input. relu: 1 when in is a ReLU's output
// and dIn is to be the gradient with respect to that ReLU's input.
KERNEL void maxpool_backward(float* __restrict__ dIn, const float* __restrict__ dOut, const float* __restrict__ in,
                             int N, int C, int H, int W, int P, int Q, int window, int stride, int relu) {
    const long long total = (long long)N * C * H * W;
    if (total + (long long)blockDim.x * gridDim.x <= 0x7fffffffLL) {
        maxpool_backward_body<int>(dIn, dOut, in, H, W, P, Q, window, stride, relu, (int)total);
    } else {
        maxpool_backward_body<long long>(dIn, dOut, in, H, W, P, Q, window, stride, relu, total);
    }
}

namespace maxpool_planes_v1 {
constexpr int WINDOWS = 4096;  // shared-memory choices per block (16 KB): MAXPOOL_PLANES_WINDOWS on the host
}  // namespace maxpool_planes_v1

// maxpool_backward's arguments and result, a block per `planes` consecutive (n, c) planes (the last block may have
// fewer): grid ceil(N*C / planes). Requires planes * H * W < 2^31 (in-block indices are int; offsets into the tensors
// are 64-bit) and planes * P * Q <= maxpool_planes_v1::WINDOWS, as the host's choice of planes guarantees
// (CudaBackend.maxPoolPlanesPerBlock); a launch breaking the second writes nothing rather than past its shared memory.
KERNEL void maxpool_backward_planes(float* __restrict__ dIn, const float* __restrict__ dOut,
                                    const float* __restrict__ in, int N, int C, int H, int W, int P, int Q, int window,
                                    int stride, int relu, int planes) {
    __shared__ int chosen[maxpool_planes_v1::WINDOWS];  // chosen[plane * P*Q + p*Q + q]: the window's choice
    const int HW = H * W, PQ = P * Q;
    if ((long long)planes * PQ > maxpool_planes_v1::WINDOWS) return;  // uniform: the host never launches this
    const long long nc0 = (long long)blockIdx.x * planes;
    const int mine = (int)min((long long)planes, (long long)N * C - nc0);  // planes of this block
    for (int o = threadIdx.x; o < mine * PQ; o += blockDim.x) {
        const int plane = o / PQ, pq = o - plane * PQ, p = pq / Q, q = pq - p * Q;
        chosen[o] = maxpool_argmax(in + (nc0 + plane) * HW, H, W, p * stride, q * stride, window);
    }
    __syncthreads();
    for (int e = threadIdx.x; e < mine * HW; e += blockDim.x) {
        const int plane = e / HW, hw = e - plane * HW, h = hw / W, w = hw - h * W;
        const long long at = (nc0 + plane) * HW + hw;
        const int* ch = chosen + plane * PQ;
        dIn[at] = maxpool_gather(dOut + (nc0 + plane) * PQ, in[at], h, w, W, P, Q, window, stride, relu,
                                 [&](int p, int q) { return ch[p * Q + q]; });
    }
}
