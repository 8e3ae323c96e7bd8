package dev.alexnetffm.engine.backend.cuda;

import dev.alexnetffm.cuda.CudaDriver;
import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** fill, ReLU and bias add on the GPU against the CPU reference: fresh random data, poisoned outputs, every element. */
@Tag("gpu")
class ElementwiseGpuTest {
    static CudaBackend gpu;
    final CpuBackend cpu = new CpuBackend();
    final Random random = new Random();

    @BeforeAll
    static void open() {
        if (CudaDriver.isAvailable()) gpu = new CudaBackend(0);
    }

    @AfterAll
    static void close() {
        if (gpu != null) gpu.close();
    }

    @BeforeEach
    void requireGpu() {
        assumeTrue(gpu != null, () -> "no usable CUDA driver/GPU: " + CudaDriver.unavailableReason().orElse(""));
    }

    static Stream<Shape> shapes() {
        return Stream.of(Shape.of(1), Shape.of(3), Shape.of(1, 1, 1, 7), Shape.of(1, 96, 55, 55), Shape.of(2, 48, 27, 27),
                Shape.of(5, 13, 11, 9), Shape.of(128, 4096), Shape.of(3, 1000), Shape.of(7, 3, 227, 227));
    }

    float[] randomData(long n) {
        float[] a = new float[Math.toIntExact(n)];
        for (int i = 0; i < a.length; i++) a[i] = (float) random.nextGaussian() * 3;
        return a;
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void fillWritesEveryElement(Shape shape) {
        try (Tensor out = gpu.allocate(shape)) {
            gpu.fill(out, Float.NaN);
            float value = random.nextFloat() - 0.5f;
            gpu.fill(out, value);
            for (float v : out.toArray()) assertEquals(value, v);
        }
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void reluMatchesTheReference(Shape shape) {
        float[] x = randomData(shape.size());
        x[0] = Float.NaN;
        if (x.length > 2) x[1] = -0f;
        try (Tensor in = gpu.fromArray(shape, x); Tensor out = gpu.allocate(shape)) {
            gpu.fill(out, Float.NaN);
            gpu.relu(out, in);
            Tensor expected = cpu.allocate(shape);
            cpu.relu(expected, cpu.fromArray(shape, x));
            assertBitwiseEqual(expected.toArray(), out.toArray());

            gpu.relu(in, in); // in place
            assertBitwiseEqual(expected.toArray(), in.toArray());
        }
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void biasAddMatchesTheReference(Shape shape) {
        if (shape.rank() < 2) return;
        float[] x = randomData(shape.size());
        float[] b = randomData(shape.dim(1));
        try (Tensor in = gpu.fromArray(shape, x); Tensor bias = gpu.fromArray(Shape.of(shape.dim(1)), b); Tensor out = gpu.allocate(shape)) {
            gpu.fill(out, Float.NaN);
            gpu.biasAdd(out, in, bias);
            Tensor expected = cpu.allocate(shape);
            cpu.biasAdd(expected, cpu.fromArray(shape, x), cpu.fromArray(Shape.of(shape.dim(1)), b));
            assertBitwiseEqual(expected.toArray(), out.toArray()); // one float add: exact
        }
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void tanhMatchesTheReference(Shape shape) {
        float[] x = randomData(shape.size());
        float[] dy = randomData(shape.size());
        try (Tensor in = gpu.fromArray(shape, x); Tensor out = gpu.allocate(shape); Tensor dOut = gpu.fromArray(shape, dy);
             Tensor dIn = gpu.allocate(shape)) {
            gpu.fill(out, Float.NaN);
            gpu.tanh(out, in);
            Tensor expected = cpu.allocate(shape);
            cpu.tanh(expected, cpu.fromArray(shape, x));
            float[] want = expected.toArray(), got = out.toArray();
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], got[i], 4 * Math.ulp(Math.max(Math.abs(want[i]), Float.MIN_NORMAL)), "tanh element " + i);
            }
            // the gradient is bitwise equal given the same forward output: feed the CPU the GPU's output
            gpu.fill(dIn, Float.NaN);
            gpu.tanhBackward(dIn, dOut, out);
            Tensor cpuGrad = cpu.allocate(shape);
            cpu.tanhBackward(cpuGrad, cpu.fromArray(shape, dy), cpu.fromArray(shape, got));
            assertBitwiseEqual(cpuGrad.toArray(), dIn.toArray());
        }
    }

    /** Uploads into one tensor, with kernels reading it in between and no waiting: each kernel sees its own upload. */
    @org.junit.jupiter.api.Test
    void uploadsAreOrderedWithQueuedWork() {
        Shape shape = Shape.of(4, 96, 55, 55);
        float[][] inputs = new float[5][];
        Tensor[] outs = new Tensor[5];
        try (Tensor in = gpu.allocate(shape)) {
            for (int i = 0; i < 5; i++) {
                inputs[i] = randomData(shape.size());
                outs[i] = gpu.allocate(shape);
                gpu.copyFromHost(in, inputs[i]);
                gpu.relu(outs[i], in);
                java.util.Arrays.fill(inputs[i], 0, 10, 0f); // the array may be reused as soon as copyFromHost returns
            }
            for (int i = 0; i < 5; i++) {
                float[] got = outs[i].toArray();
                for (int j = 10; j < got.length; j++) assertEquals(Math.max(inputs[i][j], 0f), got[j], "upload " + i + ", element " + j);
                outs[i].close();
            }
        }
    }

    @org.junit.jupiter.api.Test
    void fromSegmentCopiesNativeMemory() {
        float[] x = randomData(1000);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined();
             Tensor t = gpu.fromSegment(Shape.of(10, 100), arena.allocateFrom(java.lang.foreign.ValueLayout.JAVA_FLOAT, x))) {
            assertBitwiseEqual(x, t.toArray());
        }
    }

    static void assertBitwiseEqual(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(actual[i])) {
                fail("element " + i + ": expected " + expected[i] + ", got " + actual[i]);
            }
        }
    }
}
