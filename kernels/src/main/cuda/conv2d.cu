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
//                       Block tile BM (m) x 128 (j), reduction slabs of 8, 2*BM threads, each thread an 8 x 8
//                       register micro-tile; the next slab is read from global memory into registers while the current
//                       one is multiplied out of shared memory (double buffer, one __syncthreads per slab).
//                       Grid (ceil(N*P*Q / 128), ceil(Kg / BM), groups), block 2*BM. Every tile edge is bounds-checked:
//                       out-of-range rows, columns and reduction indices load zeros and are never stored.
//                       v2: the row tile BM is 64 (conv2d_forward), 48 (_m48), 96 (_m96) or 128 (_m128). By default
//                       the host times the ones that pad Kg by at most a third on the first call of each shape and
//                       keeps the fastest (or, untuned, takes the one that pads Kg least: conv1's 96 filters fill one
//                       96-row tile, where two 64-row tiles computed 32 rows of zeros, a quarter of the layer's
//                       multiply-adds). Every variant sums each output in the same order: the same bits. With 96
//                       threads (BM 48), threads load a second im2col column so that the slab's 128 columns are
//                       covered; with 192 or 256, the threads past the 128th load no im2col column.
//                       Requires N*P*Q, C*H*W and K*P*Q < 2^31 (the image offset itself is 64-bit); the caller checks.
//                       v3: a small batch gives few column tiles (conv3 at batch 1: 169 output pixels, two tiles, so
//                       12 blocks for 132 SMs, each a serial chain over all 2304 reduction indices). The host may then
//                       split the reduction: conv2d_forward_split (row tile 64, grid z = groups * splits) has block z
//                       sum only a chunk of the reduction and write raw partial sums to a (splits, N, K, P, Q)
//                       workspace, which conv2d_forward_reduce adds in ascending split order, then adds the bias and
//                       applies the activation. Whether and how to split depends only on the column tiles, the
//                       reduction length and the SM count (not on K, the groups or a tuned tile), so a tower of the
//                       two-GPU split gives the same bits as the one-device network; without a split (large batches:
//                       every AlexNet layer at batch 128) the kernels and the bits are v2's.
//   conv2d_forward_reduce  v1: out = act(p_0 + p_1 + ... + p_(splits-1) + bias), left to right; grid-stride over N*K*P*Q.
//
//   The backward kernels share the forward kernel's tile (BM x 128 with BM 64, 48, 96 or 128 as the host picks, slabs of
//   8, 2*BM threads, 8 x 8 micro-tiles, double buffer) and its inner product; their weight-side slab is stored with
//   rows padded to BM + 4 floats so that its transposing stores are free of bank conflicts. (BM 48 serves conv2's
//   data gradient, whose 48 input channels per group filled three quarters of a 64-row tile.) Every output element is summed by one thread over one fixed range in one fixed
//   order (no atomics): results are the same bits on every run.
//   conv2d_backward_data           v1: dIn = W^T x dOut as an implicit GEMM per group g and per stride phase
//                       (ph, pw) = (h mod stride, w mod stride). For an input pixel of phase ph only taps
//                       r = rph + stride*rr with rph = (ph + pad) mod stride reach an output row, p = hh + offH - rr
//                       (h = ph + stride*hh, offH = (ph + pad - rph) / stride), and likewise for columns; splitting
//                       by phase leaves a dense stride-1 problem with no wasted (misaligned) taps:
//                         dIn_g,ph,pw (Cg x N*Hph*Wph) = Wt (Cg x Kg*Rph*Sph) . dOutCols (Kg*Rph*Sph x N*Hph*Wph)
//                         Wt[c, (k, rr, ss)]        = weight[g*Kg + k, c, rph + stride*rr, sph + stride*ss]
//                         dOutCols[(k, rr, ss), j]  = dOut[n, g*Kg + k, hh + offH - rr, ww + offW - ss] or 0 outside
//                       Grid (ceil(N*ceil(H/stride)*ceil(W/stride) / 128), ceil(Cg / BM), groups*stride^2), block
//                       2*BM; z = g*stride^2 + ph*stride + pw. A phase without taps (stride > filter) writes zeros.
//                       Requires N*H*W, C*H*W, K*P*Q and the weight's size < 2^31; the caller checks.
//   conv2d_backward_data           v2: v1, and with reluOut not null the gradient goes on through the ReLU whose output
//                       the convolution read (conv3 -> conv4 -> conv5): dIn = relu_grad(v1's sum, reluOut) as
//                       relu_backward computes it, in the epilogue (reluOut, of dIn's shape, read at each stored
//                       element): relu_backward's separate pass read dIn and reluOut again and wrote dIn again.
//                       relu_grad is a selection: the same bits as the two passes. reluOut must not alias dIn.
//   conv2d_backward_weight         v1: dW and dBias as one implicit GEMM per group over the long reduction j = (n, p, q):
//                         dW_g (Kg x Cg*R*S + 1) = dOut_g (Kg x N*P*Q) . X_g (N*P*Q x Cg*R*S + 1)
//                         X_g[j, (c, r, s)]         = in[n, g*Cg + c, p*stride - pad + r, q*stride - pad + s] or 0
//                         X_g[j, Cg*R*S]            = 1: the extra column sums dOut over (n, p, q), the bias gradient
//                       The reduction (N*P*Q: 387200 for conv1 at batch 128) dwarfs the output (96 x 364), so it is
//                       split deterministically: with splits = gridDim.z / groups > 1, block z sums only
//                       j in [split*chunk, min(N*P*Q, (split+1)*chunk)) (split = z / groups, g = z % groups) and
//                       writes raw partial sums to a (splits, K, Cg*R*S + 1) workspace, which
//                       conv2d_backward_weight_reduce adds in ascending split order. With one split the kernel writes
//                       dWeight and dBias directly. Grid (ceil((Cg*R*S + 1) / 128), ceil(Kg / BM), groups*splits), block 2*BM.
//                       Requires N*P*Q, C*H*W, K*P*Q and K*(Cg*R*S + 1) < 2^31; the caller checks.
//   conv2d_backward_data_r128, _m128_r128, _m48_r128, conv2d_backward_weight_r128, _m128_r128, _m48_r128
//                       v1: the row tiles 64, 128 and 48 of the two backward kernels (the same code, the same bits)
//                       with __launch_bounds__ asking for as many resident blocks as 128 registers per thread allow
//                       (4 of 64, 2 of 128, 5 of 48). For sm_90 ptxas gives the plain entries 143 to 165 registers:
//                       3 resident blocks of 64 (12 warps), 1 of 128 (8 warps, each slab's barrier stalling the whole
//                       SM), 4 of 48; the _r128 entries get 128, at the price of 16 to 80 spilled bytes. Which is
//                       faster is the GPU's to say: the host times both when it tunes (ConvRowTiles); untuned, it
//                       takes the plain entry.
//   conv2d_backward_weight_reduce  v1: dWeight[k, i] and dBias[k] from the partials, each summed in ascending split
//                       order; grid-stride over K*(Cg*R*S + 1).
#include "common.cuh"

