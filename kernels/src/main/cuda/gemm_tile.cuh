// The tiled GEMM pieces that gemm.cu's kernels and winograd.cu's batched product share: linear_v1's tile, the
// epilogue, the guarded float4 load and the A_ALONG_M product (see gemm.cu's header for the versions).
#pragma once
#include "common.cuh"

namespace linear_v1 {
constexpr int BM = 64;       // rows of in (batch) per block tile
constexpr int BN = 128;      // rows of weight (output features) per block tile
constexpr int BK = 16;       // reduction indices per slab
constexpr int THREADS = 128; // = (BM / 8) * (BN / 8): one 8 x 8 micro-tile per thread
}  // namespace linear_v1

// The GEMMs' epilogue: this thread's 8 x 8 accumulators, each as f(value, column) makes it, into rows
// r0 + tile_8x8_row(i, tm) and columns c0 + tile_8x8_col(j, tn) of a row-major (rows, cols) matrix at dst; f sees only
// columns inside the matrix. float4 stores where the row layout allows, else one float at a time.
template <typename F>
__device__ __forceinline__ void tile_8x8_store_rows(float* dst, int rows, int cols, int r0, int c0, int tm, int tn,
                                                    const float (&acc)[8][8], F f) {
    const bool vecOut = cols % 4 == 0 && aligned16(dst);
#pragma unroll
    for (int i = 0; i < 8; i++) {
        const int r = r0 + tile_8x8_row(i, tm);
        if (r >= rows) continue;
        float* o = dst + (long long)r * cols;
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const int cb = c0 + h * 64 + tn * 4;  // first of this thread's 4 columns in this half
            float v[4];
#pragma unroll
            for (int e = 0; e < 4; e++) v[e] = cb + e < cols ? f(acc[i][h * 4 + e], cb + e) : acc[i][h * 4 + e];
            if (vecOut && cb + 3 < cols) {
                *reinterpret_cast<float4*>(o + cb) = make_float4(v[0], v[1], v[2], v[3]);
            } else {
#pragma unroll
                for (int e = 0; e < 4; e++)
                    if (cb + e < cols) o[cb + e] = v[e];
            }
        }
    }
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

// linear_forward's product as gemm.cu's header describes it, both operands contiguous along the reduction: the block's
// tile (rows blockIdx.x, columns blockIdx.y) of dst() (N, K) = f(sum_{c in [cBegin, cEnd)} in[n, c] * weight[k, c], k)
// for in (N, C) and weight (K, C), summed in ascending c; an empty range writes f(0, k). (dst is asked for after the
// product: a pointer held through it would cost registers.)
template <typename Dst, typename Epilogue>
__device__ __forceinline__ void linear_nt_tile(Dst dst, const float* __restrict__ in, const float* __restrict__ weight,
                                               int N, int C, int K, int cBegin, int cEnd, Epilogue f) {
    using namespace linear_v1;
    __shared__ __align__(16) float As[2][BK][BM];  // in slab, transposed: As[buf][c][n]
    __shared__ __align__(16) float Bs[2][BK][BN];  // weight slab, transposed: Bs[buf][c][k]

    const int n0 = blockIdx.x * BM;  // first batch row of this tile
    const int k0 = blockIdx.y * BN;  // first output feature of this tile
    const int slabs = (cEnd - cBegin + BK - 1) / BK;  // 0 if the range is empty
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
    tile_8x8_zero(acc);

    slab_loop<true>(slabs, loadSlab, storeSlab, [&](int buf) { tile_8x8_mma<BK>(acc, As[buf], Bs[buf], tm, tn); });

    tile_8x8_store_rows(dst(), N, K, n0, k0, tm, tn, acc, f);
}

