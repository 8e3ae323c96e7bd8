package dev.alexnetffm.engine.backend;

import dev.alexnetffm.engine.tensor.Shape;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import dev.alexnetffm.engine.tensor.Tensor;

/**
 * The op contract every backend implements. {@link CpuBackend} is its readable specification; the CUDA backend
 * must agree with it to float32 rounding. Outputs come first; shapes are checked before anything runs.
 *
 * <p>Ops may run asynchronously: {@link Tensor#toArray()} and {@link #synchronize()} wait for them. They may be called
 * from several threads at once, each op then running (or queued) whole; which thread may touch which tensors is the
 * callers' affair.
 */
public interface Backend extends AutoCloseable {
    /** E.g. "cpu" or "cuda:0 (NVIDIA H100 80GB HBM3)". */
    String name();

    /** A new tensor with unspecified contents. */
    Tensor allocate(Shape shape);

    /** A new tensor holding a copy of {@code data}. */
    Tensor fromArray(Shape shape, float[] data);

    /**
     * Overwrites {@code dst} with the first {@code dst.shape().size()} floats of {@code src}, ordered after the ops
     * queued before it. Returns once {@code src} may be reused.
     */
    void copyFromHost(Tensor dst, float[] src);

    /**
     * Host memory for {@code floats} floats to upload from with {@link #copyFromHost(Tensor, HostBuffer)}:
     * page-locked on a GPU (and usable by every GPU of the process), plain native memory on the CPU. Not
     * initialised. The caller owns it; it may outlive this backend. May be called from any thread.
     */
    HostBuffer allocateHost(long floats);

    /**
     * Overwrites {@code dst} with the first {@code dst.shape().size()} floats of {@code src}, ordered after the ops
     * queued before it and before those queued after it. Does not copy on the calling thread: a GPU queues the
     * copy and returns, so {@code src} must not be overwritten until {@link HostBuffer#awaitReusable()} returns.
     * {@code src} may come from any backend's {@link #allocateHost}, and may be uploaded to several backends.
     */
    void copyFromHost(Tensor dst, HostBuffer src);

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

    /** out[i] = tanh(in[i]) (the paper's saturating comparison for ReLU). {@code out} may be {@code in}. */
    void tanh(Tensor out, Tensor in);

    /**
     * out[n, c, ...] = in[n, c, ...] + bias[c] for in of shape (N, C, ...) and bias of shape (C).
     * {@code out} may be {@code in}.
     */
    void biasAdd(Tensor out, Tensor in, Tensor bias);

    /** out[i] = a[i] + b[i] (same shapes), rounded once. {@code out} may be {@code a} or {@code b}. */
    void add(Tensor out, Tensor a, Tensor b);

    /**
     * Copies {@code count} channels: dst[n, dstOffset + c, ...] = src[n, srcOffset + c, ...] for c in [0, count).
     * dst and src have the same rank (2 or more), the same batch N and the same trailing dimensions; only their
     * channel counts (dimension 1) may differ. This is how a tensor is split between two towers and joined back.
     * dst must not be src.
     */
    void copyChannels(Tensor dst, int dstOffset, Tensor src, int srcOffset, int count);

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

    // ---- training: backward passes, dropout, loss, optimizer. Gradients are written (never accumulated) unless
    // ---- an op says otherwise; every result is deterministic (no atomics whose order changes the bits).

    /** dIn = dOut where out > 0, else 0 (out is the ReLU's output; NaN in out propagates). dIn may be dOut. */
    void reluBackward(Tensor dIn, Tensor dOut, Tensor out);

    /** dIn = dOut * (1 - out * out), out being tanh's output, each operation rounded once. Any may alias. */
    void tanhBackward(Tensor dIn, Tensor dOut, Tensor out);

    /** Gradient of conv2d with respect to its input: dIn (N, C, H, W) from dOut (N, K, P, Q) and weight. */
    default void conv2dBackwardData(Tensor dIn, Tensor dOut, Tensor weight, ConvSpec spec) {
        conv2dBackwardData(dIn, dOut, weight, spec, null);
    }

    /**
     * Gradient of conv2d with respect to its input, and, when {@code reluOut} is not null, on through the ReLU that
     * produced that input: {@code reluOut} is the convolution's input (N, C, H, W), a ReLU's output, and dIn becomes
     * the gradient with respect to the ReLU's input, exactly as {@link #reluBackward reluBackward(dIn, dIn, reluOut)}
     * after the plain gradient would make it, in one pass. {@code reluOut} must not be {@code dIn}.
     */
    void conv2dBackwardData(Tensor dIn, Tensor dOut, Tensor weight, ConvSpec spec, Tensor reluOut);

    /** Gradients of conv2d with respect to weight (K, C/groups, R, S) and bias (K), summed over the batch. */
    void conv2dBackwardWeight(Tensor dWeight, Tensor dBias, Tensor dOut, Tensor in, ConvSpec spec);

    /** Gradient of LRN with respect to its input, from its input and output. */
    default void lrnBackward(Tensor dIn, Tensor dOut, Tensor in, Tensor out, LrnSpec spec) {
        lrnBackward(dIn, dOut, in, out, spec, false);
    }

