package dev.alexnetffm.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.alexnetffm.engine.backend.ConvSpec;
import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.backend.LrnSpec;
import dev.alexnetffm.engine.backend.PoolSpec;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CUDA forward ops against the CPU reference ({@link CpuBackend}, the specification): fresh random inputs every
 * run (the seed is in every failure message), outputs poisoned with NaN before the kernel runs, every element
 * checked, then the relative L2 error. Shapes cover the AlexNet layers at batch 2, batch 1, odd sizes and sizes that
 * are no multiple of any kernel tile (64, 128, 8, 16), groups 1/2/3, strides 1..4 and padding 0..2.
 * Skipped when there is no CUDA driver or GPU.
 */
@Tag("gpu")
class CudaForwardOpsTest extends GpuAgainstCpu {
    // ---------------------------------------------------------------------------------------------------------------
    // conv2d

    record ConvCase(String name, int n, int c, int h, int w, int k, int r, int s, int stride, int pad, int groups, boolean relu) {
        int p() {
            return (h + 2 * pad - r) / stride + 1;
        }

        int q() {
            return (w + 2 * pad - s) / stride + 1;
        }

        @Override
        public String toString() {
            return name + ": in " + n + "x" + c + "x" + h + "x" + w + ", " + k + " filters " + r + "x" + s + ", stride " + stride
                    + ", pad " + pad + ", groups " + groups + (relu ? ", relu" : "");
        }
    }

