// Kernel logic against float64 references, on the CPU, through emu.h: random shapes over every tile edge,
// misaligned pointers, NaN-poisoned outputs; run under AddressSanitizer and UBSan by run.sh, and (random shapes only:
// `test all N quick`) under ThreadSanitizer for races between a block's barriers. Not a substitute
// for the GPU tests (no real memory model, host pow instead of powf), but it catches indexing, bounds and
// barrier mistakes where no GPU is at hand. The training ops are checked the same way, and bit for bit where their
// contract is exact: ReLU and max-pooling gradients, dropout (after Random123's Philox known-answer tests), SGD, the
// linear bias gradient, and the LRN gradient against a float mirror of its documented operation order.
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
#include "dropout.cu"
#include "sgd.cu"
#include "winograd.cu"

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

// Bit-for-bit equality, any NaN matching any NaN.
static void compareBits(const char* what, const std::string& shape, const float* got, const float* want, size_t n) {
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++) {
        bool same = (got[i] != got[i] && want[i] != want[i]) || memcmp(&got[i], &want[i], 4) == 0;
        if (!same && !bad++) first = i;
    }
    if (bad) {
        failures++;
        printf("FAIL %s %s: %zu elements differ, first at %zu got %a want %a\n", what, shape.c_str(), bad, first, got[first], want[first]);
    }
}

// The conv kernels' row-tile variants (BM output channels per block, 2*BM threads): every conv test runs them all.
struct ConvVariant {
    int bm;
    decltype(&conv2d_forward) forward;
    decltype(&conv2d_backward_data) data;
    decltype(&conv2d_backward_weight) weight;
};
static const ConvVariant CONV_VARIANTS[] = {
    {64, conv2d_forward, conv2d_backward_data, conv2d_backward_weight},
    {48, conv2d_forward_m48, conv2d_backward_data_m48, conv2d_backward_weight_m48},
    {96, conv2d_forward_m96, conv2d_backward_data_m96, conv2d_backward_weight_m96},
    {128, conv2d_forward_m128, conv2d_backward_data_m128, conv2d_backward_weight_m128},
    // the backward kernels' 128-register entries (no forward entry of their own)
    {64, nullptr, conv2d_backward_data_r128, conv2d_backward_weight_r128},
    {128, nullptr, conv2d_backward_data_m128_r128, conv2d_backward_weight_m128_r128},
    {48, nullptr, conv2d_backward_data_m48_r128, conv2d_backward_weight_m48_r128},
};

static void testConv(int N, int C, int H, int W, int K, int R, int S, int stride, int pad, int groups, int relu, bool mis) {
    int P = (H + 2 * pad - R) / stride + 1, Q = (W + 2 * pad - S) / stride + 1;
    int Cg = C / groups, Kg = K / groups;
    Buf x((size_t)N * C * H * W, mis), w((size_t)K * Cg * R * S, mis), b(K), o((size_t)N * K * P * Q, mis);
    x.randn(); w.randn(); b.randn();
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
    for (const ConvVariant& v : CONV_VARIANTS) {
        if (!v.forward) continue;
        o.fill(NAN);
        dim3 grid{(unsigned)blocksFor((long long)N * P * Q, 128), (unsigned)blocksFor(Kg, v.bm), (unsigned)groups};
        launch(grid, {(unsigned)(2 * v.bm)}, [&] { v.forward(o.p, x.p, w.p, b.p, N, C, H, W, K, R, S, P, Q, stride, pad, groups, relu); });
        char sh[256];
        snprintf(sh, sizeof sh, "BM%d N%d C%d H%d W%d K%d R%d S%d st%d pad%d g%d relu%d mis%d", v.bm, N, C, H, W, K, R, S, stride, pad, groups, relu, mis);
        compare("conv2d", sh, o.p, ref);
    }
    // The split reduction (v3): chunks of the reduction summed by blocks of their own into partial sums, which
    // conv2d_forward_reduce adds up with the bias and the activation. Chunks in whole slabs as the host makes them, or
    // any length; sometimes one more, empty, split at the end, which must contribute zeros.
    int CRS = Cg * R * S;
    int chunk = ri(0, 2) ? std::max(8, (CRS / ri(1, 6) + 7) / 8 * 8) : ri(1, std::max(1, std::min(CRS, 40)));
    int splits = (CRS + chunk - 1) / chunk + (ri(0, 3) == 0 ? 1 : 0);
    Buf ws((size_t)splits * N * K * P * Q); ws.fill(NAN); o.fill(NAN);
    dim3 grid{(unsigned)blocksFor((long long)N * P * Q, 128), (unsigned)blocksFor(Kg, 64), (unsigned)(groups * splits)};
    launch(grid, {128}, [&] { conv2d_forward_split(ws.p, x.p, w.p, N, C, H, W, K, R, S, P, Q, stride, pad, groups, chunk); });
    launch({3}, {64}, [&] { conv2d_forward_reduce(o.p, ws.p, b.p, (long long)N * K * P * Q, K, P * Q, splits, relu); });
    char sh[256];
    snprintf(sh, sizeof sh, "split %d x %d: N%d C%d H%d W%d K%d R%d S%d st%d pad%d g%d relu%d mis%d", splits, chunk, N, C, H, W, K, R, S, stride, pad, groups, relu, mis);
    compare("conv2d (split reduction)", sh, o.p, ref);
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
    if (N <= 8) {  // the small-batch kernel on the same data
        o.fill(NAN);
        launch({(unsigned)std::min(blocksFor(K, 8), 3)}, {256}, [&] { linear_forward_small(o.p, x.p, w.p, b.p, N, C, K, relu); });
        compare("linear_forward_small", sh, o.p, ref);
    }
}

