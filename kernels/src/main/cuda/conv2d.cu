// 2-D convolution, forward: grouped, strided, zero-padded, with bias and an optional fused ReLU.
//
//   out[n, k, p, q] = act(bias[k] + sum_{c, r, s} weight[k, c, r, s] * in[n, g*Cg + c, p*stride - pad + r, q*stride - pad + s])
//   in (N, C, H, W), weight (K, Cg, R, S) with Cg = C / groups, bias (K), out (N, K, P, Q); g = k / Kg, Kg = K / groups;
//   input pixels outside [0, H) x [0, W) read as zero.
//
// Versions
//   conv2d_forward  v1: implicit GEMM in float32 (no tensor cores). For each group g it computes the matrix product
//                       Out_g (Kg x N*P*Q) = Wt_g (Kg x Cg*R*S) . X_g (Cg*R*S x N*P*Q) + bias, where
//                         Wt_g[m, kk]     = weight[g*Kg + m, c, r, s]            with kk = (c*R + r)*S + s
//                                           (a weight row is contiguous in kk: the (K, Cg, R, S) layout as it is)
//                         X_g[kk, j]      = in[n, g*Cg + c, p*stride - pad + r, q*stride - pad + s] or 0 (padding)
//                                           with j = (n*P + p)*Q + q, never materialised (im2col on the fly)
//                         Out_g[m, j]     -> out[n, g*Kg + m, p, q]
//                       Block tile 64 (m) x 128 (j), reduction slabs of 8, 128 threads, each thread an 8 x 8 register
//                       micro-tile; the next slab is read from global memory into registers while the current one
//                       is multiplied out of shared memory (double buffer, one __syncthreads per slab).
//                       Grid (ceil(N*P*Q / 128), ceil(Kg / 64), groups), block 128. Every tile edge is bounds-checked:
//                       out-of-range rows, columns and reduction indices load zeros and are never stored.
//                       Requires N*P*Q, C*H*W and K*P*Q < 2^31 (the image offset itself is 64-bit); the caller checks.
#include "common.cuh"

namespace conv2d_v1 {
constexpr int BM = 64;       // output channels (GEMM rows) per block tile
constexpr int BN = 128;      // output pixels (GEMM columns) per block tile
constexpr int BK = 8;        // reduction indices per slab
constexpr int THREADS = 128; // = (BM / 8) * (BN / 8): one 8 x 8 micro-tile per thread
}  // namespace conv2d_v1

__device__ __forceinline__ float conv2d_act(float x, int relu) {
    // ReLU as relu_forward does it: NaN stays NaN.
    return (relu == 0 || x > 0.0f || x != x) ? x : 0.0f;
}

KERNEL void __launch_bounds__(conv2d_v1::THREADS)
conv2d_forward(float* __restrict__ out, const float* __restrict__ in, const float* __restrict__ weight,
               const float* __restrict__ bias, int N, int C, int H, int W, int K, int R, int S, int P, int Q,
               int stride, int pad, int groups, int relu) {
    using namespace conv2d_v1;
    __shared__ __align__(16) float As[2][BK][BM];  // weight slab, transposed: As[buf][kk][m]
    __shared__ __align__(16) float Bs[2][BK][BN];  // im2col slab: Bs[buf][kk][j]

    const int Cg = C / groups, Kg = K / groups;
    const int RS = R * S;
    const int CRS = Cg * RS;  // GEMM reduction length
    const int HW = H * W;
    const int PQ = P * Q;
    const int NPQ = N * PQ;   // GEMM columns
    const int g = blockIdx.z;
    const int m0 = blockIdx.y * BM;  // first output channel of this tile, within group g
    const int j0 = blockIdx.x * BN;  // first output pixel of this tile
    const int tid = threadIdx.x;

    // --- What this thread loads. ---
    // A (weights): row am of the tile, reduction indices ak .. ak+3 of each slab (4 floats; 64 rows x 2 = 128 threads).
    const int am = tid % BM;
    const int ak = (tid / BM) * 4;
    const bool aRowOk = m0 + am < Kg;
    const float* aRow = weight + (long long)(g * Kg + (aRowOk ? m0 + am : 0)) * CRS;

    // B (input): column tid of the tile, all BK reduction indices of each slab. The column's pixel (n, p, q) is fixed
    // for the whole reduction, so it is decoded once; the reduction index (c, r, s) is the same for every thread and
    // advances one step per loaded element, so no division is needed in the loop.
    const int bj = j0 + tid;
    const bool colOk = bj < NPQ;
    int bn = 0, bp = 0, bq = 0;
    if (colOk) {
        bn = bj / PQ;
        const int pq = bj - bn * PQ;
        bp = pq / Q;
        bq = pq - bp * Q;
    }
    const int h0 = bp * stride - pad;  // input row of filter tap r = 0
    const int w0 = bq * stride - pad;  // input column of filter tap s = 0
    const float* img = in + ((long long)bn * C + (long long)g * Cg) * HW;  // image bn, first channel of group g
    int kc = 0, kr = 0, ks = 0;  // (c, r, s) of the next reduction index this thread will load
    int kk = 0;                  // that index: kk = (kc*R + kr)*S + ks

    float aReg[4];
    float bReg[BK];

    // Loads slab t into aReg/bReg. Must be called for t = 0, 1, 2, ... in order (it advances kc/kr/ks/kk).
    auto loadSlab = [&](int t) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int k = t * BK + ak + i;
            aReg[i] = (aRowOk && k < CRS) ? aRow[k] : 0.0f;
        }
