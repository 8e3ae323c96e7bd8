package dev.alexnetffm.engine.backend;

import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;

/** Shape rules shared by every backend, so that all of them reject the same inputs with the same message. */
public final class ShapeChecks {
    private ShapeChecks() {}

    public static void sameShape(String op, Tensor out, Tensor in) {
        if (!out.shape().equals(in.shape())) {
            throw new IllegalArgumentException(op + ": output " + out.shape() + " and input " + in.shape() + " must have the same shape");
        }
    }

    /** in (N, C, ...), bias (C), out like in. Returns C. */
    public static int biasAdd(Tensor out, Tensor in, Tensor bias) {
        sameShape("biasAdd", out, in);
        Shape s = in.shape();
        if (s.rank() < 2) throw new IllegalArgumentException("biasAdd: input must be (N, C, ...), got " + s);
        if (bias.shape().rank() != 1 || bias.shape().dim(0) != s.dim(1)) {
            throw new IllegalArgumentException("biasAdd: bias must be (" + s.dim(1) + ") for input " + s + ", got " + bias.shape());
        }
        return s.dim(1);
    }

    /** Checks a convolution's shapes (see {@link ConvSpec}). */
    public static void conv2d(Tensor out, Tensor in, Tensor weight, Tensor bias, ConvSpec spec) {
        Shape x = in.shape().requireRank(4, "conv2d input (N, C, H, W)");
        Shape w = weight.shape().requireRank(4, "conv2d weight (K, C/groups, R, S)");
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int k = w.dim(0), r = w.dim(2), s = w.dim(3);
        if (c % spec.groups() != 0 || k % spec.groups() != 0) {
            throw new IllegalArgumentException("conv2d: " + spec.groups() + " groups must divide input channels " + c + " and output channels " + k);
        }
        if (w.dim(1) != c / spec.groups()) {
            throw new IllegalArgumentException("conv2d: weight " + w + " must have " + c / spec.groups() + " input channels per group for input " + x
                    + " and " + spec.groups() + " groups");
        }
        if (h + 2 * spec.pad() < r || wd + 2 * spec.pad() < s) {
            throw new IllegalArgumentException("conv2d: filter " + r + "x" + s + " is larger than the padded input " + x);
        }
        if (bias.shape().rank() != 1 || bias.shape().dim(0) != k) {
            throw new IllegalArgumentException("conv2d: bias must be (" + k + "), got " + bias.shape());
        }
        Shape expected = Shape.of(n, k, spec.outSize(h, r), spec.outSize(wd, s));
        if (!out.shape().equals(expected)) {
            throw new IllegalArgumentException("conv2d: output must be " + expected + " for input " + x + ", weight " + w + " and " + spec + ", got " + out.shape());
        }
    }

    public static void lrn(Tensor out, Tensor in, LrnSpec spec) {
        sameShape("lrn", out, in);
        if (out == in) throw new IllegalArgumentException("lrn: output must not be the input (each output reads its neighbours' inputs)");
        Shape x = in.shape().requireRank(4, "lrn input (N, C, H, W)");
        if (x.dim(1) % spec.groups() != 0) {
            throw new IllegalArgumentException("lrn: " + spec.groups() + " groups must divide the " + x.dim(1) + " channels of " + x);
        }
    }

    public static void maxPool(Tensor out, Tensor in, PoolSpec spec) {
        Shape x = in.shape().requireRank(4, "maxPool input (N, C, H, W)");
        if (x.dim(2) < spec.window() || x.dim(3) < spec.window()) {
            throw new IllegalArgumentException("maxPool: window " + spec.window() + " is larger than the input " + x);
        }
        Shape expected = Shape.of(x.dim(0), x.dim(1), spec.outSize(x.dim(2)), spec.outSize(x.dim(3)));
        if (!out.shape().equals(expected)) {
            throw new IllegalArgumentException("maxPool: output must be " + expected + " for input " + x + " and " + spec + ", got " + out.shape());
        }
    }

    /** Returns {N, C, K}. */
    public static int[] linear(Tensor out, Tensor in, Tensor weight, Tensor bias) {
        Shape x = in.shape();
        if (x.rank() != 2 && x.rank() != 4) throw new IllegalArgumentException("linear: input must be (N, C) or (N, C, H, W), got " + x);
        int n = x.dim(0);
        int c = Math.toIntExact(x.sizeFrom(1));
        Shape w = weight.shape().requireRank(2, "linear weight (K, C)");
        int k = w.dim(0);
        if (w.dim(1) != c) throw new IllegalArgumentException("linear: weight " + w + " must have " + c + " columns for input " + x);
        if (bias.shape().rank() != 1 || bias.shape().dim(0) != k) {
            throw new IllegalArgumentException("linear: bias must be (" + k + "), got " + bias.shape());
        }
        if (!out.shape().equals(Shape.of(n, k))) {
            throw new IllegalArgumentException("linear: output must be (" + n + ", " + k + "), got " + out.shape());
        }
        return new int[] {n, c, k};
    }

    public static void softmax(Tensor out, Tensor in) {
        sameShape("softmax", out, in);
        in.shape().requireRank(2, "softmax input (N, K)");
    }
}