    /**
     * Gradient of LRN with respect to its input; with {@code inFromRelu}, {@code in} is a ReLU's output and dIn goes
     * on through that ReLU, exactly as {@link #reluBackward reluBackward(dIn, dIn, in)} after it would make it, in
     * one pass.
     */
    void lrnBackward(Tensor dIn, Tensor dOut, Tensor in, Tensor out, LrnSpec spec, boolean inFromRelu);

    /**
     * Gradient of max pooling: each output's gradient goes to the first maximum of its window (row-major order),
     * summed over the (overlapping) windows that chose an input, in a fixed order.
     */
    default void maxPoolBackward(Tensor dIn, Tensor dOut, Tensor in, PoolSpec spec) {
        maxPoolBackward(dIn, dOut, in, spec, false);
    }

    /**
     * Gradient of max pooling; with {@code inFromRelu}, {@code in} is a ReLU's output and dIn goes on through that
     * ReLU, exactly as {@link #reluBackward reluBackward(dIn, dIn, in)} after it would make it, in one pass.
     */
    void maxPoolBackward(Tensor dIn, Tensor dOut, Tensor in, PoolSpec spec, boolean inFromRelu);

    /** Gradient of linear with respect to its input: dIn (N, C) or (N, C1, H, W) = dOut (N, K) x weight (K, C). */
    void linearBackwardData(Tensor dIn, Tensor dOut, Tensor weight);

    /** Gradients of linear: dWeight (K, C) = dOut^T x in, dBias (K) = column sums of dOut. */
    void linearBackwardWeight(Tensor dWeight, Tensor dBias, Tensor dOut, Tensor in);

    /**
     * Inverted dropout: out = in / (1 - p) where the element is kept, else 0. The mask is a pure function of
     * (seed, layer, step, element index) through a counter-based generator (Philox4x32-10), identical on every
     * backend, so that a run is reproducible and backward can recompute it. {@link Philox} defines it to the bit:
     * key = seed, counter = (i / 4, layer, step), word i % 4 of the output, u = its top 24 bits * 2^-24, kept iff
     * u >= p, out = in * (float) (1.0 / (1.0 - p)) (one float multiply), a dropped element +0. p in [0, 1);
     * out may be in.
     */
    void dropoutForward(Tensor out, Tensor in, float p, long seed, int layer, long step);

    /** dIn = dOut / (1 - p) where the same mask kept the element, else 0. dIn may be dOut. */
    void dropoutBackward(Tensor dIn, Tensor dOut, float p, long seed, int layer, long step);

    /**
     * Softmax cross-entropy of logits (N, K) against labels (N class indices): writes dLogits = (softmax - onehot) / N
     * and returns the mean loss. Waits for the result (the loss is a host value).
     */
    float softmaxCrossEntropy(Tensor dLogits, Tensor logits, int[] labels);

    /**
     * SGD with momentum and weight decay exactly as the paper writes it:
     * v = momentum * v - weightDecay * lr * w - lr * grad; w = w + v.
     */
    void sgdUpdate(Tensor weight, Tensor velocity, Tensor grad, float lr, float momentum, float weightDecay);

    /**
     * Tells the backend that each layer it runs from now on is one of {@code slices} equal slices of a wider layer's
     * output features (a tower of {@link dev.alexnetffm.engine.parallel.SplitAlexNet}: 2). A backend whose order of
     * summation depends on a layer's width (the GPU's split reductions in the fully connected layers) then sums as
     * it would for the whole layer, so that each slice's outputs are the same bits as the whole layer's. 1 (whole
     * layers) unless set; the CPU reference sums in an order that no width changes.
     */
    default void sliceLayers(int slices) {
        if (slices < 1) throw new IllegalArgumentException("sliceLayers: slices must be at least 1, not " + slices);
    }

    /** Waits until every queued op has finished. */
    void synchronize();

    /** Ops recorded by {@link #record}, to be queued again. */
    interface Replay extends AutoCloseable {
        /** Queues the recorded ops again, on the same tensors, with what they hold by then. */
        void run();

        /** Releases the recording; closing twice is harmless. */
        @Override
        void close();
    }

    /**
     * Records the ops {@code work} queues, without running them, so that {@link Replay#run} queues them again: a
     * GPU captures their kernels into a CUDA graph once and then launches the whole graph as one operation (one
     * launch's time on the host instead of one per kernel); the CPU (this default) runs {@code work} again. The
     * results are the bits {@code work} gives.
     *
     * <p>{@code work} must have run once before on the same tensors, so that everything done once per shape (loading
     * kernels, tuning, growing scratch memory) is done, and must queue ops only: no copies from or to the host, no
     * waiting. Other threads must not use the backend while it records. The tensors must outlive the recording.
     */
    default Replay record(Runnable work) {
        return new Replay() {
            @Override
            public void run() {
                work.run();
            }

            @Override
            public void close() {}
        };
    }

    @Override
    void close();
}