namespace conv2d_v1 {
constexpr int BN = 128;      // output pixels (GEMM columns) per block tile
constexpr int BK = 8;        // reduction indices per slab
// BM (output channels, GEMM rows, per block tile) is a template parameter: 64, 48, 96 or 128 (see v2 above);
// 2*BM threads = (BM / 8) * (BN / 8), one 8 x 8 micro-tile each. COLS: tile columns each thread loads.
template <int BM> struct Tile {
    static constexpr int THREADS = 2 * BM;
    static constexpr int COLS = (BN + THREADS - 1) / THREADS;
};
}  // namespace conv2d_v1

__device__ __forceinline__ float conv2d_act(float x, int relu) {
    // ReLU as relu_forward does it: NaN stays NaN.
    return (relu == 0 || x > 0.0f || x != x) ? x : 0.0f;
}

// A flat index i = (a*rows + b)*cols + c into a stack of rows x cols planes, split into (a, b, c); plane = rows*cols.
// Every decode of these kernels: a column into (image, row, column), a reduction index into (channel, tap row, tap column).
struct conv2d_index3 {
    int a, b, c;
};
__device__ __forceinline__ conv2d_index3 conv2d_split(int i, int plane, int cols) {
    const int a = i / plane, rem = i - a * plane, b = rem / cols;
    return {a, b, rem - b * cols};
}

// Stores the slab of columns this thread loaded (tile columns tid + c*THREADS below 128, all BK reduction indices)
// into the shared-memory slab Bs[reduction][column]. Shared by the three kernels, whose B operands all load this way.
template <int THREADS, int COLS, int BK>
__device__ __forceinline__ void conv2d_store_columns(float (*Bs)[conv2d_v1::BN], const float (&bReg)[COLS][BK], int tid) {
#pragma unroll
    for (int c = 0; c < COLS; c++) {
        if (tid + c * THREADS < conv2d_v1::BN) {
#pragma unroll
            for (int i = 0; i < BK; i++) Bs[i][tid + c * THREADS] = bReg[c][i];
        }
    }
}

