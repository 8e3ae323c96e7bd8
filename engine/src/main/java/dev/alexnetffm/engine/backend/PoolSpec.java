package dev.alexnetffm.engine.backend;

/**
 * Max pooling with a square window and stride, no padding: the paper's overlapping pooling is window 3, stride 2.
 * Shapes: in (N, C, H, W), out (N, C, P, Q) with P = (H - window) / stride + 1.
 */
public record PoolSpec(int window, int stride) {
    public PoolSpec {
        if (window < 1 || stride < 1) throw new IllegalArgumentException("pooling window and stride must be >= 1, got " + window + ", " + stride);
    }

    public static PoolSpec overlapping() {
        return new PoolSpec(3, 2);
    }

    public int outSize(int in) {
        if (in < window) throw new IllegalArgumentException("pooling window " + window + " is larger than the input (" + in + ")");
        return (in - window) / stride + 1;
    }
}
