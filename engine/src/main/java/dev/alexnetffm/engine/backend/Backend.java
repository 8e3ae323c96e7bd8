package dev.alexnetffm.engine.backend;

import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;

/**
 * The op contract every backend implements. {@link CpuBackend} is its readable specification; the CUDA backend
 * must agree with it to float32 rounding. Outputs come first; shapes are checked before anything runs.
 *
 * <p>Ops may run asynchronously: {@link Tensor#toArray()} and {@link #synchronize()} wait for them.
 */
public interface Backend extends AutoCloseable {
    /** E.g. "cpu" or "cuda:0 (NVIDIA H100 80GB HBM3)". */
    String name();

    /** A new tensor with unspecified contents. */
    Tensor allocate(Shape shape);

    /** A new tensor holding a copy of {@code data}. */
    Tensor fromArray(Shape shape, float[] data);

    /** out[i] = value. */
    void fill(Tensor out, float value);

    /** out[i] = max(in[i], 0); NaN stays NaN. {@code out} may be {@code in}. */
    void relu(Tensor out, Tensor in);

    /**
     * out[n, c, ...] = in[n, c, ...] + bias[c] for in of shape (N, C, ...) and bias of shape (C).
     * {@code out} may be {@code in}.
     */
    void biasAdd(Tensor out, Tensor in, Tensor bias);

    /** Waits until every queued op has finished. */
    void synchronize();

    @Override
    void close();
}