// The B operand of conv2d_forward and conv2d_backward_data, an implicit im2col: the thread's tile columns c < COLS
// (GEMM columns: pixels), each fixing an image plane stack img[c] and an origin (row0[c], col0[c]), or out of range
// (colOk[c] false: zeros). Reduction index (kc, kr, ks) reads plane kc of the stack at (row0 + SIGN*kr, col0 + SIGN*ks),
// zero outside rows x cols: SIGN +1 for the forward pass (the input pixel under filter tap (r, s)), -1 for the data
// gradient (the output pixel that tap (rr, ss) came from). The index steps through (kc, kr, ks) over R x S taps per
// plane, one step per loaded element and the same for every column, so no division is needed in the loop.
template <int SIGN, int COLS>
struct conv2d_tap_gather {
    bool colOk[COLS];
    int row0[COLS], col0[COLS];
    const float* img[COLS];
    int kc = 0, kr = 0, ks = 0;  // the next reduction index ...
    int kk = 0;                  // ... and its place in the reduction: kk = (kc*R + kr)*S + ks

    // Starts the walk at reduction index kk0 instead of 0 (a split of the reduction).
    __device__ __forceinline__ void start(int kk0, int R, int S) {
        kk = kk0;
        const conv2d_index3 t = conv2d_split(kk0, R * S, S);
        kc = t.a;
        kr = t.b;
        ks = t.c;
    }

    // The next BK reduction indices of every column into b[c][0..BK); indices from red on (the reduction's length)
    // read as zeros.
    template <int BK>
    __device__ __forceinline__ void load(float (&b)[COLS][BK], int red, int R, int S, int planeSize, int rows, int cols) {
#pragma unroll
        for (int i = 0; i < BK; i++) {
#pragma unroll
            for (int c = 0; c < COLS; c++) {
                float v = 0.0f;
                if (colOk[c] && kk < red) {
                    const int y = row0[c] + SIGN * kr, x = col0[c] + SIGN * ks;
                    if (y >= 0 && y < rows && x >= 0 && x < cols) v = img[c][kc * planeSize + y * cols + x];
                }
                b[c][i] = v;
            }
            kk++;
            if (++ks == S) {
                ks = 0;
                if (++kr == R) {
                    kr = 0;
                    kc++;
                }
            }
        }
    }
};

