package dev.alexnetffm.engine.backend;

import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class CpuElementwiseTest {
    final CpuBackend cpu = new CpuBackend();

    @Test
    void reluKeepsPositivesZeroesNegativesAndPropagatesNaN() {
        HostTensor in = cpu.fromArray(Shape.of(5), new float[] {1.5f, -2f, 0f, Float.NaN, Float.NEGATIVE_INFINITY});
        HostTensor out = cpu.allocate(Shape.of(5));
        cpu.relu(out, in);
        assertArrayEquals(new float[] {1.5f, 0f, 0f, Float.NaN, 0f}, out.data());
    }

    @Test
    void biasAddIsPerChannel() {
        // (N=2, C=3, HW=2)
        float[] x = new float[12];
        HostTensor in = cpu.fromArray(Shape.of(2, 3, 1, 2), x);
        HostTensor bias = cpu.fromArray(Shape.of(3), new float[] {10, 20, 30});
        HostTensor out = cpu.allocate(in.shape());
        cpu.biasAdd(out, in, bias);
        assertArrayEquals(new float[] {10, 10, 20, 20, 30, 30, 10, 10, 20, 20, 30, 30}, out.data());
        // (N, K) as a fully connected layer's output
        HostTensor fc = cpu.fromArray(Shape.of(2, 3), new float[] {1, 2, 3, 4, 5, 6});
        cpu.biasAdd(fc, fc, bias);
        assertArrayEquals(new float[] {11, 22, 33, 14, 25, 36}, fc.data());
    }

    @Test
    void shapeMismatchesNameTheOp() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> cpu.biasAdd(cpu.allocate(Shape.of(2, 3)), cpu.allocate(Shape.of(2, 3)), cpu.allocate(Shape.of(4))));
        assertTrue(e.getMessage().startsWith("biasAdd: bias must be (3)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> cpu.relu(cpu.allocate(Shape.of(2)), cpu.allocate(Shape.of(3))));
        assertTrue(e.getMessage().startsWith("relu:"), e.getMessage());
    }

    @Test
    void fillSetsEveryElement() {
        HostTensor t = cpu.allocate(Shape.of(3, 3));
        cpu.fill(t, 2.5f);
        for (float v : t.data()) assertEquals(2.5f, v);
    }
}
