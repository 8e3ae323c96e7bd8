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

    /** Host copies of named tensors, in the same order (waits for device work that writes them). */
    public static java.util.Map<String, HostTensor> copiesOf(java.util.Map<String, ? extends Tensor> tensors) {
        java.util.Map<String, HostTensor> out = new java.util.LinkedHashMap<>();
        tensors.forEach((name, t) -> out.put(name, new HostTensor(t.shape(), t.toArray())));
        return out;
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
