package dev.alexnetffm.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.tensor.DeviceTensor;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;

import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The tensor plumbing ops, add and copyChannels (elementwise.cu add_forward, copy_channels), against the CPU reference
 * ({@link CpuBackend}, the specification), bit for bit: add is one rounded float add, copyChannels a copy. Fresh random
 * data per run (the seed is in every failure message), outputs poisoned before the kernel runs, every element compared.
 * Sizes cover 1, 3, sizes that are and are not multiples of 4 (the kernels' float4 paths), and more than a grid's worth
 * of work; copies cover rank 2 and 4, offsets at both ends, batch 1, count 0, and dst channels outside the copied range
 * keeping their prior contents. Skipped when there is no CUDA driver or GPU.
 */
@Tag("gpu")
class CudaTensorOpsGpuTest extends GpuAgainstCpu {
    // ---------------------------------------------------------------------------------------------------------------
    // add

    @ParameterizedTest(name = "{0} elements")
    @ValueSource(ints = {1, 3, 4, 5, 1023, 4099, 2 * 48 * 27 * 27, 1000003})
    void addMatchesCpuBitForBit(int n) {
        Random random = random("add " + n);
        Shape shape = Shape.of(n);
        float[] a = gaussian(random, 3.0, n), b = gaussian(random, 3.0, n);
        a[random.nextInt(n)] = Float.NaN;
        b[random.nextInt(n)] = Float.POSITIVE_INFINITY;
        if (n > 1) {
            a[n - 1] = -0.0f; // -0 + -0 = -0, and a cancellation to +0
            b[n - 1] = -0.0f;
            a[0] = 1.5f;
            b[0] = -1.5f;
        }
        Pair x = Pair.of(shape, a), y = Pair.of(shape, b), out = Pair.poisoned(shape);
        try {
            cpu.add(out.onCpu(), x.onCpu(), y.onCpu());
            gpu.add(out.onGpu(), x.onGpu(), y.onGpu());
            out.assertSame("add of " + n);
        } finally {
            closeAll(x, y, out);
        }
    }

    /** out may be a or b: each element is read before it is written. */
    @ParameterizedTest(name = "{0} elements")
    @ValueSource(ints = {1, 3, 4, 4099, 1000003})
    void addInPlace(int n) {
        Random random = random("add in place " + n);
        Shape shape = Shape.of(n);
        float[] a = gaussian(random, 1.0, n), b = gaussian(random, 1.0, n);
        Tensor want = cpu.allocate(shape);
        cpu.add(want, cpu.fromArray(shape, a), cpu.fromArray(shape, b));
        for (boolean intoA : new boolean[] {true, false}) {
            try (Tensor x = gpu.fromArray(shape, a); Tensor y = gpu.fromArray(shape, b)) {
                Tensor out = intoA ? x : y;
                gpu.add(out, x, y);
                assertSame("add of " + n + (intoA ? " into a" : " into b"), out.toArray(), want.toArray());
            }
        }
    }

    /** A 4-D shape, as a residual or tower join adds activations. */
    @Test
    void addOnActivations() {
        Random random = random("add 4-D");
        Shape shape = Shape.of(3, 13, 11, 9);
        Pair x = Pair.of(shape, gaussian(random, 1.0, shape.size())), y = Pair.of(shape, gaussian(random, 1.0, shape.size()));
        Pair out = Pair.poisoned(shape);
        try {
            cpu.add(out.onCpu(), x.onCpu(), y.onCpu());
            gpu.add(out.onGpu(), x.onGpu(), y.onGpu());
            out.assertSame("add of " + shape);
        } finally {
            closeAll(x, y, out);
        }
    }

    @Test
    void addRejectsMismatchedShapes() {
        try (Tensor a = gpu.allocate(Shape.of(2, 3)); Tensor b = gpu.allocate(Shape.of(3, 2)); Tensor out = gpu.allocate(Shape.of(2, 3))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> gpu.add(out, a, b));
            assertTrue(e.getMessage().startsWith("add:"), e.getMessage());
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // copyChannels

    /** dst and src dims differ only in dimension 1 (channels). */
    record CopyCase(String name, int[] dstDims, int srcChannels, int dstOffset, int srcOffset, int count) {
        Shape dst() {
            return Shape.of(dstDims);
        }

        Shape src() {
            int[] dims = dstDims.clone();
            dims[1] = srcChannels;
            return Shape.of(dims);
        }

        @Override
        public String toString() {
            return name + ": " + count + " channels of " + src() + " from " + srcOffset + " into " + dst() + " at " + dstOffset;
        }
    }

    static Stream<CopyCase> copyCases() {
        return Stream.of(
                // the two-tower split and join of AlexNet's activations, both halves
                new CopyCase("join, first half", new int[] {2, 96, 27, 27}, 48, 0, 0, 48),
                new CopyCase("join, second half", new int[] {2, 96, 27, 27}, 48, 48, 0, 48),
                new CopyCase("split, second half", new int[] {2, 48, 27, 27}, 96, 0, 48, 48),
                new CopyCase("split, batch 1", new int[] {1, 128, 13, 13}, 256, 0, 128, 128),
                new CopyCase("FC halves (float4 path)", new int[] {128, 4096}, 2048, 2048, 0, 2048),
                new CopyCase("FC, odd", new int[] {3, 4097}, 2051, 2048, 1, 2049),
                new CopyCase("rank 2, batch 1, one channel at the far end", new int[] {1, 7}, 5, 6, 4, 1),
                new CopyCase("rank 4, odd, from the far end", new int[] {5, 7, 3, 5}, 9, 0, 4, 5),
                new CopyCase("rank 4, both offsets in the middle", new int[] {3, 11, 5, 3}, 13, 3, 5, 7),
                new CopyCase("rank 3", new int[] {2, 6, 7}, 4, 2, 0, 4),
                new CopyCase("the whole tensor", new int[] {2, 3, 4, 4}, 3, 0, 0, 3),
                new CopyCase("count 0 at the far ends", new int[] {2, 5, 3, 3}, 4, 5, 4, 0),
                new CopyCase("count 0 at the start", new int[] {1, 5}, 4, 0, 0, 0),
                new CopyCase("large, odd inner", new int[] {4, 96, 55, 55}, 48, 48, 0, 48));
    }

    /** dst poisoned with NaN: every copied element must be written, every other one must stay NaN. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("copyCases")
    void copyChannelsMatchesCpuBitForBit(CopyCase tc) {
        Random random = random(tc);
        Pair src = Pair.of(tc.src(), gaussian(random, 1.0, tc.src().size()));
        Pair dst = Pair.poisoned(tc.dst());
        try {
            cpu.copyChannels(dst.onCpu(), tc.dstOffset(), src.onCpu(), tc.srcOffset(), tc.count());
            gpu.copyChannels(dst.onGpu(), tc.dstOffset(), src.onGpu(), tc.srcOffset(), tc.count());
            dst.assertSame("copyChannels " + tc);
            // assertSame lets any NaN stand for another; the copied range holds src's (finite) values, so a NaN there
            // is a missed element: count them against the reference.
            float[] got = dst.onGpu().toArray(), want = dst.onCpu().toArray();
            assertEquals(countNaN(want), countNaN(got), "NaN left in the copied range of " + tc + seed());
        } finally {
            closeAll(src, dst);
        }
    }

    /** dst holds random data first: the channels outside the copied range keep it, bit for bit. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("copyCases")
    void copyChannelsKeepsTheOtherChannels(CopyCase tc) {
        Random random = random("keep " + tc);
        float[] prior = gaussian(random, 1.0, tc.dst().size());
        prior[0] = Float.NaN; // a NaN in dst's first element: kept (or overwritten) like any other value
        Pair src = Pair.of(tc.src(), gaussian(random, 1.0, tc.src().size()));
        Pair dst = Pair.of(tc.dst(), prior);
        try {
            gpu.copyChannels(dst.onGpu(), tc.dstOffset(), src.onGpu(), tc.srcOffset(), tc.count());
            cpu.copyChannels(dst.onCpu(), tc.dstOffset(), src.onCpu(), tc.srcOffset(), tc.count());
            float[] got = dst.onGpu().toArray(), want = dst.onCpu().toArray(), from = src.onCpu().toArray();
            assertSame("copyChannels over data " + tc, got, want);
            // and independently of the reference: element by element, raw bits
            Shape d = tc.dst();
            int images = d.dim(0), channels = d.dim(1);
            int inner = Math.toIntExact(d.sizeFrom(2));
            for (int n = 0; n < images; n++) {
                for (int c = 0; c < channels; c++) {
                    boolean copied = c >= tc.dstOffset() && c < tc.dstOffset() + tc.count();
                    for (int i = 0; i < inner; i++) {
                        int at = (n * channels + c) * inner + i;
                        float expected = copied ? from[(n * tc.srcChannels() + tc.srcOffset() + c - tc.dstOffset()) * inner + i] : prior[at];
                        if (Float.floatToRawIntBits(got[at]) != Float.floatToRawIntBits(expected)) {
                            throw new AssertionError("copyChannels " + tc + ": image " + n + ", channel " + c + ", element " + i + " is "
                                    + got[at] + ", expected " + expected + (copied ? " (copied)" : " (untouched)") + seed());
                        }
                    }
                }
            }
        } finally {
            closeAll(src, dst);
        }
    }

    /** Splitting a tensor into two halves and joining them back gives the original bits. */
    @Test
    void splitThenJoinRoundTrips() {
        Random random = random("round trip");
        Shape whole = Shape.of(3, 96, 27, 27), half = Shape.of(3, 48, 27, 27);
        float[] x = gaussian(random, 1.0, whole.size());
        try (Tensor in = gpu.fromArray(whole, x); Tensor lo = gpu.allocate(half); Tensor hi = gpu.allocate(half);
             Tensor out = gpu.allocate(whole)) {
            gpu.fill(lo, Float.NaN);
            gpu.fill(hi, Float.NaN);
            gpu.fill(out, Float.NaN);
            gpu.copyChannels(lo, 0, in, 0, 48);
            gpu.copyChannels(hi, 0, in, 48, 48);
            gpu.copyChannels(out, 48, hi, 0, 48);
            gpu.copyChannels(out, 0, lo, 0, 48);
            float[] got = out.toArray();
            for (int i = 0; i < x.length; i++) {
                if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(x[i])) {
                    throw new AssertionError("element " + i + " is " + got[i] + ", expected " + x[i] + seed());
                }
            }
        }
    }

    @Test
    void copyChannelsRejectsBadShapesAndOverlap() {
        try (Tensor a = gpu.allocate(Shape.of(2, 4, 3, 3)); Tensor b = gpu.allocate(Shape.of(2, 6, 3, 3));
             Tensor otherN = gpu.allocate(Shape.of(3, 6, 3, 3)); Tensor otherTrailing = gpu.allocate(Shape.of(2, 6, 3, 2))) {
            rejects(() -> gpu.copyChannels(a, 0, a, 0, 1));             // dst is src
            rejects(() -> gpu.copyChannels(a, 0, otherN, 0, 1));        // batch
            rejects(() -> gpu.copyChannels(a, 0, otherTrailing, 0, 1)); // trailing dimensions
            rejects(() -> gpu.copyChannels(a, 1, b, 0, 4));             // past dst's channels
            rejects(() -> gpu.copyChannels(a, 0, b, 3, 4));             // past src's channels
            rejects(() -> gpu.copyChannels(a, -1, b, 0, 1));
            rejects(() -> gpu.copyChannels(a, 0, b, 0, -1));
            // a second tensor over the same device memory: the kernel would read what it writes
            DeviceTensor d = (DeviceTensor) b;
            Tensor alias = new DeviceTensor(Shape.of(2, 3, 3, 3), d.buffer(), d.stream()); // not closed: b owns the buffer
            rejects(() -> gpu.copyChannels(alias, 0, b, 0, 3));
        }
    }

    private static void rejects(Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().startsWith("copyChannels:"), e.getMessage());
    }

    private static int countNaN(float[] a) {
        int count = 0;
        for (float v : a) if (Float.isNaN(v)) count++;
        return count;
    }
}
