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

    /** The rules of {@link Backend#add}. */
    public static void add(Tensor out, Tensor a, Tensor b) {
        if (!a.shape().equals(b.shape()) || !out.shape().equals(a.shape())) {
            throw new IllegalArgumentException("add: output " + out.shape() + " and inputs " + a.shape() + ", " + b.shape() + " must have the same shape");
        }
    }

    /**
     * The rules of {@link Backend#copyChannels}. Returns the number of floats per channel of one image (the product
     * of the trailing dimensions; 1 for (N, C) matrices).
     */
    public static long copyChannels(Tensor dst, int dstOffset, Tensor src, int srcOffset, int count) {
        Shape d = dst.shape(), s = src.shape();
        if (dst == src) throw new IllegalArgumentException("copyChannels: dst must not be src");
        boolean sameLayout = d.rank() == s.rank() && d.rank() >= 2 && d.dim(0) == s.dim(0);
        for (int i = 2; sameLayout && i < d.rank(); i++) sameLayout = d.dim(i) == s.dim(i);
        if (!sameLayout) {
            throw new IllegalArgumentException("copyChannels: dst " + d + " and src " + s
                    + " must be (N, C, ...) with the same N and trailing dimensions, differing only in channels");
        }
        if (count < 0 || dstOffset < 0 || srcOffset < 0 || (long) dstOffset + count > d.dim(1) || (long) srcOffset + count > s.dim(1)) {
            throw new IllegalArgumentException("copyChannels: channels [" + srcOffset + ", " + ((long) srcOffset + count) + ") of " + s
                    + " into [" + dstOffset + ", " + ((long) dstOffset + count) + ") of " + d + " are out of range");
        }
        return d.sizeFrom(2);
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
        lrn("lrn", out, in, spec);
    }

    // The forward rules take the name of the op that applies them, so that a backward pass's error names that pass.
    private static void lrn(String op, Tensor out, Tensor in, LrnSpec spec) {
        sameShape(op, out, in);
        if (out == in) throw new IllegalArgumentException(op + ": output must not be the input (each output reads its neighbours' inputs)");
        Shape x = in.shape().requireRank(4, op + " input (N, C, H, W)");
        if (x.dim(1) % spec.groups() != 0) {
            throw new IllegalArgumentException(op + ": " + spec.groups() + " groups must divide the " + x.dim(1) + " channels of " + x);
        }
    }

    public static void maxPool(Tensor out, Tensor in, PoolSpec spec) {
        maxPool("maxPool", out, in, spec);
    }

    private static void maxPool(String op, Tensor out, Tensor in, PoolSpec spec) {
        Shape x = in.shape().requireRank(4, op + " input (N, C, H, W)");
        if (x.dim(2) < spec.window() || x.dim(3) < spec.window()) {
            throw new IllegalArgumentException(op + ": window " + spec.window() + " is larger than the input " + x);
        }
        Shape expected = Shape.of(x.dim(0), x.dim(1), spec.outSize(x.dim(2)), spec.outSize(x.dim(3)));
        if (!out.shape().equals(expected)) {
            throw new IllegalArgumentException(op + ": output must be " + expected + " for input " + x + " and " + spec + ", got " + out.shape());
        }
    }

    /** Returns {N, C, K}. */
    public static int[] linear(Tensor out, Tensor in, Tensor weight, Tensor bias) {
        return linear("linear", out, in, weight, bias);
    }

    private static int[] linear(String op, Tensor out, Tensor in, Tensor weight, Tensor bias) {
        Shape x = in.shape();
        if (x.rank() != 2 && x.rank() != 4) throw new IllegalArgumentException(op + ": input must be (N, C) or (N, C, H, W), got " + x);
        int n = x.dim(0);
        int c = Math.toIntExact(x.sizeFrom(1));
        Shape w = weight.shape().requireRank(2, op + " weight (K, C)");
        int k = w.dim(0);
        if (w.dim(1) != c) throw new IllegalArgumentException(op + ": weight " + w + " must have " + c + " columns for input " + x);
        if (bias.shape().rank() != 1 || bias.shape().dim(0) != k) {
            throw new IllegalArgumentException(op + ": bias must be (" + k + "), got " + bias.shape());
        }
        if (!out.shape().equals(Shape.of(n, k))) {
            throw new IllegalArgumentException(op + ": output must be (" + n + ", " + k + "), got " + out.shape());
        }
        return new int[] {n, c, k};
    }

    public static void softmax(Tensor out, Tensor in) {
        softmax("softmax", out, in);
    }

    private static void softmax(String op, Tensor out, Tensor in) {
        sameShape(op, out, in);
        in.shape().requireRank(2, op + " input (N, K)");
    }

    // ---- training ops: the gradient of a tensor has that tensor's shape, so each check reuses the forward rule

    public static void reluBackward(Tensor dIn, Tensor dOut, Tensor out) {
        activationBackward("reluBackward", dIn, dOut, out);
    }

    /** An elementwise activation's gradient: dIn, dOut and the activation's output all of one shape. */
    public static void activationBackward(String op, Tensor dIn, Tensor dOut, Tensor out) {
        sameShape(op, dIn, dOut);
        sameShape(op, dOut, out);
    }

    /** dIn is the input's gradient, dOut the output's; shapes as conv2d's with a bias of K. */
    public static void conv2dBackwardData(Tensor dIn, Tensor dOut, Tensor weight, ConvSpec spec, Tensor reluOut) {
        conv2dGeometry("conv2dBackwardData", dIn.shape(), weight.shape(), dOut.shape(), spec);
        if (dIn == dOut) throw new IllegalArgumentException("conv2dBackwardData: dIn must not be dOut (each input gradient reads many output gradients)");
        if (reluOut != null) {
            if (!reluOut.shape().equals(dIn.shape())) {
                throw new IllegalArgumentException("conv2dBackwardData: the ReLU output " + reluOut.shape() + " must have the input gradient's shape "
                        + dIn.shape());
            }
            if (reluOut == dIn) throw new IllegalArgumentException("conv2dBackwardData: dIn must not be the ReLU output it is masked by");
        }
    }

    public static void conv2dBackwardWeight(Tensor dWeight, Tensor dBias, Tensor dOut, Tensor in, ConvSpec spec) {
        conv2dGeometry("conv2dBackwardWeight", in.shape(), dWeight.shape(), dOut.shape(), spec);
        if (dBias.shape().rank() != 1 || dBias.shape().dim(0) != dWeight.shape().dim(0)) {
            throw new IllegalArgumentException("conv2dBackwardWeight: bias gradient must be (" + dWeight.shape().dim(0) + "), got " + dBias.shape());
        }
    }

    private static void conv2dGeometry(String op, Shape x, Shape w, Shape y, ConvSpec spec) {
        x.requireRank(4, op + " input (N, C, H, W)");
        w.requireRank(4, op + " weight (K, C/groups, R, S)");
        int c = x.dim(1), k = w.dim(0);
        if (c % spec.groups() != 0 || k % spec.groups() != 0 || w.dim(1) != c / spec.groups()) {
            throw new IllegalArgumentException(op + ": weight " + w + " does not fit input " + x + " with " + spec.groups() + " groups");
        }
        if (x.dim(2) + 2 * spec.pad() < w.dim(2) || x.dim(3) + 2 * spec.pad() < w.dim(3)) {
            throw new IllegalArgumentException(op + ": filter " + w.dim(2) + "x" + w.dim(3) + " is larger than the padded input " + x);
        }
        Shape expected = Shape.of(x.dim(0), k, spec.outSize(x.dim(2), w.dim(2)), spec.outSize(x.dim(3), w.dim(3)));
        if (!y.equals(expected)) {
            throw new IllegalArgumentException(op + ": output gradient must be " + expected + " for input " + x + ", weight " + w + " and " + spec + ", got " + y);
        }
    }

    public static void lrnBackward(Tensor dIn, Tensor dOut, Tensor in, Tensor out, LrnSpec spec) {
        lrn("lrnBackward", out, in, spec);
        sameShape("lrnBackward", dIn, in);
        sameShape("lrnBackward", dOut, in);
        if (dIn == dOut || dIn == in || dIn == out) {
            throw new IllegalArgumentException("lrnBackward: dIn must not be dOut, in or out (each gradient reads its neighbours')");
        }
    }

    public static void maxPoolBackward(Tensor dIn, Tensor dOut, Tensor in, PoolSpec spec) {
        maxPool("maxPoolBackward", dOut, in, spec);
        sameShape("maxPoolBackward", dIn, in);
        if (dIn == in) throw new IllegalArgumentException("maxPoolBackward: dIn must not be in (each gradient reads its windows' inputs)");
    }

    /** Returns {N, C, K}. */
    public static int[] linearBackwardData(Tensor dIn, Tensor dOut, Tensor weight) {
        Shape x = dIn.shape(), w = weight.shape().requireRank(2, "linearBackwardData weight (K, C)");
        if (x.rank() != 2 && x.rank() != 4) throw new IllegalArgumentException("linearBackwardData: input gradient must be (N, C) or (N, C, H, W), got " + x);
        int n = x.dim(0), c = Math.toIntExact(x.sizeFrom(1)), k = w.dim(0);
        if (w.dim(1) != c) throw new IllegalArgumentException("linearBackwardData: weight " + w + " must have " + c + " columns for input " + x);
        if (!dOut.shape().equals(Shape.of(n, k))) {
            throw new IllegalArgumentException("linearBackwardData: output gradient must be (" + n + ", " + k + "), got " + dOut.shape());
        }
        if (dIn == dOut) throw new IllegalArgumentException("linearBackwardData: dIn must not be dOut (each input gradient reads a whole row of dOut)");
        return new int[] {n, c, k};
    }

    /** Returns {N, C, K}. */
    public static int[] linearBackwardWeight(Tensor dWeight, Tensor dBias, Tensor dOut, Tensor in) {
        return linear("linearBackwardWeight", dOut, in, dWeight, dBias);
    }

    public static void dropout(String op, Tensor out, Tensor in, float p) {
        sameShape(op, out, in);
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException(op + ": drop probability must be in [0, 1), got " + p);
    }

    /** Returns K. */
    public static int softmaxCrossEntropy(Tensor dLogits, Tensor logits, int[] labels) {
        softmax("softmaxCrossEntropy", dLogits, logits);
        int n = logits.shape().dim(0), k = logits.shape().dim(1);
        if (labels.length != n) throw new IllegalArgumentException("softmaxCrossEntropy: " + n + " rows of logits but " + labels.length + " labels");
        for (int i = 0; i < n; i++) {
            if (labels[i] < 0 || labels[i] >= k) {
                throw new IllegalArgumentException("softmaxCrossEntropy: label " + labels[i] + " of example " + i + " is not a class index in [0, " + k + ")");
            }
        }
        return k;
    }

    public static void sgdUpdate(Tensor weight, Tensor velocity, Tensor grad) {
        sameShape("sgdUpdate", weight, velocity);
        sameShape("sgdUpdate", weight, grad);
    }
}