static void testLrn(int N, int C, int H, int W, int size, float alpha, float beta, float k, int groups) {
    Buf x((size_t)N * C * H * W), o((size_t)N * C * H * W);
    x.randn(); o.fill(NAN);
    int HW = H * W;
    launch({(unsigned)std::min(blocksFor((long long)N * groups * HW, 64), 7)}, {64}, [&] { lrn_forward(o.p, x.p, N, C, H, W, size, alpha, beta, k, groups); });
    std::vector<double> ref(x.n);
    std::vector<float> mirror(x.n);  // the documented float arithmetic: clipped window summed in ascending order, powf
    int Cg = C / groups;
    int maxUlp = 0;
    for (int n = 0; n < N; n++) for (int c = 0; c < C; c++) for (int i = 0; i < HW; i++) {
        int g = c / Cg, lo = std::max(c - size / 2, g * Cg), hi = std::min(c + (size - 1) / 2, g * Cg + Cg - 1);
        volatile float s = 0; for (int j = lo; j <= hi; j++) { float a = x.p[((size_t)n * C + j) * HW + i]; volatile float sq = a * a; s = s + sq; }
        volatile float am = alpha * s; volatile float base = k + am;
        float xc = x.p[((size_t)n * C + c) * HW + i];
        volatile float r = xc * (float)std::pow((double)base, -(double)beta);
        volatile float m = xc * powf(base, -beta);
        ref[((size_t)n * C + c) * HW + i] = r;
        mirror[((size_t)n * C + c) * HW + i] = m;
        float got = o.p[((size_t)n * C + c) * HW + i];
        int32_t a, b; float rf = r; memcpy(&a, &got, 4); memcpy(&b, &rf, 4);
        maxUlp = std::max(maxUlp, std::abs(a - b));
    }
    if (maxUlp > 4) printf("lrn max ulp %d\n", maxUlp);
    char sh[256]; snprintf(sh, sizeof sh, "N%d C%d H%d W%d size%d alpha%g beta%g k%g g%d", N, C, H, W, size, alpha, beta, k, groups);
    compare("lrn", sh, o.p, ref, 1e-6);
    compareBits("lrn (float mirror)", sh, o.p, mirror.data(), x.n);
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
    {   // tanh: forward within 4 ulp of double tanh; backward bitwise against the float expression
        o.fill(NAN);
        launch(grid, {64}, [&] { tanh_forward(o.p, x.p, n); });
        size_t badT = 0;
        for (long long i = 0; i < n; i++) {
            double want = std::tanh((double)x.p[i]);
            if (x.p[i] != x.p[i]) { if (o.p[i] == o.p[i]) badT++; continue; }
            if (!(std::fabs(o.p[i] - want) <= 4 * std::ldexp(1.0, std::ilogb(std::fmax(std::fabs(want), 1e-30)) - 23))) badT++;
        }
        Buf d(n, mis), g(n, mis);
        d.randn(); g.fill(NAN);
        launch(grid, {64}, [&] { tanh_backward(g.p, d.p, o.p, n); });
        for (long long i = 0; i < n; i++) {
            volatile float yy = o.p[i] * o.p[i]; volatile float one = 1.0f - yy; volatile float want = d.p[i] * one;
            if (!(g.p[i] == want || (want != want && g.p[i] != g.p[i]))) badT++;
        }
        if (badT) { printf("FAIL tanh %s: %zu elements\n", shape.c_str(), badT); failures++; }
    }
    if (n % ((long long)C * HW) == 0) {
        o.fill(NAN);
        launch(grid, {64}, [&] { bias_add_forward(o.p, x.p, bias.p, C, HW, n); });
        for (long long i = 0; i < n; i++) ref[i] = (double)(x.p[i] + bias.p[(i / HW) % C]);
        for (long long i = 0; i < n; i++) if (ref[i] != ref[i]) ref[i] = 0, o.p[i] = o.p[i] != o.p[i] ? 0 : 1;  // NaN stays NaN
        compare("bias_add", shape, o.p, ref);
    }
}

// add_forward: bitwise against the float sum (one rounded add), out fresh, out == a and out == b; NaN and infinities
// among the inputs.
static void testAdd(long long n, bool mis) {
    Buf a(n, mis), b(n, mis), o(n, mis);
    a.randn(); b.randn();
    if (n > 2) { a.p[1] = NAN; b.p[2] = INFINITY_; }
    if (n > 4) { a.p[3] = INFINITY_; b.p[3] = -INFINITY_; a.p[4] = -0.0f; b.p[4] = -0.0f; }
    std::vector<float> want(n);
    for (long long i = 0; i < n; i++) { volatile float r = a.p[i] + b.p[i]; want[i] = r; }
    dim3 grid{(unsigned)std::max<long long>(1, std::min<long long>(7, (n + 1023) / 1024))};
    std::string sh = "n=" + std::to_string(n) + (mis ? " misaligned" : "");
    o.fill(NAN);
    launch(grid, {64}, [&] { add_forward(o.p, a.p, b.p, n); });
    compareBits("add", sh, o.p, want.data(), n);
    const std::vector<float> keepA(a.p, a.p + n);
    launch(grid, {64}, [&] { add_forward(a.p, a.p, b.p, n); });  // out == a
    compareBits("add (out == a)", sh, a.p, want.data(), n);
    memcpy(a.p, keepA.data(), n * sizeof(float));
    launch(grid, {64}, [&] { add_forward(b.p, a.p, b.p, n); });  // out == b
    compareBits("add (out == b)", sh, b.p, want.data(), n);
}

// copy_channels: dst and src are (N, C, inner) with their own channel counts; every element of dst compared exactly:
// the copied channels against src, the others against the poison they held before (NaN with a distinct payload per
// element, so that a stray write of any other NaN is caught too).
static void testCopyChannels(int N, int dstC, int srcC, int dstOff, int srcOff, int count, long long inner, bool mis) {
    if (count < 0 || dstOff < 0 || srcOff < 0 || dstOff + count > dstC || srcOff + count > srcC) { failures++; printf("FAIL copy_channels: bad test case\n"); return; }
    Buf dst((size_t)N * dstC * inner, mis), src((size_t)N * srcC * inner, mis);
    src.randn();
    for (size_t i = 0; i < dst.n; i++) { uint32_t bits = 0x7fc00000u | (uint32_t)(i & 0x3fffff); memcpy(&dst.p[i], &bits, 4); }
    std::vector<float> want(dst.p, dst.p + dst.n);
    for (int n = 0; n < N; n++) for (int c = 0; c < count; c++) for (long long j = 0; j < inner; j++)
        want[((size_t)n * dstC + dstOff + c) * inner + j] = src.p[((size_t)n * srcC + srcOff + c) * inner + j];
    long long total = (long long)N * count * inner;
    dim3 grid{(unsigned)std::max<long long>(1, std::min<long long>(5, (total + 255) / 256))};
    launch(grid, {64}, [&] { copy_channels(dst.p, src.p, N, dstC, srcC, dstOff, srcOff, count, inner); });
    char sh[160];
    snprintf(sh, sizeof sh, "N%d dstC%d srcC%d dstOff%d srcOff%d count%d inner%lld mis%d", N, dstC, srcC, dstOff, srcOff, count, inner, mis);
    size_t bad = 0, first = 0;  // exact bits: compareBits would let one NaN stand for another
    for (size_t i = 0; i < dst.n; i++) if (memcmp(&dst.p[i], &want[i], 4) != 0 && !bad++) first = i;
    if (bad) { failures++; printf("FAIL copy_channels %s: %zu elements differ, first at %zu\n", sh, bad, first); }
}

// A random copy: channel counts, offsets at either end or anywhere, inner sizes that are and are not multiples of 4.
static void testCopyChannelsRandom() {
    int N = ri(1, 4), dstC = ri(1, 9), srcC = ri(1, 9);
    int count = ri(0, std::min(dstC, srcC));
    auto offset = [&](int C) { int hi = C - count; switch (ri(0, 2)) { case 0: return 0; case 1: return hi; default: return ri(0, hi); } };
    int dstOff = offset(dstC), srcOff = offset(srcC);
    static const long long inners[] = {1, 2, 3, 4, 8, 9, 13, 16, 169, 729};
    testCopyChannels(N, dstC, srcC, dstOff, srcOff, count, inners[ri(0, 9)], ri(0, 1));
}

// ---- training ops ------------------------------------------------------------------------------------------------

