package dev.alexnetffm.engine.backend;

import static dev.alexnetffm.engine.backend.TestTensors.abs;
import static dev.alexnetffm.engine.backend.TestTensors.assertClose;
import static dev.alexnetffm.engine.backend.TestTensors.gaussian;
import static dev.alexnetffm.engine.backend.TestTensors.poisoned;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * Max pooling, linear and softmax against float64 references; add and copyChannels on small examples; shape errors;
 * independence from thread count.
 */
class CpuBackendTest {
    private final CpuBackend cpu = new CpuBackend();

    // ---- max pooling ----

    record PoolCase(int n, int c, int h, int w, int window, int stride) {
        int p() {
            return (h - window) / stride + 1;
        }

        int q() {
            return (w - window) / stride + 1;
        }
    }

    static Stream<PoolCase> poolCases() {
        return Stream.of(
                new PoolCase(2, 3, 55, 55, 3, 2), // pool1's geometry
                new PoolCase(1, 4, 13, 13, 3, 2), // pool5's geometry
                new PoolCase(3, 2, 8, 8, 2, 2), // non-overlapping
                new PoolCase(1, 1, 7, 9, 2, 2), // odd sizes: the last row and column are unused
                new PoolCase(2, 3, 6, 5, 3, 2),
                new PoolCase(1, 2, 5, 5, 5, 1), // one window covering everything
                new PoolCase(1, 2, 4, 3, 1, 1)); // identity
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("poolCases")
    void maxPoolMatchesReference(PoolCase tc) {
        Random random = new Random(tc.hashCode());
        HostTensor in = gaussian(random, 1.0, tc.n, tc.c, tc.h, tc.w);
        HostTensor out = poisoned(tc.n, tc.c, tc.p(), tc.q());

        cpu.maxPool(out, in, new PoolSpec(tc.window, tc.stride));

        // max is exact: the result must be the reference's value bit for bit
        double[] want = maxPoolReference(tc, in.data());
        float[] got = out.data();
        for (int i = 0; i < want.length; i++) assertEquals((float) want[i], got[i], "element " + i);
    }

    @Test
    void maxPoolPropagatesNaN() {
        HostTensor in = gaussian(new Random(3), 1.0, 1, 1, 5, 5);
        in.data()[2 * 5 + 2] = Float.NaN; // the centre: inside all four 3x3 windows of stride 2
        in.data()[0] = Float.POSITIVE_INFINITY; // a larger value in the same window must not hide the NaN
        HostTensor out = poisoned(1, 1, 2, 2);
        cpu.maxPool(out, in, PoolSpec.overlapping());
        for (float v : out.data()) assertTrue(Float.isNaN(v), "NaN should reach every window, got " + v);
    }

    static double[] maxPoolReference(PoolCase tc, float[] x) {
        double[] out = new double[tc.n * tc.c * tc.p() * tc.q()];
        int i = 0;
        for (int nc = 0; nc < tc.n * tc.c; nc++) {
            for (int p = 0; p < tc.p(); p++) {
                for (int q = 0; q < tc.q(); q++) {
                    double m = Double.NEGATIVE_INFINITY;
                    for (int r = 0; r < tc.window; r++) {
                        for (int s = 0; s < tc.window; s++) {
                            m = Math.max(m, x[(nc * tc.h + p * tc.stride + r) * tc.w + q * tc.stride + s]);
                        }
                    }
                    out[i++] = m;
                }
            }
        }
        return out;
    }

    // ---- linear ----

    static Stream<Arguments> linearCases() {
        return Stream.of( // input dims, K, relu
                Arguments.of(new int[] {1, 7}, 5, false),
                Arguments.of(new int[] {3, 300}, 17, true),
                Arguments.of(new int[] {4, 2, 3, 3}, 6, true), // (N, C, H, W) read as (N, C*H*W), as fc6 reads pool5
                Arguments.of(new int[] {9, 513}, 33, true), // N not a multiple of 4
                Arguments.of(new int[] {8, 64}, 1, false),
                Arguments.of(new int[] {6, 1}, 4, false));
    }

    @ParameterizedTest(name = "in {0}, K {1}, relu {2}")
    @MethodSource("linearCases")
    void linearMatchesReference(int[] inDims, int k, boolean relu) {
        Random random = new Random(31L * Arrays.hashCode(inDims) + k);
        HostTensor in = gaussian(random, 1.0, inDims);
        int n = inDims[0], c = (int) in.shape().sizeFrom(1);
        HostTensor weight = gaussian(random, 0.05, k, c);
        HostTensor bias = gaussian(random, 0.5, k);
        HostTensor out = poisoned(n, k);

        cpu.linear(out, in, weight, bias, relu);

        double[][] want = linearReference(in.data(), weight.data(), bias.data(), n, c, k, relu);
        assertClose("linear", out.data(), want[0], want[1], 1e-6);
    }

    @Test
    void linearFusedReluPropagatesNaN() {
        Random random = new Random(17);
        HostTensor in = gaussian(random, 1.0, 5, 8);
        in.data()[3 * 8 + 2] = Float.NaN; // row 3
        HostTensor weight = gaussian(random, 1.0, 4, 8), bias = gaussian(random, 1.0, 4);
        HostTensor out = poisoned(5, 4);
        cpu.linear(out, in, weight, bias, true);
        for (int n = 0; n < 5; n++) {
            for (int k = 0; k < 4; k++) {
                float v = out.data()[n * 4 + k];
                if (n == 3) assertTrue(Float.isNaN(v), "row 3 should be NaN, got " + v);
                else assertTrue(v >= 0f, "row " + n + " should be a ReLU output, got " + v);
            }
        }
    }

    /** {values, magnitudes = |bias| + sum |w * x|}, in float64. */
    static double[][] linearReference(float[] x, float[] w, float[] b, int N, int C, int K, boolean relu) {
        double[] value = new double[N * K], magnitude = new double[N * K];
        for (int n = 0; n < N; n++) {
            for (int k = 0; k < K; k++) {
                double sum = b[k], mag = Math.abs(b[k]);
                for (int c = 0; c < C; c++) {
                    double term = (double) w[k * C + c] * x[n * C + c];
                    sum += term;
                    mag += Math.abs(term);
                }
                value[n * K + k] = relu ? Math.max(sum, 0.0) : sum;
                magnitude[n * K + k] = mag;
            }
        }
        return new double[][] {value, magnitude};
    }

    // ---- softmax ----

    static Stream<Arguments> softmaxCases() {
        return Stream.of( // N, K, logit scale, logit offset
                Arguments.of(1, 1, 1.0, 0.0),
                Arguments.of(3, 1000, 5.0, 0.0), // fc8's width
                Arguments.of(7, 10, 3.0, 1000.0), // exp(1000) overflows: only the stable form survives
                Arguments.of(2, 33, 30.0, -500.0)); // most outputs underflow towards 0
    }

    @ParameterizedTest(name = "N {0}, K {1}, scale {2}, offset {3}")
    @MethodSource("softmaxCases")
    void softmaxMatchesReference(int n, int k, double scale, double offset) {
        Random random = new Random(n * 1000L + k);
        HostTensor in = gaussian(random, scale, n, k);
        for (int i = 0; i < in.data().length; i++) in.data()[i] += (float) offset;
        HostTensor out = poisoned(n, k);

        cpu.softmax(out, in);

        double[] want = softmaxReference(in.data(), n, k);
        // a result below Float.MIN_NORMAL is subnormal, with a spacing of 2^-149 rather than 24 bits: measure its
        // error against MIN_NORMAL (1e-6 * 2^-126 is more than half that spacing)
        double[] magnitude = abs(want);
        for (int i = 0; i < magnitude.length; i++) magnitude[i] = Math.max(magnitude[i], Float.MIN_NORMAL);
        assertClose("softmax", out.data(), want, magnitude, 1e-6);

        float[] inPlace = in.data().clone();
        HostTensor same = new HostTensor(Shape.of(n, k), inPlace);
        cpu.softmax(same, same);
        assertArrayEquals(out.data(), inPlace, "softmax in place");
    }

    static double[] softmaxReference(float[] x, int N, int K) {
        double[] out = new double[N * K];
        for (int n = 0; n < N; n++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int k = 0; k < K; k++) max = Math.max(max, x[n * K + k]);
            for (int k = 0; k < K; k++) sum += Math.exp(x[n * K + k] - max);
            for (int k = 0; k < K; k++) out[n * K + k] = Math.exp(x[n * K + k] - max) / sum;
        }
        return out;
    }

