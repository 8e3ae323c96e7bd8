package dev.alexnetffm.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import dev.alexnetffm.engine.backend.ConvSpec;
import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.backend.LrnSpec;
import dev.alexnetffm.engine.backend.PoolSpec;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The CUDA training ops (backward passes, dropout, softmax cross-entropy, SGD) against the CPU reference
 * ({@link CpuBackend}, the specification): fresh random inputs every run (the seed is in every failure message),
 * outputs poisoned with NaN before the kernel runs, every element checked, then the relative L2 error; bit for bit
 * where the contract makes the result exact (ReLU and max-pooling gradients, dropout, SGD). Shapes cover the AlexNet
 * layers at batch 2, batch 1, odd sizes and sizes that are no multiple of any kernel tile, groups 1/2/3, strides
 * 1/2/3/4 and padding 0..2. A last test runs every op with a reduction twice and requires the same bits.
 * Skipped when there is no CUDA driver or GPU.
 */
@Tag("gpu")
class CudaBackwardOpsTest extends GpuAgainstCpu {
    // ---------------------------------------------------------------------------------------------------------------
    // reluBackward: bit for bit (a selection, no arithmetic)

    @ParameterizedTest(name = "{0} elements")
    @ValueSource(ints = {1, 3, 4, 5, 1023, 4099, 2 * 96 * 55 * 55})
    void reluBackwardMatchesCpuBitForBit(int n) {
        Random random = random("relu backward " + n);
        Shape shape = Shape.of(n);
        float[] out = gaussian(random, 1.0, n);
        for (int i = 0; i < n; i++) if (out[i] < 0) out[i] = 0f; // a ReLU's output: zeros and positives
        out[random.nextInt(n)] = Float.NaN;                      // a NaN that went through the forward pass
        if (n > 1) out[random.nextInt(n)] = -0.0f;
        float[] dOut = gaussian(random, 1.0, n);
        dOut[random.nextInt(n)] = Float.NaN;
        for (boolean inPlace : new boolean[] {false, true}) {
            Pair y = Pair.of(shape, out), dy = Pair.of(shape, dOut);
            Pair dx = Pair.poisoned(shape);
            try {
                cpu.reluBackward(dx.onCpu(), dy.onCpu(), y.onCpu());
                gpu.reluBackward(inPlace ? dy.onGpu() : dx.onGpu(), dy.onGpu(), y.onGpu());
                assertSame("reluBackward of " + n + (inPlace ? " in place" : ""), (inPlace ? dy : dx).onGpu().toArray(), dx.onCpu().toArray());
            } finally {
                closeAll(y, dy, dx);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // conv2d backward

    record ConvCase(String name, int n, int c, int h, int w, int k, int r, int s, int stride, int pad, int groups) {
        int p() {
            return (h + 2 * pad - r) / stride + 1;
        }

        int q() {
            return (w + 2 * pad - s) / stride + 1;
        }

        ConvSpec spec() {
            return new ConvSpec(stride, pad, groups);
        }

        @Override
        public String toString() {
            return name + ": in " + n + "x" + c + "x" + h + "x" + w + ", " + k + " filters " + r + "x" + s + ", stride " + stride
                    + ", pad " + pad + ", groups " + groups;
        }
    }

    static Stream<ConvCase> convCases() {
        List<ConvCase> cases = new ArrayList<>(List.of(
                new ConvCase("conv1", 2, 3, 227, 227, 96, 11, 11, 4, 0, 1),
                new ConvCase("conv2", 2, 96, 27, 27, 256, 5, 5, 1, 2, 2),
                new ConvCase("conv3", 2, 256, 13, 13, 384, 3, 3, 1, 1, 1),
                new ConvCase("conv4", 2, 384, 13, 13, 384, 3, 3, 1, 1, 2),
                new ConvCase("conv5", 2, 384, 13, 13, 256, 3, 3, 1, 1, 2),
                new ConvCase("conv1, batch 1", 1, 3, 227, 227, 96, 11, 11, 4, 0, 1),
                new ConvCase("single multiply", 1, 1, 1, 1, 1, 1, 1, 1, 0, 1),
                new ConvCase("1x1, stride 2 (three phases get no gradient)", 3, 5, 11, 10, 4, 1, 1, 2, 0, 1),
                new ConvCase("stride 4 > filter 2, pad 2", 2, 4, 13, 14, 6, 2, 2, 4, 2, 2),
                new ConvCase("filter as large as the image", 1, 2, 5, 5, 3, 5, 5, 2, 2, 1),
                new ConvCase("pad 2 on a 3x3 filter", 1, 2, 3, 3, 2, 3, 3, 1, 2, 1),
                new ConvCase("non-square filter, stride 3", 1, 3, 10, 11, 5, 4, 2, 3, 1, 1),
                new ConvCase("K tile edge: 65 filters", 1, 4, 9, 9, 65, 3, 3, 1, 1, 1),
                new ConvCase("channel tile edge: 65 input channels", 1, 65, 6, 5, 7, 3, 3, 1, 1, 1),
                new ConvCase("K tile edge: 2 x 63 filters", 2, 6, 8, 7, 126, 3, 3, 1, 1, 2),
                new ConvCase("pixel tile edge: 129 outputs", 1, 3, 3, 43, 8, 3, 1, 1, 1, 1),
                new ConvCase("groups 3", 2, 9, 12, 12, 12, 3, 3, 2, 1, 3),
                new ConvCase("reduction of 7 (< one slab)", 1, 7, 6, 6, 10, 1, 1, 1, 0, 1),
                new ConvCase("127 weight columns + the bias column = one tile", 1, 127, 5, 5, 3, 1, 1, 1, 0, 1),
                new ConvCase("128 weight columns + the bias column = two tiles", 1, 128, 5, 5, 3, 1, 1, 1, 0, 1)));
        Random shapes = new Random(20261201); // fixed, so case names are stable; data is fresh every run
        for (int i = 0; i < 20; i++) {
            int groups = 1 + shapes.nextInt(2), cg = 1 + shapes.nextInt(i % 3 == 0 ? 40 : 6), kg = 1 + shapes.nextInt(i % 4 == 0 ? 150 : 70);
            int pad = shapes.nextInt(3), stride = 1 + shapes.nextInt(4);
            int h = 1 + shapes.nextInt(20), w = 1 + shapes.nextInt(20);
            int r = 1 + shapes.nextInt(Math.min(5, h + 2 * pad)), s = 1 + shapes.nextInt(Math.min(5, w + 2 * pad));
            cases.add(new ConvCase("random " + i, 1 + shapes.nextInt(3), cg * groups, h, w, kg * groups, r, s, stride, pad, groups));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("convCases")
    void conv2dBackwardDataMatchesCpu(ConvCase tc) {
        Random random = random("data " + tc);
        Shape inShape = Shape.of(tc.n, tc.c, tc.h, tc.w), wShape = Shape.of(tc.k, tc.c / tc.groups, tc.r, tc.s);
        Shape outShape = Shape.of(tc.n, tc.k, tc.p(), tc.q());
        double fanIn = (double) tc.c / tc.groups * tc.r * tc.s;
        Pair dOut = Pair.of(outShape, gaussian(random, 1.0, outShape.size()));
        Pair weight = Pair.of(wShape, gaussian(random, 1.0 / Math.sqrt(fanIn), wShape.size()));
        Pair dIn = Pair.poisoned(inShape), dInRelu = Pair.poisoned(inShape);
        Pair reluOut = Pair.of(inShape, reluOutput(random, inShape.size()));
        try {
            cpu.conv2dBackwardData(dIn.onCpu(), dOut.onCpu(), weight.onCpu(), tc.spec());
            gpu.conv2dBackwardData(dIn.onGpu(), dOut.onGpu(), weight.onGpu(), tc.spec());
            dIn.assertClose("conv2dBackwardData " + tc);
            // through the ReLU that output the convolution's input
            cpu.conv2dBackwardData(dInRelu.onCpu(), dOut.onCpu(), weight.onCpu(), tc.spec(), reluOut.onCpu());
            gpu.conv2dBackwardData(dInRelu.onGpu(), dOut.onGpu(), weight.onGpu(), tc.spec(), reluOut.onGpu());
            dInRelu.assertClose("conv2dBackwardData through a ReLU " + tc);
            assertThroughRelu("conv2dBackwardData through a ReLU " + tc, dInRelu.onGpu(), dIn.onGpu(), reluOut.onGpu());
        } finally {
            closeAll(dOut, weight, dIn, dInRelu, reluOut);
        }
    }

    /** A ReLU's output: zeros (about half), positives, a -0 and a NaN that went through the forward pass. */
    private static float[] reluOutput(Random random, long n) {
        float[] y = gaussian(random, 1.0, n);
        for (int i = 0; i < y.length; i++) if (y[i] < 0) y[i] = 0f;
        y[random.nextInt(y.length)] = -0.0f;
        y[random.nextInt(y.length)] = Float.NaN;
        return y;
    }

    /**
     * An op run through a ReLU ({@code fused}) against the same op without it ({@code plain}) followed by the GPU's
     * reluBackward: bit for bit (the ReLU's gradient is a selection).
     */
    private static void assertThroughRelu(String what, Tensor fused, Tensor plain, Tensor reluOut) {
        Tensor twoPasses = gpu.allocate(plain.shape());
        try {
            gpu.reluBackward(twoPasses, plain, reluOut);
            assertSame(what + ", against the op and reluBackward", fused.toArray(), twoPasses.toArray());
        } finally {
            twoPasses.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("convCases")
    void conv2dBackwardWeightMatchesCpu(ConvCase tc) {
        Random random = random("weight " + tc);
        Shape inShape = Shape.of(tc.n, tc.c, tc.h, tc.w), wShape = Shape.of(tc.k, tc.c / tc.groups, tc.r, tc.s);
        Shape outShape = Shape.of(tc.n, tc.k, tc.p(), tc.q());
        Pair dOut = Pair.of(outShape, gaussian(random, 1.0, outShape.size()));
        Pair in = Pair.of(inShape, gaussian(random, 1.0, inShape.size()));
        Pair dWeight = Pair.poisoned(wShape), dBias = Pair.poisoned(Shape.of(tc.k));
        try {
            cpu.conv2dBackwardWeight(dWeight.onCpu(), dBias.onCpu(), dOut.onCpu(), in.onCpu(), tc.spec());
            gpu.conv2dBackwardWeight(dWeight.onGpu(), dBias.onGpu(), dOut.onGpu(), in.onGpu(), tc.spec());
            dWeight.assertClose("conv2dBackwardWeight, weight " + tc);
            dBias.assertClose("conv2dBackwardWeight, bias " + tc);
        } finally {
            closeAll(dOut, in, dWeight, dBias);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // lrnBackward

    record LrnCase(String name, int n, int c, int h, int w, LrnSpec spec) {
        @Override
        public String toString() {
            return name + ": " + n + "x" + c + "x" + h + "x" + w + ", " + spec;
        }
    }

    static Stream<LrnCase> lrnCases() {
        List<LrnCase> cases = new ArrayList<>(List.of(
                new LrnCase("norm1", 2, 96, 55, 55, LrnSpec.paper()),
                new LrnCase("norm2", 2, 256, 27, 27, LrnSpec.paper()),
                new LrnCase("norm1, batch 1", 1, 96, 55, 55, LrnSpec.paper()),
                new LrnCase("PyTorch's LocalResponseNorm(5, 1e-4, 0.75, 2)", 2, 96, 13, 13, LrnSpec.pytorch(5, 1e-4f, 0.75f, 2f)),
                new LrnCase("strong normalisation", 2, 10, 7, 9, new LrnSpec(5, 0.5f, 0.75f, 2f, 2, false)),
                new LrnCase("even size 4", 1, 9, 5, 3, new LrnSpec(4, 0.3f, 0.75f, 1f, 1, false)),
                new LrnCase("even size 2, groups 3", 2, 12, 3, 4, new LrnSpec(2, 0.3f, 0.5f, 1f, 3, true)),
                new LrnCase("size 1", 1, 5, 4, 4, new LrnSpec(1, 0.7f, 0.75f, 2f, 1, false)),
                new LrnCase("window wider than the group", 2, 6, 5, 5, new LrnSpec(7, 0.2f, 1.5f, 0.5f, 2, false)),
                new LrnCase("size 6 (lrn_backward_wide)", 2, 20, 3, 5, new LrnSpec(6, 0.05f, 0.75f, 1f, 2, false)),
                new LrnCase("size 17 (largest register window)", 1, 40, 3, 5, new LrnSpec(17, 0.05f, 0.75f, 1f, 1, false)),
                new LrnCase("size 18 (plain path)", 1, 40, 3, 5, new LrnSpec(18, 0.05f, 0.75f, 1f, 2, false)),
                new LrnCase("one channel, one pixel", 1, 1, 1, 1, new LrnSpec(5, 0.5f, 0.75f, 2f, 1, false)),
                new LrnCase("beta 0", 1, 4, 3, 3, new LrnSpec(3, 0.5f, 0f, 2f, 1, false))));
        Random shapes = new Random(20261202);
        for (int i = 0; i < 12; i++) {
            int groups = 1 + shapes.nextInt(3);
            LrnSpec spec = new LrnSpec(1 + shapes.nextInt(8), 0.01f + shapes.nextFloat(), 0.25f + shapes.nextFloat(), 0.5f + 2 * shapes.nextFloat(),
                    groups, shapes.nextBoolean());
            cases.add(new LrnCase("random " + i, 1 + shapes.nextInt(3), groups * (1 + shapes.nextInt(12)), 1 + shapes.nextInt(17),
                    1 + shapes.nextInt(17), spec));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("lrnCases")
    void lrnBackwardMatchesCpu(LrnCase tc) {
        Shape shape = Shape.of(tc.n, tc.c, tc.h, tc.w);
        Random random = random(tc);
        float[] x = gaussian(random, 2.0, shape.size());
        // The forward output as the reference computes it, identical on both sides.
        Tensor outCpu = cpu.allocate(shape);
        cpu.lrn(outCpu, cpu.fromArray(shape, x), tc.spec);
        Pair in = Pair.of(shape, x), out = Pair.of(shape, outCpu.toArray());
        Pair dOut = Pair.of(shape, gaussian(random, 1.0, shape.size()));
        Pair dIn = Pair.poisoned(shape);
        try {
            cpu.lrnBackward(dIn.onCpu(), dOut.onCpu(), in.onCpu(), out.onCpu(), tc.spec);
            gpu.lrnBackward(dIn.onGpu(), dOut.onGpu(), in.onGpu(), out.onGpu(), tc.spec);
            dIn.assertClose("lrnBackward " + tc);
        } finally {
            closeAll(in, out, dOut, dIn);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("lrnCases")
    void lrnBackwardThroughReluMatchesCpu(LrnCase tc) {
        Shape shape = Shape.of(tc.n, tc.c, tc.h, tc.w);
        Random random = random("through a ReLU " + tc);
        float[] x = reluOutput(random, shape.size()); // the LRN's input is the ReLU's output
        for (int i = 0; i < x.length; i++) if (Float.isNaN(x[i])) x[i] = 0.5f; // a NaN would spread over its window: kept finite here
        Tensor outCpu = cpu.allocate(shape);
        cpu.lrn(outCpu, cpu.fromArray(shape, x), tc.spec);
        Pair in = Pair.of(shape, x), out = Pair.of(shape, outCpu.toArray());
        Pair dOut = Pair.of(shape, gaussian(random, 1.0, shape.size()));
        Pair dIn = Pair.poisoned(shape), dInRelu = Pair.poisoned(shape);
        try {
            cpu.lrnBackward(dInRelu.onCpu(), dOut.onCpu(), in.onCpu(), out.onCpu(), tc.spec, true);
            gpu.lrnBackward(dInRelu.onGpu(), dOut.onGpu(), in.onGpu(), out.onGpu(), tc.spec, true);
            dInRelu.assertClose("lrnBackward through a ReLU " + tc);
            gpu.lrnBackward(dIn.onGpu(), dOut.onGpu(), in.onGpu(), out.onGpu(), tc.spec, false);
            assertThroughRelu("lrnBackward through a ReLU " + tc, dInRelu.onGpu(), dIn.onGpu(), in.onGpu());
        } finally {
            closeAll(in, out, dOut, dIn, dInRelu);
        }
    }

    @Test
    void lrnBackwardRejectsWritingOverItsInputs() {
        Shape shape = Shape.of(1, 4, 2, 2);
        Tensor a = gpu.fromArray(shape, new float[16]), b = gpu.fromArray(shape, new float[16]), c = gpu.fromArray(shape, new float[16]);
        try {
            assertThrows(IllegalArgumentException.class, () -> gpu.lrnBackward(a, a, b, c, LrnSpec.paper()));
            assertThrows(IllegalArgumentException.class, () -> gpu.lrnBackward(b, a, b, c, LrnSpec.paper()));
            assertThrows(IllegalArgumentException.class, () -> gpu.lrnBackward(c, a, b, c, LrnSpec.paper()));
        } finally {
            Stream.of(a, b, c).forEach(Tensor::close);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // maxPoolBackward: bit for bit (the first maximum of each window, gradients added in a fixed order)

    record PoolCase(String name, int n, int c, int h, int w, int window, int stride, boolean ties) {
        @Override
        public String toString() {
            return name + ": " + n + "x" + c + "x" + h + "x" + w + ", window " + window + ", stride " + stride + (ties ? ", tied maxima" : "");
        }
    }

    static Stream<PoolCase> poolCases() {
        List<PoolCase> cases = new ArrayList<>(List.of(
                new PoolCase("pool1", 2, 96, 55, 55, 3, 2, false),
                new PoolCase("pool2", 2, 256, 27, 27, 3, 2, false),
                new PoolCase("pool5", 2, 256, 13, 13, 3, 2, false),
                new PoolCase("pool1", 2, 96, 55, 55, 3, 2, true),
                new PoolCase("pool5", 2, 256, 13, 13, 3, 2, true),
                new PoolCase("2x2 stride 2, odd input", 1, 3, 7, 9, 2, 2, true),
                new PoolCase("stride larger than the window", 2, 2, 10, 11, 2, 3, false),
                new PoolCase("window 1", 1, 2, 4, 5, 1, 1, false),
                new PoolCase("window as large as the input", 3, 2, 5, 5, 5, 1, true),
                new PoolCase("one pixel", 1, 1, 1, 1, 1, 1, false),
                // maxpool_backward_planes takes several planes per block where there are planes enough (13 for pool5
                // at batch 16 on an H100, the last block with one), and leaves planes of more than 4096 windows to
                // maxpool_backward
                new PoolCase("pool5, batch 16 (several planes per block)", 16, 256, 13, 13, 3, 2, true),
                new PoolCase("many small planes (a partial last block)", 61, 37, 6, 6, 3, 1, false),
                new PoolCase("4900 windows a plane (the per-element kernel)", 1, 2, 140, 140, 2, 2, true)));
        Random shapes = new Random(20261203);
        for (int i = 0; i < 12; i++) {
            int h = 1 + shapes.nextInt(20), w = 1 + shapes.nextInt(20);
            cases.add(new PoolCase("random " + i, 1 + shapes.nextInt(3), 1 + shapes.nextInt(7), h, w, 1 + shapes.nextInt(Math.min(h, w)),
                    1 + shapes.nextInt(4), i % 2 == 0));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("poolCases")
    void maxPoolBackwardMatchesCpuBitForBit(PoolCase tc) {
        PoolSpec spec = new PoolSpec(tc.window, tc.stride);
        Shape inShape = Shape.of(tc.n, tc.c, tc.h, tc.w);
        Shape outShape = Shape.of(tc.n, tc.c, spec.outSize(tc.h), spec.outSize(tc.w));
        Random random = random(tc);
        float[] x = gaussian(random, 1.0, inShape.size());
        if (tc.ties) for (int i = 0; i < x.length; i++) x[i] = Math.round(x[i]); // equal maxima: the first must win
        for (int i = 0; i < 3; i++) {
            int at = random.nextInt(x.length);
            x[at] = Float.NaN; // a NaN is a window's maximum; next to another NaN, the first wins
            if (at + 1 < x.length) x[at + 1] = Float.NaN;
            if (at + tc.w < x.length) x[at + tc.w] = Float.NaN;
        }
        x[random.nextInt(x.length)] = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < Math.min(x.length, tc.w * Math.min(tc.h, tc.window)); i++) x[i] = Float.NEGATIVE_INFINITY; // a window of -inf only
        Pair in = Pair.of(inShape, x);
        Pair dOut = Pair.of(outShape, gaussian(random, 1.0, outShape.size()));
        Pair dIn = Pair.poisoned(inShape), dInRelu = Pair.poisoned(inShape);
        try {
            cpu.maxPoolBackward(dIn.onCpu(), dOut.onCpu(), in.onCpu(), spec);
            gpu.maxPoolBackward(dIn.onGpu(), dOut.onGpu(), in.onGpu(), spec);
            dIn.assertSame("maxPoolBackward " + tc);
            // through the ReLU that output the pooling's input (its negatives and -inf stand for zeros)
            cpu.maxPoolBackward(dInRelu.onCpu(), dOut.onCpu(), in.onCpu(), spec, true);
            gpu.maxPoolBackward(dInRelu.onGpu(), dOut.onGpu(), in.onGpu(), spec, true);
            dInRelu.assertSame("maxPoolBackward through a ReLU " + tc);
            assertThroughRelu("maxPoolBackward through a ReLU " + tc, dInRelu.onGpu(), dIn.onGpu(), in.onGpu());
        } finally {
            closeAll(in, dOut, dIn, dInRelu);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // linear backward

    record LinearCase(String name, int n, int[] inDims, int k) {
        int c() {
            int c = 1;
            for (int d : inDims) c *= d;
            return c;
        }

        Shape inShape() {
            int[] dims = new int[inDims.length + 1];
            dims[0] = n;
            System.arraycopy(inDims, 0, dims, 1, inDims.length);
            return Shape.of(dims);
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder(name).append(": ").append(n);
            for (int d : inDims) b.append('x').append(d);
            return b.append(" -> ").append(k).toString();
        }
    }

    static Stream<LinearCase> linearCases() {
        List<LinearCase> cases = new ArrayList<>(List.of(
                new LinearCase("fc6 on pool5's (N, 256, 6, 6)", 2, new int[] {256, 6, 6}, 4096),
                new LinearCase("fc7", 2, new int[] {4096}, 4096),
                new LinearCase("fc8", 2, new int[] {4096}, 1000),
                new LinearCase("fc8, batch 1", 1, new int[] {4096}, 1000),
                new LinearCase("fc8, batch 128", 128, new int[] {4096}, 1000),
                new LinearCase("batch 130 (tile edge)", 130, new int[] {300}, 129),
                new LinearCase("split reduction, K not a multiple of 4", 3, new int[] {50}, 1001),
                new LinearCase("C not a multiple of 4", 5, new int[] {2051}, 37),
                new LinearCase("single multiply", 1, new int[] {1}, 1),
                new LinearCase("tile edges", 65, new int[] {129}, 17),
                new LinearCase("C = 3", 7, new int[] {3}, 5)));
        Random shapes = new Random(20261204);
        for (int i = 0; i < 16; i++) {
            cases.add(new LinearCase("random " + i, 1 + shapes.nextInt(i % 4 == 0 ? 200 : 10), new int[] {1 + shapes.nextInt(i % 3 == 0 ? 3000 : 300)},
                    1 + shapes.nextInt(i % 3 == 1 ? 3000 : 300)));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("linearCases")
    void linearBackwardDataMatchesCpu(LinearCase tc) {
        Random random = random("data " + tc);
        Pair dOut = Pair.of(Shape.of(tc.n, tc.k), gaussian(random, 1.0, (long) tc.n * tc.k));
        Pair weight = Pair.of(Shape.of(tc.k, tc.c()), gaussian(random, 1.0 / Math.sqrt(tc.k), (long) tc.k * tc.c()));
        Pair dIn = Pair.poisoned(tc.inShape());
        try {
            cpu.linearBackwardData(dIn.onCpu(), dOut.onCpu(), weight.onCpu());
            gpu.linearBackwardData(dIn.onGpu(), dOut.onGpu(), weight.onGpu());
            dIn.assertClose("linearBackwardData " + tc);
        } finally {
            closeAll(dOut, weight, dIn);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("linearCases")
    void linearBackwardWeightMatchesCpu(LinearCase tc) {
        Random random = random("weight " + tc);
        Shape inShape = tc.inShape();
        Pair dOut = Pair.of(Shape.of(tc.n, tc.k), gaussian(random, 1.0, (long) tc.n * tc.k));
        Pair in = Pair.of(inShape, gaussian(random, 1.0, inShape.size()));
        Pair dWeight = Pair.poisoned(Shape.of(tc.k, tc.c())), dBias = Pair.poisoned(Shape.of(tc.k));
        try {
            cpu.linearBackwardWeight(dWeight.onCpu(), dBias.onCpu(), dOut.onCpu(), in.onCpu());
            gpu.linearBackwardWeight(dWeight.onGpu(), dBias.onGpu(), dOut.onGpu(), in.onGpu());
            dWeight.assertClose("linearBackwardWeight, weight " + tc);
            dBias.assertClose("linearBackwardWeight, bias " + tc);
        } finally {
            closeAll(dOut, in, dWeight, dBias);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // dropout: bit for bit (the mask is a pure function of seed, layer, step and index)

    record DropoutCase(String name, int[] dims, float p, long seed, int layer, long step) {
        @Override
        public String toString() {
            return name + ": " + java.util.Arrays.toString(dims) + ", p " + p + ", seed " + seed + ", layer " + layer + ", step " + step;
        }
    }

    static Stream<DropoutCase> dropoutCases() {
        return Stream.of(
                new DropoutCase("fc6's output", new int[] {2, 4096}, 0.5f, 20261127L, 6, 0),
                new DropoutCase("fc7's output at batch 128", new int[] {128, 4096}, 0.5f, 1L, 7, 123456),
                new DropoutCase("one element", new int[] {1}, 0.5f, 3L, 0, 1),
                new DropoutCase("3 elements (< one Philox call)", new int[] {3}, 0.5f, 4L, 1, 2),
                new DropoutCase("1023 elements, p 0.1", new int[] {3, 341}, 0.1f, -1L, 2, 3),
                new DropoutCase("p 0.9", new int[] {5, 1001}, 0.9f, 0x123456789abcdefL, 3, 4),
                new DropoutCase("p 0: keeps everything", new int[] {7, 5}, 0f, 5L, 4, 5),
                new DropoutCase("step past 2^32, negative seed", new int[] {2, 777}, 0.5f, Long.MIN_VALUE + 12345, 6, (1L << 32) + 17),
                new DropoutCase("4-d activations", new int[] {2, 256, 6, 6}, 0.3f, 99L, 5, 8));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dropoutCases")
    void dropoutMatchesCpuBitForBit(DropoutCase tc) {
        Shape shape = Shape.of(tc.dims);
        float[] x = gaussian(random(tc), 1.0, shape.size());
        x[0] = Float.NaN; // a dropped NaN is 0, a kept one NaN: either way both backends agree
        for (boolean backward : new boolean[] {false, true}) {
            for (boolean inPlace : new boolean[] {false, true}) { // in place on the GPU, against the CPU's plain result
                Pair in = Pair.of(shape, x);
                Pair out = Pair.poisoned(shape);
                Tensor gpuOut = inPlace ? in.onGpu() : out.onGpu();
                String what = (backward ? "dropoutBackward " : "dropoutForward ") + tc + (inPlace ? ", in place" : "");
                try {
                    if (backward) {
                        cpu.dropoutBackward(out.onCpu(), in.onCpu(), tc.p, tc.seed, tc.layer, tc.step);
                        gpu.dropoutBackward(gpuOut, in.onGpu(), tc.p, tc.seed, tc.layer, tc.step);
                    } else {
                        cpu.dropoutForward(out.onCpu(), in.onCpu(), tc.p, tc.seed, tc.layer, tc.step);
                        gpu.dropoutForward(gpuOut, in.onGpu(), tc.p, tc.seed, tc.layer, tc.step);
                    }
                    assertSame(what, gpuOut.toArray(), out.onCpu().toArray());
                } finally {
                    closeAll(in, out);
                }
            }
        }
    }

    @Test
    void dropoutKeepsAboutOneMinusPAndBackwardRedrawsTheForwardMask() {
        int n = 1 << 20;
        float p = 0.5f;
        float[] ones = new float[n];
        java.util.Arrays.fill(ones, 1f);
        Tensor in = gpu.fromArray(Shape.of(n), ones), fwd = gpu.allocate(Shape.of(n)), bwd = gpu.allocate(Shape.of(n));
        try {
            gpu.dropoutForward(fwd, in, p, 42L, 6, 1000);
            gpu.dropoutBackward(bwd, in, p, 42L, 6, 1000);
            float[] f = fwd.toArray();
            assertSame("dropout backward mask = forward mask", bwd.toArray(), f);
            int kept = 0;
            for (float v : f) if (v != 0f) kept++;
            double sigma = Math.sqrt(n * p * (1 - p));
            if (Math.abs(kept - n * (1 - p)) > 6 * sigma) fail("dropout kept " + kept + " of " + n + " with p " + p);
        } finally {
            Stream.of(in, fwd, bwd).forEach(Tensor::close);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // softmaxCrossEntropy

    record XentCase(String name, int n, int k, double scale) {
        @Override
        public String toString() {
            return name + ": " + n + "x" + k + ", logits ~ N(0, " + scale + "^2)";
        }
    }

    static Stream<XentCase> xentCases() {
        return Stream.of(
                new XentCase("fc8's output", 2, 1000, 3),
                new XentCase("batch 128", 128, 1000, 3),
                new XentCase("batch 1", 1, 1000, 3),
                new XentCase("peaked", 3, 1000, 30),
                new XentCase("one class", 4, 1, 1),
                new XentCase("7 classes (< one warp)", 5, 7, 1),
                new XentCase("33 classes", 2, 33, 2),
                new XentCase("1025 classes", 3, 1025, 2));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("xentCases")
    void softmaxCrossEntropyMatchesCpu(XentCase tc) {
        Shape shape = Shape.of(tc.n, tc.k);
        Random random = random(tc);
        float[] x = gaussian(random, tc.scale, shape.size());
        int[] labels = new int[tc.n];
        for (int i = 0; i < tc.n; i++) labels[i] = random.nextInt(tc.k);
        for (boolean inPlace : new boolean[] {false, true}) { // in place on the GPU, against the CPU's plain result
            Pair logits = Pair.of(shape, x);
            Pair dLogits = Pair.poisoned(shape);
            Tensor gpuOut = inPlace ? logits.onGpu() : dLogits.onGpu();
            try {
                float want = cpu.softmaxCrossEntropy(dLogits.onCpu(), logits.onCpu(), labels);
                float got = gpu.softmaxCrossEntropy(gpuOut, logits.onGpu(), labels);
                String what = "softmaxCrossEntropy " + tc + (inPlace ? ", in place" : "");
                if (!(Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)))) fail(what + ": loss " + got + ", expected " + want + seed());
                assertClose(what, gpuOut.toArray(), dLogits.onCpu().toArray());
            } finally {
                closeAll(logits, dLogits);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // sgdUpdate: bit for bit (the same float operations in the same order, no FMA)

    @ParameterizedTest(name = "{0} parameters")
    @ValueSource(ints = {1, 3, 5, 1023, 4096 * 257 + 3})
    void sgdUpdateMatchesCpuBitForBit(int n) {
        Random random = random("sgd " + n);
        Shape shape = Shape.of(n);
        float[][] settings = {{0.01f, 0.9f, 0.0005f}, {0.001f, 0.9f, 0.0005f}, {(float) random.nextDouble(), (float) random.nextDouble(), 0.01f}};
        for (float[] s : settings) {
            Pair w = Pair.of(shape, gaussian(random, 0.01, n)), v = Pair.of(shape, gaussian(random, 0.001, n));
            Pair g = Pair.of(shape, gaussian(random, 0.1, n));
            try {
                for (int step = 0; step < 2; step++) { // the second step reads the velocity the first one wrote
                    cpu.sgdUpdate(w.onCpu(), v.onCpu(), g.onCpu(), s[0], s[1], s[2]);
                    gpu.sgdUpdate(w.onGpu(), v.onGpu(), g.onGpu(), s[0], s[1], s[2]);
                }
                String what = "sgdUpdate of " + n + ", lr " + s[0] + ", momentum " + s[1] + ", weight decay " + s[2];
                w.assertSame(what + ": weights");
                v.assertSame(what + ": velocity");
            } finally {
                closeAll(w, v, g);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Determinism: the ops with reductions (split ones included: conv1's weight gradient and fc6's data gradient at
    // batch 2 run split), twice each on the GPU alone, must give the same bits.

    @Test
    void backwardOpsAreDeterministic() {
        Random random = random("determinism");
        List<Tensor> owned = new ArrayList<>();
        try {
            // conv1 (split weight gradient) and conv2 (groups)
            for (ConvCase tc : List.of(new ConvCase("conv1", 2, 3, 227, 227, 96, 11, 11, 4, 0, 1), new ConvCase("conv2", 2, 96, 27, 27, 256, 5, 5, 1, 2, 2))) {
                Tensor dOut = track(owned, gpu.fromArray(Shape.of(tc.n, tc.k, tc.p(), tc.q()), gaussian(random, 1.0, (long) tc.n * tc.k * tc.p() * tc.q())));
                Tensor in = track(owned, gpu.fromArray(Shape.of(tc.n, tc.c, tc.h, tc.w), gaussian(random, 1.0, (long) tc.n * tc.c * tc.h * tc.w)));
                Shape wShape = Shape.of(tc.k, tc.c / tc.groups, tc.r, tc.s);
                Tensor weight = track(owned, gpu.fromArray(wShape, gaussian(random, 0.1, wShape.size())));
                float[][] runs = new float[2][], biasRuns = new float[2][], dataRuns = new float[2][];
                for (int run = 0; run < 2; run++) {
                    Tensor dW = track(owned, gpu.allocate(wShape)), dB = track(owned, gpu.allocate(Shape.of(tc.k)));
                    Tensor dIn = track(owned, gpu.allocate(in.shape()));
                    gpu.conv2dBackwardWeight(dW, dB, dOut, in, tc.spec());
                    gpu.conv2dBackwardData(dIn, dOut, weight, tc.spec());
                    runs[run] = dW.toArray();
                    biasRuns[run] = dB.toArray();
                    dataRuns[run] = dIn.toArray();
                }
                assertSame(tc.name + " weight gradient run twice", runs[1], runs[0]);
                assertSame(tc.name + " bias gradient run twice", biasRuns[1], biasRuns[0]);
                assertSame(tc.name + " data gradient run twice", dataRuns[1], dataRuns[0]);
            }
            // fc6 at batch 2: split data gradient; weight gradient
            Tensor dOut = track(owned, gpu.fromArray(Shape.of(2, 4096), gaussian(random, 1.0, 2 * 4096)));
            Tensor weight = track(owned, gpu.fromArray(Shape.of(4096, 9216), gaussian(random, 0.01, 4096L * 9216)));
            Tensor in = track(owned, gpu.fromArray(Shape.of(2, 256, 6, 6), gaussian(random, 1.0, 2 * 9216)));
            float[][] data = new float[2][], dw = new float[2][], db = new float[2][];
            for (int run = 0; run < 2; run++) {
                Tensor dIn = track(owned, gpu.allocate(Shape.of(2, 256, 6, 6)));
                Tensor dW = track(owned, gpu.allocate(Shape.of(4096, 9216))), dB = track(owned, gpu.allocate(Shape.of(4096)));
                gpu.linearBackwardData(dIn, dOut, weight);
                gpu.linearBackwardWeight(dW, dB, dOut, in);
                data[run] = dIn.toArray();
                dw[run] = dW.toArray();
                db[run] = dB.toArray();
            }
            assertSame("fc6 data gradient run twice", data[1], data[0]);
            assertSame("fc6 weight gradient run twice", dw[1], dw[0]);
            assertSame("fc6 bias gradient run twice", db[1], db[0]);
            // norm1, pool1, the loss
            Shape s = Shape.of(2, 96, 55, 55);
            Tensor a = track(owned, gpu.fromArray(s, gaussian(random, 2.0, s.size())));
            Tensor b = track(owned, gpu.allocate(s));
            gpu.lrn(b, a, LrnSpec.paper());
            Tensor dB = track(owned, gpu.fromArray(s, gaussian(random, 1.0, s.size())));
            Shape pooled = Shape.of(2, 96, 27, 27);
            Tensor dPooled = track(owned, gpu.fromArray(pooled, gaussian(random, 1.0, pooled.size())));
            float[][] lrn = new float[2][], pool = new float[2][], xent = new float[2][];
            float[] loss = new float[2];
            int[] labels = {17, 993};
            Tensor logits = track(owned, gpu.fromArray(Shape.of(2, 1000), gaussian(random, 3.0, 2000)));
            for (int run = 0; run < 2; run++) {
                Tensor dA = track(owned, gpu.allocate(s)), dX = track(owned, gpu.allocate(s));
                Tensor dLogits = track(owned, gpu.allocate(Shape.of(2, 1000)));
                gpu.lrnBackward(dA, dB, a, b, LrnSpec.paper());
                gpu.maxPoolBackward(dX, dPooled, a, PoolSpec.overlapping());
                loss[run] = gpu.softmaxCrossEntropy(dLogits, logits, labels);
                lrn[run] = dA.toArray();
                pool[run] = dX.toArray();
                xent[run] = dLogits.toArray();
            }
            assertSame("norm1 gradient run twice", lrn[1], lrn[0]);
            assertSame("pool1 gradient run twice", pool[1], pool[0]);
            assertSame("softmax cross-entropy gradient run twice", xent[1], xent[0]);
            assertEquals(Float.floatToRawIntBits(loss[0]), Float.floatToRawIntBits(loss[1]), "loss run twice" + seed());
        } finally {
            owned.forEach(Tensor::close);
        }
    }

    private static Tensor track(List<Tensor> owned, Tensor t) {
        owned.add(t);
        return t;
    }
}
