package dev.alexnetffm.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.alexnetffm.engine.backend.ConvSpec;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * 3x3 stride-1 convolutions by Winograd's F(2x2, 3x3) ({@link CudaBackend#setWinograd}) against the CPU reference's
 * direct sums, as {@link CudaForwardOpsTest} and {@link CudaBackwardOpsTest} hold the implicit GEMM: fresh random data,
 * poisoned outputs, every element, relative L2 below 1e-5. The forward pass with bias (and ReLU), the data gradient
 * plain and through the ReLU of the layer below, the weight and bias gradients; AlexNet's conv3-5 at batch 2 and 1, odd image sizes (a last tile
 * half outside), padding 0-2, groups 1-3, channel counts past the GEMM's 64-row and 128-column tiles.
 */
@Tag("gpu")
class WinogradGpuTest extends GpuAgainstCpu {

    record Case(String name, int n, int c, int h, int w, int k, int pad, int groups, boolean relu) {
        int p() {
            return h + 2 * pad - 2;
        }

        int q() {
            return w + 2 * pad - 2;
        }

        @Override
        public String toString() {
            return name + ": in " + n + "x" + c + "x" + h + "x" + w + ", " + k + " filters 3x3, pad " + pad + ", groups " + groups
                    + (relu ? ", relu" : "");
        }
    }

    static Stream<Case> cases() {
        List<Case> cases = new ArrayList<>(List.of(
                new Case("conv3", 2, 256, 13, 13, 384, 1, 1, true),
                new Case("conv4", 2, 384, 13, 13, 384, 1, 2, true),
                new Case("conv5", 2, 384, 13, 13, 256, 1, 2, true),
                new Case("conv3, batch 1", 1, 256, 13, 13, 384, 1, 1, false),
                new Case("one output pixel", 1, 3, 1, 1, 2, 1, 1, false),
                new Case("pad 0, even output", 1, 5, 6, 8, 7, 0, 1, true),
                new Case("pad 2: the data gradient unpadded", 2, 4, 3, 5, 6, 2, 2, false),
                new Case("65 filters, 129 tiles", 3, 4, 12, 21, 65, 1, 1, false),
                new Case("groups 3", 2, 9, 7, 9, 12, 1, 3, true),
                new Case("1058 tiles: the weight gradient's sum over them in 5 splits", 2, 4, 45, 45, 6, 1, 1, false),
                new Case("1058 tiles, 2 groups", 2, 4, 45, 46, 6, 1, 2, false)));
        Random shapes = new Random(20261128); // fixed, so case names are stable; data is fresh every run
        for (int i = 0; i < 10; i++) {
            int groups = 1 + shapes.nextInt(2), pad = shapes.nextInt(3);
            int h = Math.max(3 - 2 * pad, 1 + shapes.nextInt(15)), w = Math.max(3 - 2 * pad, 1 + shapes.nextInt(15));
            cases.add(new Case("random " + i, 1 + shapes.nextInt(3), groups * (1 + shapes.nextInt(i % 3 == 0 ? 40 : 6)), h, w,
                    groups * (1 + shapes.nextInt(i % 2 == 0 ? 90 : 10)), pad, groups, shapes.nextBoolean()));
        }
        return cases.stream();
    }