// ReLU's gradient from its output, written here independently of the kernels' relu_grad.
static float reluGradRef(float dy, float y) { return y > 0 ? dy : (y != y ? y : 0.0f); }

// An op run with its ReLU fused (got) must equal the plain op's result (plain) with the ReLU's gradient applied after
// it, from the ReLU's output y, bit for bit.
static void compareThroughRelu(const char* what, const std::string& shape, const float* got, const float* plain, const float* y, size_t n) {
    std::vector<float> want(n);
    for (size_t i = 0; i < n; i++) want[i] = reluGradRef(plain[i], y[i]);
    compareBits(what, shape, got, want.data(), n);
}

static void testReluBackward(long long n, bool mis, bool inPlace) {
    Buf y(n, mis), dy(n, mis), dx(n, mis);
    y.randn(); dy.randn();
    for (long long i = 0; i < n; i += 7) y.p[i] = 0.0f;
    if (n > 2) { y.p[2] = NAN; dy.p[n - 1] = NAN; }
    if (n > 5) y.p[5] = -0.0f;
    std::vector<float> want(n);
    for (long long i = 0; i < n; i++) want[i] = reluGradRef(dy.p[i], y.p[i]);
    float* out = inPlace ? dy.p : dx.p;
    if (!inPlace) dx.fill(NAN);
    dim3 grid{(unsigned)std::max<long long>(1, std::min<long long>(5, (n + 255) / 256))};
    launch(grid, {64}, [&] { relu_backward(out, dy.p, y.p, n); });
    std::string sh = "n=" + std::to_string(n) + (mis ? " misaligned" : "") + (inPlace ? " in place" : "");
    compareBits("relu_backward", sh, out, want.data(), n);
}

static void testConvBackward(int N, int C, int H, int W, int K, int R, int S, int stride, int pad, int groups, int chunk, bool mis) {
    int P = (H + 2 * pad - R) / stride + 1, Q = (W + 2 * pad - S) / stride + 1;
    int Cg = C / groups, Kg = K / groups, CRS = Cg * R * S, NPQ = N * P * Q;
    Buf x((size_t)N * C * H * W, mis), w((size_t)K * CRS, mis), dy((size_t)N * K * P * Q, mis);
    Buf dx(x.n, mis), dw(w.n, mis), db(K);
    x.randn(); w.randn(); dy.randn();
    // Data gradient: the forward's sum scattered back, in float64.
    std::vector<double> refX(x.n, 0.0), refW(w.n, 0.0), refB(K, 0.0);
    for (int n = 0; n < N; n++) for (int k = 0; k < K; k++) for (int p = 0; p < P; p++) for (int q = 0; q < Q; q++) {
        int g = k / Kg; double d = dy.p[(((size_t)n * K + k) * P + p) * Q + q];
        refB[k] += d;
        for (int c = 0; c < Cg; c++) for (int r = 0; r < R; r++) for (int t = 0; t < S; t++) {
            int h = p * stride - pad + r, ww = q * stride - pad + t;
            if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
            size_t xi = (((size_t)n * C + g * Cg + c) * H + h) * W + ww, wi = ((size_t)(k * Cg + c) * R + r) * S + t;
            refX[xi] += (double)w.p[wi] * d;
            refW[wi] += (double)x.p[xi] * d;
        }
    }
    for (const ConvVariant& v : CONV_VARIANTS) {
        char sh[256];
        snprintf(sh, sizeof sh, "BM%d N%d C%d H%d W%d K%d R%d S%d st%d pad%d g%d chunk%d mis%d", v.bm, N, C, H, W, K, R, S, stride, pad, groups, chunk, mis);
        dx.fill(NAN); dw.fill(NAN); db.fill(NAN);
        dim3 gridD{(unsigned)blocksFor((long long)N * ((H + stride - 1) / stride) * ((W + stride - 1) / stride), 128), (unsigned)blocksFor(Cg, v.bm),
                   (unsigned)(groups * stride * stride)};
        launch(gridD, {(unsigned)(2 * v.bm)}, [&] { v.data(dx.p, dy.p, w.p, nullptr, N, C, H, W, K, R, S, P, Q, stride, pad, groups); });
        compare("conv2d_backward_data", sh, dx.p, refX);
        // Through a ReLU whose output was the input (x here: negatives, zeros, -0 and a NaN among its values).
        {
            Buf y(x.n, mis), dxRelu(x.n, mis);
            y.randn(); dxRelu.fill(NAN);
            for (size_t i = 0; i < y.n; i += 5) y.p[i] = 0.0f;
            if (y.n > 3) { y.p[1] = -0.0f; y.p[3] = NAN; }
            launch(gridD, {(unsigned)(2 * v.bm)}, [&] { v.data(dxRelu.p, dy.p, w.p, y.p, N, C, H, W, K, R, S, P, Q, stride, pad, groups); });
            compareThroughRelu("conv2d_backward_data (relu)", sh, dxRelu.p, dx.p, y.p, x.n);
        }
        // Weight and bias gradients: direct when chunk covers everything, else split (one extra, empty split when
        // chunk divides the reduction exactly, to check that an empty split writes zeros).
        int splits = (NPQ + chunk - 1) / chunk;
        if (splits == 1) {
            dim3 grid{(unsigned)blocksFor(CRS + 1, 128), (unsigned)blocksFor(Kg, v.bm), (unsigned)groups};
            launch(grid, {(unsigned)(2 * v.bm)}, [&] { v.weight(dw.p, db.p, dy.p, x.p, N, C, H, W, K, R, S, P, Q, stride, pad, groups, chunk); });
        } else {
            if (NPQ % chunk == 0) splits++;
            Buf ws((size_t)splits * K * (CRS + 1)); ws.fill(NAN);
            dim3 grid{(unsigned)blocksFor(CRS + 1, 128), (unsigned)blocksFor(Kg, v.bm), (unsigned)(groups * splits)};
            launch(grid, {(unsigned)(2 * v.bm)}, [&] { v.weight(ws.p, db.p, dy.p, x.p, N, C, H, W, K, R, S, P, Q, stride, pad, groups, chunk); });
            launch({3}, {64}, [&] { conv2d_backward_weight_reduce(dw.p, db.p, ws.p, K, CRS, splits); });
        }
        compare("conv2d_backward_weight", sh, dw.p, refW);
        compare("conv2d_backward_bias", sh, db.p, refB);
    }
}

