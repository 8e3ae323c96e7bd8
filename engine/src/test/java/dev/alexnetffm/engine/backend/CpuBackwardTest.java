package dev.alexnetffm.engine.backend;

import static dev.alexnetffm.engine.backend.TestTensors.abs;
import static dev.alexnetffm.engine.backend.TestTensors.assertClose;
import static dev.alexnetffm.engine.backend.TestTensors.gaussian;
import static dev.alexnetffm.engine.backend.TestTensors.poisoned;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.alexnetffm.engine.backend.Float64Ops.Conv;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;

import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The backward passes, loss and optimizer against direct float64 formulas, every element checked in outputs
 * poisoned with NaN beforehand; the tie and NaN rules; exact bits where the op is exact; shape errors; and
 * independence from the number of threads.
 */
class CpuBackwardTest {
    private final CpuBackend cpu = new CpuBackend();

    // ---- convolution ----

    static Stream<Conv> convCases() {
        return Stream.concat(GradientCheckTest.convCases(), Stream.of(
                new Conv(1, 3, 35, 35, 8, 11, 11, 4, 0, 1), // conv1's geometry, a smaller image
                new Conv(2, 8, 13, 13, 8, 5, 5, 1, 2, 2), // conv2's geometry
                new Conv(2, 8, 13, 13, 6, 3, 3, 1, 1, 1), // conv3's
                new Conv(1, 8, 13, 13, 8, 3, 3, 1, 1, 2), // conv4/conv5's
                new Conv(1, 3, 10, 11, 5, 4, 2, 3, 1, 1), // non-square filter, stride 3
                new Conv(1, 1, 1, 1, 1, 1, 1, 1, 0, 1))); // a single multiply
    }