    @AfterEach
    void backToTheGemm() {
        if (gpu != null) gpu.setWinograd(false);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void forwardMatchesCpu(Case tc) {
        Random random = random(tc);
        ConvSpec spec = new ConvSpec(1, tc.pad, tc.groups);
        Shape inShape = Shape.of(tc.n, tc.c, tc.h, tc.w), wShape = Shape.of(tc.k, tc.c / tc.groups, 3, 3);
        Pair in = Pair.of(inShape, gaussian(random, 1.0, inShape.size()));
        Pair weight = Pair.of(wShape, gaussian(random, 1.0 / Math.sqrt(tc.c / tc.groups * 9.0), wShape.size()));
        Pair bias = Pair.of(Shape.of(tc.k), gaussian(random, 0.5, tc.k));
        Pair out = Pair.poisoned(Shape.of(tc.n, tc.k, tc.p(), tc.q()));
        try {
            gpu.setWinograd(true);
            cpu.conv2d(out.onCpu(), in.onCpu(), weight.onCpu(), bias.onCpu(), spec, tc.relu);
            gpu.conv2d(out.onGpu(), in.onGpu(), weight.onGpu(), bias.onGpu(), spec, tc.relu);
            out.assertClose("Winograd conv2d " + tc);
        } finally {
            closeAll(in, weight, bias, out);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void dataGradientMatchesCpu(Case tc) {
        Random random = random(tc);
        ConvSpec spec = new ConvSpec(1, tc.pad, tc.groups);
        Shape inShape = Shape.of(tc.n, tc.c, tc.h, tc.w);
        Pair dOut = Pair.of(Shape.of(tc.n, tc.k, tc.p(), tc.q()), gaussian(random, 1.0, (long) tc.n * tc.k * tc.p() * tc.q()));
        Pair weight = Pair.of(Shape.of(tc.k, tc.c / tc.groups, 3, 3), gaussian(random, 0.2, (long) tc.k * tc.c / tc.groups * 9));
        float[] y = gaussian(random, 1.0, inShape.size());
        for (int i = 0; i < y.length; i += 3) y[i] = Math.max(0, y[i]);  // ReLU outputs: zeros among them
        y[0] = Float.NaN;                                                 // a diverged forward pass shows in the gradient
        Pair reluOut = Pair.of(inShape, y);
        Pair dIn = Pair.poisoned(inShape), dInRelu = Pair.poisoned(inShape);
        try {
            gpu.setWinograd(true);
            cpu.conv2dBackwardData(dIn.onCpu(), dOut.onCpu(), weight.onCpu(), spec);
            gpu.conv2dBackwardData(dIn.onGpu(), dOut.onGpu(), weight.onGpu(), spec);
            dIn.assertClose("Winograd conv2dBackwardData " + tc);
            cpu.conv2dBackwardData(dInRelu.onCpu(), dOut.onCpu(), weight.onCpu(), spec, reluOut.onCpu());
            gpu.conv2dBackwardData(dInRelu.onGpu(), dOut.onGpu(), weight.onGpu(), spec, reluOut.onGpu());
            dInRelu.assertClose("Winograd conv2dBackwardData through a ReLU " + tc);
        } finally {
            closeAll(dOut, weight, reluOut, dIn, dInRelu);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void weightGradientMatchesCpu(Case tc) {
        Random random = random(tc);
        ConvSpec spec = new ConvSpec(1, tc.pad, tc.groups);
        Shape inShape = Shape.of(tc.n, tc.c, tc.h, tc.w), wShape = Shape.of(tc.k, tc.c / tc.groups, 3, 3);
        Pair in = Pair.of(inShape, gaussian(random, 1.0, inShape.size()));
        Pair dOut = Pair.of(Shape.of(tc.n, tc.k, tc.p(), tc.q()), gaussian(random, 1.0, (long) tc.n * tc.k * tc.p() * tc.q()));
        Pair dWeight = Pair.poisoned(wShape), dBias = Pair.poisoned(Shape.of(tc.k));
        try {
            gpu.setWinograd(true);
            cpu.conv2dBackwardWeight(dWeight.onCpu(), dBias.onCpu(), dOut.onCpu(), in.onCpu(), spec);
            gpu.conv2dBackwardWeight(dWeight.onGpu(), dBias.onGpu(), dOut.onGpu(), in.onGpu(), spec);
            dWeight.assertClose("Winograd conv2dBackwardWeight (weight) " + tc);
            dBias.assertClose("Winograd conv2dBackwardWeight (bias) " + tc);
        } finally {
            closeAll(in, dOut, dWeight, dBias);
        }
    }

    /**
     * A tower of the two-GPU split computes conv3 with half the filters over all channels: each output is summed in
     * the same order, so its half of the output is the whole layer's, bit for bit. And the switch is what decides:
     * the implicit GEMM's sums round differently.
     */
    @Test
    void halfTheFiltersGiveTheSameBitsAndTheGemmDiffers() {
        Random random = random("winograd towers");
        ConvSpec spec = new ConvSpec(1, 1, 1);
        int n = 2, c = 64, side = 13, k = 96;
        float[] x = gaussian(random, 1.0, (long) n * c * side * side), w = gaussian(random, 0.05, (long) k * c * 9);
        float[] b = gaussian(random, 0.5, k);
        Shape outShape = Shape.of(n, k, side, side), halfShape = Shape.of(n, k / 2, side, side);
        try (Tensor in = gpu.fromArray(Shape.of(n, c, side, side), x); Tensor weight = gpu.fromArray(Shape.of(k, c, 3, 3), w);
             Tensor bias = gpu.fromArray(Shape.of(k), b); Tensor whole = gpu.allocate(outShape); Tensor gemm = gpu.allocate(outShape);
             Tensor halfWeight = gpu.fromArray(Shape.of(k / 2, c, 3, 3), Arrays.copyOfRange(w, k / 2 * c * 9, w.length));
             Tensor halfBias = gpu.fromArray(Shape.of(k / 2), Arrays.copyOfRange(b, k / 2, k)); Tensor half = gpu.allocate(halfShape)) {
            gpu.conv2d(gemm, in, weight, bias, spec, false);
            gpu.setWinograd(true);
            gpu.conv2d(whole, in, weight, bias, spec, false);
            gpu.conv2d(half, in, halfWeight, halfBias, spec, false);
            float[] all = whole.toArray(), second = half.toArray();
            int plane = k / 2 * side * side;
            for (int image = 0; image < n; image++) {
                float[] want = Arrays.copyOfRange(all, image * k * side * side + plane, (image + 1) * k * side * side);
                assertSame("image " + image + "'s second half of the filters", Arrays.copyOfRange(second, image * plane, (image + 1) * plane), want);
            }
            assertFalse(Arrays.equals(all, gemm.toArray()), "Winograd on, yet the implicit GEMM's bits");
            assertClose("Winograd against the implicit GEMM", all, gemm.toArray());
        }
    }
}