// Winograd F(2x2, 3x3) (winograd.cu): the four kernels in turn as CudaBackend runs them, against the float64 direct
// sum: the forward pass with bias and ReLU, and the data gradient (dOut convolved with the rotated, transposed filters,
// padding 2 - pad), plain and through a ReLU. Small grids, so that the grid-stride loops wrap.
static void testWinograd(int N, int C, int H, int W, int K, int pad, int groups, int relu, bool mis) {
    int P = H + 2 * pad - 2, Q = W + 2 * pad - 2;
    int Cg = C / groups, Kg = K / groups;
    Buf x((size_t)N * C * H * W, mis), w((size_t)K * Cg * 9, mis), b(K), o((size_t)N * K * P * Q, mis);
    x.randn(); w.randn(); b.randn();
    std::vector<double> ref(o.n), refX(x.n, 0.0);
    Buf dy(o.n, mis);
    dy.randn();
    for (int n = 0; n < N; n++) for (int k = 0; k < K; k++) for (int p = 0; p < P; p++) for (int q = 0; q < Q; q++) {
        int g = k / Kg; double s = b.p[k];
        size_t oi = (((size_t)n * K + k) * P + p) * Q + q;
        for (int c = 0; c < Cg; c++) for (int r = 0; r < 3; r++) for (int t = 0; t < 3; t++) {
            int h = p - pad + r, ww = q - pad + t;
            if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
            size_t xi = (((size_t)n * C + g * Cg + c) * H + h) * W + ww, wi = (size_t)(k * Cg + c) * 9 + r * 3 + t;
            s += (double)w.p[wi] * x.p[xi];
            refX[xi] += (double)w.p[wi] * dy.p[oi];
        }
        if (relu && s < 0) s = 0;
        ref[oi] = s;
    }
    char sh[256];
    snprintf(sh, sizeof sh, "N%d C%d H%d W%d K%d pad%d g%d relu%d mis%d", N, C, H, W, K, pad, groups, relu, mis);
    // rows x red products of T tiles, inputs of Cin channels, outputs of rows * groups channels at Ho x Wo
    auto run = [&](float* out, const float* in, int Cin, int Hi, int Wi, int rows, int red, int Ho, int Wo, int pd, int flip,
                   const float* bias, const float* reluOut) {
        int tilesH = (Ho + 1) / 2, tilesW = (Wo + 1) / 2;
        long long T = (long long)N * tilesH * tilesW;
        Buf U((size_t)16 * groups * red * rows), V((size_t)16 * groups * red * T), M((size_t)16 * groups * rows * T);
        U.fill(NAN); V.fill(NAN); M.fill(NAN);
        launch({2}, {64}, [&] { winograd_filter(U.p, w.p, K, Cg, groups, flip); });
        launch({3}, {64}, [&] { winograd_input(V.p, in, N, Cin, Hi, Wi, tilesH, tilesW, pd); });
        dim3 grid{(unsigned)blocksFor(rows, 64), (unsigned)blocksFor(T, 128), (unsigned)(16 * groups)};
        launch(grid, {128}, [&] { winograd_gemm(M.p, U.p, V.p, rows, (int)T, red); });
        launch({3}, {64}, [&] { winograd_output(out, M.p, bias, reluOut, N, rows * groups, Ho, Wo, tilesH, tilesW, relu); });
    };
    o.fill(NAN);
    run(o.p, x.p, C, H, W, Kg, Cg, P, Q, pad, 0, b.p, nullptr);
    compare("winograd forward", sh, o.p, ref);
    Buf dx(x.n, mis);
    dx.fill(NAN);
    run(dx.p, dy.p, K, P, Q, Cg, Kg, H, W, 2 - pad, 1, nullptr, nullptr);
    compare("winograd backward data", sh, dx.p, refX);
    Buf y(x.n, mis), dxRelu(x.n, mis);
    y.randn(); dxRelu.fill(NAN);
    for (size_t i = 0; i < y.n; i += 5) y.p[i] = 0.0f;
    if (y.n > 3) { y.p[1] = -0.0f; y.p[3] = NAN; }
    run(dxRelu.p, dy.p, K, P, Q, Cg, Kg, H, W, 2 - pad, 1, nullptr, y.p);
    compareThroughRelu("winograd backward data (relu)", sh, dxRelu.p, dx.p, y.p, x.n);

    // Weight and bias gradients, the reduction over tiles in `splits` parts of `chunk` (a multiple of 16, as the host
    // makes them; sometimes one more, empty, part at the end).
    std::vector<double> refW(w.n, 0.0), refB(K, 0.0);
    for (int n = 0; n < N; n++) for (int k = 0; k < K; k++) for (int p = 0; p < P; p++) for (int q = 0; q < Q; q++) {
        int g = k / Kg; double d = dy.p[(((size_t)n * K + k) * P + p) * Q + q];
        refB[k] += d;
        for (int c = 0; c < Cg; c++) for (int r = 0; r < 3; r++) for (int t = 0; t < 3; t++) {
            int h = p - pad + r, ww = q - pad + t;
            if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
            refW[(size_t)(k * Cg + c) * 9 + r * 3 + t] += (double)x.p[(((size_t)n * C + g * Cg + c) * H + h) * W + ww] * d;
        }
    }
    int tilesH = (P + 1) / 2, tilesW = (Q + 1) / 2, T = N * tilesH * tilesW;
    int chunk = (T / ri(1, 4) + 15) / 16 * 16;
    if (chunk == 0) chunk = 16;
    int splits = (T + chunk - 1) / chunk + (ri(0, 3) == 0 ? 1 : 0);
    Buf V((size_t)16 * C * T), D((size_t)16 * K * T), Wp((size_t)splits * 16 * K * Cg), dw(w.n, mis), db(K);
    V.fill(NAN); D.fill(NAN); Wp.fill(NAN); dw.fill(NAN); db.fill(NAN);
    launch({3}, {64}, [&] { winograd_input(V.p, x.p, N, C, H, W, tilesH, tilesW, pad); });
    launch({3}, {64}, [&] { winograd_grad_output(D.p, dy.p, N, K, P, Q, tilesH, tilesW); });
    dim3 grid{(unsigned)blocksFor(Kg, 64), (unsigned)blocksFor(Cg, 128), (unsigned)(16 * groups * splits)};
    launch(grid, {128}, [&] { winograd_weight_gemm(Wp.p, D.p, V.p, Kg, Cg, T, chunk, splits); });
    launch({2}, {64}, [&] { winograd_weight_reduce(dw.p, Wp.p, K, Cg, groups, splits); });
    launch({2}, {64}, [&] { winograd_bias_grad(db.p, D.p, K, T); });
    char shs[300];
    snprintf(shs, sizeof shs, "%s splits %d x %d", sh, splits, chunk);
    compare("winograd backward weight", shs, dw.p, refW);
    compare("winograd backward bias", shs, db.p, refB);
}