// Without SPLIT: grid z = groups, out (N, K, P, Q), bias and activation applied. With SPLIT: grid z = groups*splits,
// block z sums only the reduction indices [split*chunk, min(CRS, (split+1)*chunk)) (split = z / groups,
// g = z % groups) and out is a (splits, N, K, P, Q) workspace of raw partial sums (no bias, no activation), which
// conv2d_forward_reduce adds in ascending split order; chunk is a multiple of BK. (Two instantiations, so that the
// direct kernels keep v2's registers: the split's bookkeeping would cost them a quarter of their resident warps.)
template <int BM, bool SPLIT>
__device__ __forceinline__ void conv2d_forward_tile(float* __restrict__ out, const float* __restrict__ in,
                                                    const float* __restrict__ weight, const float* __restrict__ bias,
                                                    int N, int C, int H, int W, int K, int R, int S, int P, int Q,
                                                    int stride, int pad, int groups, int relu, int chunk) {
    using namespace conv2d_v1;
    constexpr int COLS = Tile<BM>::COLS, THREADS = Tile<BM>::THREADS;
    __shared__ __align__(16) float As[2][BK][BM];  // weight slab, transposed: As[buf][kk][m]
    __shared__ __align__(16) float Bs[2][BK][BN];  // im2col slab: Bs[buf][kk][j]

    const int Cg = C / groups, Kg = K / groups;
    const int RS = R * S;
    const int CRS = Cg * RS;  // GEMM reduction length
    const int HW = H * W;
    const int PQ = P * Q;
    const int NPQ = N * PQ;   // GEMM columns
    const int g = SPLIT ? blockIdx.z % groups : blockIdx.z, split = SPLIT ? blockIdx.z / groups : 0;
    const int kBegin = SPLIT ? min(split * chunk, CRS) : 0;  // this block's part of the reduction
    const int kEnd = SPLIT ? min(kBegin + chunk, CRS) : CRS;
    const int m0 = blockIdx.y * BM;  // first output channel of this tile, within group g
    const int j0 = blockIdx.x * BN;  // first output pixel of this tile
    const int tid = threadIdx.x;

    // --- What this thread loads. ---
    // A (weights): row am of the tile, reduction indices ak .. ak+3 of each slab (4 floats; BM rows x 2 = 2*BM threads).
    const int am = tid % BM;
    const int ak = (tid / BM) * 4;
    const bool aRowOk = m0 + am < Kg;
    const float* aRow = weight + (long long)(g * Kg + (aRowOk ? m0 + am : 0)) * CRS;

    // B (input): tile columns tid + c*THREADS (c < COLS, below BN), all BK reduction indices (c, r, s) of each slab.
    // A column's pixel (n, p, q) is fixed for the whole reduction, so it is decoded once.
    conv2d_tap_gather<+1, COLS> inCols;
#pragma unroll
    for (int c = 0; c < COLS; c++) {
        const int bj = j0 + tid + c * THREADS;
        inCols.colOk[c] = tid + c * THREADS < BN && bj < NPQ;
        const conv2d_index3 npq = inCols.colOk[c] ? conv2d_split(bj, PQ, Q) : conv2d_index3{0, 0, 0};
        inCols.row0[c] = npq.b * stride - pad;  // input row of filter tap r = 0
        inCols.col0[c] = npq.c * stride - pad;  // input column of filter tap s = 0
        inCols.img[c] = in + ((long long)npq.a * C + (long long)g * Cg) * HW;  // image n, first channel of group g
    }
    if (SPLIT) inCols.start(kBegin, R, S);

    float aReg[4];
    float bReg[COLS][BK];

    // Loads slab t into aReg/bReg. Must be called for t = 0, 1, 2, ... in order (the gather steps through the reduction).
    auto loadSlab = [&](int t) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int k = kBegin + t * BK + ak + i;
            aReg[i] = (aRowOk && k < kEnd) ? aRow[k] : 0.0f;
        }
        inCols.load(bReg, kEnd, R, S, HW, H, W);
    };
    auto storeSlab = [&](int buf) {
#pragma unroll
        for (int i = 0; i < 4; i++) As[buf][ak + i][am] = aReg[i];
        conv2d_store_columns<THREADS>(Bs[buf], bReg, tid);
    };

    // --- What this thread computes: rows tm*4 + {0..3} and BM/2 + tm*4 + {0..3}, columns tn*4 + {0..3} and
    // 64 + tn*4 + {0..3} of the tile. Splitting each dimension in two halves makes a warp's float4 reads of a
    // shared-memory row contiguous (16 threads x 16 bytes), so they are free of bank conflicts.
    const int tn = tid % 16;
    const int tm = tid / 16;
    float acc[8][8];
    tile_8x8_zero(acc);

    // (an empty split, which the host never makes, would write zeros)
    slab_loop<SPLIT>((kEnd - kBegin + BK - 1) / BK, loadSlab, storeSlab,
                    [&](int buf) { tile_8x8_mma<BK, BM / 2>(acc, As[buf], Bs[buf], tm, tn); });

    // --- Epilogue: bias, activation, scatter to NCHW; or this split's raw partial sums. ---
    long long colBase[8];  // offset of out[n, 0, p, q] for each of this thread's columns, or -1 if out of range
#pragma unroll
    for (int j = 0; j < 8; j++) {
        const int col = j0 + tile_8x8_col(j, tn);
        if (col < NPQ) {
            const int n = col / PQ;
            colBase[j] = (long long)n * K * PQ + (col - n * PQ);
        } else {
            colBase[j] = -1;
        }
    }
#pragma unroll
    for (int i = 0; i < 8; i++) {
        const int m = m0 + tile_8x8_row<BM / 2>(i, tm);
        if (m >= Kg) continue;
        const int k = g * Kg + m;
        if (!SPLIT) {
            const float b = bias[k];
#pragma unroll
            for (int j = 0; j < 8; j++) {
                if (colBase[j] >= 0) out[colBase[j] + (long long)k * PQ] = conv2d_act(acc[i][j] + b, relu);
            }
        } else {
            float* partials = out + (long long)split * N * K * PQ;
#pragma unroll
            for (int j = 0; j < 8; j++) {
                if (colBase[j] >= 0) partials[colBase[j] + (long long)k * PQ] = acc[i][j];
            }
        }
    }
}

// out (N, K, P, Q) = act(bias + the splits' partial sums, added in ascending split order from the first), as the
// direct path computes act(sum + bias). partials: (splits, N, K, P, Q); total = N*K*P*Q. Grid-stride.
KERNEL void conv2d_forward_reduce(float* __restrict__ out, const float* __restrict__ partials,
                                  const float* __restrict__ bias, long long total, int K, int PQ, int splits, int relu) {
    GRID_STRIDE(i, total) {
        float sum = partials[i];
        for (int s = 1; s < splits; s++) sum += partials[(long long)s * total + i];
        out[i] = conv2d_act(sum + bias[(i / PQ) % K], relu);
    }
}

