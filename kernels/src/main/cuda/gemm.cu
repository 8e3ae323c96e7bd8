// Fully connected layer, forward: a float32 SGEMM with bias and an optional fused ReLU.
//
//   out[n, k] = act(bias[k] + sum_c in[n, c] * weight[k, c]),  in (N, C), weight (K, C) as PyTorch stores it, bias (K),
//   out (N, K); all row-major. Both operands are contiguous along the reduction dimension c.
//
// Versions
//   linear_forward         v1: block tile 64 (n) x 128 (k), reduction slabs of 16, 128 threads, each thread an 8 x 8
//                              register micro-tile; slabs are loaded as float4 along c when C, the split length and
//                              both pointers allow it (scalar loads otherwise and at the tail), stored transposed in
//                              shared memory, and the next slab's loads are in flight while the current one is
//                              multiplied (double buffer, one __syncthreads per slab).
//                              Grid (ceil(N / 64), ceil(K / 128), splits), block 128. n tiles are the fastest grid
//                              dimension so that the blocks reading the same weight rows run together and share them
//                              in L2. Split-K, deterministically: with splits = gridDim.z > 1, block z sums only
//                              c in [z*chunk, min(C, (z+1)*chunk)) and writes the raw partial sum to
//                              out[z, n, k] (out is then a (splits, N, K) workspace, bias and relu unused);
//                              linear_forward_reduce adds the partials in a fixed order. With gridDim.z == 1 the bias
//                              and activation are applied and out is the (N, K) result. Needed because at batch 128
//                              fc6/fc7 have only 64 output tiles for 132 SMs.
//   linear_forward_reduce  v1: out[n, k] = act(bias[k] + partial[0, n, k] + ... + partial[splits-1, n, k]), summed
//                              in ascending split order; grid-stride over N*K.
#include "common.cuh"

namespace linear_v1 {
constexpr int BM = 64;       // rows of in (batch) per block tile
constexpr int BN = 128;      // rows of weight (output features) per block tile
constexpr int BK = 16;       // reduction indices per slab
constexpr int THREADS = 128; // = (BM / 8) * (BN / 8): one 8 x 8 micro-tile per thread
}  // namespace linear_v1

__device__ __forceinline__ float linear_act(float x, int relu) {
    // ReLU as relu_forward does it: NaN stays NaN.
    return (relu == 0 || x > 0.0f || x != x) ? x : 0.0f;
}

// Four consecutive floats row[c .. c+3], zero where c+e >= end; one 16-byte load when allowed and in range.
__device__ __forceinline__ float4 linear_load4(const float* __restrict__ row, bool rowOk, int c, int end, bool vec) {
    float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (!rowOk) return v;
    if (vec && c + 3 < end) return *reinterpret_cast<const float4*>(row + c);
    if (c < end) v.x = row[c];
    if (c + 1 < end) v.y = row[c + 1];
    if (c + 2 < end) v.z = row[c + 2];
    if (c + 3 < end) v.w = row[c + 3];
    return v;
}

