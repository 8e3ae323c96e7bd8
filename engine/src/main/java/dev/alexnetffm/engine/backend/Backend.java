package dev.alexnetffm.engine.backend;

import dev.alexnetffm.engine.tensor.Shape;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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

    /**
     * A new tensor holding a copy of {@code data}: {@code shape.size()} native-order floats, e.g. off-heap memory
     * another library filled. Backends that can copy straight from native memory override this.
     */
    default Tensor fromSegment(Shape shape, MemorySegment data) {
        if (data.byteSize() != shape.bytes()) {
            throw new IllegalArgumentException("shape " + shape + " needs " + shape.bytes() + " bytes, the segment has " + data.byteSize());
        }
        return fromArray(shape, data.toArray(ValueLayout.JAVA_FLOAT));
    }

    /** out[i] = value. */
    void fill(Tensor out, float value);

    /** out[i] = max(in[i], 0); NaN stays NaN. {@code out} may be {@code in}. */
    void relu(Tensor out, Tensor in);

    /**
     * out[n, c, ...] = in[n, c, ...] + bias[c] for in of shape (N, C, ...) and bias of shape (C).
     * {@code out} may be {@code in}.
     */
    void biasAdd(Tensor out, Tensor in, Tensor bias);

    /**
     * 2-D convolution with bias, ReLU optionally fused:
     * out[n,k,p,q] = act(bias[k] + sum_{c in group(k), r, s} weight[k, c', r, s] * in[n, c, p*stride - pad + r, q*stride - pad + s])
     * with zero padding. Shapes as {@link ConvSpec} says.
     */
    void conv2d(Tensor out, Tensor in, Tensor weight, Tensor bias, ConvSpec spec, boolean relu);

    /** Local response normalisation across channels, as {@link LrnSpec} defines it. in and out (N, C, H, W). */
    void lrn(Tensor out, Tensor in, LrnSpec spec);

    /** Max pooling; shapes as {@link PoolSpec} says. */
    void maxPool(Tensor out, Tensor in, PoolSpec spec);

    /**
     * Fully connected layer with bias, ReLU optionally fused: out[n,k] = act(bias[k] + sum_c weight[k,c] * in[n,c]).
     * in (N, C) or (N, C1, H, W) read as (N, C1*H*W); weight (K, C) as PyTorch stores it; bias (K); out (N, K).
     */
    void linear(Tensor out, Tensor in, Tensor weight, Tensor bias, boolean relu);

    /** Row-wise softmax of (N, K) logits, computed stably (the row's max subtracted first). */
    void softmax(Tensor out, Tensor in);

    /** Waits until every queued op has finished. */
    void synchronize();

    @Override
    void close();
}