// One entry per row tile (the host picks the one that pads Kg least); the same arguments and results.
#define CONV2D_FORWARD_ENTRY(name, BM)                                                                                \
    KERNEL void __launch_bounds__(conv2d_v1::Tile<BM>::THREADS)                                                      \
    name(float* __restrict__ out, const float* __restrict__ in, const float* __restrict__ weight,                    \
         const float* __restrict__ bias, int N, int C, int H, int W, int K, int R, int S, int P, int Q, int stride,   \
         int pad, int groups, int relu) {                                                                             \
        conv2d_forward_tile<BM, false>(out, in, weight, bias, N, C, H, W, K, R, S, P, Q, stride, pad, groups, relu, 0); \
    }
CONV2D_FORWARD_ENTRY(conv2d_forward, 64)
CONV2D_FORWARD_ENTRY(conv2d_forward_m48, 48)
CONV2D_FORWARD_ENTRY(conv2d_forward_m96, 96)
CONV2D_FORWARD_ENTRY(conv2d_forward_m128, 128)

// The split reduction (v3), one row tile (64): it serves small problems, whose time the split, not the tile, decides.
// out: the (splits, N, K, P, Q) partial sums; grid (ceil(N*P*Q / 128), ceil(K/groups / 64), groups * splits).
KERNEL void __launch_bounds__(conv2d_v1::Tile<64>::THREADS)
conv2d_forward_split(float* __restrict__ partials, const float* __restrict__ in, const float* __restrict__ weight, int N,
                     int C, int H, int W, int K, int R, int S, int P, int Q, int stride, int pad, int groups, int chunk) {
    conv2d_forward_tile<64, true>(partials, in, weight, nullptr, N, C, H, W, K, R, S, P, Q, stride, pad, groups, 0, chunk);
}

namespace conv2d_bwd_v1 {
constexpr int BN = 128;
constexpr int BK = 8;
// BM and the threads as in conv2d_v1::Tile. The A slab's rows are padded to BM + 4 floats so that its transposing
// stores (8 slab indices x 4 rows per warp) hit 32 different banks.
template <int BM> struct Tile {
    static constexpr int THREADS = 2 * BM;
    static constexpr int COLS = (BN + THREADS - 1) / THREADS;
    static constexpr int APAD = BM + 4;
};
}  // namespace conv2d_bwd_v1

// The backward entries' launch bounds: the block size alone (ptxas then chooses the registers), or with as many
// resident blocks per SM as 128 registers per thread allow (the _r128 entries: 4 blocks of 64, 2 of 128, 5 of 48).
#define CONV2D_BWD_BOUNDS(BM) __launch_bounds__(conv2d_bwd_v1::Tile<BM>::THREADS)
#define CONV2D_BWD_BOUNDS_R128(BM) __launch_bounds__(conv2d_bwd_v1::Tile<BM>::THREADS, 65536 / (128 * conv2d_bwd_v1::Tile<BM>::THREADS))


