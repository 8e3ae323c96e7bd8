package dev.alexnetffm.engine.tensor;

import java.util.Arrays;

/**
 * The dimensions of a float32 tensor, outermost first: (N, C, H, W) for activations, (K, C, R, S) for
 * convolution weights, (K, C) for fully connected weights, (C) for biases. Immutable.
 */
public final class Shape {
    private final int[] dims;
    private final long size;

    private Shape(int[] dims) {
        if (dims.length == 0) throw new IllegalArgumentException("a shape needs at least one dimension");
        long size = 1;
        for (int d : dims) {
            if (d <= 0) throw new IllegalArgumentException("shape " + Arrays.toString(dims) + ": every dimension must be positive");
            size = Math.multiplyExact(size, d);
        }
        this.dims = dims;
        this.size = size;
    }

    public static Shape of(int... dims) {
        return new Shape(dims.clone());
    }

    public int rank() {
        return dims.length;
    }

    public int dim(int i) {
        return dims[i];
    }

    public int[] dims() {
        return dims.clone();
    }

    /** Number of elements. */
    public long size() {
        return size;
    }

    /** Size as an int, for host arrays; a clear error if it does not fit. */
    public int intSize() {
        if (size > Integer.MAX_VALUE - 8) throw new IllegalStateException(this + " has " + size + " elements: too many for one Java array");
        return (int) size;
    }

    public long bytes() {
        return size * Float.BYTES;
    }

    /** Product of the dimensions from {@code from} on (the stride of dimension {@code from - 1}). */
    public long sizeFrom(int from) {
        long s = 1;
        for (int i = from; i < dims.length; i++) s *= dims[i];
        return s;
    }

    /** Throws naming {@code what} unless this shape has the given rank. */
    public Shape requireRank(int rank, String what) {
        if (dims.length != rank) throw new IllegalArgumentException(what + " must have rank " + rank + ", got " + this);
        return this;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < dims.length; i++) b.append(i == 0 ? "" : ", ").append(dims[i]);
        return b.append(')').toString();
    }
}
