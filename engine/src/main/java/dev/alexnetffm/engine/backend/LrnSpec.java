package dev.alexnetffm.engine.backend;

/**
 * Local response normalisation across channels:
 * {@code b[c] = a[c] / (k + alpha' * sum_{j in window(c)} a[j]^2)^beta}, window(c) = channels
 * c - size/2 .. c + (size - 1)/2 (for odd sizes, size/2 either side; for even sizes one more before than after,
 * as PyTorch pads) clipped to the channels of c's group, alpha' = alpha (the paper) or alpha / size
 * (PyTorch's {@code LocalResponseNorm}).
 *
 * @param size         n, the number of channels in the window (odd in the paper: 5)
 * @param alpha        the paper's alpha (1e-4)
 * @param beta         0.75
 * @param k            2
 * @param groups       channel groups the window may not cross: 2 keeps it inside each tower (the paper's default);
 *                     1 lets it cross the tower boundary as single-tower PyTorch code does
 * @param alphaOverSize true for PyTorch's convention (alpha divided by size)
 */
public record LrnSpec(int size, float alpha, float beta, float k, int groups, boolean alphaOverSize) {
    public LrnSpec {
        if (size < 1) throw new IllegalArgumentException("LRN size must be >= 1, got " + size);
        if (groups < 1) throw new IllegalArgumentException("LRN groups must be >= 1, got " + groups);
        if (!(beta >= 0) || !(k > 0) || !(alpha >= 0)) {
            throw new IllegalArgumentException("LRN needs alpha >= 0, beta >= 0, k > 0; got alpha=" + alpha + " beta=" + beta + " k=" + k);
        }
    }

    /** The paper's LRN (n = 5, k = 2, alpha = 1e-4, beta = 0.75), window kept inside each of two towers. */
    public static LrnSpec paper() {
        return new LrnSpec(5, 1e-4f, 0.75f, 2f, 2, false);
    }

    /** {@code torch.nn.LocalResponseNorm(size, alpha, beta, k)}: alpha divided by size, window across all channels. */
    public static LrnSpec pytorch(int size, float alpha, float beta, float k) {
        return new LrnSpec(size, alpha, beta, k, 1, true);
    }

    /** The alpha that multiplies the sum of squares. */
    public float effectiveAlpha() {
        return alphaOverSize ? alpha / size : alpha;
    }
}