// dIn (N, C, H, W), dOut (N, K, P, Q), weight (K, C/groups, R, S); reluOut null or (N, C, H, W).
template <int BM>
__device__ __forceinline__ void conv2d_backward_data_tile(float* __restrict__ dIn, const float* __restrict__ dOut,
                                                          const float* __restrict__ weight,
                                                          const float* __restrict__ reluOut, int N, int C, int H, int W,
                                                          int K, int R, int S, int P, int Q, int stride, int pad,
                                                          int groups) {
    using namespace conv2d_bwd_v1;
    constexpr int COLS = Tile<BM>::COLS, THREADS = Tile<BM>::THREADS;
    __shared__ __align__(16) float As[2][BK][Tile<BM>::APAD];  // weight slab: As[buf][reduction][c]
    __shared__ __align__(16) float Bs[2][BK][BN];              // dOut slab:   Bs[buf][reduction][pixel]

    const int phases = stride * stride;
    const int g = blockIdx.z / phases;
    const int ph = (blockIdx.z % phases) / stride, pw = blockIdx.z % stride;
    const int Hph = ph < H ? (H - ph + stride - 1) / stride : 0;  // input rows h = ph + stride*hh of this phase
    const int Wph = pw < W ? (W - pw + stride - 1) / stride : 0;
    const int HWph = Hph * Wph;
    const int cols = N * HWph;
    const int j0 = blockIdx.x * BN;
    if (j0 >= cols) return;  // the grid is sized for the largest phase; uniform across the block
    const int Cg = C / groups, Kg = K / groups;
    const int m0 = blockIdx.y * BM;
    const int RS = R * S, PQ = P * Q, HW = H * W;
    const int rph = (ph + pad) % stride, sph = (pw + pad) % stride;  // first tap of this phase
    const int Rph = rph < R ? (R - rph + stride - 1) / stride : 0;   // taps of this phase
    const int Sph = sph < S ? (S - sph + stride - 1) / stride : 0;
    const int offH = (ph + pad - rph) / stride, offW = (pw + pad - sph) / stride;
    const int RSph = Rph * Sph;
    const int red = Kg * RSph;  // GEMM reduction length
    const int tid = threadIdx.x;

    // A (weights): reduction index ak of each slab, rows am + (BM/4)*i.
    const int ak = tid % BK;
    const int am = tid / BK;
    const float* wGroup = weight + (long long)g * Kg * Cg * RS;
    // B (dOut): tile columns tid + c*THREADS, all BK reduction indices (k, rr, ss) of each slab.
    conv2d_tap_gather<-1, COLS> dOutCols;
#pragma unroll
    for (int c = 0; c < COLS; c++) {
        const int bj = j0 + tid + c * THREADS;
        dOutCols.colOk[c] = tid + c * THREADS < BN && bj < cols;
        const conv2d_index3 pix = dOutCols.colOk[c] ? conv2d_split(bj, HWph, Wph) : conv2d_index3{0, 0, 0};  // (n, hh, ww)
        dOutCols.row0[c] = pix.b + offH;  // output position of tap (rr, ss) = (0, 0)
        dOutCols.col0[c] = pix.c + offW;
        dOutCols.img[c] = dOut + ((long long)pix.a * K + (long long)g * Kg) * PQ;
    }

    float aReg[4], bReg[COLS][BK];
    auto loadSlab = [&](int t) {
        const int a = t * BK + ak;
        int wOff = 0;
        const bool aOk = a < red;
        if (aOk) {
            const conv2d_index3 tap = conv2d_split(a, RSph, Sph);  // (k, rr, ss)
            wOff = tap.a * Cg * RS + (rph + stride * tap.b) * S + sph + stride * tap.c;
        }
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int c = m0 + am + (BM / 4) * i;
            aReg[i] = (aOk && c < Cg) ? wGroup[wOff + c * RS] : 0.0f;
        }
        dOutCols.load(bReg, red, Rph, Sph, PQ, P, Q);
    };
    auto storeSlab = [&](int buf) {
#pragma unroll
        for (int i = 0; i < 4; i++) As[buf][ak][am + (BM / 4) * i] = aReg[i];
        conv2d_store_columns<THREADS>(Bs[buf], bReg, tid);
    };

    const int tn = tid % 16, tm = tid / 16;
    float acc[8][8];
    tile_8x8_zero(acc);

    // No slabs for a phase no tap reaches: it writes zeros.
    slab_loop<true>((red + BK - 1) / BK, loadSlab, storeSlab,
                     [&](int buf) { tile_8x8_mma<BK, BM / 2>(acc, As[buf], Bs[buf], tm, tn); });

    // --- Epilogue: scatter to the phase's pixels of dIn.
    long long colBase[8];  // offset of dIn[n, 0, h, w] for each of this thread's columns, or -1 if out of range
#pragma unroll
    for (int j = 0; j < 8; j++) {
        const int col = j0 + tile_8x8_col(j, tn);
        if (col < cols) {
            const conv2d_index3 pix = conv2d_split(col, HWph, Wph);  // (n, hh, ww)
            colBase[j] = (long long)pix.a * C * HW + (ph + stride * pix.b) * W + pw + stride * pix.c;
        } else {
            colBase[j] = -1;
        }
    }
#pragma unroll
    for (int i = 0; i < 8; i++) {
        const int m = m0 + tile_8x8_row<BM / 2>(i, tm);
        if (m >= Cg) continue;
        const long long cOff = (long long)(g * Cg + m) * HW;
#pragma unroll
        for (int j = 0; j < 8; j++) {
            if (colBase[j] < 0) continue;
            const long long at = colBase[j] + cOff;
            dIn[at] = reluOut ? relu_grad(acc[i][j], reluOut[at]) : acc[i][j];
        }
    }
}

// One entry of the data gradient (instantiated with the weight gradient's, CONV2D_BACKWARD_ENTRIES below).
#define CONV2D_BACKWARD_DATA_ENTRY(name, BM, BOUNDS)                                                                  \
    KERNEL void BOUNDS(BM)                                                                                            \
    name(float* __restrict__ dIn, const float* __restrict__ dOut, const float* __restrict__ weight,                   \
         const float* __restrict__ reluOut, int N, int C, int H, int W, int K, int R, int S, int P, int Q, int stride, \
         int pad, int groups) {                                                                                       \
        conv2d_backward_data_tile<BM>(dIn, dOut, weight, reluOut, N, C, H, W, K, R, S, P, Q, stride, pad, groups);   \
    }

