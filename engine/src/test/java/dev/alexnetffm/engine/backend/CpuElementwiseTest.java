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

    @Test
    void tanhAndItsGradient() {
        float[] x = {-3f, -0.5f, 0f, 0.25f, 2f, Float.NaN};
        HostTensor in = cpu.fromArray(Shape.of(6), x), out = cpu.allocate(Shape.of(6));
        cpu.tanh(out, in);
        for (int i = 0; i < 5; i++) assertEquals((float) Math.tanh(x[i]), out.data()[i]);
        assertTrue(Float.isNaN(out.data()[5]));
        // the gradient from the output, against a central difference of tanh in double
        HostTensor dOut = cpu.fromArray(Shape.of(6), new float[] {1, 2, -1, 0.5f, 3, 1});
        HostTensor dIn = cpu.allocate(Shape.of(6));
        cpu.tanhBackward(dIn, dOut, out);
        for (int i = 0; i < 5; i++) {
            double h = 1e-6, numeric = (Math.tanh(x[i] + h) - Math.tanh(x[i] - h)) / (2 * h) * dOut.data()[i];
            assertEquals(numeric, dIn.data()[i], 1e-6 * Math.max(1, Math.abs(numeric)), "element " + i);
            float y = out.data()[i];
            assertEquals(dOut.data()[i] * (1f - y * y), dIn.data()[i], "the documented expression, bit for bit");
        }
        cpu.tanh(in, in); // in place
        assertArrayEquals(out.data(), in.data());
    }
}
