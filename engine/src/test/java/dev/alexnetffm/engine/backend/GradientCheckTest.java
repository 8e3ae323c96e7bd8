package dev.alexnetffm.engine.backend;

import static dev.alexnetffm.engine.backend.Float64Ops.assertGradient;
import static dev.alexnetffm.engine.backend.Float64Ops.dot;
import static dev.alexnetffm.engine.backend.Float64Ops.numericGradient;
import static dev.alexnetffm.engine.backend.Float64Ops.toDouble;
import static dev.alexnetffm.engine.backend.TestTensors.gaussian;
import static dev.alexnetffm.engine.backend.TestTensors.poisoned;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.alexnetffm.engine.backend.Float64Ops.Conv;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;

import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every backward pass against the derivative of its forward op, computed by central differences on a float64
 * re-implementation ({@link Float64Ops}). For an op f and a random g, the loss L(x) = sum(g * f(x)) has gradient
 * backward(dOut = g), which the CPU backend computes in float32 from the same float inputs.
 */
class GradientCheckTest {
    private final CpuBackend cpu = new CpuBackend();

    // ---- convolution: input, weight and bias ----

    static Stream<Conv> convCases() {
        return Stream.of(
                new Conv(1, 3, 19, 19, 4, 11, 11, 4, 2, 1), // conv1's filter and stride, padded
                new Conv(2, 4, 9, 9, 6, 5, 5, 1, 2, 2), // conv2's geometry, two groups
                new Conv(2, 4, 7, 7, 4, 3, 3, 1, 1, 1), // conv3's geometry
                new Conv(1, 4, 8, 9, 6, 3, 3, 2, 1, 2), // stride 2, pad 1, groups 2, odd width
                new Conv(2, 3, 8, 8, 2, 3, 2, 2, 0, 1), // non-square filter, no padding, the last row unused
                new Conv(1, 2, 5, 5, 3, 3, 3, 1, 2, 1), // pad 2 with a 3x3 filter
                new Conv(1, 2, 3, 3, 2, 3, 3, 1, 3, 1), // pad >= filter: border outputs see only padding
                new Conv(1, 2, 11, 11, 2, 3, 3, 4, 1, 2)); // stride > filter: some inputs are read by no tap
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("convCases")
    void conv2d(Conv tc) {
        Random random = new Random(tc.hashCode());
        HostTensor in = gaussian(random, 1.0, tc.inDims());
        HostTensor weight = gaussian(random, 0.3, tc.weightDims());
        HostTensor bias = gaussian(random, 0.5, tc.k());
        HostTensor g = gaussian(random, 1.0, tc.outDims());
        double[] x = toDouble(in.data()), w = toDouble(weight.data()), b = toDouble(bias.data()), gd = toDouble(g.data());

        HostTensor dIn = poisoned(tc.inDims()), dWeight = poisoned(tc.weightDims()), dBias = poisoned(tc.k());
        cpu.conv2dBackwardData(dIn, g, weight, tc.spec());
        cpu.conv2dBackwardWeight(dWeight, dBias, g, in, tc.spec());

        assertGradient("conv2d dIn " + tc, dIn.data(), numericGradient(x, xv -> dot(gd, Float64Ops.conv2d(tc, xv, w, b))));
        assertGradient("conv2d dWeight " + tc, dWeight.data(), numericGradient(w, wv -> dot(gd, Float64Ops.conv2d(tc, x, wv, b))));
        assertGradient("conv2d dBias " + tc, dBias.data(), numericGradient(b, bv -> dot(gd, Float64Ops.conv2d(tc, x, w, bv))));
    }

    // ---- LRN ----

    static Stream<Arguments> lrnCases() {
        return Stream.of( // N, C, H, W, spec, input scale (large enough that alpha' * sum a^2 is of order k)
                Arguments.of(2, 8, 3, 3, LrnSpec.paper(), 60.0), // the paper's: size 5, two towers
                Arguments.of(1, 7, 3, 2, LrnSpec.pytorch(5, 1e-2f, 0.75f, 2f), 10.0), // PyTorch's, one group
                Arguments.of(1, 9, 2, 3, LrnSpec.pytorch(4, 0.5f, 0.75f, 1f), 1.0), // even size: the mirrored window matters
                Arguments.of(2, 8, 2, 2, new LrnSpec(2, 1f, 0.5f, 1f, 2, true), 1.0), // even size, two groups
                Arguments.of(1, 12, 2, 2, new LrnSpec(6, 0.3f, 0.75f, 1f, 2, false), 1.0), // even size 6, paper's alpha
                Arguments.of(1, 12, 3, 2, new LrnSpec(3, 0.3f, 1f, 2f, 2, false), 2.0), // size 3, beta 1
                Arguments.of(2, 6, 2, 2, new LrnSpec(7, 0.2f, 0.75f, 1f, 2, false), 1.0), // window wider than a group
                Arguments.of(1, 5, 3, 1, new LrnSpec(1, 2f, 0.75f, 2f, 1, false), 1.0)); // size 1
    }

    @ParameterizedTest(name = "{0}x{1}x{2}x{3} {4}")
    @MethodSource("lrnCases")
    void lrn(int n, int c, int h, int w, LrnSpec spec, double scale) {
        Random random = new Random(spec.hashCode() + 31L * c);
        HostTensor in = gaussian(random, scale, n, c, h, w), out = poisoned(n, c, h, w);
        HostTensor g = gaussian(random, 1.0, n, c, h, w), dIn = poisoned(n, c, h, w);
        cpu.lrn(out, in, spec);
        cpu.lrnBackward(dIn, g, in, out, spec);

        double[] gd = toDouble(g.data());
        double[] want = numericGradient(toDouble(in.data()), xv -> dot(gd, Float64Ops.lrn(xv, n, c, h * w, spec)));
        assertGradient("lrn dIn " + spec, dIn.data(), want);
    }

    // ---- max pooling ----

    static Stream<Arguments> poolCases() {
        return Stream.of( // N, C, H, W, window, stride
                Arguments.of(2, 2, 7, 7, 3, 2), // overlapping, every row used
                Arguments.of(1, 3, 8, 9, 3, 2), // overlapping, the last row unused
                Arguments.of(2, 2, 6, 6, 2, 2), // non-overlapping
                Arguments.of(1, 2, 7, 5, 2, 2), // non-overlapping, odd sizes
                Arguments.of(1, 1, 6, 6, 3, 1), // stride 1: up to 9 windows share an input
                Arguments.of(1, 2, 8, 8, 2, 3)); // stride > window: gaps
    }

    @ParameterizedTest(name = "{0}x{1}x{2}x{3} window {4} stride {5}")
    @MethodSource("poolCases")
    void maxPool(int n, int c, int h, int w, int window, int stride) {
        PoolSpec spec = new PoolSpec(window, stride);
        Random random = new Random(31L * h + w + 7L * window + stride);
        HostTensor in = distinctValues(random, n, c, h, w);
        HostTensor g = gaussian(random, 1.0, n, c, spec.outSize(h), spec.outSize(w)), dIn = poisoned(n, c, h, w);
        cpu.maxPoolBackward(dIn, g, in, spec);

        double[] gd = toDouble(g.data());
        double[] want = numericGradient(toDouble(in.data()), xv -> dot(gd, Float64Ops.maxPool(xv, n, c, h, w, spec)));
        assertGradient("maxPool dIn " + spec, dIn.data(), want);
    }

    /** A random permutation of 0.01 * (1 .. size) - size / 200: values at least 0.01 apart, so each window's maximum is unique. */
    private static HostTensor distinctValues(Random random, int... dims) {
        HostTensor t = HostTensor.zeros(Shape.of(dims));
        float[] a = t.data();
        for (int i = 0; i < a.length; i++) a[i] = (float) (0.01 * (i + 1) - a.length / 200.0);
        for (int i = a.length - 1; i > 0; i--) { // Fisher-Yates
            int j = random.nextInt(i + 1);
            float tmp = a[i];
            a[i] = a[j];
            a[j] = tmp;
        }
        return t;
    }

    // ---- linear ----

    static Stream<int[]> linearCases() {
        return Stream.of( // input dims..., K (last)
                new int[] {1, 7, 5},
                new int[] {3, 40, 9},
                new int[] {4, 2, 3, 3, 6}, // (N, C, H, W) read as (N, C*H*W)
                new int[] {5, 1, 4});
    }

    @ParameterizedTest
    @MethodSource("linearCases")
    void linear(int[] dims) {
        int[] inDims = java.util.Arrays.copyOf(dims, dims.length - 1);
        int k = dims[dims.length - 1];
        Random random = new Random(java.util.Arrays.hashCode(dims));
        HostTensor in = gaussian(random, 1.0, inDims);
        int n = inDims[0], c = (int) in.shape().sizeFrom(1);
        HostTensor weight = gaussian(random, 0.3, k, c), bias = gaussian(random, 0.5, k), g = gaussian(random, 1.0, n, k);
        HostTensor dIn = poisoned(inDims), dWeight = poisoned(k, c), dBias = poisoned(k);
        cpu.linearBackwardData(dIn, g, weight);
        cpu.linearBackwardWeight(dWeight, dBias, g, in);

        double[] x = toDouble(in.data()), w = toDouble(weight.data()), b = toDouble(bias.data()), gd = toDouble(g.data());
        assertGradient("linear dIn", dIn.data(), numericGradient(x, xv -> dot(gd, Float64Ops.linear(xv, w, b, n, c, k))));
        assertGradient("linear dWeight", dWeight.data(), numericGradient(w, wv -> dot(gd, Float64Ops.linear(x, wv, b, n, c, k))));
        assertGradient("linear dBias", dBias.data(), numericGradient(b, bv -> dot(gd, Float64Ops.linear(x, w, bv, n, c, k))));
    }

    // ---- softmax cross-entropy: the functional is the loss itself ----

    static Stream<Arguments> softmaxCases() {
        return Stream.of( // N, K, logit scale
                Arguments.of(1, 1, 1.0), // one class: loss 0, gradient 0
                Arguments.of(3, 10, 2.0),
                Arguments.of(4, 50, 5.0),
                Arguments.of(2, 7, 20.0)); // confident rows: some probabilities near 1
    }

    @ParameterizedTest(name = "N {0}, K {1}, scale {2}")
    @MethodSource("softmaxCases")
    void softmaxCrossEntropy(int n, int k, double scale) {
        Random random = new Random(100L * n + k);
        HostTensor logits = gaussian(random, scale, n, k), dLogits = poisoned(n, k);
        int[] labels = random.ints(n, 0, k).toArray();
        float loss = cpu.softmaxCrossEntropy(dLogits, logits, labels);

        double[] x = toDouble(logits.data());
        double want = Float64Ops.softmaxCrossEntropy(x, labels, n, k);
        assertEquals(want, loss, 1e-6 * Math.max(1, Math.abs(want)), "mean loss");
        assertGradient("softmaxCrossEntropy dLogits", dLogits.data(), numericGradient(x, xv -> Float64Ops.softmaxCrossEntropy(xv, labels, n, k)));
    }

    // ---- ReLU (inputs kept away from the kink) and dropout ----

    @Test
    void relu() {
        Random random = new Random(8);
        HostTensor in = gaussian(random, 1.0, 2, 3, 5, 5);
        for (int i = 0; i < in.data().length; i++) in.data()[i] += Math.copySign(0.01f, in.data()[i]);
        HostTensor out = poisoned(2, 3, 5, 5), g = gaussian(random, 1.0, 2, 3, 5, 5), dIn = poisoned(2, 3, 5, 5);
        cpu.relu(out, in);
        cpu.reluBackward(dIn, g, out);

        double[] gd = toDouble(g.data());
        assertGradient("relu dIn", dIn.data(), numericGradient(toDouble(in.data()), xv -> dot(gd, Float64Ops.relu(xv))));
    }

    @Test
    void dropout() {
        Random random = new Random(9);
        float p = 0.3f;
        long seed = 0x1234_5678_9ABCL, step = 77;
        int layer = 6;
        HostTensor in = gaussian(random, 1.0, 3, 50), g = gaussian(random, 1.0, 3, 50), dIn = poisoned(3, 50);
        cpu.dropoutBackward(dIn, g, p, seed, layer, step);

        // the forward in float64: kept elements divided by 1 - p, the mask drawn as Philox's Javadoc says
        double[] gd = toDouble(g.data());
        double[] want = numericGradient(toDouble(in.data()), xv -> {
            double[] out = new double[xv.length];
            for (int i = 0; i < xv.length; i++) out[i] = Philox.kept(seed, layer, step, i, p) ? xv[i] / (1.0 - p) : 0;
            return dot(gd, out);
        });
        assertGradient("dropout dIn", dIn.data(), want);
    }

    // ---- a small network end to end: each op's gradient feeds the next backward pass ----

    /**
     * conv (groups 2, ReLU fused) -> LRN -> max pool 3/2 -> dropout -> linear -> softmax cross-entropy, backward
     * through every op, against the numeric gradient of the float64 composition with respect to the input image
     * and the first convolution's weights.
     */
    @Test
    void smallNetworkEndToEnd() {
        Random random = new Random(2012);
        Conv geom = new Conv(2, 4, 9, 9, 6, 3, 3, 1, 1, 2);
        LrnSpec lrnSpec = new LrnSpec(3, 0.2f, 0.75f, 1f, 2, false);
        PoolSpec poolSpec = PoolSpec.overlapping();
        int n = 2, hidden = 6 * 4 * 4, classes = 5;
        float p = 0.25f;
        long seed = 42, step = 3;
        int layer = 1;
        int[] labels = {3, 1};
        HostTensor x = gaussian(random, 1.0, geom.inDims()), w = gaussian(random, 0.3, geom.weightDims()), b = gaussian(random, 0.1, 6);
        HostTensor fw = gaussian(random, 0.2, classes, hidden), fb = gaussian(random, 0.1, classes);

        HostTensor conv = poisoned(geom.outDims()), norm = poisoned(geom.outDims()), pool = poisoned(n, 6, 4, 4), drop = poisoned(n, 6, 4, 4);
        HostTensor logits = poisoned(n, classes), dLogits = poisoned(n, classes);
        cpu.conv2d(conv, x, w, b, geom.spec(), true);
        cpu.lrn(norm, conv, lrnSpec);
        cpu.maxPool(pool, norm, poolSpec);
        cpu.dropoutForward(drop, pool, p, seed, layer, step);
        cpu.linear(logits, drop, fw, fb, false);
        cpu.softmaxCrossEntropy(dLogits, logits, labels);

        HostTensor dDrop = poisoned(n, 6, 4, 4), dPool = poisoned(n, 6, 4, 4), dNorm = poisoned(geom.outDims()), dConv = poisoned(geom.outDims());
        HostTensor dX = poisoned(geom.inDims()), dW = poisoned(geom.weightDims()), dB = poisoned(6);
        cpu.linearBackwardData(dDrop, dLogits, fw);
        cpu.dropoutBackward(dPool, dDrop, p, seed, layer, step);
        cpu.maxPoolBackward(dNorm, dPool, norm, poolSpec);
        cpu.lrnBackward(dConv, dNorm, conv, norm, lrnSpec);
        cpu.reluBackward(dConv, dConv, conv); // in place
        cpu.conv2dBackwardData(dX, dConv, w, geom.spec());
        cpu.conv2dBackwardWeight(dW, dB, dConv, x, geom.spec());

        double[] xd = toDouble(x.data()), wd = toDouble(w.data()), bd = toDouble(b.data()), fwd = toDouble(fw.data()), fbd = toDouble(fb.data());
        java.util.function.BiFunction<double[], double[], Double> loss = (xv, wv) -> {
            double[] a = Float64Ops.relu(Float64Ops.conv2d(geom, xv, wv, bd));
            a = Float64Ops.lrn(a, n, 6, 81, lrnSpec);
            a = Float64Ops.maxPool(a, n, 6, 9, 9, poolSpec);
            for (int i = 0; i < a.length; i++) a[i] = Philox.kept(seed, layer, step, i, p) ? a[i] / (1.0 - p) : 0;
            return Float64Ops.softmaxCrossEntropy(Float64Ops.linear(a, fwd, fbd, n, hidden, classes), labels, n, classes);
        };
        assertGradient("network dX", dX.data(), numericGradient(xd, xv -> loss.apply(xv, wd)));
        assertGradient("network dW", dW.data(), numericGradient(wd, wv -> loss.apply(xd, wv)));
    }
}