// With gridDim.z == groups: dWeight (K, C/groups, R, S) and dBias (K). With gridDim.z = groups*splits > groups:
// dWeight is a (splits, K, Cg*R*S + 1) workspace of partial sums (column Cg*R*S: the bias) and dBias is unused.
// dOut (N, K, P, Q), in (N, C, H, W). chunk: reduction indices (n, p, q) per split, read only when splitting.
template <int BM>
__device__ __forceinline__ void conv2d_backward_weight_tile(float* __restrict__ dWeight, float* __restrict__ dBias,
                                                            const float* __restrict__ dOut, const float* __restrict__ in,
                                                            int N, int C, int H, int W, int K, int R, int S, int P,
                                                            int Q, int stride, int pad, int groups, int chunk) {
    using namespace conv2d_bwd_v1;
    constexpr int COLS = Tile<BM>::COLS, THREADS = Tile<BM>::THREADS;
    __shared__ __align__(16) float As[2][BK][Tile<BM>::APAD];  // dOut slab: As[buf][reduction][k]
    __shared__ __align__(16) float Bs[2][BK][BN];              // im2col slab: Bs[buf][reduction][(c, r, s)]

    const int Cg = C / groups, Kg = K / groups;
    const int RS = R * S, CRS = Cg * RS, PQ = P * Q, HW = H * W;
    const int NPQ = N * PQ;
    const int g = blockIdx.z % groups, split = blockIdx.z / groups;
    const bool direct = gridDim.z == (unsigned)groups;
    const int jBegin = direct ? 0 : (int)min((long long)split * chunk, (long long)NPQ);
    const int jEnd = direct ? NPQ : (int)min((long long)jBegin + chunk, (long long)NPQ);
    const int m0 = blockIdx.y * BM;
    const int i0 = blockIdx.x * BN;  // first GEMM column (c, r, s) of this tile
    const int tid = threadIdx.x;

    // A (dOut): reduction index jBegin + t*BK + ak of slab t, rows am + (BM/4)*i. (an, apq) is that index's
    // (n, p*Q + q), advanced by BK per slab.
    const int ak = tid % BK;
    const int am = tid / BK;
    int an = 0, apq = 0;
    {
        const int j = jBegin + ak;
        an = j / PQ;
        apq = j - an * PQ;
    }
    // B (input): tile columns tid + c*THREADS, all BK reduction indices; (c, r, s) fixed per column, (n, p, q)
    // stepping the same for every column.
    bool colOk[COLS], biasCol[COLS];
    int chanOff[COLS], rOff[COLS], sOff[COLS];  // the column's channel offset (c*HW) and tap (r - pad, s - pad)
#pragma unroll
    for (int c = 0; c < COLS; c++) {
        const int bi = i0 + tid + c * THREADS;
        const bool inTile = tid + c * THREADS < BN;
        colOk[c] = inTile && bi < CRS;
        biasCol[c] = inTile && bi == CRS;
        const conv2d_index3 crs = colOk[c] ? conv2d_split(bi, RS, S) : conv2d_index3{0, 0, 0};
        chanOff[c] = crs.a * HW;
        rOff[c] = crs.b - pad;
        sOff[c] = crs.c - pad;
    }
    const conv2d_index3 jFirst = conv2d_split(jBegin, PQ, Q);
    int jn = jFirst.a, jp = jFirst.b, jq = jFirst.c;  // (n, p, q) of the next reduction index B loads; the same for every thread
    int jb = jBegin;
    const long long imgStride = (long long)C * HW;
    const float* xImg = in + (long long)jn * imgStride + (long long)g * Cg * HW;  // image jn, first channel of group g

    float aReg[4], bReg[COLS][BK];
    auto loadSlab = [&](int t) {
        const bool aOk = jBegin + t * BK + ak < jEnd;
        const float* aImg = dOut + ((long long)an * K + (long long)g * Kg) * PQ + apq;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int m = m0 + am + (BM / 4) * i;
            aReg[i] = (aOk && m < Kg) ? aImg[(long long)m * PQ] : 0.0f;
        }
        apq += BK;
        while (apq >= PQ) {
            apq -= PQ;
            an++;
        }
#pragma unroll
        for (int i = 0; i < BK; i++) {
#pragma unroll
            for (int c = 0; c < COLS; c++) {
                float v = 0.0f;
                if (jb < jEnd) {
                    if (colOk[c]) {
                        const int h = jp * stride + rOff[c], w = jq * stride + sOff[c];
                        if (h >= 0 && h < H && w >= 0 && w < W) v = xImg[chanOff[c] + h * W + w];
                    } else if (biasCol[c]) {
                        v = 1.0f;
                    }
                }
                bReg[c][i] = v;
            }
            jb++;
            if (++jq == Q) {
                jq = 0;
                if (++jp == P) {
                    jp = 0;
                    xImg += imgStride;
                }
            }
        }
    };
    auto storeSlab = [&](int buf) {
#pragma unroll
        for (int i = 0; i < 4; i++) As[buf][ak][am + (BM / 4) * i] = aReg[i];
        conv2d_store_columns<THREADS>(Bs[buf], bReg, tid);
    };

    const int tn = tid % 16, tm = tid / 16;
    float acc[8][8];
    tile_8x8_zero(acc);

    // No slabs for an empty split: it writes zeros.
    slab_loop<true>((jEnd - jBegin + BK - 1) / BK, loadSlab, storeSlab,
                     [&](int buf) { tile_8x8_mma<BK, BM / 2>(acc, As[buf], Bs[buf], tm, tn); });

    // --- Epilogue: dWeight and dBias, or one split's partials.
    const int ld = direct ? CRS : CRS + 1;  // row length of the destination
    float* dst = direct ? dWeight : dWeight + (long long)split * K * (CRS + 1);