// The LRN gradient: bit for bit against a float mirror of the kernel's documented arithmetic (host powf on both sides
// here), and against the float64 derivative computed independently (window membership tested directly).
static void testLrnBackward(int N, int C, int H, int W, int size, float alpha, float beta, float k, int groups) {
    int HW = H * W, Cg = C / groups;
    Buf x((size_t)N * C * HW), y(x.n), dy(x.n), dx(x.n);
    x.randn(); dy.randn(); dx.fill(NAN);
    launch({3}, {32}, [&] { lrn_forward(y.p, x.p, N, C, H, W, size, alpha, beta, k, groups); });
    int before = size / 2, after = (size - 1) / 2;
    auto at = [&](const Buf& b, int n, int c, int i) { return b.p[((size_t)n * C + c) * HW + i]; };
    std::vector<float> mirror(x.n);
    std::vector<double> ref(x.n);
    volatile float coef = 2.0f * alpha; coef = coef * beta;
    for (int n = 0; n < N; n++) for (int i = 0; i < HW; i++) for (int c = 0; c < C; c++) {
        int g0 = c / Cg * Cg, g1 = g0 + Cg - 1;
        auto scaleF = [&](int j) {
            volatile float s = 0;
            for (int t = std::max(j - before, g0); t <= std::min(j + after, g1); t++) { volatile float sq = at(x, n, t, i) * at(x, n, t, i); s = s + sq; }
            volatile float as = alpha * s; volatile float r = k + as; return (float)r;
        };
        auto scaleD = [&](int j) {
            double s = 0;
            for (int t = std::max(j - before, g0); t <= std::min(j + after, g1); t++) s += (double)at(x, n, t, i) * at(x, n, t, i);
            return (double)k + (double)alpha * s;
        };
        volatile float sum = 0;
        for (int j = std::max(c - after, g0); j <= std::min(c + before, g1); j++) {
            volatile float num = at(dy, n, j, i) * at(y, n, j, i); volatile float t = num / scaleF(j); sum = sum + t;
        }
        volatile float pw = powf(scaleF(c), -beta);
        volatile float t1 = at(dy, n, c, i) * pw; volatile float t2 = coef * at(x, n, c, i); volatile float t3 = t2 * sum;
        volatile float r = t1 - t3;
        mirror[((size_t)n * C + c) * HW + i] = r;
        double d = at(dy, n, c, i) * std::pow(scaleD(c), -(double)beta), s2 = 0;
        for (int j = g0; j <= g1; j++) {
            if (c < std::max(j - before, g0) || c > std::min(j + after, g1)) continue;  // c not in window(j)
            s2 += (double)at(dy, n, j, i) * at(y, n, j, i) / scaleD(j);
        }
        ref[((size_t)n * C + c) * HW + i] = d - 2.0 * alpha * beta * at(x, n, c, i) * s2;
    }
    char sh[256]; snprintf(sh, sizeof sh, "N%d C%d H%d W%d size%d alpha%g beta%g k%g g%d", N, C, H, W, size, alpha, beta, k, groups);
    // Both entries serve every size (each has the plain path beyond its register windows); the host picks by size.
    for (auto entry : {lrn_backward, lrn_backward_wide}) {
        dx.fill(NAN);
        launch({(unsigned)std::min(blocksFor((long long)N * groups * HW, 64), 5)}, {64},
               [&] { entry(dx.p, dy.p, x.p, y.p, N, C, H, W, size, alpha, beta, k, groups, 0); });
        const char* name = entry == lrn_backward ? "lrn_backward" : "lrn_backward_wide";
        compareBits((std::string(name) + " (float mirror)").c_str(), sh, dx.p, mirror.data(), x.n);
        compare(name, sh, dx.p, ref, 1e-5);
    }
    // Through the ReLU that output the input: an input with zeros, -0 and a NaN as well (negatives stand for more
    // zeros), the plain gradient and the fused one from it.
    Buf xr(x.n), yr(x.n), dxPlain(x.n), dxRelu(x.n);
    for (size_t i = 0; i < x.n; i++) xr.p[i] = i % 4 == 0 ? 0.0f : x.p[i];
    if (x.n > 2) { xr.p[1] = -0.0f; xr.p[ri(2, (int)x.n - 1)] = NAN; }
    dxPlain.fill(NAN); dxRelu.fill(NAN);
    launch({3}, {32}, [&] { lrn_forward(yr.p, xr.p, N, C, H, W, size, alpha, beta, k, groups); });
    for (auto entry : {lrn_backward, lrn_backward_wide}) {
        for (int relu = 0; relu <= 1; relu++) {
            launch({(unsigned)std::min(blocksFor((long long)N * groups * HW, 64), 5)}, {64},
                   [&] { entry(relu ? dxRelu.p : dxPlain.p, dy.p, xr.p, yr.p, N, C, H, W, size, alpha, beta, k, groups, relu); });
        }
        compareThroughRelu(entry == lrn_backward ? "lrn_backward (relu)" : "lrn_backward_wide (relu)", sh, dxRelu.p, dxPlain.p, xr.p, x.n);
    }
}

// Bit for bit: each output's gradient to the first maximum of its window (row-major; NaN is a maximum, the first NaN
// wins), added per input in output order, starting from 0. ties: small integers, so that windows hold equal maxima.
static void testPoolBackward(int N, int C, int H, int W, int win, int stride, bool ties) {
    int P = (H - win) / stride + 1, Q = (W - win) / stride + 1;
    Buf x((size_t)N * C * H * W), dy((size_t)N * C * P * Q), dx(x.n);
    x.randn(); dy.randn(); dx.fill(NAN);
    if (ties) for (size_t i = 0; i < x.n; i++) x.p[i] = (float)ri(-2, 2);
    for (int i = 0; i < 3; i++) x.p[ri(0, (int)x.n - 1)] = NAN;
    for (int i = 0; i < 2; i++) {  // NaN next to NaN, across and down: the first one must win
        size_t at = ri(0, (int)x.n - 1);
        x.p[at] = NAN;
        if (at + 1 < x.n) x.p[at + 1] = NAN;
        if (at + W < x.n) x.p[at + W] = NAN;
    }
    x.p[ri(0, (int)x.n - 1)] = -INFINITY_;
    if (ri(0, 1)) for (int i = 0; i < std::min<int>(x.n, 9); i++) x.p[i] = -INFINITY_;  // a window of -inf only
    launch({(unsigned)std::min(blocksFor((long long)x.n, 32), 5)}, {32}, [&] { maxpool_backward(dx.p, dy.p, x.p, N, C, H, W, P, Q, win, stride, 0); });
    std::vector<float> want(x.n, 0.0f);
    for (int nc = 0; nc < N * C; nc++) for (int p = 0; p < P; p++) for (int q = 0; q < Q; q++) {
        const float* plane = x.p + (size_t)nc * H * W;
        int best = -1; float m = 0;
        for (int r = 0; r < win; r++) for (int s = 0; s < win; s++) {
            float v = plane[(p * stride + r) * W + q * stride + s];
            if (best < 0 || (m == m && (v > m || v != v))) { best = (p * stride + r) * W + q * stride + s; m = v; }
        }
        volatile float acc = want[(size_t)nc * H * W + best] + dy.p[((size_t)nc * P + p) * Q + q];
        want[(size_t)nc * H * W + best] = acc;
    }
    char sh[256]; snprintf(sh, sizeof sh, "N%d C%d H%d W%d win%d st%d ties%d", N, C, H, W, win, stride, ties);
    compareBits("maxpool_backward", sh, dx.p, want.data(), x.n);
    Buf dxRelu(x.n); dxRelu.fill(NAN);  // through the ReLU that output x (NaNs, -inf, negatives and ties included)
    launch({(unsigned)std::min(blocksFor((long long)x.n, 32), 5)}, {32}, [&] { maxpool_backward(dxRelu.p, dy.p, x.p, N, C, H, W, P, Q, win, stride, 1); });
    compareThroughRelu("maxpool_backward (relu)", sh, dxRelu.p, want.data(), x.p, x.n);
    // The same sums a block of planes at a time: one plane per block, and as many as the shared memory takes.
    for (int planes : {1, std::max(1, std::min(N * C, maxpool_planes_v1::WINDOWS / (P * Q)))}) {
        if (planes * P * Q > maxpool_planes_v1::WINDOWS) continue;
        char shp[300]; snprintf(shp, sizeof shp, "%s planes%d", sh, planes);
        unsigned blocks = (unsigned)((N * C + planes - 1) / planes);
        dx.fill(NAN); dxRelu.fill(NAN);
        launch({blocks}, {64}, [&] { maxpool_backward_planes(dx.p, dy.p, x.p, N, C, H, W, P, Q, win, stride, 0, planes); });
        compareBits("maxpool_backward_planes", shp, dx.p, want.data(), x.n);
        launch({blocks}, {64}, [&] { maxpool_backward_planes(dxRelu.p, dy.p, x.p, N, C, H, W, P, Q, win, stride, 1, planes); });
        compareThroughRelu("maxpool_backward_planes (relu)", shp, dxRelu.p, want.data(), x.p, x.n);
    }
}

