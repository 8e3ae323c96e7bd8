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
// Two uses (CudaBackend): the forward pass (filter(g, m, r) = weight[g*Kg + m, r], rows = Kg, red = Cg; bias and ReLU
// in the epilogue), and the data gradient of a 3x3 stride-1 convolution, itself such a convolution of dOut with each
// filter turned by 180 degrees and its two channel axes swapped (filter(g, c, k) = weight[g*Kg + k, c] rotated,
// rows = Cg, red = Kg, padding 2 - pad; ReLU's gradient from the layer input in the epilogue).
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
KERNEL void winograd_input(float* __restrict__ V, const float* __restrict__ in, int N, int C, int H, int W, int groups,
                           int tilesH, int tilesW, int pad) {
    const int Cg = C / groups;
    const int tiles = tilesH * tilesW;
    const long long T = (long long)N * tiles;
    const long long step = (long long)groups * Cg * T;  // from one xi's plane to the next's
    GRID_STRIDE(i, (long long)N * C * tiles) {
        const int idx = (int)i;
        const int tw = idx % tilesW, rest = idx / tilesW;
        const int th = rest % tilesH, nc = rest / tilesH;
        const int c = nc % C, n = nc / C;
        const int y0 = 2 * th - pad, x0 = 2 * tw - pad;
        const float* plane = in + (long long)nc * H * W;
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
        const int g = c / Cg, cc = c - g * Cg;
        float* v = V + ((long long)g * Cg + cc) * T + (long long)n * tiles + th * tilesW + tw;
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
                            const float* __restrict__ reluOut, int N, int K, int P, int Q, int groups, int tilesH,
                            int tilesW, int relu) {
    const int rows = K / groups;
    const int tiles = tilesH * tilesW;
    const long long T = (long long)N * tiles;
    const long long step = (long long)groups * rows * T;
    GRID_STRIDE(i, (long long)N * K * tiles) {
        const int idx = (int)i;
        const int tw = idx % tilesW, rest = idx / tilesW;
        const int th = rest % tilesH, nk = rest / tilesH;
        const int k = nk % K, n = nk / K;
        const int g = k / rows, m = k - g * rows;
        const float* src = M + ((long long)g * rows + m) * T + (long long)n * tiles + th * tilesW + tw;
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
                const long long o = ((long long)nk * P + p) * Q + q;
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
