package dev.alexnetffm.engine.tensor;

import java.util.Arrays;

/** A tensor in a Java float array: the CPU backend's storage. */
public record HostTensor(Shape shape, float[] data) implements Tensor {
    public HostTensor {
        if (data.length != shape.size()) {
            throw new IllegalArgumentException("shape " + shape + " needs " + shape.size() + " floats, got " + data.length);
        }
    }

    public static HostTensor zeros(Shape shape) {
        return new HostTensor(shape, new float[shape.intSize()]);
    }

    @Override
    public float[] toArray() {
        return data.clone();
    }

    @Override
    public void close() {}

    @Override
    public String toString() {
        return "HostTensor" + shape + (data.length <= 8 ? Arrays.toString(data) : "");
    }
}