    /** dIn[n, c, h, w] = sum over every (k, r, s, p, q) whose tap reads (h, w): the scatter, unlike the backend's gather. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("convCases")
    void conv2dBackwardDataMatchesFloat64(Conv tc) {
        Random random = new Random(tc.hashCode());
        HostTensor weight = gaussian(random, 0.3, tc.weightDims()), dOut = gaussian(random, 1.0, tc.outDims());
        HostTensor dIn = poisoned(tc.inDims());

        cpu.conv2dBackwardData(dIn, dOut, weight, tc.spec());

        float[] w = weight.data(), g = dOut.data();
        int cg = tc.c() / tc.groups(), kg = tc.k() / tc.groups(), P = tc.p(), Q = tc.q();
        double[] want = new double[dIn.data().length], magnitude = new double[want.length];
        for (int n = 0; n < tc.n(); n++) {
            for (int k = 0; k < tc.k(); k++) {
                for (int p = 0; p < P; p++) {
                    for (int q = 0; q < Q; q++) {
                        for (int c = 0; c < cg; c++) {
                            for (int r = 0; r < tc.r(); r++) {
                                for (int s = 0; s < tc.s(); s++) {
                                    int h = p * tc.stride() - tc.pad() + r, x = q * tc.stride() - tc.pad() + s;
                                    if (h < 0 || h >= tc.h() || x < 0 || x >= tc.w()) continue;
                                    int at = ((n * tc.c() + k / kg * cg + c) * tc.h() + h) * tc.w() + x;
                                    double term = (double) w[((k * cg + c) * tc.r() + r) * tc.s() + s] * g[((n * tc.k() + k) * P + p) * Q + q];
                                    want[at] += term;
                                    magnitude[at] += Math.abs(term);
                                }
                            }
                        }
                    }
                }
            }
        }
        assertClose("conv2dBackwardData " + tc, dIn.data(), want, magnitude, 1e-6);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("convCases")
    void conv2dBackwardWeightMatchesFloat64(Conv tc) {
        Random random = new Random(tc.hashCode() + 1);
        HostTensor in = gaussian(random, 1.0, tc.inDims()), dOut = gaussian(random, 1.0, tc.outDims());
        HostTensor dWeight = poisoned(tc.weightDims()), dBias = poisoned(tc.k());

        cpu.conv2dBackwardWeight(dWeight, dBias, dOut, in, tc.spec());

        float[] x = in.data(), g = dOut.data();
        int cg = tc.c() / tc.groups(), kg = tc.k() / tc.groups(), P = tc.p(), Q = tc.q();
        double[] want = new double[dWeight.data().length], magnitude = new double[want.length];
        double[] wantBias = new double[tc.k()], biasMagnitude = new double[tc.k()];
        for (int k = 0; k < tc.k(); k++) {
            for (int c = 0; c < cg; c++) {
                for (int r = 0; r < tc.r(); r++) {
                    for (int s = 0; s < tc.s(); s++) {
                        int at = ((k * cg + c) * tc.r() + r) * tc.s() + s;
                        for (int n = 0; n < tc.n(); n++) {
                            for (int p = 0; p < P; p++) {
                                for (int q = 0; q < Q; q++) {
                                    int h = p * tc.stride() - tc.pad() + r, w = q * tc.stride() - tc.pad() + s;
                                    if (h < 0 || h >= tc.h() || w < 0 || w >= tc.w()) continue;
                                    double term = (double) g[((n * tc.k() + k) * P + p) * Q + q] * x[((n * tc.c() + k / kg * cg + c) * tc.h() + h) * tc.w() + w];
                                    want[at] += term;
                                    magnitude[at] += Math.abs(term);
                                }
                            }
                        }
                    }
                }
            }
            for (int n = 0; n < tc.n(); n++) {
                for (int i = 0; i < P * Q; i++) {
                    wantBias[k] += g[(n * tc.k() + k) * P * Q + i];
                    biasMagnitude[k] += Math.abs(g[(n * tc.k() + k) * P * Q + i]);
                }
            }
        }
        assertClose("conv2dBackwardWeight dWeight " + tc, dWeight.data(), want, magnitude, 1e-6);
        assertClose("conv2dBackwardWeight dBias " + tc, dBias.data(), wantBias, biasMagnitude, 1e-6);
    }

    // ---- linear ----

    static Stream<Arguments> linearCases() {
        return Stream.of( // input dims, K
                Arguments.of(new int[] {1, 7}, 5),
                Arguments.of(new int[] {3, 300}, 17),
                Arguments.of(new int[] {4, 2, 3, 3}, 6), // (N, C, H, W) read as (N, C*H*W), as fc6 reads pool5
                Arguments.of(new int[] {9, 513}, 33),
                Arguments.of(new int[] {6, 1}, 4));
    }

    @ParameterizedTest(name = "in {0}, K {1}")
    @MethodSource("linearCases")
    void linearBackwardMatchesFloat64(int[] inDims, int K) {
        Random random = new Random(31L * Arrays.hashCode(inDims) + K);
        HostTensor in = gaussian(random, 1.0, inDims);
        int N = inDims[0], C = (int) in.shape().sizeFrom(1);
        HostTensor weight = gaussian(random, 0.1, K, C), dOut = gaussian(random, 1.0, N, K);
        HostTensor dIn = poisoned(inDims), dWeight = poisoned(K, C), dBias = poisoned(K);

        cpu.linearBackwardData(dIn, dOut, weight);
        cpu.linearBackwardWeight(dWeight, dBias, dOut, in);

        float[] x = in.data(), w = weight.data(), g = dOut.data();
        double[] wantIn = new double[N * C], magIn = new double[N * C], wantW = new double[K * C], magW = new double[K * C];
        double[] wantB = new double[K], magB = new double[K];
        for (int n = 0; n < N; n++) {
            for (int k = 0; k < K; k++) {
                for (int c = 0; c < C; c++) {
                    double tIn = (double) g[n * K + k] * w[k * C + c], tW = (double) g[n * K + k] * x[n * C + c];
                    wantIn[n * C + c] += tIn;
                    magIn[n * C + c] += Math.abs(tIn);
                    wantW[k * C + c] += tW;
                    magW[k * C + c] += Math.abs(tW);
                }
                wantB[k] += g[n * K + k];
                magB[k] += Math.abs(g[n * K + k]);
            }
        }
        assertClose("linearBackwardData", dIn.data(), wantIn, magIn, 1e-6);
        assertClose("linearBackwardWeight dWeight", dWeight.data(), wantW, magW, 1e-6);
        assertClose("linearBackwardWeight dBias", dBias.data(), wantB, magB, 1e-6);
    }

    // ---- LRN ----

    static Stream<Arguments> lrnCases() {
        return Stream.of( // N, C, H, W, spec, input scale
                Arguments.of(2, 16, 7, 5, LrnSpec.paper(), 30.0),
                Arguments.of(1, 96, 5, 5, LrnSpec.paper(), 10.0), // norm1's channels
                Arguments.of(2, 12, 5, 7, LrnSpec.pytorch(5, 1e-4f, 0.75f, 2f), 60.0),
                Arguments.of(1, 10, 3, 5, LrnSpec.pytorch(4, 0.5f, 0.75f, 1f), 1.0), // even size
                Arguments.of(2, 8, 5, 3, new LrnSpec(2, 1f, 0.5f, 1f, 2, true), 1.0), // even size, two groups
                Arguments.of(1, 12, 4, 4, new LrnSpec(3, 0.3f, 1f, 2f, 2, false), 2.0),
                Arguments.of(3, 6, 3, 3, new LrnSpec(7, 0.2f, 0.75f, 1f, 2, false), 1.0), // window wider than a group
                Arguments.of(1, 4, 2, 2, new LrnSpec(5, 1e-4f, 0f, 2f, 1, false), 1.0)); // beta 0: dIn = dOut
    }

    /**
     * dA_c = dB_c * scale_c^-beta - 2 alpha' beta a_c * sum over j with c in window(j) of dB_j * b_j / scale_j, in
     * float64 with b and scale computed from the definition, the set of j found by testing c against each window.
     */
    @ParameterizedTest(name = "{0}x{1}x{2}x{3} {4}")
    @MethodSource("lrnCases")
    void lrnBackwardMatchesFloat64(int N, int C, int H, int W, LrnSpec spec, double scale) {
        Random random = new Random(spec.hashCode() + 7L * C);
        HostTensor in = gaussian(random, scale, N, C, H, W), out = poisoned(N, C, H, W);
        HostTensor dOut = gaussian(random, 1.0, N, C, H, W), dIn = poisoned(N, C, H, W);
        cpu.lrn(out, in, spec);

        cpu.lrnBackward(dIn, dOut, in, out, spec);

        int HW = H * W, perGroup = C / spec.groups(), before = spec.size() / 2, after = (spec.size() - 1) / 2;
        double alpha = spec.effectiveAlpha(), beta = spec.beta();
        float[] a = in.data(), g = dOut.data();
        double[] want = new double[a.length], magnitude = new double[a.length];
        for (int n = 0; n < N; n++) {
            for (int i = 0; i < HW; i++) {
                double[] scaleOf = new double[C];
                for (int j = 0; j < C; j++) {
                    double sum = 0;
                    for (int m = j - before; m <= j + after; m++) {
                        if (m / perGroup == j / perGroup && m >= 0 && m < C) sum += (double) a[(n * C + m) * HW + i] * a[(n * C + m) * HW + i];
                    }
                    scaleOf[j] = spec.k() + alpha * sum;
                }
                for (int c = 0; c < C; c++) {
                    int at = (n * C + c) * HW + i;
                    double direct = g[at] * Math.pow(scaleOf[c], -beta), cross = 0, crossMagnitude = 0;
                    for (int j = 0; j < C; j++) {
                        boolean inWindow = c >= j - before && c <= j + after && c / perGroup == j / perGroup;
                        if (!inWindow) continue;
                        int bj = (n * C + j) * HW + i;
                        double term = g[bj] * (a[bj] * Math.pow(scaleOf[j], -beta)) / scaleOf[j];
                        cross += term;
                        crossMagnitude += Math.abs(term);
                    }
                    double coef = 2 * alpha * beta * a[at];
                    want[at] = direct - coef * cross;
                    magnitude[at] = Math.abs(direct) + Math.abs(coef) * crossMagnitude;
                }
            }
        }
        assertClose("lrnBackward " + spec, dIn.data(), want, magnitude, 2e-6);
    }

