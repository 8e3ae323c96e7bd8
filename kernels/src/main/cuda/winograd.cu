// 3x3 stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2015): each 2x2 block of outputs from a 4x4 block of inputs in 16 multiplications
// per (input channel, output channel) instead of 36, as 16 independent matrix products.
//
//   Y = A^T [ (G g G^T) o (B^T d B) ] A      g: a 3x3 filter, d: a 4x4 input tile, o: elementwise,
//   B^T = | 1  0 -1  0 |     G = |  1    0    0  |     A^T = | 1  1  1  0 |
//         | 0  1  1  0 |         | 1/2  1/2  1/2 |           | 0  1 -1 -1 |
//         | 0 -1  1  0 |         | 1/2 -1/2  1/2 |
//         | 0  1  0 -1 |         |  0    0    1  |
//
// The convolution (per group g of `groups`) maps IN channels (Cin = groups * red) to OUT channels (groups * rows):
//   out[n, g*rows + m, p, q] = sum_{r < red, a, b < 3} filter(g, m, r)[a][b] * in[n, g*red + r, p - pad + a, q - pad + b]
// with p < P = H + 2 pad - 2 and q < Q = W + 2 pad - 2; pixels outside the image read as zero. Tiles: tilesH = ceil(P/2)
// by tilesW = ceil(Q/2) per image, T = N * tilesH * tilesW of them, t = (n*tilesH + th)*tilesW + tw; tile (th, tw) reads
// input rows 2*th - pad .. 2*th - pad + 3 (columns likewise) and writes output rows 2*th, 2*th + 1 where they are < P.
// Transform coordinates xi = 4*i + j (i, j < 4) index the 16 products; plane b = xi*groups + g:
//   U (16*groups, red, rows):  U[b][r][m] = (G filter(g, m, r) G^T)[i][j]
//   V (16*groups, red, T):     V[b][r][t] = (B^T d(n, g*red + r, tile) B)[i][j]
//   M (16*groups, rows, T):    M[b][m][t] = sum_r U[b][r][m] * V[b][r][t]        (winograd_gemm; r ascending)
// and winograd_output applies A^T . A to each (m, t)'s 16 values.
//
// Three uses (CudaBackend): the forward pass (filter(g, m, r) = weight[g*Kg + m, r], rows = Kg, red = Cg; bias and ReLU
// in the epilogue), and the data gradient of a 3x3 stride-1 convolution, itself such a convolution of dOut with each
// filter turned by 180 degrees and its two channel axes swapped (filter(g, c, k) = weight[g*Kg + k, c] rotated,
// rows = Cg, red = Kg, padding 2 - pad; ReLU's gradient from the layer input in the epilogue), and the weight
// gradient (the forward pass's adjoint in the filter: its own kernels at the end of this file).
// Numerics: the transforms add and subtract neighbouring values (and halve in G), so results differ from the direct
// sum by float32 rounding (the tests hold both to the CPU reference within 1e-5 relative L2); each output is always
// computed in the same order: the same bits on every run, and for any split of the rows (a tower of the two-GPU
// split computes its filters' outputs exactly as the one-device network does).
//
// Versions
//   winograd_filter  v1: one thread per (filter, channel) pair: 9 loads, 16 stores (U is small: K*Cg*16 floats).
//   winograd_input   v1: one thread per (n, channel, tile), tiles along a row on consecutive threads (V's stores are
//                        contiguous in t); 16 loads, 16 stores; grid-stride.
//   winograd_gemm    v1: gemm.cu's linear_backward_weight tile (64 rows x 128 tiles, slabs of 16, 128 threads, 8 x 8
//                        micro-tiles, double buffer) on plane blockIdx.z; grid (ceil(rows/64), ceil(T/128), 16*groups).
//   winograd_output  v1: one thread per (n, output channel, tile): 16 loads (contiguous in t across the warp),
//                        A^T . A, then bias and ReLU (bias not null), or ReLU's gradient from reluOut (not null), or
//                        neither; up to 4 stores; grid-stride.
#include "common.cuh"
#include "gemm_tile.cuh"

// One thread's tile in the tile transforms: flat index idx = ((n*C + c)*tilesH + th)*tilesW + tw of N images (tiles
// along a row on consecutive threads). In a (16*groups, C/groups, T) transform (V, M, D), plane b = xi*groups + g holds
// channels g*C/groups and on, so that the value (xi, c, t) is at xi*C*T + c*T + t whatever the groups.
struct winograd_tile {
    int th, tw;
    int nc;        // n*C + c: the (image, channel) plane of the NCHW tensor
    int c;
    long long at;  // c*T + t: where xi = 0's value is; xi's is xi*C*T further on
};
__device__ __forceinline__ winograd_tile winograd_tile_of(int idx, int N, int C, int tilesH, int tilesW) {
    winograd_tile w;
    w.tw = idx % tilesW;
    const int rest = idx / tilesW;
    w.th = rest % tilesH;
    w.nc = rest / tilesH;
    w.c = w.nc % C;
    const int n = w.nc / C, tiles = tilesH * tilesW;
    w.at = (long long)w.c * N * tiles + (long long)n * tiles + w.th * tilesW + w.tw;
    return w;
}

