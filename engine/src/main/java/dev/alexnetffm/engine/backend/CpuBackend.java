package dev.alexnetffm.engine.backend;

import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;

/**
 * The reference backend: plain loops over Java arrays, written to be read. It is the specification the CUDA
 * kernels are tested against, and a slow but complete engine on machines without a GPU.
 */
public final class CpuBackend implements Backend {

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public HostTensor allocate(Shape shape) {
        return HostTensor.zeros(shape);
    }

    @Override
    public HostTensor fromArray(Shape shape, float[] data) {
        return new HostTensor(shape, data.clone());
    }

    static float[] data(Tensor t) {
        if (t instanceof HostTensor h) return h.data();
        throw new IllegalArgumentException("the CPU backend got " + t + ": copy it to the host first (toArray)");
    }

    @Override
    public void fill(Tensor out, float value) {
        java.util.Arrays.fill(data(out), value);
    }

    // out = max(in, 0), NaN propagating (as PyTorch's ReLU does)
    @Override
    public void relu(Tensor out, Tensor in) {
        ShapeChecks.sameShape("relu", out, in);
        float[] o = data(out), x = data(in);
        for (int i = 0; i < x.length; i++) o[i] = x[i] > 0f || Float.isNaN(x[i]) ? x[i] : 0f;
    }

    // in is (N, C, inner); out[n, c, i] = in[n, c, i] + bias[c]
    @Override
    public void biasAdd(Tensor out, Tensor in, Tensor bias) {
        int channels = ShapeChecks.biasAdd(out, in, bias);
        float[] o = data(out), x = data(in), b = data(bias);
        int inner = (int) in.shape().sizeFrom(2);
        for (int i = 0; i < x.length; i++) o[i] = x[i] + b[(i / inner) % channels];
    }

    // Forward ops of the network: being written (CPU reference and CUDA kernels in progress).
    @Override
    public void conv2d(Tensor out, Tensor in, Tensor weight, Tensor bias, ConvSpec spec, boolean relu) {
        throw new UnsupportedOperationException("conv2d");
    }

    @Override
    public void lrn(Tensor out, Tensor in, LrnSpec spec) {
        throw new UnsupportedOperationException("lrn");
    }

    @Override
    public void maxPool(Tensor out, Tensor in, PoolSpec spec) {
        throw new UnsupportedOperationException("maxPool");
    }

    @Override
    public void linear(Tensor out, Tensor in, Tensor weight, Tensor bias, boolean relu) {
        throw new UnsupportedOperationException("linear");
    }

    @Override
    public void softmax(Tensor out, Tensor in) {
        throw new UnsupportedOperationException("softmax");
    }

    @Override
    public void synchronize() {}

    @Override
    public void close() {}
}