#pragma unroll
    for (int i = 0; i < 8; i++) {
        const int m = m0 + tile_8x8_row<BM / 2>(i, tm);
        if (m >= Kg) continue;
        const int k = g * Kg + m;
        float* row = dst + (long long)k * ld;
#pragma unroll
        for (int j = 0; j < 8; j++) {
            const int col = i0 + tile_8x8_col(j, tn);
            if (col < CRS) {
                row[col] = acc[i][j];
            } else if (col == CRS) {
                if (direct) dBias[k] = acc[i][j];
                else row[col] = acc[i][j];
            }
        }
    }
}

#define CONV2D_BACKWARD_WEIGHT_ENTRY(name, BM, BOUNDS)                                                                \
    KERNEL void BOUNDS(BM)                                                                                            \
    name(float* __restrict__ dWeight, float* __restrict__ dBias, const float* __restrict__ dOut,                     \
         const float* __restrict__ in, int N, int C, int H, int W, int K, int R, int S, int P, int Q, int stride,     \
         int pad, int groups, int chunk) {                                                                            \
        conv2d_backward_weight_tile<BM>(dWeight, dBias, dOut, in, N, C, H, W, K, R, S, P, Q, stride, pad, groups,    \
                                        chunk);                                                                       \
    }

// Both backward kernels in every row tile and launch bounds, the same suffix for both (the _r128 entries: as many
// resident blocks as 128 registers per thread allow, 4 of 64, 2 of 128, 5 of 48).
#define CONV2D_BACKWARD_ENTRIES(suffix, BM, BOUNDS)                                                                   \
    CONV2D_BACKWARD_DATA_ENTRY(conv2d_backward_data##suffix, BM, BOUNDS)                                              \
    CONV2D_BACKWARD_WEIGHT_ENTRY(conv2d_backward_weight##suffix, BM, BOUNDS)
CONV2D_BACKWARD_ENTRIES(, 64, CONV2D_BWD_BOUNDS)
CONV2D_BACKWARD_ENTRIES(_m48, 48, CONV2D_BWD_BOUNDS)
CONV2D_BACKWARD_ENTRIES(_m96, 96, CONV2D_BWD_BOUNDS)
CONV2D_BACKWARD_ENTRIES(_m128, 128, CONV2D_BWD_BOUNDS)
CONV2D_BACKWARD_ENTRIES(_r128, 64, CONV2D_BWD_BOUNDS_R128)
CONV2D_BACKWARD_ENTRIES(_m128_r128, 128, CONV2D_BWD_BOUNDS_R128)
CONV2D_BACKWARD_ENTRIES(_m48_r128, 48, CONV2D_BWD_BOUNDS_R128)

// dWeight (K, CRS), dBias (K); partials (splits, K, CRS + 1) as conv2d_backward_weight wrote them.
KERNEL void conv2d_backward_weight_reduce(float* __restrict__ dWeight, float* __restrict__ dBias,
                                          const float* __restrict__ partials, int K, int CRS, int splits) {
    const long long total = (long long)K * (CRS + 1);
    GRID_STRIDE(i, total) {
        float s = partials[i];
        for (int z = 1; z < splits; z++) s += partials[(long long)z * total + i];
        const int k = (int)(i / (CRS + 1));
        const int col = (int)(i - (long long)k * (CRS + 1));
        if (col < CRS) dWeight[(long long)k * CRS + col] = s;
        else dBias[k] = s;
    }
}
