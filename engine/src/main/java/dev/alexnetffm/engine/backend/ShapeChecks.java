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
}