    // ---- max pooling ----

    static Stream<Arguments> poolCases() {
        return Stream.of( // N, C, H, W, window, stride
                Arguments.of(2, 3, 55, 55, 3, 2), // pool1's geometry
                Arguments.of(1, 4, 13, 13, 3, 2), // pool5's
                Arguments.of(3, 2, 8, 8, 2, 2),
                Arguments.of(1, 1, 7, 9, 2, 2),
                Arguments.of(1, 2, 6, 6, 3, 1),
                Arguments.of(1, 2, 8, 8, 2, 3),
                Arguments.of(1, 2, 5, 5, 5, 1));
    }

    @ParameterizedTest(name = "{0}x{1}x{2}x{3} window {4} stride {5}")
    @MethodSource("poolCases")
    void maxPoolBackwardMatchesFloat64(int N, int C, int H, int W, int window, int stride) {
        PoolSpec spec = new PoolSpec(window, stride);
        int P = spec.outSize(H), Q = spec.outSize(W);
        Random random = new Random(H * 100L + W * 10L + window + stride);
        HostTensor in = gaussian(random, 1.0, N, C, H, W);
        // a few exact ties, which must go to the window's first maximum
        for (int i = 0; i < in.data().length; i += 7) in.data()[i] = 2.5f;
        HostTensor dOut = gaussian(random, 1.0, N, C, P, Q), dIn = poisoned(N, C, H, W);

        cpu.maxPoolBackward(dIn, dOut, in, spec);

        float[] x = in.data(), g = dOut.data();
        double[] want = new double[x.length], magnitude = new double[x.length];
        for (int nc = 0; nc < N * C; nc++) {
            for (int p = 0; p < P; p++) {
                for (int q = 0; q < Q; q++) {
                    int best = -1; // the first index holding the window's maximum, found with a double max
                    double max = Double.NEGATIVE_INFINITY;
                    for (int r = 0; r < window; r++) {
                        for (int s = 0; s < window; s++) max = Math.max(max, x[(nc * H + p * stride + r) * W + q * stride + s]);
                    }
                    for (int r = 0; r < window && best < 0; r++) {
                        for (int s = 0; s < window && best < 0; s++) {
                            int at = (nc * H + p * stride + r) * W + q * stride + s;
                            if (x[at] == max) best = at;
                        }
                    }
                    want[best] += g[(nc * P + p) * Q + q];
                    magnitude[best] += Math.abs(g[(nc * P + p) * Q + q]);
                }
            }
        }
        assertClose("maxPoolBackward " + spec, dIn.data(), want, magnitude, 1e-6);
    }

