package dev.alexnetffm.engine.backend;

/**
 * A 2-D convolution's geometry: square stride and zero padding, and channel groups (AlexNet's conv2, conv4 and
 * conv5 use groups = 2: each half of the output channels sees only its half of the input channels, the paper's
 * two towers).
 *
 * <p>Shapes: in (N, C, H, W), weight (K, C / groups, R, S), bias (K), out (N, K, P, Q) with
 * P = (H + 2 pad - R) / stride + 1 and Q = (W + 2 pad - S) / stride + 1.
 */
public record ConvSpec(int stride, int pad, int groups) {
    public ConvSpec {
        if (stride < 1) throw new IllegalArgumentException("convolution stride must be >= 1, got " + stride);
        if (pad < 0) throw new IllegalArgumentException("convolution padding must be >= 0, got " + pad);
        if (groups < 1) throw new IllegalArgumentException("convolution groups must be >= 1, got " + groups);
    }

    public int outSize(int in, int filter) {
        return (in + 2 * pad - filter) / stride + 1;
    }
}
