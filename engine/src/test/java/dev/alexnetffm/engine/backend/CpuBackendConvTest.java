package dev.alexnetffm.engine.backend;

import static dev.alexnetffm.engine.backend.TestTensors.assertClose;
import static dev.alexnetffm.engine.backend.TestTensors.gaussian;
import static dev.alexnetffm.engine.backend.TestTensors.poisoned;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.alexnetffm.engine.tensor.HostTensor;

import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** conv2d against a literal float64 convolution. */
class CpuBackendConvTest {
    private final CpuBackend cpu = new CpuBackend();

    record Case(int n, int c, int h, int w, int k, int r, int s, int stride, int pad, int groups, boolean relu) {
        int p() {
            return (h + 2 * pad - r) / stride + 1;
        }

        int q() {
            return (w + 2 * pad - s) / stride + 1;
        }

        @Override
        public String toString() {
            return "in " + n + "x" + c + "x" + h + "x" + w + ", " + k + " filters " + r + "x" + s + ", stride " + stride + ", pad " + pad
                    + ", groups " + groups + (relu ? ", relu" : "");
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case(1, 3, 227, 227, 96, 11, 11, 4, 0, 1, true), // AlexNet conv1, one image
                new Case(2, 6, 13, 13, 8, 5, 5, 1, 2, 2, true), // conv2's geometry, two towers
                new Case(2, 8, 13, 13, 6, 3, 3, 1, 1, 1, false), // conv3's geometry: sees both towers
                new Case(1, 8, 13, 13, 8, 3, 3, 1, 1, 2, true), // conv4/conv5's geometry
                new Case(2, 4, 9, 7, 6, 3, 3, 1, 1, 2, false), // odd, non-square image
                new Case(3, 5, 11, 10, 4, 1, 1, 2, 0, 1, false), // 1x1, stride 2, last column unused
                new Case(1, 3, 15, 17, 4, 11, 11, 4, 2, 1, false), // 11x11 stride 4 with padding
                new Case(2, 4, 7, 9, 4, 3, 3, 2, 1, 2, true), // stride 2, pad 1, groups 2
                new Case(1, 2, 5, 5, 3, 5, 5, 2, 2, 1, false), // filter as large as the image
                new Case(1, 2, 3, 3, 2, 3, 3, 1, 3, 1, true), // pad >= filter: border outputs see only padding
                new Case(1, 3, 10, 11, 5, 4, 2, 3, 1, 1, false), // non-square filter, stride 3
                new Case(1, 1, 1, 1, 1, 1, 1, 1, 0, 1, false)); // a single multiply
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesFloat64Reference(Case tc) {
        Random random = new Random(tc.hashCode()); // a different stream for every case
        HostTensor in = gaussian(random, 1.0, tc.n, tc.c, tc.h, tc.w);
        HostTensor weight = gaussian(random, 0.1, tc.k, tc.c / tc.groups, tc.r, tc.s);
        HostTensor bias = gaussian(random, 0.5, tc.k);
        HostTensor out = poisoned(tc.n, tc.k, tc.p(), tc.q());

        cpu.conv2d(out, in, weight, bias, new ConvSpec(tc.stride, tc.pad, tc.groups), tc.relu);

        double[][] want = reference(tc, in.data(), weight.data(), bias.data());
        assertClose("conv2d " + tc, out.data(), want[0], want[1], 1e-6);
    }

    @Test
    void fusedReluPropagatesNaN() {
        Case tc = new Case(1, 2, 6, 6, 3, 3, 3, 1, 1, 1, true);
        Random random = new Random(11);
        HostTensor in = gaussian(random, 1.0, 1, 2, 6, 6);
        in.data()[1 * 36 + 2 * 6 + 3] = Float.NaN; // channel 1, row 2, column 3
        HostTensor weight = gaussian(random, 1.0, 3, 2, 3, 3);
        HostTensor bias = gaussian(random, 1.0, 3);
        HostTensor out = poisoned(1, 3, 6, 6);

        cpu.conv2d(out, in, weight, bias, new ConvSpec(1, 1, 1), true);

        float[] o = out.data();
        for (int k = 0; k < 3; k++) {
            for (int p = 0; p < 6; p++) {
                for (int q = 0; q < 6; q++) {
                    boolean sees = Math.abs(p - 2) <= 1 && Math.abs(q - 3) <= 1;
                    float v = o[(k * 6 + p) * 6 + q];
                    assertEquals(sees, Float.isNaN(v), "output " + k + "," + p + "," + q + " = " + v);
                    if (!sees) assertTrue(v >= 0f);
                }
            }
        }
        double[][] want = reference(tc, in.data(), weight.data(), bias.data());
        assertClose("conv2d with a NaN input", o, want[0], want[1], 1e-6);
    }

    /**
     * The definition, term by term in float64: zero padding by explicit bounds checks, groups by index arithmetic.
     * Returns {values, magnitudes}: magnitude is |bias| + sum |weight * in|, what the float32 rounding error
     * scales with.
     */
    static double[][] reference(Case tc, float[] x, float[] w, float[] b) {
        int cPerGroup = tc.c / tc.groups, kPerGroup = tc.k / tc.groups, P = tc.p(), Q = tc.q();
        double[] value = new double[tc.n * tc.k * P * Q], magnitude = new double[value.length];
        for (int n = 0; n < tc.n; n++) {
            for (int k = 0; k < tc.k; k++) {
                int group = k / kPerGroup;
                for (int p = 0; p < P; p++) {
                    for (int q = 0; q < Q; q++) {
                        double sum = b[k], mag = Math.abs(b[k]);
                        for (int cg = 0; cg < cPerGroup; cg++) {
                            int c = group * cPerGroup + cg;
                            for (int r = 0; r < tc.r; r++) {
                                for (int s = 0; s < tc.s; s++) {
                                    int h = p * tc.stride - tc.pad + r, wi = q * tc.stride - tc.pad + s;
                                    boolean inside = h >= 0 && h < tc.h && wi >= 0 && wi < tc.w;
                                    double xv = inside ? x[((n * tc.c + c) * tc.h + h) * tc.w + wi] : 0.0;
                                    double term = (double) w[((k * cPerGroup + cg) * tc.r + r) * tc.s + s] * xv;
                                    sum += term;
                                    mag += Math.abs(term);
                                }
                            }
                        }
                        int i = ((n * tc.k + k) * P + p) * Q + q;
                        value[i] = tc.relu ? Math.max(sum, 0.0) : sum; // Math.max keeps a NaN
                        magnitude[i] = mag;
                    }
                }
            }
        }
        return new double[][] {value, magnitude};
    }
}