static int pickChunk(int red, int splits, int slab) {
    if (splits <= 1) return red;
    int chunk = (red + splits - 1) / splits;
    return ri(0, 1) ? (chunk + slab - 1) / slab * slab : ri(1, std::max(1, std::min(red, 40)));
}

static void testLinearBackward(int N, int C, int K, int splitsD, int splitsW, bool mis) {
    Buf x((size_t)N * C, mis), w((size_t)K * C, mis), dy((size_t)N * K, mis), dx(x.n, mis), dw(w.n, mis), db(K);
    x.randn(); w.randn(); dy.randn(); dx.fill(NAN); dw.fill(NAN); db.fill(NAN);
    int chunkD = pickChunk(K, splitsD, 16), chunkW = pickChunk(N, splitsW, 16);
    splitsD = (K + chunkD - 1) / chunkD; splitsW = (N + chunkW - 1) / chunkW;
    char sh[256]; snprintf(sh, sizeof sh, "N%d C%d K%d chunkD%d chunkW%d mis%d", N, C, K, chunkD, chunkW, mis);
    auto run = [&](float* out, int M, int splits, auto kernel) {
        dim3 grid{(unsigned)blocksFor(M, 64), (unsigned)blocksFor(C, 128), (unsigned)splits};
        if (splits == 1) { launch(grid, {128}, [&] { kernel(out); }); return; }
        Buf ws((size_t)splits * M * C); ws.fill(NAN);
        launch(grid, {128}, [&] { kernel(ws.p); });
        launch({3}, {64}, [&] { linear_backward_reduce(out, ws.p, (long long)M * C, splits); });
    };
    run(dx.p, N, splitsD, [&](float* o) { linear_backward_data(o, dy.p, w.p, N, C, K, chunkD); });
    run(dw.p, K, splitsW, [&](float* o) { linear_backward_weight(o, dy.p, x.p, N, C, K, chunkW); });
    launch({2}, {32}, [&] { linear_backward_bias(db.p, dy.p, N, K); });
    std::vector<double> refX(x.n, 0.0), refW(w.n, 0.0);
    std::vector<float> refB(K, 0.0f);
    for (int n = 0; n < N; n++) for (int k = 0; k < K; k++) {
        double d = dy.p[(size_t)n * K + k];
        volatile float b = refB[k] + dy.p[(size_t)n * K + k]; refB[k] = b;
        for (int c = 0; c < C; c++) {
            refX[(size_t)n * C + c] += d * w.p[(size_t)k * C + c];
            refW[(size_t)k * C + c] += d * x.p[(size_t)n * C + c];
        }
    }
    compare("linear_backward_data", sh, dx.p, refX);
    compare("linear_backward_weight", sh, dw.p, refW);
    compareBits("linear_backward_bias", sh, db.p, refB.data(), K);
}