#pragma unroll
        for (int i = 0; i < BK; i++) {
            float v = 0.0f;
            if (colOk && kk < CRS) {
                const int h = h0 + kr, w = w0 + ks;
                if (h >= 0 && h < H && w >= 0 && w < W) v = img[kc * HW + h * W + w];
            }
            bReg[i] = v;
            kk++;
            if (++ks == S) {
                ks = 0;
                if (++kr == R) {
                    kr = 0;
                    kc++;
                }
            }
        }
    };
    auto storeSlab = [&](int buf) {
#pragma unroll
        for (int i = 0; i < 4; i++) As[buf][ak + i][am] = aReg[i];
#pragma unroll
        for (int i = 0; i < BK; i++) Bs[buf][i][tid] = bReg[i];
    };

    // --- What this thread computes: rows tm*4 + {0..3} and 32 + tm*4 + {0..3}, columns tn*4 + {0..3} and
    // 64 + tn*4 + {0..3} of the tile. Splitting each dimension in two halves makes a warp's float4 reads of a
    // shared-memory row contiguous (16 threads x 16 bytes), so they are free of bank conflicts.
    const int tn = tid % 16;
    const int tm = tid / 16;
    float acc[8][8];
#pragma unroll
    for (int i = 0; i < 8; i++)
#pragma unroll
        for (int j = 0; j < 8; j++) acc[i][j] = 0.0f;

    const int slabs = (CRS + BK - 1) / BK;
    loadSlab(0);
    storeSlab(0);
    __syncthreads();
    for (int t = 0; t < slabs; t++) {
        const int buf = t & 1;
        if (t + 1 < slabs) loadSlab(t + 1);  // global loads in flight while we multiply
#pragma unroll
        for (int k = 0; k < BK; k++) {
            const float4 a0 = *reinterpret_cast<const float4*>(&As[buf][k][tm * 4]);
            const float4 a1 = *reinterpret_cast<const float4*>(&As[buf][k][32 + tm * 4]);
            const float4 b0 = *reinterpret_cast<const float4*>(&Bs[buf][k][tn * 4]);
            const float4 b1 = *reinterpret_cast<const float4*>(&Bs[buf][k][64 + tn * 4]);
            const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
            const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
            for (int i = 0; i < 8; i++)
#pragma unroll
                for (int j = 0; j < 8; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        // Buffer buf ^ 1 was last read in iteration t - 1, which every thread finished before the barrier that
        // ended it; writing it now cannot race with a reader.
        if (t + 1 < slabs) storeSlab(buf ^ 1);
        __syncthreads();
    }

    // --- Epilogue: bias, activation, scatter to NCHW. ---
    long long colBase[8];  // offset of out[n, 0, p, q] for each of this thread's columns, or -1 if out of range
#pragma unroll
    for (int j = 0; j < 8; j++) {
        const int col = j0 + (j < 4 ? tn * 4 + j : 64 + tn * 4 + (j - 4));
        if (col < NPQ) {
            const int n = col / PQ;
            colBase[j] = (long long)n * K * PQ + (col - n * PQ);
        } else {
            colBase[j] = -1;
        }
    }
#pragma unroll
    for (int i = 0; i < 8; i++) {
        const int m = m0 + (i < 4 ? tm * 4 + i : 32 + tm * 4 + (i - 4));
        if (m >= Kg) continue;
        const int k = g * Kg + m;
        const float b = bias[k];
#pragma unroll
        for (int j = 0; j < 8; j++) {
            if (colBase[j] >= 0) out[colBase[j] + (long long)k * PQ] = conv2d_act(acc[i][j] + b, relu);
        }
    }
}