// out: (N, K), or a (gridDim.z, N, K) workspace of partial sums when gridDim.z > 1. in (N, C), weight (K, C),
// bias (K). chunk: reduction indices per split (only read when gridDim.z > 1: then it must make gridDim.z * chunk >= C).
KERNEL void __launch_bounds__(linear_v1::THREADS)
linear_forward(float* __restrict__ out, const float* __restrict__ in, const float* __restrict__ weight,
               const float* __restrict__ bias, int N, int C, int K, int chunk, int relu) {
    using namespace linear_v1;
    __shared__ __align__(16) float As[2][BK][BM];  // in slab, transposed: As[buf][c][n]
    __shared__ __align__(16) float Bs[2][BK][BN];  // weight slab, transposed: Bs[buf][c][k]

    const int n0 = blockIdx.x * BM;  // first batch row of this tile
    const int k0 = blockIdx.y * BN;  // first output feature of this tile
    const int split = blockIdx.z;
    const bool direct = gridDim.z == 1;
    const int cBegin = direct ? 0 : (int)min((long long)split * chunk, (long long)C);
    const int cEnd = direct ? C : (int)min((long long)cBegin + chunk, (long long)C);
    const int slabs = (cEnd - cBegin + BK - 1) / BK;  // 0 if this split is empty: it then writes zeros
    // float4 loads need every row start (a multiple of C) and every load's c (cBegin + multiples of 4) to be
    // 16-byte aligned.
    const bool vec = C % 4 == 0 && cBegin % 4 == 0 && aligned16(in) && aligned16(weight);
    const int tid = threadIdx.x;

    // --- What this thread loads: rows lr + 32*i of each operand's tile, columns lq*4 .. lq*4+3 of each slab.
    // A warp shares lq and covers 32 consecutive rows, so its transposed shared-memory stores hit 32 banks.
    const int lr = tid % 32;
    const int lq = tid / 32;  // 0..3
    const float* aRow[2];
    bool aOk[2];
#pragma unroll
    for (int i = 0; i < 2; i++) {
        const int n = n0 + lr + 32 * i;
        aOk[i] = n < N;
        aRow[i] = in + (long long)(aOk[i] ? n : 0) * C;
    }
    const float* bRow[4];
    bool bOk[4];
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const int k = k0 + lr + 32 * i;
        bOk[i] = k < K;
        bRow[i] = weight + (long long)(bOk[i] ? k : 0) * C;
    }
    float4 aReg[2], bReg[4];
    auto loadSlab = [&](int t) {
        const int c = cBegin + t * BK + lq * 4;
#pragma unroll
        for (int i = 0; i < 2; i++) aReg[i] = linear_load4(aRow[i], aOk[i], c, cEnd, vec);
#pragma unroll
        for (int i = 0; i < 4; i++) bReg[i] = linear_load4(bRow[i], bOk[i], c, cEnd, vec);
    };
    auto storeSlab = [&](int buf) {
#pragma unroll
        for (int i = 0; i < 2; i++) {
            As[buf][lq * 4 + 0][lr + 32 * i] = aReg[i].x;
            As[buf][lq * 4 + 1][lr + 32 * i] = aReg[i].y;
            As[buf][lq * 4 + 2][lr + 32 * i] = aReg[i].z;
            As[buf][lq * 4 + 3][lr + 32 * i] = aReg[i].w;
        }
#pragma unroll
        for (int i = 0; i < 4; i++) {
            Bs[buf][lq * 4 + 0][lr + 32 * i] = bReg[i].x;
            Bs[buf][lq * 4 + 1][lr + 32 * i] = bReg[i].y;
            Bs[buf][lq * 4 + 2][lr + 32 * i] = bReg[i].z;
            Bs[buf][lq * 4 + 3][lr + 32 * i] = bReg[i].w;
        }
    };

    // --- What this thread computes: batch rows tm*4 + {0..3} and 32 + tm*4 + {0..3}, features tn*4 + {0..3} and
    // 64 + tn*4 + {0..3} of the tile (halves keep a warp's float4 shared-memory reads contiguous, conflict-free).
    const int tn = tid % 16;
    const int tm = tid / 16;
    float acc[8][8];
#pragma unroll
    for (int i = 0; i < 8; i++)
#pragma unroll
        for (int j = 0; j < 8; j++) acc[i][j] = 0.0f;

    if (slabs > 0) {
        loadSlab(0);
        storeSlab(0);
    }
    __syncthreads();
    for (int t = 0; t < slabs; t++) {
        const int buf = t & 1;
        if (t + 1 < slabs) loadSlab(t + 1);
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
        // Buffer buf ^ 1 was last read in iteration t - 1, finished by every thread before that iteration's barrier.
        if (t + 1 < slabs) storeSlab(buf ^ 1);
        __syncthreads();
    }

    // --- Epilogue: (bias, activation) or raw partial sums; float4 stores when the row layout allows.
    float* dst = direct ? out : out + (long long)split * N * K;
    const bool vecOut = K % 4 == 0 && aligned16(dst);
#pragma unroll
    for (int i = 0; i < 8; i++) {
        const int n = n0 + (i < 4 ? tm * 4 + i : 32 + tm * 4 + (i - 4));
        if (n >= N) continue;
        float* o = dst + (long long)n * K;
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const int kb = k0 + h * 64 + tn * 4;  // first of this thread's 4 features in this half
            float v[4];
#pragma unroll
            for (int e = 0; e < 4; e++) {
                v[e] = acc[i][h * 4 + e];
                if (direct && kb + e < K) v[e] = linear_act(v[e] + bias[kb + e], relu);
            }
            if (vecOut && kb + 3 < K) {
                *reinterpret_cast<float4*>(o + kb) = make_float4(v[0], v[1], v[2], v[3]);
            } else {
#pragma unroll
                for (int e = 0; e < 4; e++)
                    if (kb + e < K) o[kb + e] = v[e];
            }
        }
    }
}

// out (N, K); partials (splits, N, K) as linear_forward wrote them; bias (K).
KERNEL void linear_forward_reduce(float* __restrict__ out, const float* __restrict__ partials,
                                  const float* __restrict__ bias, int N, int K, int splits, int relu) {
    const long long total = (long long)N * K;
    GRID_STRIDE(i, total) {
        float s = partials[i];
        for (int z = 1; z < splits; z++) s += partials[(long long)z * total + i];
        out[i] = linear_act(s + bias[i % K], relu);
    }
}