// C (M x Ncol) = A . B as gemm.cu's header describes; A_ALONG_M: A(m, r) = A[r*lda + m], else A[m*lda + r]. The block's
// tile is (blockIdx.x, blockIdx.y). With splits == 1 out is C; else out is a (splits, M, Ncol) workspace of partial
// sums and this block sums only r in [split*chunk, (split+1)*chunk) into its plane.
template <bool A_ALONG_M>
__device__ __forceinline__ void linear_backward_gemm(float* __restrict__ out, const float* __restrict__ A,
                                                     const float* __restrict__ B, int M, int Ncol, int Red, int lda,
                                                     int ldb, int chunk, int split, int splits) {
    using namespace linear_v1;
    __shared__ __align__(16) float As[2][BK][BM];  // As[buf][r][m]
    __shared__ __align__(16) float Bs[2][BK][BN];  // Bs[buf][r][j]

    const int m0 = blockIdx.x * BM;
    const int j0 = blockIdx.y * BN;
    const bool direct = splits == 1;
    const int rBegin = direct ? 0 : (int)min((long long)split * chunk, (long long)Red);
    const int rEnd = direct ? Red : (int)min((long long)rBegin + chunk, (long long)Red);
    const int slabs = (rEnd - rBegin + BK - 1) / BK;  // 0 if this split is empty: it then writes zeros
    const int tid = threadIdx.x;

    // A. Along r: rows lr + 32*i of the tile, slab columns lq*4 .. lq*4+3 (as linear_forward). Along m: slab rows
    // ar + 8*i, tile columns am4 .. am4+3.
    const bool aVec = A_ALONG_M ? (lda % 4 == 0 && aligned16(A))
                                : (lda % 4 == 0 && rBegin % 4 == 0 && aligned16(A));
    const int lr = tid % 32, lq = tid / 32;
    const int ar = tid / 16, am4 = (tid % 16) * 4;
    // B: slab rows br + 4*i, tile columns bj4 .. bj4+3.
    const bool bVec = ldb % 4 == 0 && aligned16(B);
    const int br = tid / 32, bj4 = (tid % 32) * 4;

    float4 aReg[2], bReg[4];
    auto loadSlab = [&](int t) {
        const int r0 = rBegin + t * BK;
        if (A_ALONG_M) {
#pragma unroll
            for (int i = 0; i < 2; i++) {
                const int r = r0 + ar + 8 * i;
                aReg[i] = linear_load4(A + (long long)(r < rEnd ? r : 0) * lda, r < rEnd, m0 + am4, M, aVec);
            }
        } else {
#pragma unroll
            for (int i = 0; i < 2; i++) {
                const int m = m0 + lr + 32 * i;
                aReg[i] = linear_load4(A + (long long)(m < M ? m : 0) * lda, m < M, r0 + lq * 4, rEnd, aVec);
            }
        }
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int r = r0 + br + 4 * i;
            bReg[i] = linear_load4(B + (long long)(r < rEnd ? r : 0) * ldb, r < rEnd, j0 + bj4, Ncol, bVec);
        }
    };
    auto storeSlab = [&](int buf) {
        if (A_ALONG_M) {
#pragma unroll
            for (int i = 0; i < 2; i++) *reinterpret_cast<float4*>(&As[buf][ar + 8 * i][am4]) = aReg[i];
        } else {
#pragma unroll
            for (int i = 0; i < 2; i++) {
                As[buf][lq * 4 + 0][lr + 32 * i] = aReg[i].x;
                As[buf][lq * 4 + 1][lr + 32 * i] = aReg[i].y;
                As[buf][lq * 4 + 2][lr + 32 * i] = aReg[i].z;
                As[buf][lq * 4 + 3][lr + 32 * i] = aReg[i].w;
            }
        }
#pragma unroll
        for (int i = 0; i < 4; i++) *reinterpret_cast<float4*>(&Bs[buf][br + 4 * i][bj4]) = bReg[i];
    };

    const int tn = tid % 16;
    const int tm = tid / 16;
    float acc[8][8];
    tile_8x8_zero(acc);

    slab_loop<true>(slabs, loadSlab, storeSlab, [&](int buf) { tile_8x8_mma<BK>(acc, As[buf], Bs[buf], tm, tn); });

    float* dst = direct ? out : out + (long long)split * M * Ncol;
    tile_8x8_store_rows(dst, M, Ncol, m0, j0, tm, tn, acc, [](float v, int) { return v; });
}