    // ---- add and copyChannels ----

    @Test
    void sliceLayersNeedsAtLeastOneSlice() {
        try (CpuBackend b = new CpuBackend()) {
            b.sliceLayers(2);  // accepted; the CPU's order of summation does not depend on a layer's width
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.sliceLayers(0));
            assertTrue(e.getMessage().contains("at least 1"), e.getMessage());
        }
    }

    @Test
    void addIsElementwiseAndMayWriteOverAnInput() {
        HostTensor a = cpu.fromArray(Shape.of(2, 3), new float[] {1, 2, 3, 4, 5, 6});
        HostTensor b = cpu.fromArray(Shape.of(2, 3), new float[] {0.5f, -2, Float.NaN, 1e30f, -0f, Float.POSITIVE_INFINITY});
        HostTensor out = poisoned(2, 3);
        cpu.add(out, a, b);
        assertArrayEquals(new float[] {1.5f, 0f, Float.NaN, 1e30f, 5f, Float.POSITIVE_INFINITY}, out.data());
        cpu.add(a, a, b); // out == a
        assertArrayEquals(out.data(), a.data());
        HostTensor c = cpu.fromArray(Shape.of(2, 3), new float[] {1, 1, 1, 1, 1, 1});
        cpu.add(c, b, c); // out == b
        assertArrayEquals(new float[] {1.5f, -1f, Float.NaN, 1e30f, 1f, Float.POSITIVE_INFINITY}, c.data());
    }

    @Test
    void copyChannelsCopiesOneRunPerImageAndLeavesTheRest() {
        // src (N=2, C=3, 1, 2): values 100 * n + 10 * c + i
        float[] s = new float[12];
        for (int n = 0; n < 2; n++) for (int c = 0; c < 3; c++) for (int i = 0; i < 2; i++) s[(n * 3 + c) * 2 + i] = 100 * n + 10 * c + i;
        HostTensor src = cpu.fromArray(Shape.of(2, 3, 1, 2), s);
        HostTensor dst = cpu.fromArray(Shape.of(2, 4, 1, 2), new float[16]);
        Arrays.fill(dst.data(), -1f);
        cpu.copyChannels(dst, 2, src, 1, 2); // src channels 1, 2 into dst channels 2, 3
        assertArrayEquals(new float[] {-1, -1, -1, -1, 10, 11, 20, 21, -1, -1, -1, -1, 110, 111, 120, 121}, dst.data());
        cpu.copyChannels(dst, 0, src, 0, 1); // channel 0 into channel 0; channel 1 keeps its contents
        assertArrayEquals(new float[] {0, 1, -1, -1, 10, 11, 20, 21, 100, 101, -1, -1, 110, 111, 120, 121}, dst.data());
        float[] before = dst.data().clone();
        cpu.copyChannels(dst, 4, src, 3, 0); // count 0 at both far ends: nothing
        assertArrayEquals(before, dst.data());
        // rank 2: (N, C) matrices, one float per channel
        HostTensor m = cpu.fromArray(Shape.of(2, 2), new float[] {1, 2, 3, 4});
        HostTensor wide = poisoned(2, 5);
        cpu.copyChannels(wide, 3, m, 0, 2);
        float[] w = wide.data();
        assertArrayEquals(new float[] {1, 2, 3, 4}, new float[] {w[3], w[4], w[8], w[9]});
        for (int i : new int[] {0, 1, 2, 5, 6, 7}) assertTrue(Float.isNaN(w[i]), "element " + i + " must keep its NaN");
    }

    @Test
    void addAndCopyChannelsRejectBadShapes() {
        rejects("add", () -> cpu.add(poisoned(2, 3), poisoned(2, 3), poisoned(3, 2)));
        rejects("add", () -> cpu.add(poisoned(2, 3), poisoned(6), poisoned(6)));
        rejects("add", () -> cpu.add(poisoned(2, 4), poisoned(2, 3), poisoned(2, 3)));

        HostTensor dst = poisoned(2, 4, 3, 3);
        rejects("copyChannels", () -> cpu.copyChannels(dst, 0, dst, 1, 1)); // dst is src
        rejects("copyChannels", () -> cpu.copyChannels(dst, 0, poisoned(3, 4, 3, 3), 0, 1)); // batch
        rejects("copyChannels", () -> cpu.copyChannels(dst, 0, poisoned(2, 4, 3, 2), 0, 1)); // trailing dimension
        rejects("copyChannels", () -> cpu.copyChannels(dst, 0, poisoned(2, 4, 9), 0, 1)); // rank
        rejects("copyChannels", () -> cpu.copyChannels(poisoned(8), 0, poisoned(8), 0, 1)); // rank 1: no channels
        rejects("copyChannels", () -> cpu.copyChannels(dst, 1, poisoned(2, 6, 3, 3), 0, 4)); // past dst's channels
        rejects("copyChannels", () -> cpu.copyChannels(dst, 0, poisoned(2, 6, 3, 3), 3, 4)); // past src's channels
        rejects("copyChannels", () -> cpu.copyChannels(dst, 5, poisoned(2, 6, 3, 3), 0, 0)); // offset past the end, even for 0
        rejects("copyChannels", () -> cpu.copyChannels(dst, -1, poisoned(2, 6, 3, 3), 0, 1));
        rejects("copyChannels", () -> cpu.copyChannels(dst, 0, poisoned(2, 6, 3, 3), -1, 1));
        rejects("copyChannels", () -> cpu.copyChannels(dst, 0, poisoned(2, 6, 3, 3), 0, -1));
        rejects("copyChannels", () -> cpu.copyChannels(dst, Integer.MAX_VALUE, poisoned(2, 6, 3, 3), 0, 1)); // no int overflow
    }

    // ---- shape errors: each names its op ----

    @Test
    void wrongShapesAreRejectedNamingTheOp() {
        HostTensor x = poisoned(2, 4, 9, 9);
        HostTensor w = poisoned(6, 2, 3, 3), b = poisoned(6);
        ConvSpec groups2 = new ConvSpec(1, 1, 2);
        rejects("conv2d", () -> cpu.conv2d(poisoned(2, 6, 9, 8), x, w, b, groups2, false)); // output width
        rejects("conv2d", () -> cpu.conv2d(poisoned(2, 6, 9, 9), x, w, b, new ConvSpec(1, 1, 1), false)); // weight is per group
        rejects("conv2d", () -> cpu.conv2d(poisoned(2, 6, 9, 9), x, w, poisoned(5), groups2, false)); // bias
        rejects("conv2d", () -> cpu.conv2d(poisoned(2, 6, 9, 9), poisoned(4, 9, 9), w, b, groups2, false)); // rank
        rejects("conv2d", () -> cpu.conv2d(poisoned(2, 6, 1, 1), poisoned(2, 4, 1, 1), w, b, new ConvSpec(1, 0, 2), false)); // too small

        rejects("lrn", () -> cpu.lrn(poisoned(2, 4, 9, 8), x, LrnSpec.paper()));
        rejects("lrn", () -> cpu.lrn(poisoned(2, 5, 9, 9), poisoned(2, 5, 9, 9), LrnSpec.paper())); // 2 groups, 5 channels
        rejects("lrn", () -> cpu.lrn(poisoned(2, 36), poisoned(2, 36), LrnSpec.pytorch(5, 1e-4f, 0.75f, 2f)));

        rejects("maxPool", () -> cpu.maxPool(poisoned(2, 4, 5, 5), x, PoolSpec.overlapping())); // should be 4x4
        rejects("maxPool", () -> cpu.maxPool(poisoned(2, 4, 1, 1), poisoned(2, 4, 2, 9), PoolSpec.overlapping())); // window > H
        rejects("maxPool", () -> cpu.maxPool(poisoned(2, 4, 4), poisoned(2, 4, 9), PoolSpec.overlapping()));

        rejects("linear", () -> cpu.linear(poisoned(2, 3), poisoned(2, 10), poisoned(3, 9), poisoned(3), false)); // columns
        rejects("linear", () -> cpu.linear(poisoned(2, 3), poisoned(2, 10), poisoned(3, 10), poisoned(4), false)); // bias
        rejects("linear", () -> cpu.linear(poisoned(3, 2), poisoned(2, 10), poisoned(3, 10), poisoned(3), false)); // output
        rejects("linear", () -> cpu.linear(poisoned(2, 3), poisoned(2, 2, 5), poisoned(3, 10), poisoned(3), false)); // rank 3

        rejects("softmax", () -> cpu.softmax(poisoned(2, 3), poisoned(3, 2)));
        rejects("softmax", () -> cpu.softmax(poisoned(2, 3, 1), poisoned(2, 3, 1)));
    }

    private static void rejects(String op, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(op), "the message should name " + op + ": " + e.getMessage());
    }

    // ---- the same bits whatever the number of threads ----

    @Test
    void resultsDoNotDependOnThreadCount() throws Exception {
        Random random = new Random(99);
        HostTensor x = gaussian(random, 1.0, 3, 8, 15, 15);
        HostTensor w = gaussian(random, 0.1, 10, 4, 5, 5), b = gaussian(random, 0.1, 10);
        HostTensor fw = gaussian(random, 0.1, 7, 8 * 15 * 15), fb = gaussian(random, 0.1, 7);
        Supplier<float[][]> forward = () -> {
            HostTensor conv = poisoned(3, 10, 13, 13), norm = poisoned(3, 10, 13, 13), pool = poisoned(3, 10, 6, 6);
            HostTensor fc = poisoned(3, 7), prob = poisoned(3, 7);
            cpu.conv2d(conv, x, w, b, new ConvSpec(1, 1, 2), true);
            cpu.lrn(norm, conv, LrnSpec.paper());
            cpu.maxPool(pool, norm, PoolSpec.overlapping());
            cpu.linear(fc, x, fw, fb, false);
            cpu.softmax(prob, fc);
            return new float[][] {conv.data(), norm.data(), pool.data(), fc.data(), prob.data()};
        };
        float[][] common = forward.get();
        for (int threads : new int[] {1, 3}) {
            ForkJoinPool pool = new ForkJoinPool(threads);
            try {
                float[][] other = pool.submit(forward::get).get(); // parallel streams run in the pool they are called from
                for (int i = 0; i < common.length; i++) assertArrayEquals(common[i], other[i], "op " + i + " with " + threads + " threads");
            } finally {
                pool.shutdown();
            }
        }
    }
}