    @Test
    void maxPoolBackwardRoutesTiesToTheFirstAndNaNWins() {
        // one 3x3 window (5x5 input, stride 2 gives 2x2 windows; only window (0, 0) matters here)
        float[] x = new float[25];
        Arrays.fill(x, -1f);
        x[1] = 4f; // (0, 1)
        x[5] = 4f; // (1, 0): the same value later in row-major order
        HostTensor in = new HostTensor(Shape.of(1, 1, 5, 5), x);
        HostTensor dOut = new HostTensor(Shape.of(1, 1, 2, 2), new float[] {1f, 0f, 0f, 0f}), dIn = poisoned(1, 1, 5, 5);
        cpu.maxPoolBackward(dIn, dOut, in, PoolSpec.overlapping());
        assertEquals(1f, dIn.data()[1], "the first of two equal maxima");
        assertEquals(0f, dIn.data()[5]);

        // -0 before +0: equal as floats, so the first (-0) is chosen
        float[] zeros = new float[4];
        zeros[0] = -0f;
        HostTensor signed = new HostTensor(Shape.of(1, 1, 2, 2), zeros), dSigned = poisoned(1, 1, 2, 2);
        cpu.maxPoolBackward(dSigned, new HostTensor(Shape.of(1, 1, 1, 1), new float[] {3f}), signed, new PoolSpec(2, 1));
        assertArrayEquals(new float[] {3f, 0f, 0f, 0f}, dSigned.data());

        // NaN: the first NaN is the maximum, even after +infinity and before another NaN
        float[] withNaN = {Float.POSITIVE_INFINITY, 1f, Float.NaN, Float.NaN};
        HostTensor nanIn = new HostTensor(Shape.of(1, 1, 2, 2), withNaN), dNaN = poisoned(1, 1, 2, 2);
        cpu.maxPoolBackward(dNaN, new HostTensor(Shape.of(1, 1, 1, 1), new float[] {5f}), nanIn, new PoolSpec(2, 1));
        assertArrayEquals(new float[] {0f, 0f, 5f, 0f}, dNaN.data());
    }

    @Test
    void maxPoolBackwardSumsOverlappingWindowsInOrder() {
        // 5x5, window 3 stride 2: the centre (2, 2) is the maximum of all four windows and receives the sum
        float[] x = new float[25];
        for (int i = 0; i < 25; i++) x[i] = i * 0.01f;
        x[12] = 9f;
        HostTensor in = new HostTensor(Shape.of(1, 1, 5, 5), x), dIn = poisoned(1, 1, 5, 5);
        HostTensor dOut = new HostTensor(Shape.of(1, 1, 2, 2), new float[] {1f, 2f, 4f, 8f});
        cpu.maxPoolBackward(dIn, dOut, in, PoolSpec.overlapping());
        float[] want = new float[25];
        want[12] = 15f;
        assertArrayEquals(want, dIn.data());
    }

    // ---- ReLU ----

