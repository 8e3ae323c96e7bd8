package dev.alexnetffm.engine.data.augment;

/**
 * A counter-based random stream: the numbers for one (seed, epoch, item, purpose) are a pure function of those four
 * values, with no shared mutable state. The key is hashed with the SplitMix64 finaliser and the stream is
 * SplitMix64 from there (Steele, Lea and Flood 2014), written out here so the bits do not depend on a JDK's
 * {@code RandomGenerator} implementation. Not thread-safe: create one per use; creating one is cheap.
 */
public final class CounterRandom {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    /** Purposes, so the crop and the colour draws of one item are independent streams. */
    public static final long CROP = 0x43524F50L, COLOUR = 0x434F4C52L;

    private long state;

    private CounterRandom(long state) {
        this.state = state;
    }

    /** The stream for {@code (seed, epoch, item, purpose)}. */
    public static CounterRandom of(long seed, int epoch, int item, long purpose) {
        long h = mix(seed ^ GOLDEN);
        h = mix(h ^ (epoch & 0xFFFFFFFFL) * GOLDEN);
        h = mix(h ^ ((item & 0xFFFFFFFFL) + 0x632BE59BD9B4E019L) * 0xBF58476D1CE4E5B9L);
        h = mix(h ^ purpose * 0x94D049BB133111EBL);
        return new CounterRandom(h);
    }

    /** The SplitMix64 finaliser: a bijective 64-bit mix. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    public long nextLong() {
        state += GOLDEN;
        return mix(state);
    }

    /** Uniform in {@code [0, bound)}, unbiased (Lemire's multiply-and-reject). */
    public int nextInt(int bound) {
        if (bound <= 0) throw new IllegalArgumentException("bound must be positive, got " + bound);
        while (true) {
            long r = nextLong() >>> 32;               // 32 uniform bits
            long m = r * bound;
            long low = m & 0xFFFFFFFFL;
            if (low >= bound || low >= ((1L << 32) - bound) % bound) return (int) (m >>> 32);
        }
    }

    public boolean nextBoolean() {
        return nextLong() < 0;
    }

    /** Uniform in {@code [0, 1)} with 53 random bits. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Standard normal, by the Box–Muller transform (one value per call; the partner is discarded). */
    public double nextGaussian() {
        double u1 = 1.0 - nextDouble();               // (0, 1]: log is finite
        double u2 = nextDouble();
        return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2.0 * Math.PI * u2);
    }
}
