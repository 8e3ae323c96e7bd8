package dev.alexnetffm.engine.tensor;

/**
 * A float32 tensor in NCHW order, living where its backend computes: a Java array for the CPU backend, device
 * memory for CUDA. Backends check that the tensors given to an op are their own.
 */
public sealed interface Tensor extends AutoCloseable permits HostTensor, DeviceTensor {
    Shape shape();

    /** A copy of the contents (waits for pending device work that writes them). */
    float[] toArray();

    /** Releases device memory; harmless for host tensors and when called twice. */
    @Override
    void close();
}