    @Test
    void reluBackwardPassesPositivesAndPropagatesNaN() {
        HostTensor out = new HostTensor(Shape.of(6), new float[] {2f, 0f, Float.NaN, 1e-30f, 0f, Float.POSITIVE_INFINITY});
        HostTensor dOut = new HostTensor(Shape.of(6), new float[] {3f, 4f, 5f, -6f, Float.NaN, 7f});
        HostTensor dIn = poisoned(6);
        cpu.reluBackward(dIn, dOut, out);
        assertArrayEquals(new float[] {3f, 0f, Float.NaN, -6f, 0f, 7f}, dIn.data());

        cpu.reluBackward(dOut, dOut, out); // in place
        assertArrayEquals(dIn.data(), dOut.data());
    }

    /**
     * The ops that can apply the gradient of the ReLU whose output they read (conv2dBackwardData from the
     * convolution's input, lrnBackward and maxPoolBackward from theirs) give exactly the plain op followed by
     * reluBackward: the same bits.
     */
    @Test
    void throughReluIsTheOpThenReluBackward() {
        Random random = new Random(44);
        HostTensor y = reluOutput(random, 2, 6, 9, 9);
        // conv2d, 4 groups of 3x3 filters, stride 1: dOut (2, 8, 9, 9)
        HostTensor w = gaussian(random, 0.3, 8, 3, 3, 3), dConv = gaussian(random, 1, 2, 8, 9, 9);
        ConvSpec spec = new ConvSpec(1, 1, 2);
        HostTensor plain = poisoned(2, 6, 9, 9), fused = poisoned(2, 6, 9, 9), twoPasses = poisoned(2, 6, 9, 9);
        cpu.conv2dBackwardData(plain, dConv, w, spec);
        cpu.conv2dBackwardData(fused, dConv, w, spec, y);
        cpu.reluBackward(twoPasses, plain, y);
        assertBits("conv2dBackwardData", twoPasses, fused);
        // LRN
        LrnSpec lrn = new LrnSpec(5, 0.3f, 0.75f, 2f, 2, false);
        HostTensor norm = poisoned(2, 6, 9, 9), dNorm = gaussian(random, 1, 2, 6, 9, 9);
        cpu.lrn(norm, y, lrn);
        cpu.lrnBackward(plain, dNorm, y, norm, lrn);
        cpu.lrnBackward(fused, dNorm, y, norm, lrn, true);
        cpu.reluBackward(twoPasses, plain, y);
        assertBits("lrnBackward", twoPasses, fused);
        // overlapping max pooling: (2, 6, 4, 4)
        HostTensor dPool = gaussian(random, 1, 2, 6, 4, 4);
        cpu.maxPoolBackward(plain, dPool, y, PoolSpec.overlapping());
        cpu.maxPoolBackward(fused, dPool, y, PoolSpec.overlapping(), true);
        cpu.reluBackward(twoPasses, plain, y);
        assertBits("maxPoolBackward", twoPasses, fused);
        // and the flag changes something: the ReLU's zeros block gradient the plain op passes
        assertTrue(!Arrays.equals(plain.data(), fused.data()), "the data should have gradient at the ReLU's zeros");
    }

    /** A ReLU's output: about half zeros, positives, a -0 and a NaN (it propagates through the gradient). */
    private static HostTensor reluOutput(Random random, int... dims) {
        HostTensor y = gaussian(random, 1, dims);
        float[] a = y.data();
        for (int i = 0; i < a.length; i++) if (a[i] < 0) a[i] = 0f;
        a[7] = -0.0f;
        a[100] = Float.NaN;
        return y;
    }

    private static void assertBits(String what, HostTensor want, HostTensor got) {
        for (int i = 0; i < want.data().length; i++) {
            assertEquals(Float.floatToRawIntBits(want.data()[i]), Float.floatToRawIntBits(got.data()[i]), what + " element " + i);
        }
    }

    // ---- softmax cross-entropy ----

    @Test
    void softmaxCrossEntropyByHand() {
        // uniform rows of 4 classes: p = 1/4, loss ln 4, dLogits = (p - onehot) / 2, all exact
        HostTensor logits = new HostTensor(Shape.of(2, 4), new float[] {0, 0, 0, 0, 7, 7, 7, 7}), d = poisoned(2, 4);
        float loss = cpu.softmaxCrossEntropy(d, logits, new int[] {2, 0});
        assertEquals((float) Math.log(4), loss);
        assertArrayEquals(new float[] {0.125f, 0.125f, -0.375f, 0.125f, -0.375f, 0.125f, 0.125f, 0.125f}, d.data());
    }

