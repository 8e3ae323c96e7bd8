package dev.alexnetffm.engine.backend.cuda;

import dev.alexnetffm.cuda.Context;
import dev.alexnetffm.cuda.CuModule;
import dev.alexnetffm.cuda.CuStream;
import dev.alexnetffm.cuda.CudaDriver;
import dev.alexnetffm.cuda.Device;
import dev.alexnetffm.cuda.DeviceBuffer;
import dev.alexnetffm.cuda.Dim3;
import dev.alexnetffm.cuda.Kernel;
import dev.alexnetffm.cuda.KernelSignature;
import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.backend.ConvSpec;
import dev.alexnetffm.engine.backend.LrnSpec;
import dev.alexnetffm.engine.backend.PoolSpec;
import dev.alexnetffm.engine.backend.ShapeChecks;
import dev.alexnetffm.engine.tensor.DeviceTensor;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;

import java.util.HashMap;
import java.util.Map;

/**
 * Runs ops as the handwritten kernels on one GPU, queued in order on one stream. Modules are loaded on first use
 * with the best PTX target for the device. Ops may be called from any thread, one at a time: each makes the
 * backend's context current on the calling thread (a thread-local check when it already is).
 */
public final class CudaBackend implements Backend {
    private static final int ELEMENTWISE_THREADS = 256;

    private final Device device;
    private final Context context;
    private final CuStream stream;
    private final PtxLibrary library;
    private final int arch;
    private final int multiprocessors;
    private final String name;
    private final Map<String, CuModule> modules = new HashMap<>();
    private final Map<KernelSignature, Kernel> kernels = new HashMap<>();

    public CudaBackend(int ordinal) {
        this.device = CudaDriver.device(ordinal);
        this.library = PtxLibrary.load();
        this.arch = library.bestArch(device.computeCapability());
        this.multiprocessors = device.multiprocessors();
        this.name = device + " (" + device.name() + ")";
        this.context = device.primaryContext();
        try {
            context.makeCurrent();
            this.stream = context.createStream();
        } catch (RuntimeException e) {
            context.close();
            throw e;
        }
    }

    @Override
    public String name() {
        return name;
    }

    public Device device() {
        return device;
    }

    public Context context() {
        return context;
    }

    public CuStream stream() {
        return stream;
    }

    /** The PTX target the modules were loaded for (e.g. 90). */
    public int arch() {
        return arch;
    }

    /** The loaded kernel for {@code signature}, loading its module on first use. */
    public synchronized Kernel kernel(KernelSignature signature) {
        Kernel k = kernels.get(signature);
        if (k == null) {
            CuModule module = modules.computeIfAbsent(signature.module(),
                    m -> context.loadModule(m, library.ptx(m, arch)));
            k = module.kernel(signature);
            kernels.put(signature, k);
        }
        return k;
    }

    private DeviceTensor own(Tensor t) {
        if (t instanceof DeviceTensor d && d.buffer().context() == context) return d;
        throw new IllegalArgumentException(name + " got " + t + ": it belongs to another backend; copy it with fromArray(t.toArray())");
    }

    @Override
    public DeviceTensor allocate(Shape shape) {
        return new DeviceTensor(shape, context.allocate(shape.bytes()), stream);
    }

    @Override
    public DeviceTensor fromArray(Shape shape, float[] data) {
        if (data.length != shape.size()) {
            throw new IllegalArgumentException("shape " + shape + " needs " + shape.size() + " floats, got " + data.length);
        }
        DeviceBuffer buffer = context.allocate(shape.bytes());
        try {
            buffer.copyFromHost(data);
        } catch (RuntimeException e) {
            buffer.close();
            throw e;
        }
        return new DeviceTensor(shape, buffer, stream);
    }

    /** A grid for a grid-stride loop over {@code n} items, each thread taking {@code perThread}. */
    private Dim3 elementwiseGrid(long n, int perThread) {
        return Dim3.of(Math.min(Dim3.blocksFor(n, ELEMENTWISE_THREADS * perThread), multiprocessors * 16));
    }

    private void launch(KernelSignature signature, Dim3 grid, Dim3 block, Object... args) {
        context.ensureCurrent();
        kernel(signature).launch(stream, grid, block, 0, args);
    }

    @Override
    public void fill(Tensor out, float value) {
        DeviceTensor o = own(out);
        long n = o.shape().size();
        launch(Kernels.FILL, elementwiseGrid(n, 4), Dim3.of(ELEMENTWISE_THREADS), o.address(), value, n);
    }

    @Override
    public void relu(Tensor out, Tensor in) {
        ShapeChecks.sameShape("relu", out, in);
        DeviceTensor o = own(out), x = own(in);
        long n = o.shape().size();
        launch(Kernels.RELU_FORWARD, elementwiseGrid(n, 4), Dim3.of(ELEMENTWISE_THREADS), o.address(), x.address(), n);
    }

    @Override
    public void biasAdd(Tensor out, Tensor in, Tensor bias) {
        int channels = ShapeChecks.biasAdd(out, in, bias);
        DeviceTensor o = own(out), x = own(in), b = own(bias);
        long total = o.shape().size();
        int inner = Math.toIntExact(o.shape().sizeFrom(2));
        launch(Kernels.BIAS_ADD_FORWARD, elementwiseGrid(total, 1), Dim3.of(ELEMENTWISE_THREADS),
                o.address(), x.address(), b.address(), channels, inner, total);
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
    public void synchronize() {
        stream.synchronize();
    }

    @Override
    public synchronized void close() {
        if (context.isClosed()) return;
        try {
            if (!stream.isClosed()) stream.synchronize();
        } finally {
            kernels.clear();
            modules.values().forEach(CuModule::close);
            modules.clear();
            stream.close();
            context.close();
        }
    }
}
