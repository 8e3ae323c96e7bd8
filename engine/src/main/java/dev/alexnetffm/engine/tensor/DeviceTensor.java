package dev.alexnetffm.engine.tensor;

import dev.alexnetffm.cuda.CuStream;
import dev.alexnetffm.cuda.DeviceBuffer;

/**
 * A tensor in device memory: the CUDA backend's storage. Owns its buffer; {@code stream} is the stream its
 * backend queues work on, which {@link #toArray()} waits for.
 */
public record DeviceTensor(Shape shape, DeviceBuffer buffer, CuStream stream) implements Tensor {
    public DeviceTensor {
        if (buffer.byteSize() < shape.bytes()) {
            throw new IllegalArgumentException("shape " + shape + " needs " + shape.bytes() + " bytes, " + buffer + " is smaller");
        }
    }

    /** The device address, to pass to kernels. */
    public long address() {
        return buffer.address();
    }

    @Override
    public float[] toArray() {
        stream.synchronize();
        return buffer.toFloatArray(shape.intSize());
    }

    @Override
    public void close() {
        buffer.close();
    }

    @Override
    public String toString() {
        return "DeviceTensor" + shape + " on " + buffer.context().device();
    }
}