    static Stream<Arguments> softmaxCases() {
        return Stream.of( // N, K, logit scale, logit offset
                Arguments.of(1, 1, 1.0, 0.0),
                Arguments.of(3, 1000, 5.0, 0.0), // fc8's width
                Arguments.of(7, 10, 3.0, 1000.0), // exp(1000) overflows: only the stable form survives
                Arguments.of(2, 33, 30.0, -500.0), // most probabilities underflow
                Arguments.of(128, 20, 2.0, 0.0)); // a full batch: the division by N is visible
    }

    @ParameterizedTest(name = "N {0}, K {1}, scale {2}, offset {3}")
    @MethodSource("softmaxCases")
    void softmaxCrossEntropyMatchesFloat64(int N, int K, double scale, double offset) {
        Random random = new Random(N * 1000L + K);
        HostTensor logits = gaussian(random, scale, N, K);
        for (int i = 0; i < logits.data().length; i++) logits.data()[i] += (float) offset;
        int[] labels = random.ints(N, 0, K).toArray();
        HostTensor d = poisoned(N, K);

        float loss = cpu.softmaxCrossEntropy(d, logits, labels);

        double[] x = Float64Ops.toDouble(logits.data());
        double wantLoss = Float64Ops.softmaxCrossEntropy(x, labels, N, K);
        assertEquals(wantLoss, loss, 1e-6 * Math.max(1, Math.abs(wantLoss)));
        double[] probs = CpuBackendTest.softmaxReference(logits.data(), N, K);
        double[] want = new double[N * K], magnitude = new double[N * K];
        for (int n = 0; n < N; n++) {
            for (int k = 0; k < K; k++) {
                double onehot = k == labels[n] ? 1 : 0;
                want[n * K + k] = (probs[n * K + k] - onehot) / N;
                // the probability is rounded to float before 1 is subtracted: an error of 2^-24 * (p + onehot),
                // and below Float.MIN_NORMAL the spacing is absolute
                magnitude[n * K + k] = Math.max(probs[n * K + k] + onehot, Float.MIN_NORMAL) / N;
            }
        }
        assertClose("softmaxCrossEntropy", d.data(), want, magnitude, 1e-6);

        float[] inPlace = logits.data().clone();
        HostTensor same = new HostTensor(Shape.of(N, K), inPlace);
        assertEquals(loss, cpu.softmaxCrossEntropy(same, same, labels), "loss in place (the CPU version allows it)");
        assertArrayEquals(d.data(), inPlace, "dLogits in place");
    }

    @Test
    void softmaxCrossEntropyNaNLogitsGiveNaN() {
        HostTensor logits = new HostTensor(Shape.of(2, 3), new float[] {1, Float.NaN, 2, 0.5f, 1, -1}), d = poisoned(2, 3);
        float loss = cpu.softmaxCrossEntropy(d, logits, new int[] {0, 1});
        assertTrue(Float.isNaN(loss), "the mean loss should be NaN, got " + loss);
        for (int k = 0; k < 3; k++) assertTrue(Float.isNaN(d.data()[k]), "row 0 should be NaN");
        for (int k = 3; k < 6; k++) assertTrue(Float.isFinite(d.data()[k]), "row 1 is finite");
    }

    // ---- SGD ----

    @Test
    void sgdOneStepByHand() {
        // v = 0.9 * 0.5 - (0.01 * 0.1) * 1 - 0.1 * 2 = 0.45 - 0.001 - 0.2 = 0.249; w = 1 + 0.249
        HostTensor w = new HostTensor(Shape.of(1), new float[] {1f}), v = new HostTensor(Shape.of(1), new float[] {0.5f});
        cpu.sgdUpdate(w, v, new HostTensor(Shape.of(1), new float[] {2f}), 0.1f, 0.9f, 0.01f);
        assertEquals(0.249f, v.data()[0], 1e-7f);
        assertEquals(1.249f, w.data()[0], 1e-7f);
    }