// weight (K, Cg, 3, 3), K = groups * Kg. forward (flip 0): U[b][c][k] = G weight[g*Kg + k, c] G^T (rows Kg, red Cg);
// data gradient (flip 1): U[b][k][c] = G rot180(weight[g*Kg + k, c]) G^T (rows Cg, red Kg).
KERNEL void winograd_filter(float* __restrict__ U, const float* __restrict__ weight, int K, int Cg, int groups, int flip) {
    const int Kg = K / groups;
    const long long plane = (long long)Kg * Cg;
    GRID_STRIDE(i, (long long)K * Cg) {
        const int k = (int)(i / Cg), c = (int)(i - (long long)k * Cg);
        const int g = k / Kg, kk = k - g * Kg;
        const float* w = weight + i * 9;
        float f[3][3];
#pragma unroll
        for (int a = 0; a < 3; a++)
#pragma unroll
            for (int b = 0; b < 3; b++) f[a][b] = flip ? w[(2 - a) * 3 + (2 - b)] : w[a * 3 + b];
        float t[4][3];  // G f
#pragma unroll
        for (int b = 0; b < 3; b++) {
            t[0][b] = f[0][b];
            t[1][b] = 0.5f * (f[0][b] + f[1][b] + f[2][b]);
            t[2][b] = 0.5f * (f[0][b] - f[1][b] + f[2][b]);
            t[3][b] = f[2][b];
        }
        const long long within = flip ? (long long)kk * Cg + c : (long long)c * Kg + kk;
        float* u = U + (long long)g * plane + within;
        const long long step = (long long)groups * plane;  // from one xi's plane of group g to the next's
#pragma unroll
        for (int a = 0; a < 4; a++) {  // (G f) G^T, row a
            u[(4 * a + 0) * step] = t[a][0];
            u[(4 * a + 1) * step] = 0.5f * (t[a][0] + t[a][1] + t[a][2]);
            u[(4 * a + 2) * step] = 0.5f * (t[a][0] - t[a][1] + t[a][2]);
            u[(4 * a + 3) * step] = t[a][2];
        }
    }
}

// in (N, C, H, W), C = groups * Cg; V as above. The host checks N*C*tilesH*tilesW < 2^31.
KERNEL void winograd_input(float* __restrict__ V, const float* __restrict__ in, int N, int C, int H, int W, int tilesH,
                           int tilesW, int pad) {
    const long long step = (long long)C * N * tilesH * tilesW;  // from one xi's values to the next's
    GRID_STRIDE(i, step) {
        const winograd_tile tile = winograd_tile_of((int)i, N, C, tilesH, tilesW);
        const int th = tile.th, tw = tile.tw;
        const int y0 = 2 * th - pad, x0 = 2 * tw - pad;
        const float* plane = in + (long long)tile.nc * H * W;
        float d[4][4];
#pragma unroll
        for (int a = 0; a < 4; a++) {
            const int y = y0 + a;
#pragma unroll
            for (int b = 0; b < 4; b++) {
                const int x = x0 + b;
                d[a][b] = (y >= 0 && y < H && x >= 0 && x < W) ? plane[y * W + x] : 0.0f;
            }
        }
        float t[4][4];  // B^T d
#pragma unroll
        for (int b = 0; b < 4; b++) {
            t[0][b] = d[0][b] - d[2][b];
            t[1][b] = d[1][b] + d[2][b];
            t[2][b] = d[2][b] - d[1][b];
            t[3][b] = d[1][b] - d[3][b];
        }
        float* v = V + tile.at;
#pragma unroll
        for (int a = 0; a < 4; a++) {  // (B^T d) B, row a
            v[(4 * a + 0) * step] = t[a][0] - t[a][2];
            v[(4 * a + 1) * step] = t[a][1] + t[a][2];
            v[(4 * a + 2) * step] = t[a][2] - t[a][1];
            v[(4 * a + 3) * step] = t[a][1] - t[a][3];
        }
    }
}

// M (16*groups, rows, T) from U (16*groups, red, rows) and V (16*groups, red, T), plane blockIdx.z.
KERNEL void __launch_bounds__(linear_v1::THREADS)
winograd_gemm(float* __restrict__ M, const float* __restrict__ U, const float* __restrict__ V, int rows, int T, int red) {
    const long long b = blockIdx.z;
    linear_backward_gemm<true>(M + b * rows * T, U + b * red * rows, V + b * red * T, rows, T, red, rows, T, red, 0, 1);
}

