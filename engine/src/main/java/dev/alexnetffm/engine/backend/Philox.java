package dev.alexnetffm.engine.backend;

/**
 * Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as
 * 1, 2, 3" (SC 2011), exactly as Random123's {@code philox4x32} with 10 rounds; it reproduces Random123's
 * known-answer vectors (see PhiloxTest). Every output is a pure function of a 128-bit counter and a 64-bit key, so
 * any thread can draw the numbers of any element without state, and the CPU and CUDA backends draw the same ones.
 *
 * <p>The generator, on 32-bit unsigned words ({@code mulhilo32(a, b)} is the 64-bit product of a and b, split into
 * its high and low words):
 * <pre>
 * M0 = 0xD2511F53, M1 = 0xCD9E8D57          (multipliers)
 * W0 = 0x9E3779B9, W1 = 0xBB67AE85          (key increments: the golden ratio and sqrt(3) - 1)
 * round(c, k):  (hi0, lo0) = mulhilo32(M0, c0); (hi1, lo1) = mulhilo32(M1, c2)
 *               c = {hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0}
 * philox4x32_10(c, k): c = round(c, k), then 9 times { k0 += W0; k1 += W1 (mod 2^32); c = round(c, k) }
 * </pre>
 * The key is bumped between rounds, never before the first or after the last.
 *
 * <h2>The dropout mask</h2>
 * Element {@code i} (its flat index in the NCHW tensor, {@code 0 <= i < 2^34}) of a dropout call with
 * ({@code seed}, {@code layer}, {@code step}) and drop probability {@code p} (a float in [0, 1)):
 * <pre>
 * key     = {(int) seed, (int) (seed >>> 32)}                        low word first
 * counter = {(int) (i >>> 2), layer, (int) step, (int) (step >>> 32)}
 * word    = philox4x32_10(counter, key)[i &amp; 3]                     one call serves 4 consecutive elements
 * u       = (float) (word >>> 8) * 2^-24                             the top 24 bits: a float in [0, 1), exact
 * kept    = u >= p                                                   compared in float
 * scale   = (float) (1.0 / (1.0 - (double) p))                       computed in double, rounded once
 * out[i]  = kept ? in[i] * scale : +0.0f                             one float multiply; a dropped element is +0.0
 *                                                                    whatever in[i] is (also NaN or infinity)
 * </pre>
 * p = 0 keeps every element (u >= 0 always) with scale 1. {@code >>>} is the unsigned shift; in C,
 * {@code (uint32_t) seed}, {@code (uint32_t) (seed >> 32)} on an unsigned 64-bit seed, likewise for step and i.
 * The backward pass applies the same mask and the same scale to the output gradient.
 */
public final class Philox {
    private Philox() {}

    public static final int M0 = 0xD2511F53, M1 = 0xCD9E8D57;
    public static final int W0 = 0x9E3779B9, W1 = 0xBB67AE85;
    public static final int ROUNDS = 10;

    /** Philox4x32-10 of counter {c0, c1, c2, c3} under key {k0, k1}, written into {@code out[0..4)}. */
    public static void generate(int c0, int c1, int c2, int c3, int k0, int k1, int[] out) {
        for (int round = 0; round < ROUNDS; round++) {
            if (round > 0) {
                k0 += W0;
                k1 += W1;
            }
            long p0 = (M0 & 0xFFFF_FFFFL) * (c0 & 0xFFFF_FFFFL); // mulhilo32(M0, c0): exact in a long (< 2^64 unsigned)
            long p1 = (M1 & 0xFFFF_FFFFL) * (c2 & 0xFFFF_FFFFL);
            int hi0 = (int) (p0 >>> 32), lo0 = (int) p0;
            int hi1 = (int) (p1 >>> 32), lo1 = (int) p1;
            c0 = hi1 ^ c1 ^ k0;
            c1 = lo1;
            c2 = hi0 ^ c3 ^ k1;
            c3 = lo0;
        }
        out[0] = c0;
        out[1] = c1;
        out[2] = c2;
        out[3] = c3;
    }

    /** A new array with Philox4x32-10 of {@code counter} (4 words) under {@code key} (2 words). */
    public static int[] generate(int[] counter, int[] key) {
        int[] out = new int[4];
        generate(counter[0], counter[1], counter[2], counter[3], key[0], key[1], out);
        return out;
    }

    /** The 4 words that decide dropout elements {@code 4 * block .. 4 * block + 3}, written into {@code out}. */
    public static void dropoutBlock(long seed, int layer, long step, long block, int[] out) {
        generate((int) block, layer, (int) step, (int) (step >>> 32), (int) seed, (int) (seed >>> 32), out);
    }

    /** A word's top 24 bits as a float in [0, 1): {@code (word >>> 8) * 2^-24}, exact. */
    public static float uniform(int word) {
        return (word >>> 8) * 0x1p-24f;
    }

    /** The scale of a kept element: {@code (float) (1.0 / (1.0 - p))}. */
    public static float dropoutScale(float p) {
        return (float) (1.0 / (1.0 - (double) p));
    }

    /** Whether dropout element {@code i} of the call (seed, layer, step) is kept at drop probability p. */
    public static boolean kept(long seed, int layer, long step, long i, float p) {
        int[] words = new int[4];
        dropoutBlock(seed, layer, step, i >>> 2, words);
        return uniform(words[(int) (i & 3)]) >= p;
    }
}
