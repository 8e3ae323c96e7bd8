// Kernel logic against float64 references, on the CPU, through emu.h: random shapes over every tile edge,
// misaligned pointers, NaN-poisoned outputs; run under AddressSanitizer and UBSan by run.sh. Not a substitute
// for the GPU tests (no real memory model, host pow instead of powf), but it catches indexing, bounds and
// barrier mistakes where no GPU is at hand.
#include "emu.h"
#include <random>
#include <cstring>
#include <string>
#define INFINITY_ (__builtin_inff())
#include "conv2d.cu"
#include "gemm.cu"
#include "lrn.cu"
#include "pool.cu"
#include "softmax.cu"
#include "elementwise.cu"

static std::mt19937_64 rng(12345);
static int ri(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
struct Buf {  // exact-size heap buffer, optionally misaligned by one float, so ASan flags any out-of-range access
    float* base; float* p; size_t n;
    Buf(size_t n, bool misalign = false) : n(n) { base = (float*)malloc((n + (misalign ? 1 : 0)) * sizeof(float)); p = base + (misalign ? 1 : 0); }
    ~Buf() { free(base); }
    void randn() { std::normal_distribution<float> d(0, 1); for (size_t i = 0; i < n; i++) p[i] = d(rng); }
    void fill(float v) { for (size_t i = 0; i < n; i++) p[i] = v; }
};
static int failures = 0;
static void compare(const char* what, const std::string& shape, const float* got, const std::vector<double>& ref, double tol = 1e-5) {
    double num = 0, den = 0, scale = 0; size_t bad = 0; size_t firstBad = (size_t)-1;
    for (double r : ref) scale += r * r;
    scale = std::sqrt(scale / ref.size());
    for (size_t i = 0; i < ref.size(); i++) {
        double d = got[i] - ref[i];
        num += d * d; den += ref[i] * ref[i];
        if (!(std::fabs(d) <= 1e-4 * (std::fabs(ref[i]) + scale) + 1e-30) ) { if (!bad) firstBad = i; bad++; }
    }
    double rel = std::sqrt(num / std::max(den, 1e-300));
    if (bad || !(rel < tol)) {
        failures++;
        printf("FAIL %s %s: rel %.3g, %zu bad, first at %zu got %g want %g\n", what, shape.c_str(), rel, bad, firstBad,
               firstBad < ref.size() ? got[firstBad] : 0.f, firstBad < ref.size() ? ref[firstBad] : 0.0);
    }
}

static int blocksFor(long long n, int per) { return (int)std::max(1LL, (n + per - 1) / per); }

static void testConv(int N, int C, int H, int W, int K, int R, int S, int stride, int pad, int groups, int relu, bool mis) {
    int P = (H + 2 * pad - R) / stride + 1, Q = (W + 2 * pad - S) / stride + 1;
    int Cg = C / groups, Kg = K / groups;
    Buf x((size_t)N * C * H * W, mis), w((size_t)K * Cg * R * S, mis), b(K), o((size_t)N * K * P * Q, mis);
    x.randn(); w.randn(); b.randn(); o.fill(NAN);
    dim3 grid{(unsigned)blocksFor((long long)N * P * Q, 128), (unsigned)blocksFor(Kg, 64), (unsigned)groups};
    launch(grid, {128}, [&] { conv2d_forward(o.p, x.p, w.p, b.p, N, C, H, W, K, R, S, P, Q, stride, pad, groups, relu); });
    std::vector<double> ref((size_t)N * K * P * Q);
    for (int n = 0; n < N; n++) for (int k = 0; k < K; k++) for (int p = 0; p < P; p++) for (int q = 0; q < Q; q++) {
        int g = k / Kg; double s = b.p[k];
        for (int c = 0; c < Cg; c++) for (int r = 0; r < R; r++) for (int t = 0; t < S; t++) {
            int h = p * stride - pad + r, ww = q * stride - pad + t;
            if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
            s += (double)w.p[((size_t)(k * Cg + c) * R + r) * S + t] * x.p[(((size_t)n * C + g * Cg + c) * H + h) * W + ww];
        }
        if (relu && s < 0) s = 0;
        ref[(((size_t)n * K + k) * P + p) * Q + q] = s;
    }
    char sh[256]; snprintf(sh, sizeof sh, "N%d C%d H%d W%d K%d R%d S%d st%d pad%d g%d relu%d mis%d", N, C, H, W, K, R, S, stride, pad, groups, relu, mis);
    compare("conv2d", sh, o.p, ref);
}

static void testLinear(int N, int C, int K, int splits, int relu, bool mis) {
    Buf x((size_t)N * C, mis), w((size_t)K * C, mis), b(K), o((size_t)N * K, mis);
    x.randn(); w.randn(); b.randn(); o.fill(NAN);
    int chunk = C;
    if (splits > 1) { chunk = (C + splits - 1) / splits; if (splits % 2) chunk = (chunk + 15) / 16 * 16; else chunk = ri(1, std::min(C, 40)); splits = (C + chunk - 1) / chunk; }
    dim3 grid{(unsigned)blocksFor(N, 64), (unsigned)blocksFor(K, 128), (unsigned)splits};
    if (splits == 1) {
        launch(grid, {128}, [&] { linear_forward(o.p, x.p, w.p, b.p, N, C, K, chunk, relu); });
    } else {
        Buf ws((size_t)splits * N * K); ws.fill(NAN);
        launch(grid, {128}, [&] { linear_forward(ws.p, x.p, w.p, b.p, N, C, K, chunk, relu); });
        launch({3}, {64}, [&] { linear_forward_reduce(o.p, ws.p, b.p, N, K, splits, relu); });
    }
    std::vector<double> ref((size_t)N * K);
    for (int n = 0; n < N; n++) for (int k = 0; k < K; k++) {
        double s = b.p[k];
        for (int c = 0; c < C; c++) s += (double)x.p[(size_t)n * C + c] * w.p[(size_t)k * C + c];
        if (relu && s < 0) s = 0;
        ref[(size_t)n * K + k] = s;
    }
    char sh[256]; snprintf(sh, sizeof sh, "N%d C%d K%d splits%d chunk%d relu%d mis%d", N, C, K, splits, chunk, relu, mis);
    compare("linear", sh, o.p, ref);
}

static void testLrn(int N, int C, int H, int W, int size, float alpha, float beta, float k, int groups) {
    Buf x((size_t)N * C * H * W), o((size_t)N * C * H * W);
    x.randn(); o.fill(NAN);
    int HW = H * W;
    launch({(unsigned)std::min(blocksFor((long long)N * groups * HW, 64), 7)}, {64}, [&] { lrn_forward(o.p, x.p, N, C, H, W, size, alpha, beta, k, groups); });
    std::vector<double> ref(x.n);
    int Cg = C / groups;
    int maxUlp = 0;
    for (int n = 0; n < N; n++) for (int c = 0; c < C; c++) for (int i = 0; i < HW; i++) {
        int g = c / Cg, lo = std::max(c - size / 2, g * Cg), hi = std::min(c + (size - 1) / 2, g * Cg + Cg - 1);
        volatile float s = 0; for (int j = lo; j <= hi; j++) { float a = x.p[((size_t)n * C + j) * HW + i]; volatile float sq = a * a; s = s + sq; }
        volatile float am = alpha * s; volatile float base = k + am;
        volatile float r = x.p[((size_t)n * C + c) * HW + i] * (float)std::pow((double)base, -(double)beta);
        ref[((size_t)n * C + c) * HW + i] = r;
        float got = o.p[((size_t)n * C + c) * HW + i];
        int32_t a, b; float rf = r; memcpy(&a, &got, 4); memcpy(&b, &rf, 4);
        maxUlp = std::max(maxUlp, std::abs(a - b));
    }
    if (maxUlp > 4) printf("lrn max ulp %d\n", maxUlp);
    char sh[256]; snprintf(sh, sizeof sh, "N%d C%d H%d W%d size%d alpha%g beta%g k%g g%d", N, C, H, W, size, alpha, beta, k, groups);
    compare("lrn", sh, o.p, ref, 1e-6);
}

static void testPool(int N, int C, int H, int W, int win, int stride, bool nan) {
    int P = (H - win) / stride + 1, Q = (W - win) / stride + 1;
    Buf x((size_t)N * C * H * W), o((size_t)N * C * P * Q);
    x.randn(); o.fill(NAN);
    if (nan) for (int i = 0; i < 3; i++) x.p[ri(0, (int)x.n - 1)] = NAN;
    launch({(unsigned)std::min(blocksFor((long long)N * C * P * Q, 32), 5)}, {32}, [&] { maxpool_forward(o.p, x.p, N, C, H, W, P, Q, win, stride); });
    char sh[256]; snprintf(sh, sizeof sh, "N%d C%d H%d W%d win%d st%d", N, C, H, W, win, stride);
    int bad = 0;
    for (int n = 0; n < N; n++) for (int c = 0; c < C; c++) for (int p = 0; p < P; p++) for (int q = 0; q < Q; q++) {
        double m = -INFINITY_; bool isnan = false;
        for (int r = 0; r < win; r++) for (int s = 0; s < win; s++) {
            float v = x.p[(((size_t)n * C + c) * H + p * stride + r) * W + q * stride + s];
            if (v != v) isnan = true; else m = std::max(m, (double)v);
        }
        float g = o.p[(((size_t)n * C + c) * P + p) * Q + q];
        if (isnan ? !(g != g) : g != (float)m) bad++;
    }
    if (bad) { failures++; printf("FAIL pool %s: %d bad\n", sh, bad); }
}

static void testSoftmax(int N, int K, int threads) {
    Buf x((size_t)N * K), o((size_t)N * K);
    x.randn(); for (size_t i = 0; i < x.n; i++) x.p[i] *= 5; o.fill(NAN);
    launch({(unsigned)std::min(N, 3)}, {(unsigned)threads}, [&] { softmax_forward(o.p, x.p, N, K); });
    std::vector<double> ref(x.n);
    for (int n = 0; n < N; n++) {
        double m = -1e300; for (int k = 0; k < K; k++) m = std::max(m, (double)x.p[(size_t)n * K + k]);
        double s = 0; for (int k = 0; k < K; k++) s += std::exp(x.p[(size_t)n * K + k] - m);
        for (int k = 0; k < K; k++) ref[(size_t)n * K + k] = std::exp(x.p[(size_t)n * K + k] - m) / s;
    }
    char sh[64]; snprintf(sh, sizeof sh, "N%d K%d threads%d", N, K, threads);
    compare("softmax", sh, o.p, ref, 1e-6);
}

static void testElementwise(long long n, int C, int HW, bool mis) {
    Buf x(n, mis), o(n, mis), bias(C);
    x.randn(); bias.randn();
    if (n > 1) x.p[1] = NAN;
    std::string shape = "n=" + std::to_string(n) + (mis ? " misaligned" : "");
    dim3 grid{(unsigned)std::max<long long>(1, std::min<long long>(7, (n + 1023) / 1024))};
    o.fill(NAN);
    float v = (float)ri(-5, 5) / 4;
    launch(grid, {64}, [&] { fill(o.p, v, n); });
    std::vector<double> ref(n);
    for (long long i = 0; i < n; i++) ref[i] = v;
    compare("fill", shape, o.p, ref);
    o.fill(NAN);
    launch(grid, {64}, [&] { relu_forward(o.p, x.p, n); });
    size_t bad = 0;
    for (long long i = 0; i < n; i++) {
        float want = (x.p[i] > 0 || x.p[i] != x.p[i]) ? x.p[i] : 0.f;
        if (!(o.p[i] == want || (want != want && o.p[i] != o.p[i]))) bad++;
    }
    if (bad) { printf("FAIL relu %s: %zu elements\n", shape.c_str(), bad); failures++; }
    if (n % ((long long)C * HW) == 0) {
        o.fill(NAN);
        launch(grid, {64}, [&] { bias_add_forward(o.p, x.p, bias.p, C, HW, n); });
        for (long long i = 0; i < n; i++) ref[i] = (double)(x.p[i] + bias.p[(i / HW) % C]);
        for (long long i = 0; i < n; i++) if (ref[i] != ref[i]) ref[i] = 0, o.p[i] = o.p[i] != o.p[i] ? 0 : 1;  // NaN stays NaN
        compare("bias_add", shape, o.p, ref);
    }
}

int main(int argc, char** argv) {
    std::string which = argc > 1 ? argv[1] : "all";
    int iters = argc > 2 ? atoi(argv[2]) : 30;
    bool full = argc > 3 && std::string(argv[3]) == "full";  // also the network's full-size layers (minutes)
    if (which == "all" || which == "conv") {
        for (int it = 0; it < iters; it++) {
            int groups = ri(1, 3), Cg = ri(1, it % 4 == 0 ? 24 : 5), Kg = ri(1, it % 5 == 0 ? 140 : 70), stride = ri(1, 4), pad = ri(0, 2);
            int H = ri(1, 13), W = ri(1, 13);
            int R = ri(1, std::min(5, H + 2 * pad)), S = ri(1, std::min(5, W + 2 * pad));
            testConv(ri(1, 3), Cg * groups, H, W, Kg * groups, R, S, stride, pad, groups, ri(0, 1), ri(0, 1));
        }
        if (full) testConv(1, 3, 227, 227, 96, 11, 11, 4, 0, 1, 1, false);   // conv1
        testConv(2, 96, 27, 27, 256, 5, 5, 1, 2, 2, 1, false);     // conv2
        testConv(2, 256, 13, 13, 384, 3, 3, 1, 1, 1, 1, false);    // conv3
        testConv(2, 384, 13, 13, 384, 3, 3, 1, 1, 2, 1, false);    // conv4
        testConv(2, 384, 13, 13, 256, 3, 3, 1, 1, 2, 1, false);    // conv5
        printf("conv done\n");
    }
    if (which == "all" || which == "linear") {
        for (int it = 0; it < iters; it++) testLinear(ri(1, 140), ri(1, 300), ri(1, 300), ri(1, 5), ri(0, 1), ri(0, 1));
        testLinear(3, 1000, 50, 4, 1, false);
        testLinear(3, 1001, 50, 4, 1, false);
        if (full) testLinear(2, 9216, 4096, 16, 1, false);  // fc6
        if (full) testLinear(2, 4096, 1000, 8, 0, false);   // fc8
        printf("linear done\n");
    }
    if (which == "all" || which == "lrn") {
        for (int it = 0; it < iters; it++) {
            int groups = ri(1, 3);
            testLrn(ri(1, 3), groups * ri(1, 9), ri(1, 9), ri(1, 9), ri(1, 8), 1e-4f * ri(1, 5000), 0.75f, ri(1, 3), groups);
        }
        testLrn(2, 96, 55, 55, 5, 1e-4f, 0.75f, 2.f, 2);
        testLrn(2, 256, 27, 27, 5, 1e-4f / 5, 0.75f, 1.f, 1);
        printf("lrn done\n");
    }
    if (which == "all" || which == "pool") {
        for (int it = 0; it < iters; it++) { int H = ri(1, 15), W = ri(1, 15), win = ri(1, std::min(H, W)); testPool(ri(1, 3), ri(1, 5), H, W, win, ri(1, 4), ri(0, 1)); }
        testPool(2, 96, 55, 55, 3, 2, true);
        printf("pool done\n");
    }
    if (which == "all" || which == "softmax") {
        for (int it = 0; it < iters; it++) testSoftmax(ri(1, 5), ri(1, 2000), 32 * ri(1, 8));
        testSoftmax(4, 1000, 256);
        printf("softmax done\n");
    }
    if (which == "all" || which == "elementwise") {
        for (int it = 0; it < iters * 4; it++) {
            int C = ri(1, 9), HW = ri(1, 40), N = ri(1, 3);
            testElementwise((long long)N * C * HW, C, HW, ri(0, 1));
            testElementwise(ri(1, 5000), 1, 1, ri(0, 1));
        }
        printf("elementwise done\n");
    }
    printf("%s\n", failures ? "FAILURES" : "ALL OK");
    return failures != 0;
}