    /** The bits of the documented float expression, v = ((momentum * v) - ((weightDecay * lr) * w)) - (lr * grad), w = w + v. */
    @Test
    void sgdExactBits() {
        Random random = new Random(2012);
        int size = 10_000;
        HostTensor w = gaussian(random, 0.01, size), v = gaussian(random, 1e-3, size), g = gaussian(random, 1e-2, size);
        float[] w0 = w.data().clone(), v0 = v.data().clone();
        float lr = 0.01f, momentum = 0.9f, weightDecay = 0.0005f;

        cpu.sgdUpdate(w, v, g, lr, momentum, weightDecay);

        int orderMatters = 0;
        for (int i = 0; i < size; i++) {
            float decay = weightDecay * lr;
            float vv = ((momentum * v0[i]) - (decay * w0[i])) - (lr * g.data()[i]);
            float ww = w0[i] + vv;
            assertEquals(Float.floatToRawIntBits(vv), Float.floatToRawIntBits(v.data()[i]), "velocity " + i);
            assertEquals(Float.floatToRawIntBits(ww), Float.floatToRawIntBits(w.data()[i]), "weight " + i);
            float otherOrder = (momentum * v0[i]) - ((decay * w0[i]) + (lr * g.data()[i]));
            if (otherOrder != vv) orderMatters++;
        }
        assertTrue(orderMatters > 0, "the data should tell evaluation orders apart");
    }

    // ---- shape errors name the op ----

    @Test
    void wrongShapesAreRejectedNamingTheOp() {
        HostTensor x = poisoned(2, 4, 9, 9), w = poisoned(6, 2, 3, 3), y = poisoned(2, 6, 9, 9);
        ConvSpec groups2 = new ConvSpec(1, 1, 2);
        rejects("reluBackward", () -> cpu.reluBackward(poisoned(3), poisoned(3), poisoned(4)));
        rejects("conv2dBackwardData", () -> cpu.conv2dBackwardData(x, poisoned(2, 6, 9, 8), w, groups2));
        rejects("conv2dBackwardData", () -> cpu.conv2dBackwardData(x, y, w, new ConvSpec(1, 1, 1)));
        rejects("conv2dBackwardData", () -> cpu.conv2dBackwardData(x, y, w, groups2, poisoned(2, 4, 9, 8))); // the ReLU output's shape
        rejects("conv2dBackwardData", () -> cpu.conv2dBackwardData(x, y, w, groups2, x)); // dIn = the ReLU output
        rejects("conv2dBackwardWeight", () -> cpu.conv2dBackwardWeight(w, poisoned(5), y, x, groups2));
        rejects("conv2dBackwardWeight", () -> cpu.conv2dBackwardWeight(poisoned(6, 4, 3, 3), poisoned(6), y, x, groups2));
        rejects("lrnBackward", () -> cpu.lrnBackward(poisoned(2, 4, 9, 9), poisoned(2, 4, 9, 8), x, poisoned(2, 4, 9, 9), LrnSpec.paper()));
        rejects("lrnBackward", () -> cpu.lrnBackward(poisoned(2, 4, 9, 9), poisoned(2, 4, 9, 9), x, x, LrnSpec.paper()));
        HostTensor d = poisoned(2, 4, 9, 9), o = poisoned(2, 4, 9, 9);
        rejects("lrnBackward", () -> cpu.lrnBackward(d, d, x, o, LrnSpec.paper())); // dIn = dOut
        rejects("lrnBackward", () -> cpu.lrnBackward(x, d, x, o, LrnSpec.paper())); // dIn = in
        rejects("lrnBackward", () -> cpu.lrnBackward(o, d, x, o, LrnSpec.paper())); // dIn = out
        rejects("maxPoolBackward", () -> cpu.maxPoolBackward(poisoned(2, 4, 9, 9), poisoned(2, 4, 5, 5), x, PoolSpec.overlapping()));
        rejects("maxPoolBackward", () -> cpu.maxPoolBackward(poisoned(2, 4, 9, 8), poisoned(2, 4, 4, 4), x, PoolSpec.overlapping()));
        rejects("maxPoolBackward", () -> cpu.maxPoolBackward(x, poisoned(2, 4, 4, 4), x, PoolSpec.overlapping())); // dIn = in
        rejects("linearBackwardData", () -> cpu.linearBackwardData(poisoned(2, 10), poisoned(2, 3), poisoned(3, 9)));
        rejects("linearBackwardData", () -> cpu.linearBackwardData(poisoned(2, 10), poisoned(3, 3), poisoned(3, 10)));
        HostTensor square = poisoned(2, 3);
        rejects("linearBackwardData", () -> cpu.linearBackwardData(square, square, poisoned(3, 3))); // dIn = dOut
        HostTensor same = poisoned(1, 2, 4, 4);
        rejects("conv2dBackwardData", () -> cpu.conv2dBackwardData(same, same, poisoned(2, 2, 3, 3), new ConvSpec(1, 1, 1))); // dIn = dOut
        rejects("linearBackwardWeight", () -> cpu.linearBackwardWeight(poisoned(3, 9), poisoned(3), poisoned(2, 3), poisoned(2, 10)));
        rejects("linearBackwardWeight", () -> cpu.linearBackwardWeight(poisoned(3, 10), poisoned(4), poisoned(2, 3), poisoned(2, 10)));
        rejects("dropoutForward", () -> cpu.dropoutForward(poisoned(3), poisoned(4), 0.5f, 1, 0, 0));
        rejects("dropoutForward", () -> cpu.dropoutForward(poisoned(3), poisoned(3), 1f, 1, 0, 0));
        rejects("dropoutBackward", () -> cpu.dropoutBackward(poisoned(3), poisoned(3), Float.NaN, 1, 0, 0));
        rejects("dropoutBackward", () -> cpu.dropoutBackward(poisoned(3), poisoned(3), -0.1f, 1, 0, 0));
        rejects("softmaxCrossEntropy", () -> cpu.softmaxCrossEntropy(poisoned(2, 3), poisoned(2, 3), new int[] {0}));
        rejects("softmaxCrossEntropy", () -> cpu.softmaxCrossEntropy(poisoned(2, 3), poisoned(2, 3), new int[] {0, 3}));
        rejects("softmaxCrossEntropy", () -> cpu.softmaxCrossEntropy(poisoned(2, 3), poisoned(3, 2), new int[] {0, 1}));
        rejects("sgdUpdate", () -> cpu.sgdUpdate(poisoned(3), poisoned(3), poisoned(2), 0.1f, 0.9f, 0f));
    }

