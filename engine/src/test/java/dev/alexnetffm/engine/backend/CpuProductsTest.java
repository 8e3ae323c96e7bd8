package dev.alexnetffm.engine.backend;

import static dev.alexnetffm.engine.backend.TestTensors.gaussian;
import static dev.alexnetffm.engine.backend.TestTensors.poisoned;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.alexnetffm.engine.backend.CpuProducts.Geometry;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The convolutions and fully connected layers by rows against the CPU backend's loops, bit for bit: the same terms
 * in the same order, a convolution's padding zeros absorbed. The loops themselves are held to float64 references in
 * CpuBackendConvTest, CpuBackendTest and CpuBackwardTest.
 */
class CpuProductsTest {
    private final CpuBackend cpu = new CpuBackend();

    static Stream<Geometry> geometries() {
        return Stream.of(
                conv(1, 3, 227, 227, 96, 11, 11, 4, 0, 1), // AlexNet conv1: rows in chunks, several column blocks
                conv(2, 12, 27, 27, 10, 5, 5, 1, 2, 2), // conv2's geometry: groups, 10 = a block of 8 and 2
                conv(2, 40, 13, 13, 12, 3, 3, 1, 1, 1), // conv3's geometry
                conv(1, 8, 13, 13, 8, 3, 3, 1, 1, 2), // conv4/conv5's
                conv(2, 4, 9, 7, 6, 3, 3, 1, 1, 2), // odd, non-square image
                conv(3, 5, 11, 10, 4, 1, 1, 2, 0, 1), // 1x1, stride 2, last column unused
                conv(1, 3, 15, 17, 4, 11, 11, 4, 2, 1), // 11x11 stride 4 with padding
                conv(2, 4, 7, 9, 4, 3, 3, 2, 1, 2), // stride 2, pad 1, groups 2
                conv(1, 2, 5, 5, 3, 5, 5, 2, 2, 1), // filter as large as the image
                conv(1, 2, 3, 3, 2, 3, 3, 1, 3, 1), // pad >= filter: border outputs see only padding
                conv(1, 3, 10, 11, 5, 4, 2, 3, 1, 1), // non-square filter, stride 3
                conv(2, 7, 23, 25, 9, 5, 3, 1, 2, 1), // 7 x 15 = 105 taps: a remainder of one after fours
                conv(1, 3, 60, 60, 10, 3, 3, 1, 1, 1), // the input's gradient: 90 taps of 3,600 columns, in chunks
                conv(1, 24, 9, 9, 3, 5, 5, 1, 2, 1), // the weights' gradient: 600 columns, two blocks
                conv(1, 1, 1, 1, 1, 1, 1, 1, 0, 1)); // a single multiply
    }

    private static Geometry conv(int n, int c, int h, int w, int k, int r, int s, int stride, int pad, int groups) {
        return new Geometry(n, c, h, w, k, r, s, (h + 2 * pad - r) / stride + 1, (w + 2 * pad - s) / stride + 1, stride, pad, groups);
    }