// out (N, K, P, Q), K = groups * rows, from M; bias (K) or null; reluOut (N, K, P, Q) or null (not both).
KERNEL void winograd_output(float* __restrict__ out, const float* __restrict__ M, const float* __restrict__ bias,
                            const float* __restrict__ reluOut, int N, int K, int P, int Q, int tilesH, int tilesW,
                            int relu) {
    const long long step = (long long)K * N * tilesH * tilesW;
    GRID_STRIDE(i, step) {
        const winograd_tile tile = winograd_tile_of((int)i, N, K, tilesH, tilesW);
        const int th = tile.th, tw = tile.tw, k = tile.c;
        const float* src = M + tile.at;
        float s[2][4];  // A^T x
#pragma unroll
        for (int b = 0; b < 4; b++) {
            const float x0 = src[(0 + b) * step], x1 = src[(4 + b) * step], x2 = src[(8 + b) * step], x3 = src[(12 + b) * step];
            s[0][b] = x0 + x1 + x2;
            s[1][b] = x1 - x2 - x3;
        }
        const float bk = bias ? bias[k] : 0.0f;
#pragma unroll
        for (int a = 0; a < 2; a++) {
            const int p = 2 * th + a;
            if (p >= P) continue;
            float y[2];  // (A^T x) A, row a
            y[0] = s[a][0] + s[a][1] + s[a][2];
            y[1] = s[a][1] - s[a][2] - s[a][3];
#pragma unroll
            for (int b = 0; b < 2; b++) {
                const int q = 2 * tw + b;
                if (q >= Q) continue;
                const long long o = ((long long)tile.nc * P + p) * Q + q;
                float v = y[b];
                if (bias) {
                    v += bk;
                    if (relu && !(v > 0.0f) && v == v) v = 0.0f;  // ReLU as relu_forward: NaN stays NaN
                } else if (reluOut) {
                    v = relu_grad(v, reluOut[o]);
                }
                out[o] = v;
            }
        }
    }
}

// ---- The weight gradient: the forward pass's adjoint in the filter. ----
// dg = G^T [ sum over images and tiles of (A dy A^T) o (B^T d B) ] G, dy a 2x2 block of dOut (zeros past P, Q), d the
// 4x4 input tile it was computed from: 16 products summed over T = N * tiles, then one inverse transform per filter.
//   V (16*groups, Cg, T):  winograd_input's, of the layer input
//   D (16*groups, Kg, T):  D[b][k][t] = (A dy(n, g*Kg + k, tile) A^T)[i][j]                      (winograd_grad_output)
//   W (splits, 16*groups, Kg, Cg): W[s][b][k][c] = sum over t in split s of D[b][k][t] * V[b][c][t]   (winograd_weight_gemm)
//   dWeight[g*Kg + k, c] = G^T (W[0][b][k][c] + W[1][b][k][c] + ...) G, splits in ascending order (winograd_weight_reduce)
//   dBias[k] = the sum of D's plane xi = 5 over t, (A dy A^T)[1][1] being the sum of dy's four values (winograd_bias_grad)
// Versions
//   winograd_grad_output   v1: one thread per (n, output channel, tile), t along a row on consecutive threads: 4 loads,
//                              16 stores contiguous in t; grid-stride.
//   winograd_weight_gemm   v1: gemm.cu's linear_forward tile (64 filters x 128 channels, slabs of 16 along t, float4
//                              loads where T and the pointers allow) on plane b = z / splits over t in
//                              [s*chunk, min(T, (s+1)*chunk)), s = z % splits; chunk a multiple of 16. Raw sums.
//   winograd_weight_reduce v1: one thread per (filter, channel): 16 x splits loads, the inverse transform, 9 stores.
//   winograd_bias_grad     v1: one warp per output channel: lane l sums t = l, l + 32, ... in order, then a fixed
//                              butterfly (__shfl_xor_sync 16, 8, 4, 2, 1); blocks stride over the channels.