// Random123's known-answer tests for Philox4x32-10.
static void testPhiloxKat() {
    struct Kat { uint32_t c[4], k[2], want[4]; } kats[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
        {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}, {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
        {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}, {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
    };
    for (auto& t : kats) {
        Philox4x32 r = philox4x32_10(t.c[0], t.c[1], t.c[2], t.c[3], t.k[0], t.k[1]);
        for (int i = 0; i < 4; i++) {
            if (r.v[i] != t.want[i]) {
                failures++;
                printf("FAIL philox KAT ctr %08x...: word %d is %08x, want %08x\n", t.c[0], i, r.v[i], t.want[i]);
            }
        }
    }
}

static void testDropout(long long n, float p, unsigned long long seed, int layer, unsigned long long step, bool mis, bool inPlace) {
    Buf x(n, mis), o(n, mis);
    x.randn(); o.fill(NAN);
    if (n > 3) x.p[3] = NAN;
    float scale = (float)(1.0 / (1.0 - (double)p));
    std::vector<float> want(n);
    long long kept = 0;
    for (long long i = 0; i < n; i++) {
        Philox4x32 r = philox4x32_10((uint32_t)(i >> 2), (uint32_t)layer, (uint32_t)step, (uint32_t)(step >> 32), (uint32_t)seed, (uint32_t)(seed >> 32));
        float u = (float)(r.v[i & 3] >> 8) * 0x1p-24f;
        bool keep = u >= p;
        kept += keep;
        volatile float v = x.p[i] * scale;
        want[i] = keep ? (float)v : 0.0f;
    }
    std::vector<float> orig(x.p, x.p + n);
    float* out = inPlace ? x.p : o.p;
    dim3 grid{(unsigned)std::max<long long>(1, std::min<long long>(5, (n + 1023) / 1024))};
    launch(grid, {64}, [&] { dropout_forward(out, x.p, n, p, scale, seed, layer, step); });
    char sh[160]; snprintf(sh, sizeof sh, "n%lld p%g seed%llx layer%d step%llx mis%d inplace%d", n, p, seed, layer, step, mis, inPlace);
    compareBits("dropout_forward", sh, out, want.data(), n);
    // Backward redraws the same mask.
    memcpy(x.p, orig.data(), n * sizeof(float));
    if (!inPlace) o.fill(NAN);
    launch(grid, {64}, [&] { dropout_backward(out, x.p, n, p, scale, seed, layer, step); });
    compareBits("dropout_backward", sh, out, want.data(), n);
    if (n >= 100000) {  // the keep rate is 1 - p (binomial: 5 sigma)
        double rate = (double)kept / n, sigma = std::sqrt(p * (1 - p) / n);
        if (std::fabs(rate - (1 - p)) > 5 * sigma + 1e-9) { failures++; printf("FAIL dropout keep rate %g for p %g (n %lld)\n", rate, p, n); }
    }
}

static void testSoftmaxXent(int N, int K, int threads, bool inPlace) {
    Buf x((size_t)N * K), o((size_t)N * K);
    std::vector<double> losses(N, NAN);
    std::vector<int> labels(N);
    x.randn(); for (size_t i = 0; i < x.n; i++) x.p[i] *= 5; o.fill(NAN);
    for (int n = 0; n < N; n++) labels[n] = ri(0, K - 1);
    std::vector<float> in(x.p, x.p + x.n);
    float* out = inPlace ? x.p : o.p;
    launch({(unsigned)std::min(N, 3)}, {(unsigned)threads}, [&] { softmax_xent(out, losses.data(), x.p, labels.data(), N, K); });
    std::vector<double> ref(x.n);
    char sh[64]; snprintf(sh, sizeof sh, "N%d K%d threads%d inplace%d", N, K, threads, inPlace);
    for (int n = 0; n < N; n++) {
        const float* r = in.data() + (size_t)n * K;
        float m = -INFINITY_; for (int k = 0; k < K; k++) m = std::max(m, r[k]);
        double s = 0; for (int k = 0; k < K; k++) s += std::exp((double)r[k] - m);
        double loss = std::log(s) + m - r[labels[n]];
        if (!(std::fabs(losses[n] - loss) <= 1e-12 * std::max(1.0, std::fabs(loss)))) { failures++; printf("FAIL softmax_xent %s: loss %d is %.17g, want %.17g\n", sh, n, losses[n], loss); }
        for (int k = 0; k < K; k++) {
            volatile float pr = (float)(std::exp((double)r[k] - m) / s); volatile float d = pr - (k == labels[n] ? 1.0f : 0.0f); volatile float q = d / (float)N;
            ref[(size_t)n * K + k] = q;
        }
    }
    compare("softmax_xent", sh, out, ref, 1e-6);
}

static void testSgd(long long n, bool mis) {
    Buf w(n, mis), v(n, mis), g(n, mis);
    w.randn(); v.randn(); g.randn();
    float lr = 0.01f * ri(1, 100), momentum = 0.9f, wd = 0.0005f;
    float decay = wd * lr;
    std::vector<float> wantW(n), wantV(n);
    for (long long i = 0; i < n; i++) {
        volatile float a = momentum * v.p[i]; volatile float b = decay * w.p[i]; volatile float c = lr * g.p[i];
        volatile float t = a - b; volatile float vn = t - c; volatile float wn = w.p[i] + vn;
        wantV[i] = vn; wantW[i] = wn;
    }
    dim3 grid{(unsigned)std::max<long long>(1, std::min<long long>(5, (n + 1023) / 1024))};
    launch(grid, {64}, [&] { sgd_update(w.p, v.p, g.p, lr, momentum, decay, n); });
    std::string sh = "n=" + std::to_string(n) + (mis ? " misaligned" : "");
    compareBits("sgd_update weight", sh, w.p, wantW.data(), n);
    compareBits("sgd_update velocity", sh, v.p, wantV.data(), n);
}

int main(int argc, char** argv) {
    std::string which = argc > 1 ? argv[1] : "all";
    int iters = argc > 2 ? atoi(argv[2]) : 30;
    std::string size = argc > 3 ? argv[3] : "";
    bool full = size == "full";    // also the network's full-size layers (minutes)
    bool quick = size == "quick";  // random shapes only, without the network's layers at batch 2 (the race check)
    if (which == "all" || which == "conv") {
        for (int it = 0; it < iters; it++) {
            int groups = ri(1, 3), Cg = ri(1, it % 4 == 0 ? 24 : 5), Kg = ri(1, it % 5 == 0 ? 140 : 70), stride = ri(1, 4), pad = ri(0, 2);
            int H = ri(1, 13), W = ri(1, 13);
            int R = ri(1, std::min(5, H + 2 * pad)), S = ri(1, std::min(5, W + 2 * pad));
            testConv(ri(1, 3), Cg * groups, H, W, Kg * groups, R, S, stride, pad, groups, ri(0, 1), ri(0, 1));
        }
        if (full) testConv(1, 3, 227, 227, 96, 11, 11, 4, 0, 1, 1, false);   // conv1
        if (!quick) {
            testConv(2, 96, 27, 27, 256, 5, 5, 1, 2, 2, 1, false);     // conv2
            testConv(2, 256, 13, 13, 384, 3, 3, 1, 1, 1, 1, false);    // conv3
            testConv(2, 384, 13, 13, 384, 3, 3, 1, 1, 2, 1, false);    // conv4
            testConv(2, 384, 13, 13, 256, 3, 3, 1, 1, 2, 1, false);    // conv5
        }
        printf("conv done\n");
    }
    if (which == "all" || which == "linear") {
        for (int it = 0; it < iters; it++) testLinear(ri(1, 140), ri(1, 300), ri(1, 300), ri(1, 5), ri(0, 1), ri(0, 1));
        for (int it = 0; it < iters; it++) testLinear(ri(1, 8), ri(1, 300), ri(1, 300), 1, ri(0, 1), ri(0, 1));  // small batches
        testLinear(1, 4096, 37, 1, 1, false);  // fc7's width at batch 1: float4 path, features past the grid (grid-stride)
        testLinear(8, 1001, 9, 1, 0, true);    // scalar path, the largest small batch
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
        testLrn(1, 40, 3, 5, 17, 1e-3f, 0.75f, 2.f, 2);   // the largest register window
        testLrn(1, 40, 3, 5, 19, 1e-3f, 0.75f, 2.f, 1);   // past it: v1's loop
        testLrn(1, 6, 2, 3, 4, 1e-2f, 0.75f, 1.f, 2);     // even size, groups of 3 channels (< one unrolled step)
        if (!quick) testLrn(2, 96, 55, 55, 5, 1e-4f, 0.75f, 2.f, 2);
        if (!quick) testLrn(2, 256, 27, 27, 5, 1e-4f / 5, 0.75f, 1.f, 1);
        printf("lrn done\n");
    }
    if (which == "all" || which == "pool") {
        for (int it = 0; it < iters; it++) { int H = ri(1, 15), W = ri(1, 15), win = ri(1, std::min(H, W)); testPool(ri(1, 3), ri(1, 5), H, W, win, ri(1, 4), ri(0, 1)); }
        if (!quick) testPool(2, 96, 55, 55, 3, 2, true);
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
        for (int it = 0; it < iters * 4; it++) {
            testAdd(ri(1, 5000), ri(0, 1));
            testCopyChannelsRandom();
        }
        testAdd(1, false);
        testAdd(3, true);
        testAdd(100003, false);
        testCopyChannels(2, 96, 48, 48, 0, 48, 27 * 27, false);   // join: the second tower's half of conv2's input
        testCopyChannels(2, 48, 96, 0, 48, 48, 27 * 27, false);   // split: its first half
        testCopyChannels(3, 4096, 2048, 2048, 0, 2048, 1, false); // an FC layer's halves, float4 path
        testCopyChannels(3, 4097, 2051, 2048, 1, 2049, 1, true);  // odd, misaligned: scalar path
        testCopyChannels(1, 5, 5, 5, 0, 0, 7, false);             // count 0 at the far end: nothing written
        testCopyChannels(1, 1, 1, 0, 0, 1, 13, false);            // the whole tensor
        printf("elementwise done\n");
    }
    if (which == "all" || which == "convbwd") {
        for (int it = 0; it < iters; it++) {
            int groups = ri(1, 2), Cg = ri(1, it % 3 == 0 ? 20 : 5), Kg = ri(1, it % 4 == 0 ? 70 : 12), stride = ri(1, 4), pad = ri(0, 2);
            int H = ri(1, 11), W = ri(1, 11);
            int R = ri(1, std::min(5, H + 2 * pad)), S = ri(1, std::min(5, W + 2 * pad));
            int N = ri(1, 3), P = (H + 2 * pad - R) / stride + 1, Q = (W + 2 * pad - S) / stride + 1;
            int chunk = it % 2 ? N * P * Q : ri(1, std::max(1, N * P * Q / 2));
            testConvBackward(N, Cg * groups, H, W, Kg * groups, R, S, stride, pad, groups, chunk, ri(0, 1));
        }
        testConvBackward(1, 3, 5, 5, 2, 1, 1, 2, 0, 1, 25, false);      // 1x1 stride 2: three phases get no taps
        testConvBackward(2, 4, 9, 9, 6, 3, 3, 4, 2, 2, 7, false);       // stride > filter, pad 2, split
        testConvBackward(1, 2, 17, 13, 65, 2, 3, 1, 1, 1, 37, true);   // 65 filters: K tile edge
        testConvBackward(1, 3, 23, 23, 8, 11, 11, 4, 0, 1, 10, false);  // conv1's filter and stride
        if (full) {
            testConvBackward(1, 3, 227, 227, 96, 11, 11, 4, 0, 1, 512, false);  // conv1
            testConvBackward(2, 96, 27, 27, 256, 5, 5, 1, 2, 2, 256, false);    // conv2
            testConvBackward(2, 256, 13, 13, 384, 3, 3, 1, 1, 1, 128, false);   // conv3
            testConvBackward(2, 384, 13, 13, 256, 3, 3, 1, 1, 2, 338, false);   // conv5
        } else if (!quick) {
            testConvBackward(1, 96, 9, 9, 128, 5, 5, 1, 2, 2, 40, false);       // conv2's channels, small image
        } else {
            testConvBackward(1, 96, 5, 5, 16, 3, 3, 1, 1, 2, 10, false);        // 48 channels per group: a full 48-row tile
        }
        printf("conv backward done\n");
    }
    if (which == "all" || which == "lrnbwd") {
        for (int it = 0; it < iters; it++) {
            int groups = ri(1, 3);
            testLrnBackward(ri(1, 2), groups * ri(1, 12), ri(1, 6), ri(1, 6), ri(1, 20), 1e-4f * ri(1, 5000), 0.25f * ri(0, 6), 0.5f * ri(1, 4), groups);
        }
        testLrnBackward(2, 96, 7, 9, 5, 1e-4f, 0.75f, 2.f, 2);      // the paper's LRN
        testLrnBackward(1, 20, 3, 3, 4, 0.3f, 0.75f, 1.f, 1);       // even size
        testLrnBackward(1, 12, 2, 3, 17, 0.3f, 0.75f, 1.f, 1);      // largest ring size, wider than the channels
        testLrnBackward(1, 40, 2, 3, 18, 0.01f, 0.75f, 1.f, 2);     // the plain path
        testLrnBackward(1, 40, 2, 2, 35, 0.01f, 0.75f, 1.f, 1);     // the plain path, odd size
        if (full) testLrnBackward(2, 96, 55, 55, 5, 1e-4f, 0.75f, 2.f, 2);
        printf("lrn backward done\n");
    }
    if (which == "all" || which == "poolbwd") {
        for (int it = 0; it < iters * 2; it++) { int H = ri(1, 15), W = ri(1, 15), win = ri(1, std::min(H, W)); testPoolBackward(ri(1, 3), ri(1, 4), H, W, win, ri(1, 4), ri(0, 1)); }
        testPoolBackward(1, 8, 27, 27, 3, 2, true);
        testPoolBackward(1, 8, 13, 13, 3, 2, false);
        if (full) testPoolBackward(2, 96, 55, 55, 3, 2, true);
        printf("pool backward done\n");
    }
    if (which == "all" || which == "linearbwd") {
        for (int it = 0; it < iters; it++) testLinearBackward(ri(1, it % 2 ? 10 : 140), ri(1, 260), ri(1, it % 2 ? 260 : 70), ri(1, 3), ri(1, 3), ri(0, 1));
        testLinearBackward(3, 1001, 50, 4, 1, false);
        testLinearBackward(130, 20, 33, 1, 3, false);
        if (full) testLinearBackward(2, 9216, 4096, 16, 1, false);
        printf("linear backward done\n");
    }
    if (which == "all" || which == "dropout") {
        testPhiloxKat();
        for (int it = 0; it < iters * 2; it++)
            testDropout(ri(1, 3000), 0.1f * ri(0, 9), rng(), ri(0, 7), ri(0, 1) ? rng() : (unsigned long long)ri(0, 100000), ri(0, 1), ri(0, 1));
        testDropout(100003, 0.5f, 0x0123456789abcdefULL, 6, 0x100000002ULL, false, false);
        testDropout(4, 0.0f, 42, 7, 1, false, false);  // p = 0 keeps everything, scale 1
        printf("dropout done\n");
    }
    if (which == "all" || which == "xent") {
        for (int it = 0; it < iters; it++) testSoftmaxXent(ri(1, 5), ri(1, 1500), 32 * ri(1, 8), ri(0, 1));
        testSoftmaxXent(4, 1000, 256, false);
        testSoftmaxXent(3, 1000, 256, true);
        printf("softmax xent done\n");
    }
    if (which == "all" || which == "train_elementwise") {
        for (int it = 0; it < iters * 4; it++) {
            testReluBackward(ri(1, 5000), ri(0, 1), ri(0, 1));
            testSgd(ri(1, 5000), ri(0, 1));
        }
        printf("relu backward, sgd done\n");
    }
    if (which == "all" || which == "winograd") {
        for (int it = 0; it < iters; it++) {
            int groups = ri(1, 2), pad = ri(0, 2), H = ri(1, 11), W = ri(1, 11);
            if (H + 2 * pad < 3) H = 3 - 2 * pad;
            if (W + 2 * pad < 3) W = 3 - 2 * pad;
            testWinograd(ri(1, 3), groups * ri(1, it % 3 == 0 ? 20 : 5), H, W, groups * ri(1, it % 4 == 0 ? 70 : 12), pad, groups, ri(0, 1), ri(0, 1));
        }
        testWinograd(1, 4, 13, 13, 65, 1, 1, 1, false);   // 65 filters: a row tile's edge
        testWinograd(2, 6, 3, 3, 4, 2, 2, 0, true);       // pad 2 (data gradient: pad 0)
        if (!quick) testWinograd(2, 32, 13, 13, 24, 1, 2, 1, false);  // conv4's image size
        printf("winograd done\n");
    }
    printf("%s\n", failures ? "FAILURES" : "ALL OK");
    return failures != 0;
}