    static Stream<ConvCase> convCases() {
        List<ConvCase> cases = new ArrayList<>(List.of(
                new ConvCase("conv1", 2, 3, 227, 227, 96, 11, 11, 4, 0, 1, true),
                new ConvCase("conv2", 2, 96, 27, 27, 256, 5, 5, 1, 2, 2, true),
                new ConvCase("conv3", 2, 256, 13, 13, 384, 3, 3, 1, 1, 1, true),
                new ConvCase("conv4", 2, 384, 13, 13, 384, 3, 3, 1, 1, 2, true),
                new ConvCase("conv5", 2, 384, 13, 13, 256, 3, 3, 1, 1, 2, true),
                new ConvCase("conv1, batch 1", 1, 3, 227, 227, 96, 11, 11, 4, 0, 1, false),
                new ConvCase("single multiply", 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, false),
                new ConvCase("1x1, stride 2", 3, 5, 11, 10, 4, 1, 1, 2, 0, 1, false),
                new ConvCase("filter as large as the image", 1, 2, 5, 5, 3, 5, 5, 2, 2, 1, false),
                new ConvCase("pad 2 on a 3x3 filter", 1, 2, 3, 3, 2, 3, 3, 1, 2, 1, true),
                new ConvCase("non-square filter, stride 3", 1, 3, 10, 11, 5, 4, 2, 3, 1, 1, false),
                new ConvCase("K tile edge: 65 filters", 1, 4, 9, 9, 65, 3, 3, 1, 1, 1, false),
                new ConvCase("K tile edge: 2 x 63 filters", 2, 6, 8, 7, 126, 3, 3, 1, 1, 2, true),
                new ConvCase("pixel tile edge: 129 outputs", 1, 3, 3, 43, 8, 3, 1, 1, 1, 1, false),
                new ConvCase("groups 3", 2, 9, 12, 12, 12, 3, 3, 2, 1, 3, true),
                new ConvCase("reduction of 7 (< one slab)", 1, 7, 6, 6, 10, 1, 1, 1, 0, 1, false),
                // On 132 SMs (an H100, the emulated driver) fewer than 66 column tiles of 128 pixels split the
                // reduction (conv2d.cu v3; the layers above at batch 2 all do); these two sit either side of that
                new ConvCase("conv3, batch 1: 2 column tiles, 32 splits", 1, 256, 13, 13, 384, 3, 3, 1, 1, 1, true),
                new ConvCase("67 column tiles: unsplit", 1, 8, 92, 92, 16, 3, 3, 1, 1, 1, true),
                new ConvCase("conv2's reduction (48 x 5 x 5 per group), 67 column tiles: unsplit", 1, 96, 92, 92, 32, 5, 5, 1, 2, 2, true),
                new ConvCase("65 column tiles: split in 2", 1, 8, 91, 91, 16, 3, 3, 1, 1, 1, true)));
        Random shapes = new Random(20261127); // fixed, so case names are stable; data is fresh every run
        for (int i = 0; i < 24; i++) {
            int groups = 1 + shapes.nextInt(2), cg = 1 + shapes.nextInt(i % 3 == 0 ? 40 : 6), kg = 1 + shapes.nextInt(i % 4 == 0 ? 150 : 70);
            int pad = shapes.nextInt(3), stride = 1 + shapes.nextInt(4);
            int h = 1 + shapes.nextInt(20), w = 1 + shapes.nextInt(20);
            int r = 1 + shapes.nextInt(Math.min(5, h + 2 * pad)), s = 1 + shapes.nextInt(Math.min(5, w + 2 * pad));
            cases.add(new ConvCase("random " + i, 1 + shapes.nextInt(3), cg * groups, h, w, kg * groups, r, s, stride, pad, groups,
                    shapes.nextBoolean()));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("convCases")
    void conv2dMatchesCpu(ConvCase tc) {
        Random random = random(tc);
        Shape inShape = Shape.of(tc.n, tc.c, tc.h, tc.w), wShape = Shape.of(tc.k, tc.c / tc.groups, tc.r, tc.s);
        Shape outShape = Shape.of(tc.n, tc.k, tc.p(), tc.q());
        double fanIn = (double) tc.c / tc.groups * tc.r * tc.s;
        Pair in = Pair.of(inShape, gaussian(random, 1.0, inShape.size()));
        Pair weight = Pair.of(wShape, gaussian(random, 1.0 / Math.sqrt(fanIn), wShape.size()));
        Pair bias = Pair.of(Shape.of(tc.k), gaussian(random, 0.5, tc.k));
        Pair out = Pair.poisoned(outShape);
        try {
            ConvSpec spec = new ConvSpec(tc.stride, tc.pad, tc.groups);
            cpu.conv2d(out.onCpu(), in.onCpu(), weight.onCpu(), bias.onCpu(), spec, tc.relu);
            gpu.conv2d(out.onGpu(), in.onGpu(), weight.onGpu(), bias.onGpu(), spec, tc.relu);
            assertClose("conv2d " + tc, out.onGpu().toArray(), out.onCpu().toArray());
        } finally {
            Stream.of(in, weight, bias, out).forEach(Pair::close);
        }
    }

    @Test
    void conv2dPropagatesNaNThroughFusedRelu() {
        Random random = random("conv NaN");
        float[] x = gaussian(random, 1.0, 2 * 6 * 6);
        x[36 + 2 * 6 + 3] = Float.NaN; // channel 1, row 2, column 3
        Pair in = Pair.of(Shape.of(1, 2, 6, 6), x);
        Pair weight = Pair.of(Shape.of(3, 2, 3, 3), gaussian(random, 1.0, 3 * 2 * 9));
        Pair bias = Pair.of(Shape.of(3), gaussian(random, 1.0, 3));
        Pair out = Pair.poisoned(Shape.of(1, 3, 6, 6));
        try {
            ConvSpec spec = new ConvSpec(1, 1, 1);
            cpu.conv2d(out.onCpu(), in.onCpu(), weight.onCpu(), bias.onCpu(), spec, true);
            gpu.conv2d(out.onGpu(), in.onGpu(), weight.onGpu(), bias.onGpu(), spec, true);
            assertClose("conv2d with a NaN input", out.onGpu().toArray(), out.onCpu().toArray());
        } finally {
            Stream.of(in, weight, bias, out).forEach(Pair::close);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // lrn

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
                new LrnCase("norm1, batch 1, PyTorch convention", 1, 96, 55, 55, LrnSpec.pytorch(5, 1e-4f, 0.75f, 2f)),
                new LrnCase("strong normalisation", 2, 10, 7, 9, new LrnSpec(5, 0.5f, 0.75f, 2f, 2, false)),
                new LrnCase("even size 4", 1, 9, 5, 3, new LrnSpec(4, 0.3f, 0.75f, 1f, 1, false)),
                new LrnCase("even size 2, groups 3", 2, 12, 3, 4, new LrnSpec(2, 0.3f, 0.5f, 1f, 3, true)),
                new LrnCase("size 1", 1, 5, 4, 4, new LrnSpec(1, 0.7f, 0.75f, 2f, 1, false)),
                new LrnCase("window wider than the group", 2, 6, 5, 5, new LrnSpec(7, 0.2f, 1.5f, 0.5f, 2, false)),
                new LrnCase("one channel, one pixel", 1, 1, 1, 1, new LrnSpec(5, 0.5f, 0.75f, 2f, 1, false)),
                new LrnCase("beta 0", 1, 4, 3, 3, new LrnSpec(3, 0.5f, 0f, 2f, 1, false))));
        Random shapes = new Random(20261128);
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
    void lrnMatchesCpu(LrnCase tc) {
        Shape shape = Shape.of(tc.n, tc.c, tc.h, tc.w);
        Pair in = Pair.of(shape, gaussian(random(tc), 2.0, shape.size()));
        Pair out = Pair.poisoned(shape);
        try {
            cpu.lrn(out.onCpu(), in.onCpu(), tc.spec);
            gpu.lrn(out.onGpu(), in.onGpu(), tc.spec);
            assertClose("lrn " + tc, out.onGpu().toArray(), out.onCpu().toArray());
        } finally {
            in.close();
            out.close();
        }
    }

    @Test
    void lrnRejectsInPlace() {
        Tensor t = gpu.fromArray(Shape.of(1, 4, 2, 2), new float[16]);
        try {
            assertThrows(IllegalArgumentException.class, () -> gpu.lrn(t, t, LrnSpec.paper()));
        } finally {
            t.close();
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // maxPool

    record PoolCase(String name, int n, int c, int h, int w, int window, int stride) {
        @Override
        public String toString() {
            return name + ": " + n + "x" + c + "x" + h + "x" + w + ", window " + window + ", stride " + stride;
        }
    }

    static Stream<PoolCase> poolCases() {
        List<PoolCase> cases = new ArrayList<>(List.of(
                new PoolCase("pool1", 2, 96, 55, 55, 3, 2),
                new PoolCase("pool2", 2, 256, 27, 27, 3, 2),
                new PoolCase("pool5", 2, 256, 13, 13, 3, 2),
                new PoolCase("2x2 stride 2, odd input", 1, 3, 7, 9, 2, 2),
                new PoolCase("stride larger than the window", 2, 2, 10, 11, 2, 3),
                new PoolCase("window 1", 1, 2, 4, 5, 1, 1),
                new PoolCase("window as large as the input", 3, 2, 5, 5, 5, 1),
                new PoolCase("one pixel", 1, 1, 1, 1, 1, 1)));
        Random shapes = new Random(20261129);
        for (int i = 0; i < 12; i++) {
            int h = 1 + shapes.nextInt(20), w = 1 + shapes.nextInt(20);
            cases.add(new PoolCase("random " + i, 1 + shapes.nextInt(3), 1 + shapes.nextInt(7), h, w, 1 + shapes.nextInt(Math.min(h, w)),
                    1 + shapes.nextInt(4)));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("poolCases")
    void maxPoolMatchesCpu(PoolCase tc) {
        PoolSpec spec = new PoolSpec(tc.window, tc.stride);
        Shape inShape = Shape.of(tc.n, tc.c, tc.h, tc.w);
        Random random = random(tc);
        float[] x = gaussian(random, 1.0, inShape.size());
        x[random.nextInt(x.length)] = Float.NaN; // NaN must propagate to every window that holds it
        x[random.nextInt(x.length)] = Float.NEGATIVE_INFINITY;
        Pair in = Pair.of(inShape, x);
        Pair out = Pair.poisoned(Shape.of(tc.n, tc.c, spec.outSize(tc.h), spec.outSize(tc.w)));
        try {
            cpu.maxPool(out.onCpu(), in.onCpu(), spec);
            gpu.maxPool(out.onGpu(), in.onGpu(), spec);
            assertSame("maxPool " + tc, out.onGpu().toArray(), out.onCpu().toArray());
        } finally {
            in.close();
            out.close();
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // linear

    record LinearCase(String name, int n, int[] inDims, int k, boolean relu) {
        int c() {
            int c = 1;
            for (int d : inDims) c *= d;
            return c;
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder(name).append(": ").append(n);
            for (int d : inDims) b.append('x').append(d);
            return b.append(" -> ").append(k).append(relu ? ", relu" : "").toString();
        }
    }

    static Stream<LinearCase> linearCases() {
        List<LinearCase> cases = new ArrayList<>(List.of(
                new LinearCase("fc6 on pool5's (N, 256, 6, 6)", 2, new int[] {256, 6, 6}, 4096, true),
                new LinearCase("fc7", 2, new int[] {4096}, 4096, true),
                new LinearCase("fc8", 2, new int[] {4096}, 1000, false),
                new LinearCase("fc8, batch 1", 1, new int[] {4096}, 1000, false),
                new LinearCase("fc6, batch 130 (tile edge)", 130, new int[] {9216}, 300, true),
                new LinearCase("split reduction, C not a multiple of 4", 3, new int[] {1001}, 50, false),
                new LinearCase("split reduction, C a multiple of 4 but not of 16", 5, new int[] {2052}, 37, true),
                new LinearCase("single multiply", 1, new int[] {1}, 1, false),
                new LinearCase("tile edges", 65, new int[] {17}, 129, true),
                new LinearCase("C = 3", 7, new int[] {3}, 5, false)));
        Random shapes = new Random(20261130);
        for (int i = 0; i < 16; i++) {
            cases.add(new LinearCase("random " + i, 1 + shapes.nextInt(i % 4 == 0 ? 200 : 10), new int[] {1 + shapes.nextInt(i % 3 == 0 ? 3000 : 300)},
                    1 + shapes.nextInt(300), shapes.nextBoolean()));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("linearCases")
    void linearMatchesCpu(LinearCase tc) {
        Random random = random(tc);
        int[] inDims = new int[tc.inDims.length + 1];
        inDims[0] = tc.n;
        System.arraycopy(tc.inDims, 0, inDims, 1, tc.inDims.length);
        Shape inShape = Shape.of(inDims);
        Pair in = Pair.of(inShape, gaussian(random, 1.0, inShape.size()));
        Pair weight = Pair.of(Shape.of(tc.k, tc.c()), gaussian(random, 1.0 / Math.sqrt(tc.c()), (long) tc.k * tc.c()));
        Pair bias = Pair.of(Shape.of(tc.k), gaussian(random, 0.5, tc.k));
        Pair out = Pair.poisoned(Shape.of(tc.n, tc.k));
        try {
            cpu.linear(out.onCpu(), in.onCpu(), weight.onCpu(), bias.onCpu(), tc.relu);
            gpu.linear(out.onGpu(), in.onGpu(), weight.onGpu(), bias.onGpu(), tc.relu);
            assertClose("linear " + tc, out.onGpu().toArray(), out.onCpu().toArray());
        } finally {
            Stream.of(in, weight, bias, out).forEach(Pair::close);
        }
    }

    @Test
    void linearIsDeterministic() {
        // fc6's shape at batch 2 runs split-K: the partial sums must be added in the same order every time.
        Random random = random("linear determinism");
        Tensor in = gpu.fromArray(Shape.of(2, 9216), gaussian(random, 1.0, 2 * 9216));
        Tensor weight = gpu.fromArray(Shape.of(4096, 9216), gaussian(random, 0.01, 4096L * 9216));
        Tensor bias = gpu.fromArray(Shape.of(4096), gaussian(random, 0.5, 4096));
        Tensor a = gpu.allocate(Shape.of(2, 4096)), b = gpu.allocate(Shape.of(2, 4096));
        try {
            gpu.linear(a, in, weight, bias, false);
            gpu.linear(b, in, weight, bias, false);
            assertSame("linear run twice", b.toArray(), a.toArray());
        } finally {
            Stream.of(in, weight, bias, a, b).forEach(Tensor::close);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // softmax

    record SoftmaxCase(String name, int n, int k, double scale) {
        @Override
        public String toString() {
            return name + ": " + n + "x" + k + ", logits ~ N(0, " + scale + "^2)";
        }
    }

    static Stream<SoftmaxCase> softmaxCases() {
        return Stream.of(
                new SoftmaxCase("fc8's output", 2, 1000, 3),
                new SoftmaxCase("batch 128", 128, 1000, 3),
                new SoftmaxCase("peaked", 3, 1000, 30),
                new SoftmaxCase("one class", 4, 1, 1),
                new SoftmaxCase("7 classes (< one warp)", 5, 7, 1),
                new SoftmaxCase("33 classes", 2, 33, 2),
                new SoftmaxCase("1025 classes", 3, 1025, 2),
                new SoftmaxCase("wide row", 1, 50000, 4));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("softmaxCases")
    void softmaxMatchesCpu(SoftmaxCase tc) {
        Shape shape = Shape.of(tc.n, tc.k);
        float[] x = gaussian(random(tc), tc.scale, shape.size());
        compareSoftmax("softmax " + tc, shape, x, false);
        compareSoftmax("softmax in place " + tc, shape, x, true);
    }

    @Test
    void softmaxPropagatesNaNToItsRowOnly() {
        float[] x = gaussian(random("softmax NaN"), 1.0, 3 * 10);
        x[10 + 4] = Float.NaN;
        compareSoftmax("softmax with a NaN in row 1", Shape.of(3, 10), x, false);
    }

    private static void compareSoftmax(String what, Shape shape, float[] x, boolean inPlace) {
        Pair in = Pair.of(shape, x);
        Pair out = inPlace ? in : Pair.poisoned(shape);
        try {
            cpu.softmax(out.onCpu(), in.onCpu());
            gpu.softmax(out.onGpu(), in.onGpu());
            assertClose(what, out.onGpu().toArray(), out.onCpu().toArray());
        } finally {
            in.close();
            if (!inPlace) out.close();
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The forward pass of AlexNet (two towers as groups) at batch 2, layer by layer on both backends, on activations
    // with the statistics the network really produces (post-ReLU, normalised, pooled) rather than only Gaussians.

    @Test
    void alexNetForwardAtBatch2MatchesCpu() {
        Random random = random("alexnet");
        List<Pair> owned = new ArrayList<>();
        try {
            Pair x = track(owned, Pair.of(Shape.of(2, 3, 227, 227), gaussian(random, 1.0, 2L * 3 * 227 * 227)));
            x = conv(owned, random, x, 96, 11, new ConvSpec(4, 0, 1));
            x = apply(owned, x, x.onCpu().shape(), (o, i) -> cpu.lrn(o, i, LrnSpec.paper()), (o, i) -> gpu.lrn(o, i, LrnSpec.paper()), "norm1");
            x = pool(owned, x, "pool1");
            x = conv(owned, random, x, 256, 5, new ConvSpec(1, 2, 2));
            x = apply(owned, x, x.onCpu().shape(), (o, i) -> cpu.lrn(o, i, LrnSpec.paper()), (o, i) -> gpu.lrn(o, i, LrnSpec.paper()), "norm2");
            x = pool(owned, x, "pool2");
            x = conv(owned, random, x, 384, 3, new ConvSpec(1, 1, 1));
            x = conv(owned, random, x, 384, 3, new ConvSpec(1, 1, 2));
            x = conv(owned, random, x, 256, 3, new ConvSpec(1, 1, 2));
            x = pool(owned, x, "pool5");
            x = fc(owned, random, x, 4096, true);
            x = fc(owned, random, x, 4096, true);
            x = fc(owned, random, x, 1000, false);
            x = apply(owned, x, x.onCpu().shape(), cpu::softmax, gpu::softmax, "softmax");
        } finally {
            owned.forEach(Pair::close);
        }
    }

    private static Pair track(List<Pair> owned, Pair p) {
        owned.add(p);
        return p;
    }

    /**
     * Runs one op on both backends from the same input, compares, then continues from the CPU's output on both (a
     * copy of it on the GPU), so that each layer is judged on exactly the input the reference saw.
     */
    private static Pair apply(List<Pair> owned, Pair in, Shape outShape, BiConsumer<Tensor, Tensor> onCpu, BiConsumer<Tensor, Tensor> onGpu,
            String what) {
        Pair out = track(owned, Pair.poisoned(outShape));
        onCpu.accept(out.onCpu(), in.onCpu());
        onGpu.accept(out.onGpu(), in.onGpu());
        float[] want = out.onCpu().toArray();
        assertClose("AlexNet " + what, out.onGpu().toArray(), want);
        return track(owned, Pair.of(outShape, want));
    }

    private static Pair conv(List<Pair> owned, Random random, Pair x, int k, int filter, ConvSpec spec) {
        Shape s = x.onCpu().shape();
        int c = s.dim(1);
        Shape wShape = Shape.of(k, c / spec.groups(), filter, filter);
        Pair weight = track(owned, Pair.of(wShape, gaussian(random, 1.0 / Math.sqrt((double) c / spec.groups() * filter * filter), wShape.size())));
        Pair bias = track(owned, Pair.of(Shape.of(k), gaussian(random, 0.1, k)));
        Shape outShape = Shape.of(s.dim(0), k, spec.outSize(s.dim(2), filter), spec.outSize(s.dim(3), filter));
        return apply(owned, x, outShape, (o, i) -> cpu.conv2d(o, i, weight.onCpu(), bias.onCpu(), spec, true),
                (o, i) -> gpu.conv2d(o, i, weight.onGpu(), bias.onGpu(), spec, true), "conv " + wShape);
    }

    private static Pair pool(List<Pair> owned, Pair x, String what) {
        Shape s = x.onCpu().shape();
        PoolSpec spec = PoolSpec.overlapping();
        Shape outShape = Shape.of(s.dim(0), s.dim(1), spec.outSize(s.dim(2)), spec.outSize(s.dim(3)));
        return apply(owned, x, outShape, (o, i) -> cpu.maxPool(o, i, spec), (o, i) -> gpu.maxPool(o, i, spec), what);
    }

    private static Pair fc(List<Pair> owned, Random random, Pair x, int k, boolean relu) {
        Shape s = x.onCpu().shape();
        int c = Math.toIntExact(s.sizeFrom(1));
        Pair weight = track(owned, Pair.of(Shape.of(k, c), gaussian(random, 1.0 / Math.sqrt(c), (long) k * c)));
        Pair bias = track(owned, Pair.of(Shape.of(k), gaussian(random, 0.1, k)));
        return apply(owned, x, Shape.of(s.dim(0), k), (o, i) -> cpu.linear(o, i, weight.onCpu(), bias.onCpu(), relu),
                (o, i) -> gpu.linear(o, i, weight.onGpu(), bias.onGpu(), relu), "fc " + c + " -> " + k);
    }
}