    private static void rejects(String op, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        String m = e.getMessage();
        assertTrue(m.startsWith(op + ":") || m.startsWith(op + " "), "the message should begin with " + op + ": " + m);
    }

    // ---- the same bits whatever the number of threads ----

    @Test
    void resultsDoNotDependOnThreadCount() throws Exception {
        Random random = new Random(7);
        Conv geom = new Conv(3, 8, 15, 15, 10, 5, 5, 1, 2, 2);
        HostTensor x = gaussian(random, 10.0, geom.inDims()), w = gaussian(random, 0.1, geom.weightDims());
        HostTensor gConv = gaussian(random, 1.0, geom.outDims()), gNorm = gaussian(random, 1.0, geom.inDims()), gPool = gaussian(random, 1.0, 3, 8, 7, 7);
        HostTensor fw = gaussian(random, 0.1, 7, 8 * 15 * 15), gFc = gaussian(random, 1.0, 3, 7), logits = gaussian(random, 3.0, 3, 7);
        HostTensor norm = poisoned(geom.inDims());
        cpu.lrn(norm, x, LrnSpec.paper());
        Supplier<float[][]> backward = () -> {
            HostTensor dx = poisoned(geom.inDims()), dw = poisoned(geom.weightDims()), db = poisoned(10);
            HostTensor dNorm = poisoned(geom.inDims()), dPool = poisoned(geom.inDims()), dFc = poisoned(3, 8, 15, 15);
            HostTensor dFw = poisoned(7, 8 * 15 * 15), dFb = poisoned(7), dLogits = poisoned(3, 7), drop = poisoned(geom.inDims());
            cpu.conv2dBackwardData(dx, gConv, w, geom.spec());
            cpu.conv2dBackwardWeight(dw, db, gConv, x, geom.spec());
            cpu.lrnBackward(dNorm, gNorm, x, norm, LrnSpec.paper());
            cpu.maxPoolBackward(dPool, gPool, x, PoolSpec.overlapping());
            cpu.linearBackwardData(dFc, gFc, fw);
            cpu.linearBackwardWeight(dFw, dFb, gFc, x);
            float loss = cpu.softmaxCrossEntropy(dLogits, logits, new int[] {1, 2, 3});
            cpu.dropoutForward(drop, x, 0.5f, 11, 2, 5);
            return new float[][] {dx.data(), dw.data(), db.data(), dNorm.data(), dPool.data(), dFc.data(), dFw.data(), dFb.data(),
                    dLogits.data(), {loss}, drop.data()};
        };
        float[][] common = backward.get();
        for (int threads : new int[] {1, 3}) {
            ForkJoinPool pool = new ForkJoinPool(threads);
            try {
                float[][] other = pool.submit(backward::get).get(); // parallel streams run in the pool they are called from
                for (int i = 0; i < common.length; i++) assertArrayEquals(common[i], other[i], "result " + i + " with " + threads + " threads");
            } finally {
                pool.shutdown();
            }
        }
    }
}