    private record Data(float[] in, float[] weight, float[] bias, float[] dOut, float[] reluOut) {
        static Data random(Geometry g, long seed) {
            Random random = new Random(seed);
            float[] in = gaussian(random, 1.0, g.N(), g.C(), g.H(), g.W()).data();
            in[in.length / 3] = 0f; // exact zeros and a -0 among the inputs
            in[in.length / 2] = -0f;
            float[] reluOut = Arrays.copyOf(in, in.length);
            for (int i = 0; i < reluOut.length; i++) reluOut[i] = Math.max(reluOut[i], 0f);
            return new Data(in, gaussian(random, 0.1, g.K(), g.CG(), g.R(), g.S()).data(), gaussian(random, 0.5, g.K()).data(),
                    gaussian(random, 1.0, g.N(), g.K(), g.P(), g.Q()).data(), reluOut);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("geometries")
    void forwardIsTheLoopsBitForBit(Geometry g) {
        Data d = Data.random(g, g.hashCode());
        for (boolean relu : new boolean[] {false, true}) {
            float[] want = poisoned(g.N(), g.K(), g.P(), g.Q()).data(), got = want.clone();
            CpuBackend.conv2dLoops(want, d.in, d.weight, d.bias, g, relu);
            CpuProducts.forward(got, d.in, d.weight, d.bias, g, relu);
            assertBits("forward" + (relu ? " with ReLU" : ""), want, got);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("geometries")
    void backwardDataIsTheLoopsBitForBit(Geometry g) {
        if (g.stride() != 1) return; // larger strides run the loops themselves
        Data d = Data.random(g, g.hashCode() + 1);
        float[] want = poisoned(g.N(), g.C(), g.H(), g.W()).data(), got = want.clone();
        CpuBackend.conv2dBackwardDataLoops(want, d.dOut, d.weight, null, g);
        CpuProducts.backwardData(got, d.dOut, d.weight, g);
        assertBits("backward data", want, got);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("geometries")
    void backwardWeightIsTheLoopsBitForBit(Geometry g) {
        Data d = Data.random(g, g.hashCode() + 2);
        float[] want = poisoned(g.K(), g.CG(), g.R(), g.S()).data(), got = want.clone();
        CpuBackend.conv2dBackwardWeightLoops(want, d.dOut, d.in, g);
        CpuProducts.backwardWeight(got, d.dOut, d.in, g);
        assertBits("backward weight", want, got);
    }

    /** Fully connected layers: batch, inputs, outputs. */
    static Stream<int[]> linearShapes() {
        return Stream.of(
                new int[] {8, 72, 5}, // the smallest batch run as rows; 5 = fewer outputs than a block of 8
                new int[] {9, 37, 13}, // 37 inputs: one left after fours
                new int[] {32, 300, 17},
                new int[] {64, 5000, 3}, // the forward's inputs in two chunks of rows
                new int[] {4, 600, 1000}, // the input gradient's weight rows in three chunks, two column blocks
                new int[] {3, 1100, 2}); // below the batch for rows of images: the gradients still run as rows
    }

    @ParameterizedTest(name = "N, C, K = {0}")
    @MethodSource("linearShapes")
    void linearIsTheLoopsBitForBit(int[] nck) {
        int N = nck[0], C = nck[1], K = nck[2];
        Random random = new Random(N * 31L + C * 7L + K);
        float[] in = gaussian(random, 1.0, N, C).data(), weight = gaussian(random, 0.1, K, C).data();
        float[] bias = gaussian(random, 0.5, K).data(), dOut = gaussian(random, 1.0, N, K).data();
        in[1] = 0f;
        in[2] = -0f;
        if (N >= CpuProducts.LINEAR_MIN_BATCH) {
            for (boolean relu : new boolean[] {false, true}) {
                float[] want = poisoned(N, K).data(), got = want.clone();
                CpuBackend.linearLoops(want, in, weight, bias, N, C, K, relu);
                CpuProducts.linear(got, in, weight, bias, N, C, K, relu);
                assertBits("linear" + (relu ? " with ReLU" : ""), want, got);
            }
        }
        float[] wantData = poisoned(N, C).data(), gotData = wantData.clone();
        CpuBackend.linearBackwardDataLoops(wantData, dOut, weight, N, C, K);
        CpuProducts.linearBackwardData(gotData, dOut, weight, N, C, K);
        assertBits("linear backward data", wantData, gotData);
        float[] want = poisoned(K, C).data(), got = want.clone();
        CpuBackend.linearBackwardWeightLoops(want, dOut, in, N, C, K);
        CpuProducts.linearBackwardWeight(got, dOut, in, N, C, K);
        assertBits("linear backward weight", want, got);
    }

    /** A NaN input spreads to exactly the outputs whose taps read it, as in the loops. */
    @Test
    void aNaNInputReachesTheSameOutputs() {
        Geometry g = conv(1, 3, 12, 12, 5, 3, 3, 1, 1, 1);
        Data d = Data.random(g, 5);
        d.in[1 * 144 + 4 * 12 + 7] = Float.NaN;
        float[] want = new float[g.N() * g.K() * g.P() * g.Q()], got = want.clone();
        CpuBackend.conv2dLoops(want, d.in, d.weight, d.bias, g, true);
        CpuProducts.forward(got, d.in, d.weight, d.bias, g, true);
        assertBits("forward with a NaN input", want, got);
        assertEquals(5 * 9, countNaN(got), "each of the 5 filters sees the NaN from 9 positions");
    }

    /**
     * An infinite weight: the padding's taps must add nothing, so the backend uses its loops (a stored zero times
     * infinity would be NaN along the border).
     */
    @Test
    void nonFiniteWeightsUseTheLoops() {
        Geometry g = conv(1, 2, 6, 6, 3, 3, 3, 1, 1, 1);
        Data d = Data.random(g, 6);
        d.weight[4] = Float.POSITIVE_INFINITY; // filter 0, channel 0, the centre tap
        assertFalse(CpuProducts.finite(d.weight));
        HostTensor out = poisoned(1, 3, 6, 6);
        cpu.conv2d(out, new HostTensor(Shape.of(1, 2, 6, 6), d.in),
                new HostTensor(Shape.of(3, 2, 3, 3), d.weight),
                new HostTensor(Shape.of(3), d.bias), new ConvSpec(1, 1, 1), false);
        float[] want = new float[out.data().length];
        CpuBackend.conv2dLoops(want, d.in, d.weight, d.bias, g, false);
        assertBits("conv2d with an infinite weight", want, out.data());
        // the centre tap meets every input once, never the padding: filter 0 is +-infinity everywhere (or NaN
        // where the input is 0), never NaN from the border alone
        for (int i = 0; i < 36; i++) {
            if (d.in[i] != 0f) assertTrue(Float.isInfinite(out.data()[i]), "output " + i + " = " + out.data()[i]);
        }
    }

    private static int countNaN(float[] values) {
        int count = 0;
        for (float v : values) if (Float.isNaN(v)) count++;
        return count;
    }

    private static void assertBits(String what, float[] want, float[] got) {
        assertEquals(want.length, got.length, what + ": element count");
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToIntBits(want[i]) != Float.floatToIntBits(got[i])) {
                assertEquals(want[i], got[i], what + ": element " + i + " differs from the loops' (bits "
                        + Integer.toHexString(Float.floatToRawIntBits(want[i])) + " vs " + Integer.toHexString(Float.floatToRawIntBits(got[i])) + ")");
                assertEquals(Float.floatToIntBits(want[i]), Float.floatToIntBits(got[i]), what + ": element " + i + " sign of zero");
            }
        }
    }
}
