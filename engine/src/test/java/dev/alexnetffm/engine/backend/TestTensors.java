package dev.alexnetffm.engine.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;

import java.util.Arrays;
import java.util.Random;

/** Random inputs, poisoned outputs and the element-by-element comparison with a float64 reference. */
final class TestTensors {
    private TestTensors() {}

    /** Relative L2 error every op must stay under against its float64 reference. */
    static final double MAX_RELATIVE_L2 = 1e-6;

    static HostTensor gaussian(Random random, double scale, int... dims) {
        HostTensor t = HostTensor.zeros(Shape.of(dims));
        float[] a = t.data();
        for (int i = 0; i < a.length; i++) a[i] = (float) (scale * random.nextGaussian());
        return t;
    }

    /** A tensor full of NaN: an output element the op forgets to write stays NaN and fails the comparison. */
    static HostTensor poisoned(int... dims) {
        HostTensor t = HostTensor.zeros(Shape.of(dims));
        Arrays.fill(t.data(), Float.NaN);
        return t;
    }

    /**
     * Checks every element, then the whole tensor. Element i must satisfy |got - want| <= elementTolerance *
     * magnitude[i], where magnitude is what the element's rounding error scales with (the sum of the absolute
     * values of its terms for a dot product, |want| for a pointwise result); a NaN where a number is expected
     * (or the reverse) fails. Then ||got - want|| / ||want|| must be under {@link #MAX_RELATIVE_L2}.
     */
    static void assertClose(String what, float[] got, double[] want, double[] magnitude, double elementTolerance) {
        assertEquals(want.length, got.length, what + ": element count");
        double errSq = 0, wantSq = 0;
        for (int i = 0; i < want.length; i++) {
            if (Double.isNaN(want[i])) {
                if (!Float.isNaN(got[i])) fail(what + ": element " + i + " is " + got[i] + ", expected NaN");
                continue;
            }
            double err = Math.abs(got[i] - want[i]);
            if (!(err <= elementTolerance * magnitude[i])) { // false for NaN: a poisoned element fails here
                fail(what + ": element " + i + " is " + got[i] + ", expected " + want[i] + " (error " + err
                        + ", allowed " + elementTolerance * magnitude[i] + ")");
            }
            errSq += err * err;
            wantSq += want[i] * want[i];
        }
        double relative = wantSq == 0 ? Math.sqrt(errSq) : Math.sqrt(errSq / wantSq);
        if (!(relative < MAX_RELATIVE_L2)) fail(what + ": relative L2 error " + relative + " >= " + MAX_RELATIVE_L2);
    }

    /** Magnitudes for a pointwise result: |want|. */
    static double[] abs(double[] want) {
        double[] m = new double[want.length];
        for (int i = 0; i < m.length; i++) m[i] = Math.abs(want[i]);
        return m;
    }
}
