package dev.alexnetffm.engine.backend;

import static dev.alexnetffm.engine.backend.TestTensors.gaussian;
import static dev.alexnetffm.engine.backend.TestTensors.poisoned;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Philox4x32-10 against Random123's known answers, and dropout's mask: its definition, statistics, reproducibility. */
class PhiloxTest {
    private final CpuBackend cpu = new CpuBackend();

    /** Random123's kat_vectors for philox4x32_10: counter, key, expected output. */
    @Test
    void knownAnswers() {
        assertArrayEquals(new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
                Philox.generate(new int[] {0, 0, 0, 0}, new int[] {0, 0}));
        assertArrayEquals(new int[] {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
                Philox.generate(new int[] {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, new int[] {0xffffffff, 0xffffffff}));
        assertArrayEquals(new int[] {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
                Philox.generate(new int[] {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, new int[] {0xa4093822, 0x299f31d0}));
    }

    @Test
    void uniformIsTheTop24BitsExactly() {
        assertEquals(0f, Philox.uniform(0));
        assertEquals(0f, Philox.uniform(0xff)); // the low 8 bits are dropped
        assertEquals(0x1p-24f, Philox.uniform(0x100));
        assertEquals(0.5f, Philox.uniform(0x8000_0000)); // unsigned: the sign bit is the top bit of u
        assertEquals(1f - 0x1p-24f, Philox.uniform(0xffff_ffff));
        assertEquals(2f, Philox.dropoutScale(0.5f));
        assertEquals(1f, Philox.dropoutScale(0f));
        assertEquals((float) (1.0 / (1.0 - (double) 0.1f)), Philox.dropoutScale(0.1f));
    }

    /**
     * The mask written out from Philox's Javadoc with the generator called directly: key from the seed's low and
     * high words, counter (i / 4, layer, step low, step high), word i % 4, kept iff the top 24 bits * 2^-24 >= p.
     * Seed and step have high words set, and the length is not a multiple of 4.
     */
    @Test
    void dropoutFollowsTheDocumentedDefinitionBitForBit() {
        long seed = 0xDEAD_BEEF_0BAD_F00DL, step = (5L << 32) + 123;
        int layer = 7;
        float p = 0.4f, scale = (float) (1.0 / (1.0 - (double) p));
        HostTensor in = gaussian(new Random(1), 1.0, 3, 1001), out = poisoned(3, 1001);

        cpu.dropoutForward(out, in, p, seed, layer, step);

        int[] key = {(int) seed, (int) (seed >>> 32)};
        for (int i = 0; i < in.data().length; i++) {
            int[] words = Philox.generate(new int[] {i >>> 2, layer, (int) step, (int) (step >>> 32)}, key);
            float u = (words[i & 3] >>> 8) * 0x1p-24f;
            float want = u >= p ? in.data()[i] * scale : 0f;
            assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(out.data()[i]), "element " + i);
        }
    }

    @ParameterizedTest(name = "p = {0}")
    @ValueSource(floats = {0.1f, 0.5f, 0.9f})
    void keptFractionAndMeanOverAMillionElements(float p) {
        int size = 1_000_000;
        HostTensor ones = new HostTensor(Shape.of(size), filled(size, 1f)), out = poisoned(size);
        cpu.dropoutForward(out, ones, p, 2012, 6, 1);

        int kept = 0;
        double sum = 0;
        for (float v : out.data()) {
            if (v != 0f) kept++;
            sum += v;
        }
        double sigma = Math.sqrt(p * (1.0 - p) / size); // of the kept fraction
        assertEquals(1.0 - p, (double) kept / size, 5 * sigma, "kept fraction");
        assertEquals(1.0, sum / size, 5 * sigma / (1.0 - p) + 1e-6, "mean (inverted dropout preserves it)");

        // consecutive words are as independent as distant ones: the fraction of kept pairs (i, i + 1) is (1 - p)^2
        int pairs = 0;
        for (int i = 0; i + 1 < size; i += 2) if (out.data()[i] != 0f && out.data()[i + 1] != 0f) pairs++;
        double q = (1.0 - p) * (1.0 - p);
        assertEquals(q, pairs / (size / 2.0), 5 * Math.sqrt(q * (1 - q) / (size / 2.0)), "kept pairs");
    }

    @Test
    void sameCallSameMaskAndEveryInputChangesIt() {
        int size = 4096;
        float[] base = mask(size, 0.5f, 99, 3, 10);
        assertArrayEquals(base, mask(size, 0.5f, 99, 3, 10), "same seed, layer and step");
        // another step, layer, seed (low or high word): about half the decisions change
        for (float[] other : new float[][] {mask(size, 0.5f, 99, 3, 11), mask(size, 0.5f, 99, 3, 10 + (1L << 32)),
                mask(size, 0.5f, 99, 4, 10), mask(size, 0.5f, 98, 3, 10), mask(size, 0.5f, 99 + (1L << 32), 3, 10)}) {
            int differ = 0;
            for (int i = 0; i < size; i++) if (other[i] != base[i]) differ++;
            assertTrue(differ > size * 0.4 && differ < size * 0.6, differ + " of " + size + " decisions differ");
        }
    }

    private float[] mask(int size, float p, long seed, int layer, long step) {
        HostTensor out = poisoned(size);
        cpu.dropoutForward(out, new HostTensor(Shape.of(size), filled(size, 1f)), p, seed, layer, step);
        return out.data();
    }

    @Test
    void backwardAppliesTheForwardMask() {
        Random random = new Random(4);
        HostTensor in = gaussian(random, 1.0, 2, 3, 5, 7), out = poisoned(2, 3, 5, 7);
        HostTensor dOut = gaussian(random, 1.0, 2, 3, 5, 7), dIn = poisoned(2, 3, 5, 7);
        float p = 0.5f;
        cpu.dropoutForward(out, in, p, 5, 6, 7);
        cpu.dropoutBackward(dIn, dOut, p, 5, 6, 7);
        for (int i = 0; i < in.data().length; i++) {
            boolean kept = out.data()[i] != 0f;
            assertEquals(kept ? dOut.data()[i] * 2f : 0f, dIn.data()[i], "element " + i);
            assertEquals(kept ? in.data()[i] * 2f : 0f, out.data()[i], "element " + i);
        }
        // in place gives the same bits
        float[] copy = dOut.data().clone();
        HostTensor same = new HostTensor(dOut.shape(), copy);
        cpu.dropoutBackward(same, same, p, 5, 6, 7);
        assertArrayEquals(dIn.data(), copy);
    }

    @Test
    void zeroProbabilityIsTheIdentity() {
        HostTensor in = gaussian(new Random(5), 1.0, 1000), out = poisoned(1000);
        in.data()[3] = Float.NaN;
        in.data()[4] = Float.NEGATIVE_INFINITY;
        cpu.dropoutForward(out, in, 0f, 1, 2, 3);
        assertArrayEquals(in.data(), out.data());
    }

    @Test
    void droppedElementsAreZeroEvenForNaN() {
        int size = 64;
        HostTensor in = new HostTensor(Shape.of(size), filled(size, Float.NaN)), out = poisoned(size);
        cpu.dropoutForward(out, in, 0.5f, 3, 0, 0);
        int zeros = 0;
        for (float v : out.data()) {
            if (v == 0f) {
                assertEquals(0, Float.floatToRawIntBits(v), "+0, not -0");
                zeros++;
            } else {
                assertTrue(Float.isNaN(v), "a kept NaN stays NaN");
            }
        }
        assertTrue(zeros > 0 && zeros < size, zeros + " dropped");
    }

    private static float[] filled(int size, float value) {
        float[] a = new float[size];
        Arrays.fill(a, value);
        return a;
    }
}
