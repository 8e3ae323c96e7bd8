package dev.alexnetffm.cuda;

/** Grid or block dimensions of a kernel launch. */
public record Dim3(int x, int y, int z) {
    public Dim3 {
        if (x < 1 || y < 1 || z < 1) {
            throw new IllegalArgumentException("launch dimensions must be >= 1, got (" + x + ", " + y + ", " + z + ")");
        }
    }

    public static Dim3 of(int x) {
        return new Dim3(x, 1, 1);
    }

    public static Dim3 of(int x, int y) {
        return new Dim3(x, y, 1);
    }

    public static Dim3 of(int x, int y, int z) {
        return new Dim3(x, y, z);
    }

    /** Blocks needed to cover {@code n} items with {@code perBlock} items each. */
    public static int blocksFor(long n, int perBlock) {
        long blocks = (n + perBlock - 1) / perBlock;
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException(n + " items need more than 2^31-1 blocks");
        return (int) Math.max(1, blocks);
    }

    public long count() {
        return (long) x * y * z;
    }
}