// dOut (N, K, P, Q) into D (16*groups, K/groups, T).
KERNEL void winograd_grad_output(float* __restrict__ D, const float* __restrict__ dOut, int N, int K, int P, int Q,
                                 int tilesH, int tilesW) {
    const long long step = (long long)K * N * tilesH * tilesW;
    GRID_STRIDE(i, step) {
        const winograd_tile tile = winograd_tile_of((int)i, N, K, tilesH, tilesW);
        const int th = tile.th, tw = tile.tw;
        const float* plane = dOut + (long long)tile.nc * P * Q;
        float d[2][2];
#pragma unroll
        for (int a = 0; a < 2; a++)
#pragma unroll
            for (int b = 0; b < 2; b++) {
                const int p = 2 * th + a, q = 2 * tw + b;
                d[a][b] = (p < P && q < Q) ? plane[p * Q + q] : 0.0f;
            }
        float e[4][2];  // A dy
#pragma unroll
        for (int b = 0; b < 2; b++) {
            e[0][b] = d[0][b];
            e[1][b] = d[0][b] + d[1][b];
            e[2][b] = d[0][b] - d[1][b];
            e[3][b] = -d[1][b];
        }
        float* dst = D + tile.at;
#pragma unroll
        for (int a = 0; a < 4; a++) {  // (A dy) A^T, row a
            dst[(4 * a + 0) * step] = e[a][0];
            dst[(4 * a + 1) * step] = e[a][0] + e[a][1];
            dst[(4 * a + 2) * step] = e[a][0] - e[a][1];
            dst[(4 * a + 3) * step] = -e[a][1];
        }
    }
}

// W (splits, planes, rows, cols) from D (planes, rows, T) and V (planes, cols, T); planes = gridDim.z / splits.
KERNEL void __launch_bounds__(linear_v1::THREADS)
winograd_weight_gemm(float* __restrict__ W, const float* __restrict__ D, const float* __restrict__ V, int rows,
                     int cols, int T, int chunk, int splits) {
    const int b = blockIdx.z / splits, split = blockIdx.z - b * splits;
    const long long planes = gridDim.z / splits;
    const int tBegin = (int)min((long long)split * chunk, (long long)T);
    const int tEnd = (int)min((long long)tBegin + chunk, (long long)T);
    linear_nt_tile([&] { return W + ((long long)split * planes + b) * rows * cols; }, D + (long long)b * rows * T,
                   V + (long long)b * cols * T, rows, T, cols, tBegin, tEnd, [](float v, int) { return v; });
}

// dWeight (K, Cg, 3, 3) from W (splits, 16*groups, K/groups, Cg).
KERNEL void winograd_weight_reduce(float* __restrict__ dWeight, const float* __restrict__ W, int K, int Cg, int groups,
                                   int splits) {
    const int Kg = K / groups;
    const long long plane = (long long)Kg * Cg;
    const long long splitStep = 16LL * groups * plane;
    GRID_STRIDE(i, (long long)K * Cg) {
        const int k = (int)(i / Cg), c = (int)(i - (long long)k * Cg);
        const int g = k / Kg, kk = k - g * Kg;
        float x[16];
#pragma unroll
        for (int xi = 0; xi < 16; xi++) {
            const float* p = W + (long long)(xi * groups + g) * plane + (long long)kk * Cg + c;
            float s = p[0];
            for (int sp = 1; sp < splits; sp++) s += p[sp * splitStep];
            x[xi] = s;
        }
        float h[3][4];  // G^T x
#pragma unroll
        for (int b = 0; b < 4; b++) {
            h[0][b] = x[b] + 0.5f * (x[4 + b] + x[8 + b]);
            h[1][b] = 0.5f * (x[4 + b] - x[8 + b]);
            h[2][b] = 0.5f * (x[4 + b] + x[8 + b]) + x[12 + b];
        }
        float* o = dWeight + i * 9;
#pragma unroll
        for (int a = 0; a < 3; a++) {  // (G^T x) G, row a
            o[a * 3 + 0] = h[a][0] + 0.5f * (h[a][1] + h[a][2]);
            o[a * 3 + 1] = 0.5f * (h[a][1] - h[a][2]);
            o[a * 3 + 2] = 0.5f * (h[a][1] + h[a][2]) + h[a][3];
        }
    }
}

// dBias (K) from D (16*groups, K/groups, T), whose plane xi = 5 is (K, T) whatever the groups. Block size: a multiple
// of 32. The channel loop is uniform across the block (a warp past the last channel still takes part in the
// shuffles), as linear_forward_small's.
KERNEL void winograd_bias_grad(float* __restrict__ dBias, const float* __restrict__ D, int K, int T) {
    const int lane = threadIdx.x % 32, warpsPerBlock = blockDim.x / 32;
    for (int k0 = blockIdx.x * warpsPerBlock; k0 < K; k0 += gridDim.x * warpsPerBlock) {
        const int k = k0 + threadIdx.x / 32;
        const bool active = k < K;
        float s = 0.0f;
        if (active) {
            const float* row = D + (5LL * K + k) * T;
            for (int t = lane; t < T; t += 32) s += row[t];
        }
#pragma unroll
        for (int offset = 16; offset > 0; offset >>= 1) s += __shfl_xor_sync(0xffffffffu, s, offset);
        if (active && lane == 0) dBias[k] = s;
    }
}
