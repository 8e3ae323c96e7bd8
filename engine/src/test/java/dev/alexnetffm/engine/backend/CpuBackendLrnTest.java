package dev.alexnetffm.engine.backend;

import static dev.alexnetffm.engine.backend.TestTensors.abs;
import static dev.alexnetffm.engine.backend.TestTensors.assertClose;
import static dev.alexnetffm.engine.backend.TestTensors.gaussian;
import static dev.alexnetffm.engine.backend.TestTensors.poisoned;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Local response normalisation against a literal float64 version, and by hand. */
class CpuBackendLrnTest {
    private final CpuBackend cpu = new CpuBackend();

    record Case(int n, int c, int h, int w, LrnSpec spec, double scale) {
        @Override
        public String toString() {
            return "in " + n + "x" + c + "x" + h + "x" + w + " (scale " + scale + "), " + spec;
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case(2, 16, 7, 5, LrnSpec.paper(), 3.0), // the paper's, two towers
                new Case(1, 96, 11, 11, LrnSpec.paper(), 10.0), // norm1's channels (alpha matters at this scale)
                new Case(2, 12, 5, 7, LrnSpec.pytorch(5, 1e-4f, 0.75f, 2f), 30.0), // PyTorch's, across all channels
                new Case(1, 10, 3, 5, LrnSpec.pytorch(4, 0.5f, 0.75f, 1f), 1.0), // even size: leans one channel back
                new Case(2, 8, 5, 3, new LrnSpec(2, 1f, 0.5f, 1f, 2, true), 1.0), // even size, two groups
                new Case(1, 12, 4, 4, new LrnSpec(3, 0.3f, 1f, 2f, 2, false), 2.0), // paper convention, size 3
                new Case(3, 6, 3, 3, new LrnSpec(7, 0.2f, 0.75f, 1f, 2, false), 1.0), // window wider than a group
                new Case(1, 5, 9, 1, new LrnSpec(1, 2f, 0.75f, 2f, 1, false), 1.0), // size 1: each channel alone
                new Case(1, 4, 2, 2, new LrnSpec(5, 1e-4f, 0f, 2f, 1, false), 1.0)); // beta 0: identity
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesFloat64Reference(Case tc) {
        Random random = new Random(tc.hashCode());
        HostTensor in = gaussian(random, tc.scale, tc.n, tc.c, tc.h, tc.w);
        HostTensor out = poisoned(tc.n, tc.c, tc.h, tc.w);

        cpu.lrn(out, in, tc.spec);

        double[] want = reference(in.data(), tc.n, tc.c, tc.h * tc.w, tc.spec);
        assertClose("lrn " + tc, out.data(), want, abs(want), 1e-6);
    }

    /**
     * PyTorch's convention on one pixel with channels a = (1, 2, 3), k = 1, beta = 1:
     * <pre>
     * size 2, alpha 2 (alpha' = alpha/size = 1), window c-1 .. c (even: one channel before, none after):
     *   c0: {a0}     sum 1      b = 1 / (1 + 1)  = 1/2
     *   c1: {a0, a1} sum 1 + 4  b = 2 / (1 + 5)  = 1/3
     *   c2: {a1, a2} sum 4 + 9  b = 3 / (1 + 13) = 3/14
     * size 3, alpha 3 (alpha' = 1), window c-1 .. c+1:
     *   c0: {a0, a1}     sum 5   b = 1 / 6  = 1/6
     *   c1: {a0, a1, a2} sum 14  b = 2 / 15 = 2/15
     *   c2: {a1, a2}     sum 13  b = 3 / 14 = 3/14
     * </pre>
     * torch.nn.LocalResponseNorm gives the same: it pads size/2 zero channels before and (size-1)/2 after, averages
     * a^2 over size channels, and computes a / (k + alpha * average)^beta.
     */
    @Test
    void pytorchConventionByHand() {
        HostTensor in = new HostTensor(Shape.of(1, 3, 1, 1), new float[] {1, 2, 3});

        HostTensor even = poisoned(1, 3, 1, 1);
        cpu.lrn(even, in, LrnSpec.pytorch(2, 2f, 1f, 1f));
        assertArrayEquals(new float[] {1f / 2, 1f / 3, 3f / 14}, even.data(), 1e-7f);

        HostTensor odd = poisoned(1, 3, 1, 1);
        cpu.lrn(odd, in, LrnSpec.pytorch(3, 3f, 1f, 1f));
        assertArrayEquals(new float[] {1f / 6, 2f / 15, 3f / 14}, odd.data(), 1e-7f);
    }

    /**
     * With two groups of 4 channels and size 5 (reach 2), channels 2..5 have a window that crosses the tower
     * boundary when groups = 1 and is cut at it when groups = 2; channels 0, 1, 6, 7 reach no further than their
     * own tower either way and must come out bit for bit the same.
     */
    @Test
    void twoGroupsStopTheWindowAtTheTowerBoundary() {
        Random random = new Random(5);
        HostTensor in = gaussian(random, 20.0, 2, 8, 3, 3);
        HostTensor towers = poisoned(2, 8, 3, 3), across = poisoned(2, 8, 3, 3);
        LrnSpec perTower = new LrnSpec(5, 1e-3f, 0.75f, 2f, 2, false), crossing = new LrnSpec(5, 1e-3f, 0.75f, 2f, 1, false);

        cpu.lrn(towers, in, perTower);
        cpu.lrn(across, in, crossing);

        for (int n = 0; n < 2; n++) {
            for (int c = 0; c < 8; c++) {
                int from = (n * 8 + c) * 9;
                float[] t = Arrays.copyOfRange(towers.data(), from, from + 9), a = Arrays.copyOfRange(across.data(), from, from + 9);
                if (c >= 2 && c <= 5) {
                    for (int i = 0; i < 9; i++) assertNotEquals(a[i], t[i], "channel " + c + " should see past the boundary only with groups = 1");
                } else {
                    assertArrayEquals(a, t, "channel " + c + " is the same either way");
                }
            }
        }
        double[] want = reference(in.data(), 2, 8, 9, perTower);
        assertClose("lrn groups 2", towers.data(), want, abs(want), 1e-6);
    }

    @Test
    void rejectsInPlace() {
        HostTensor t = poisoned(1, 4, 2, 2);
        var e = assertThrows(IllegalArgumentException.class, () -> cpu.lrn(t, t, LrnSpec.paper()));
        assertTrue(e.getMessage().startsWith("lrn:"), e.getMessage());
    }

    /**
     * The definition in float64: for every element, walk the channels c - size/2 .. c + (size-1)/2 and keep those
     * inside c's group; b = a / (k + alpha' * sum a_j^2)^beta.
     */
    static double[] reference(float[] x, int N, int C, int HW, LrnSpec spec) {
        double alpha = spec.alphaOverSize() ? (double) spec.alpha() / spec.size() : spec.alpha();
        int perGroup = C / spec.groups();
        double[] out = new double[x.length];
        for (int n = 0; n < N; n++) {
            for (int c = 0; c < C; c++) {
                int group = c / perGroup;
                for (int i = 0; i < HW; i++) {
                    double sum = 0;
                    for (int j = c - spec.size() / 2; j <= c + (spec.size() - 1) / 2; j++) {
                        if (j < group * perGroup || j >= (group + 1) * perGroup) continue;
                        double a = x[(n * C + j) * HW + i];
                        sum += a * a;
                    }
                    double a = x[(n * C + c) * HW + i];
                    out[(n * C + c) * HW + i] = a / Math.pow(spec.k() + alpha * sum, spec.beta());
                }
            }
        }
        return out;
    }
}
