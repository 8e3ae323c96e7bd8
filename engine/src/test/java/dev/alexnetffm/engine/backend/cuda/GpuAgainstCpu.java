package dev.alexnetffm.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.alexnetffm.cuda.CudaDriver;
import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;

import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * What the GPU op tests share: one CUDA backend for the class (absent without a GPU, and then every test is
 * reported as skipped), the CPU reference, fresh random data per case from a printed run seed, NaN-poisoned outputs,
 * and the two comparisons (within float32 rounding, or bit for bit).
 */
abstract class GpuAgainstCpu {
    /** Relative L2 error the GPU may have against the CPU reference (DESIGN.md, Numerics). */
    protected static final double MAX_RELATIVE_L2 = 1e-5;
    /** Per element: |gpu - cpu| <= ELEMENT_TOLERANCE * (|cpu| + rms(cpu)). */
    protected static final double ELEMENT_TOLERANCE = 1e-4;

    protected static final long RUN_SEED = System.nanoTime();
    protected static CudaBackend gpu;
    protected static final CpuBackend cpu = new CpuBackend();

    @BeforeAll
    static void openGpu() {
        if (CudaDriver.isAvailable()) gpu = new CudaBackend(0);
    }

    /** Per test, so that each one is reported as skipped where there is no GPU. */
    @BeforeEach
    void requireGpu() {
        assumeTrue(gpu != null, () -> "no usable CUDA GPU: " + CudaDriver.unavailableReason().orElse("?"));
    }

    @AfterAll
    static void closeGpu() {
        if (gpu != null) gpu.close();
    }

    /** A fresh random stream per case, reproducible from the run seed and the case. */
    protected static Random random(Object testCase) {
        return new Random(RUN_SEED * 31 + testCase.toString().hashCode());
    }

    protected static String seed() {
        return " (run seed " + RUN_SEED + ")";
    }

    protected static float[] gaussian(Random random, double scale, long n) {
        float[] a = new float[Math.toIntExact(n)];
        for (int i = 0; i < a.length; i++) a[i] = (float) (scale * random.nextGaussian());
        return a;
    }

    /** The same data on both backends. */
    protected record Pair(Tensor onCpu, Tensor onGpu) {
        static Pair of(Shape shape, float[] data) {
            return new Pair(cpu.fromArray(shape, data), gpu.fromArray(shape, data));
        }

        /** An output on each backend, full of NaN, so that an element the op does not write fails the comparison. */
        static Pair poisoned(Shape shape) {
            Tensor c = cpu.allocate(shape), g = gpu.allocate(shape);
            cpu.fill(c, Float.NaN);
            gpu.fill(g, Float.NaN);
            return new Pair(c, g);
        }

        void close() {
            onGpu.close();
        }

        void assertClose(String what) {
            GpuAgainstCpu.assertClose(what, onGpu.toArray(), onCpu.toArray());
        }

        void assertSame(String what) {
            GpuAgainstCpu.assertSame(what, onGpu.toArray(), onCpu.toArray());
        }
    }

    protected static void closeAll(Pair... pairs) {
        for (Pair p : pairs) p.close();
    }

    /**
     * Every element: NaN exactly where the reference has NaN, else within ELEMENT_TOLERANCE of (|want| + rms(want));
     * then the relative L2 error over the finite elements.
     */
    protected static void assertClose(String what, float[] got, float[] want) {
        assertEquals(want.length, got.length, what + ": element count");
        double sumSq = 0;
        int finite = 0;
        for (float v : want) {
            if (Float.isFinite(v)) {
                sumSq += (double) v * v;
                finite++;
            }
        }
        double rms = finite == 0 ? 0 : Math.sqrt(sumSq / finite);
        double errSq = 0;
        for (int i = 0; i < want.length; i++) {
            if (!Float.isFinite(want[i])) {
                if (Float.compare(got[i], want[i]) != 0) fail(what + ": element " + i + " is " + got[i] + ", expected " + want[i] + seed());
                continue;
            }
            double err = Math.abs((double) got[i] - want[i]);
            double allowed = ELEMENT_TOLERANCE * (Math.abs(want[i]) + rms);
            if (!(err <= allowed)) { // false for NaN: a poisoned element fails here
                fail(what + ": element " + i + " is " + got[i] + ", expected " + want[i] + " (error " + err + ", allowed " + allowed + ")" + seed());
            }
            errSq += err * err;
        }
        double relative = sumSq == 0 ? Math.sqrt(errSq) : Math.sqrt(errSq / sumSq);
        if (!(relative < MAX_RELATIVE_L2)) fail(what + ": relative L2 error " + relative + " >= " + MAX_RELATIVE_L2 + seed());
    }

    /** Bit-for-bit equality; any NaN matches any NaN. */
    protected static void assertSame(String what, float[] got, float[] want) {
        assertEquals(want.length, got.length, what + ": element count");
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToIntBits(got[i]) != Float.floatToIntBits(want[i]) && !(Float.isNaN(got[i]) && Float.isNaN(want[i]))) {
                fail(what + ": element " + i + " is " + got[i] + " (0x" + Integer.toHexString(Float.floatToRawIntBits(got[i])) + "), expected "
                        + want[i] + " (0x" + Integer.toHexString(Float.floatToRawIntBits(want[i])) + ")" + seed());
            }
        }
    }
}
