package dev.alexnetffm.engine.backend.cuda;

import dev.alexnetffm.cuda.Context;
import dev.alexnetffm.cuda.CuEvent;
import dev.alexnetffm.cuda.CuGraph;
import dev.alexnetffm.cuda.CuGraphExec;
import dev.alexnetffm.cuda.CuModule;
import dev.alexnetffm.cuda.CuStream;
import dev.alexnetffm.cuda.CudaDriver;
import dev.alexnetffm.cuda.Device;
import dev.alexnetffm.cuda.DeviceBuffer;
import dev.alexnetffm.cuda.Dim3;
import dev.alexnetffm.cuda.Kernel;
import dev.alexnetffm.cuda.KernelSignature;
import dev.alexnetffm.cuda.PinnedBuffer;
import dev.alexnetffm.engine.Setting;
import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.backend.ConvSpec;
import dev.alexnetffm.engine.backend.HostBuffer;
import dev.alexnetffm.engine.backend.LrnSpec;
import dev.alexnetffm.engine.backend.PoolSpec;
import dev.alexnetffm.engine.backend.ShapeChecks;
import dev.alexnetffm.engine.tensor.DeviceTensor;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs ops as the handwritten kernels on one GPU, queued in order on one stream. Modules are loaded on first use,
 * as {@link KernelLibrary#loadModule} chooses: the machine code built for the device, else the best PTX target. Ops
 * may be called from any thread, and from several at once: each makes the backend's context current on the calling
 * thread (a thread-local check when it already is), and each op whose kernels share the backend's scratch memory (a
 * split reduction's partial sums, the loss's buffers) or its tuning queues all of them under the backend's lock, so
 * that ops of different threads interleave whole on the stream. (Tensors are the callers' to share or not.)
 */
public final class CudaBackend implements Backend {
    private static final int ELEMENTWISE_THREADS = 256;

    private final Device device;
    private final Context context;
    private final CuStream stream;
    private final KernelLibrary library;
    private final int multiprocessors;
    private final ConvRowTiles convTiles = new ConvRowTiles(ConvRowTiles.tuningByDefault());
    private final String name;
    private final Map<String, CuModule> modules = new HashMap<>();
    private final Map<KernelSignature, Kernel> kernels = new HashMap<>();

    public CudaBackend(int ordinal) {
        this.device = CudaDriver.device(ordinal);
        this.library = KernelLibrary.load();
        library.bestArch(device.computeCapability());  // a GPU the kernels were not built for fails here, clearly
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

    /** The loaded kernel for {@code signature}, loading its module on first use. */
    public synchronized Kernel kernel(KernelSignature signature) {
        Kernel k = kernels.get(signature);
        if (k == null) {
            CuModule module = modules.computeIfAbsent(signature.module(),
                    m -> library.loadModule(context, m));
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

    /** Copies straight from the segment (native or heap) into new device memory. */
    @Override
    public DeviceTensor fromSegment(Shape shape, MemorySegment data) {
        if (data.byteSize() != shape.bytes()) {
            throw new IllegalArgumentException("shape " + shape + " needs " + shape.bytes() + " bytes, the segment has " + data.byteSize());
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

    /**
     * Uploads go through two pinned staging buffers in turn: the array is copied into one on the host, then an
     * asynchronous copy is queued on the stream, so it runs after the ops already queued (which may still read
     * {@code dst}) while the host goes on. An event per buffer says when its last copy has left it. (Batches skip
     * the host-side copy: they are decoded into a {@link HostBuffer} and uploaded from it.)
     */
    private final PinnedBuffer[] staging = new PinnedBuffer[2];
    private final CuEvent[] stagingDone = new CuEvent[2];
    private int nextStaging;

    @Override
    public synchronized void copyFromHost(Tensor dst, float[] src) {
        requireNotRecording("a copy from the host");
        DeviceTensor d = own(dst);
        long bytes = d.shape().bytes();
        if ((long) src.length * Float.BYTES < bytes) {
            throw new IllegalArgumentException("copyFromHost: " + dst + " needs " + d.shape().size() + " floats, got " + src.length);
        }
        context.ensureCurrent();
        int i = nextStaging;
        nextStaging ^= 1;
        if (staging[i] == null || staging[i].byteSize() < bytes) {
            if (staging[i] != null) {
                stagingDone[i].synchronize();
                staging[i].close();
                staging[i] = null;
            }
            staging[i] = context.allocatePinned(bytes);
            if (stagingDone[i] == null) stagingDone[i] = context.createEvent(false);
        } else {
            stagingDone[i].synchronize(); // the copy queued from this buffer two uploads ago has finished
        }
        MemorySegment.copy(MemorySegment.ofArray(src), 0, staging[i].segment(), 0, bytes);
        d.buffer().copyFromHostAsync(staging[i].segment(), 0, 0, bytes, stream);
        stagingDone[i].record(stream);
    }

    /**
     * Page-locked, portable memory ({@code cuMemHostAlloc}), holding its own reference to the device's primary
     * context: it stays valid after this backend closes, and every GPU of the process can copy from it.
     */
    @Override
    public HostBuffer allocateHost(long floats) {
        if (floats < 1) throw new IllegalArgumentException("a host buffer needs at least one float, got " + floats);
        long bytes = Math.multiplyExact(floats, (long) Float.BYTES);
        Context owner = device.primaryContext();
        try {
            PinnedBuffer pinned = owner.allocatePinned(bytes);
            return new HostBuffer(pinned.segment(), () -> {
                try {
                    pinned.close();
                } finally {
                    owner.close();
                }
            });
        } catch (RuntimeException e) {
            owner.close();
            throw e;
        }
    }

    /** The fences this backend keeps on the host buffers it has copied from; closed with the backend. */
    private final Set<UploadFence> uploadFences = new HashSet<>();

    /**
     * Queues {@code cuMemcpyHtoDAsync} straight from the buffer on the stream (no copy on the host) and records the
     * buffer's fence for this backend after it, so that {@link HostBuffer#awaitReusable()} waits for this copy.
     * A buffer that is not page-locked still works, but then the driver copies it before returning.
     */
    @Override
    public synchronized void copyFromHost(Tensor dst, HostBuffer src) {
        requireNotRecording("a copy from the host");
        DeviceTensor d = own(dst);
        if (src.floats() < d.shape().size()) {
            throw new IllegalArgumentException("copyFromHost: " + dst + " needs " + d.shape().size() + " floats, the host buffer has " + src.floats());
        }
        context.ensureCurrent();
        UploadFence fence = src.fence(this, UploadFence::new);
        d.buffer().copyFromHostAsync(src.segment(), 0, 0, d.shape().bytes(), stream);
        fence.event.record(stream);
    }

    /** An event on this backend's stream after its latest copy from one host buffer. */
    private final class UploadFence implements HostBuffer.Fence {
        private final CuEvent event = context.createEvent(false);

        UploadFence() {
            uploadFences.add(this); // made inside copyFromHost, which holds the backend's lock
        }

        @Override
        public void await() {
            // closed with the backend, whose close waited for its stream: nothing left to wait for
            if (!event.isClosed()) event.synchronize();
        }

        @Override
        public void close() {
            synchronized (CudaBackend.this) {
                uploadFences.remove(this);
            }
            event.close();
        }
    }

    /** A grid for a grid-stride loop over {@code n} items, each thread taking {@code perThread}. */
    private Dim3 elementwiseGrid(long n, int perThread) {
        return Dim3.of(Math.min(Dim3.blocksFor(n, ELEMENTWISE_THREADS * perThread), multiprocessors * 16));
    }

    private synchronized void launch(KernelSignature signature, Dim3 grid, Dim3 block, Object... args) {
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

    @Override
    public void add(Tensor out, Tensor a, Tensor b) {
        ShapeChecks.add(out, a, b);
        DeviceTensor o = own(out), x = own(a), y = own(b); // out may be a or b: see elementwise.cu
        long n = o.shape().size();
        launch(Kernels.ADD_FORWARD, elementwiseGrid(n, 4), Dim3.of(ELEMENTWISE_THREADS), o.address(), x.address(), y.address(), n);
    }

    /** elementwise.cu copy_channels: per image one run of count * inner floats, float4 where both runs are aligned. */
    @Override
    public void copyChannels(Tensor dst, int dstOffset, Tensor src, int srcOffset, int count) {
        long inner = ShapeChecks.copyChannels(dst, dstOffset, src, srcOffset, count);
        DeviceTensor d = own(dst), s = own(src);
        requireDistinct("copyChannels", d, s);
        if (count == 0) return;
        long images = d.shape().dim(0);
        launch(Kernels.COPY_CHANNELS, elementwiseGrid(images * count * inner, 4), Dim3.of(ELEMENTWISE_THREADS), d.address(), s.address(),
                images, d.shape().dim(1), s.shape().dim(1), dstOffset, srcOffset, count, inner);
    }

    // --- Forward ops. Each kernel's .cu header documents its tiling; the grid math here must match it. ---

    /** The system property ("true" or "1") that makes new CUDA backends tune their convolutions (see setConvTuning). */
    public static final String AUTOTUNE_PROPERTY = "alexnet.autotune";

    /** conv2d.cu: block tiles of 128 output pixels (GEMM columns) by a row tile of channels (see ConvRowTiles). */
    private static final int CONV_TILE_PIXELS = 128;

    /**
     * Whether each convolution shape's kernel tile (see {@code conv2d.cu}) is chosen by timing the candidates on the
     * shape's first call, like cuDNN's benchmark mode, or by least padding (the default; system property
     * {@code alexnet.autotune=true} or {@code ALEXNET_AUTOTUNE=1} makes new backends tune, and the command line
     * does unless told otherwise). Either way the results are the same bits: only the speed differs. Tuning waits
     * for the stream on a shape's first call, so run each shape once before capturing the stream into a graph.
     */
    public synchronized void setConvTuning(boolean on) {
        convTiles.setTuning(on);
    }

    public synchronized boolean convTuning() {
        return convTiles.tuning();
    }

    /**
     * The kernel tuning chose for each convolution shape met so far, by shape: its row tile (output channels per
     * block), followed by "r128" for a backward kernel's entry held to 128 registers per thread (conv2d.cu).
     */
    public synchronized Map<String, String> convRowTiles() {
        return convTiles.choices();
    }

    /** Tests: runs every convolution kernel with row tile {@code tile} (0: choose as usual). */
    synchronized void forceConvRowTile(int tile) {
        convTiles.force(tile);
    }

    /** Tests: runs every convolution kernel as {@code v} where the op has it, else its plain tile (null: as usual). */
    synchronized void forceConvKernel(ConvRowTiles.Variant v) {
        convTiles.force(v);
    }

    /** The system property ("true" or "1") that makes new CUDA backends run 3x3 convolutions by Winograd (see setWinograd). */
    public static final String WINOGRAD_PROPERTY = "alexnet.winograd";
    static final Setting WINOGRAD = new Setting(WINOGRAD_PROPERTY, "ALEXNET_WINOGRAD",
            "use 1 (3x3 stride-1 convolutions and their gradients by Winograd's F(2x2, 3x3)) or 0 (all as implicit GEMMs)");

    private boolean winograd = WINOGRAD.read(false, Setting.SWITCH);

    /**
     * Whether 3x3 stride-1 convolutions with at most 2 pixels of padding (AlexNet's conv3-5) and their data, weight
     * and bias gradients run as Winograd's F(2x2, 3x3) ({@code winograd.cu}: per 2x2 outputs 16 multiplications where
     * the implicit GEMM makes 36, at the price of transforming inputs and outputs through memory), else as the
     * implicit GEMM ({@code conv2d.cu}). Off unless system property {@code alexnet.winograd} or
     * {@code ALEXNET_WINOGRAD} says 1 when the backend is made. The two
     * differ by float32 rounding (both are held to the CPU reference's tolerance); each gives the same bits on every
     * run, and forward outputs the same bits on a tower of the two-GPU split as on one device. It is the caller's
     * choice, never a timing's, so that a seed keeps giving the same bits.
     */
    public synchronized void setWinograd(boolean on) {
        winograd = on;
    }

    public synchronized boolean winograd() {
        return winograd;
    }

    /** Whether {@link #setWinograd Winograd} computes a convolution of this filter size and geometry. */
    static boolean winogradFits(int r, int s, ConvSpec spec) {
        return r == 3 && s == 3 && spec.stride() == 1 && spec.pad() <= 2;
    }

    /** winograd.cu: the product's row tile and column (image tile) tile; the scratch areas start 256 bytes apart. */
    private static final int WINOGRAD_ROWS = 64, WINOGRAD_COLUMNS = 128, WINOGRAD_ALIGN = 64;

    /**
     * A 3x3 stride-1 convolution by F(2x2, 3x3) (winograd.cu's header): {@code in} (n, cin, hi, wi) to {@code out}
     * (n, cout, ho, wo) in {@code groups} groups, padded by {@code pad}, the filters from {@code weight} as they are
     * ({@code flip} false: the forward pass, bias and ReLU in the epilogue) or turned and with their channel axes
     * swapped ({@code flip} true: a data gradient, {@code reluOut} null or the ReLU output it continues through).
     * U, V and M share the scratch memory of split reductions.
     */
    private void winogradConv(String op, DeviceTensor out, DeviceTensor in, DeviceTensor weight, DeviceTensor bias, DeviceTensor reluOut,
                              int groups, int pad, boolean flip, boolean relu) {
        Shape is = in.shape(), os = out.shape(), ws = weight.shape();
        int n = is.dim(0), cin = is.dim(1), cout = os.dim(1), ho = os.dim(2), wo = os.dim(3);
        int red = cin / groups, rows = cout / groups, tilesH = (ho + 1) / 2, tilesW = (wo + 1) / 2;
        requireInt(op, "N*C*tiles (Winograd's input transform)", (long) n * cin * tilesH * tilesW);
        requireInt(op, "N*K*tiles (Winograd's output transform)", (long) n * cout * tilesH * tilesW);
        int tiles = n * tilesH * tilesW;
        Dim3 gemmGrid = Dim3.of(Dim3.blocksFor(rows, WINOGRAD_ROWS), Dim3.blocksFor(tiles, WINOGRAD_COLUMNS), 16 * groups);
        requireGridYZ(op, gemmGrid);
        long planes = 16L * groups;
        long uFloats = alignUp(planes * red * rows, WINOGRAD_ALIGN), vFloats = alignUp(planes * red * tiles, WINOGRAD_ALIGN);
        long mFloats = planes * rows * tiles;
        DeviceBuffer scratch = workspace((uFloats + vFloats + mFloats) * Float.BYTES);
        long u = scratch.address(), v = u + uFloats * Float.BYTES, m = v + vFloats * Float.BYTES;
        launch(Kernels.WINOGRAD_FILTER, elementwiseGrid(ws.size() / 9, 1), Dim3.of(ELEMENTWISE_THREADS), u, weight.address(),
                ws.dim(0), ws.dim(1), groups, flip ? 1 : 0);
        winogradInput(v, in, tilesH, tilesW, pad);
        launch(Kernels.WINOGRAD_GEMM, gemmGrid, Dim3.of(LINEAR_THREADS), m, u, v, rows, tiles, red);
        launch(Kernels.WINOGRAD_OUTPUT, elementwiseGrid((long) n * cout * tilesH * tilesW, 1), Dim3.of(ELEMENTWISE_THREADS),
                out.address(), m, bias == null ? 0L : bias.address(), reluOut == null ? 0L : reluOut.address(), n, cout, ho, wo, tilesH,
                tilesW, relu ? 1 : 0);
    }

    /**
     * A 3x3 stride-1 convolution's weight and bias gradients by F(2x2, 3x3) (winograd.cu, "The weight gradient"): the
     * input's and dOut's tile transforms, 16 products summed over the tiles, split over them as a linear layer's
     * reduction is ({@link #linearChunk}: about a wave of blocks, in whole slabs), the splits added in order and
     * transformed back per filter; the bias gradient from the transformed dOut.
     */
    private void winogradWeightGrad(DeviceTensor dw, DeviceTensor db, DeviceTensor dy, DeviceTensor x, ConvSpec spec) {
        String op = "conv2dBackwardWeight";
        Shape xs = x.shape(), ys = dy.shape();
        int n = xs.dim(0), c = xs.dim(1), k = ys.dim(1), p = ys.dim(2), q = ys.dim(3);
        int groups = spec.groups(), cg = c / groups, kg = k / groups, tilesH = (p + 1) / 2, tilesW = (q + 1) / 2;
        requireInt(op, "N*C*tiles (Winograd's input transform)", (long) n * c * tilesH * tilesW);
        requireInt(op, "N*K*tiles (Winograd's dOut transform)", (long) n * k * tilesH * tilesW);
        int tiles = n * tilesH * tilesW;
        int tileRows = Dim3.blocksFor(kg, LINEAR_TILE_N), tileCols = Dim3.blocksFor(cg, LINEAR_TILE_K);
        int chunk = linearChunk(tileRows, Math.multiplyExact(tileCols, 16 * groups), tiles, multiprocessors);
        int splits = Dim3.blocksFor(tiles, chunk);
        Dim3 gemmGrid = Dim3.of(tileRows, tileCols, Math.multiplyExact(16 * groups, splits));
        requireGridYZ(op, gemmGrid);
        long planes = 16L * groups;
        long vFloats = alignUp(planes * cg * tiles, WINOGRAD_ALIGN), dFloats = alignUp(planes * kg * tiles, WINOGRAD_ALIGN);
        long wFloats = splits * planes * kg * cg;
        DeviceBuffer scratch = workspace((vFloats + dFloats + wFloats) * Float.BYTES);
        long v = scratch.address(), d = v + vFloats * Float.BYTES, partials = d + dFloats * Float.BYTES;
        winogradInput(v, x, tilesH, tilesW, spec.pad());
        launch(Kernels.WINOGRAD_GRAD_OUTPUT, elementwiseGrid((long) n * k * tilesH * tilesW, 1), Dim3.of(ELEMENTWISE_THREADS), d,
                dy.address(), n, k, p, q, tilesH, tilesW);
        launch(Kernels.WINOGRAD_WEIGHT_GEMM, gemmGrid, Dim3.of(LINEAR_THREADS), partials, d, v, kg, cg, tiles, chunk, splits);
        launch(Kernels.WINOGRAD_WEIGHT_REDUCE, elementwiseGrid((long) k * cg, 1), Dim3.of(ELEMENTWISE_THREADS), dw.address(), partials,
                k, cg, groups, splits);
        launch(Kernels.WINOGRAD_BIAS_GRAD, Dim3.of(Math.min(Dim3.blocksFor(k, ELEMENTWISE_THREADS / 32), multiprocessors * 16)),
                Dim3.of(ELEMENTWISE_THREADS), db.address(), d, k, tiles);
    }

    /** winograd.cu's input transform of {@code in} (N, C, H, W) into V at device address {@code v}. */
    private void winogradInput(long v, DeviceTensor in, int tilesH, int tilesW, int pad) {
        Shape is = in.shape();
        int n = is.dim(0), c = is.dim(1);
        launch(Kernels.WINOGRAD_INPUT, elementwiseGrid((long) n * c * tilesH * tilesW, 1), Dim3.of(ELEMENTWISE_THREADS), v, in.address(),
                n, c, is.dim(2), is.dim(3), tilesH, tilesW, pad);
    }

    private static long alignUp(long n, int multiple) {
        return Math.ceilDiv(n, multiple) * multiple;
    }

    /** Device milliseconds of {@code work} queued on this backend's stream (waits for it). */
    private double timeMillis(Runnable work) {
        requireNotRecording("tuning a convolution's kernel");
        context.ensureCurrent();
        try (CuEvent start = context.createEvent(true); CuEvent end = context.createEvent(true)) {
            start.record(stream);
            work.run();
            end.record(stream);
            end.synchronize();
            return end.elapsedMillisSince(start);
        }
    }

    /** A convolution's shapes: the key of its tuned row tile (compared field by field; described only when listed). */
    private record ConvShape(String op, Shape in, Shape weight, ConvSpec spec) {
        @Override
        public String toString() {
            return op + " in " + in + " weight " + weight + " stride " + spec.stride() + " pad " + spec.pad() + " groups " + spec.groups();
        }
    }

    @Override
    public synchronized void conv2d(Tensor out, Tensor in, Tensor weight, Tensor bias, ConvSpec spec, boolean relu) {
        ShapeChecks.conv2d(out, in, weight, bias, spec);
        DeviceTensor o = own(out), x = own(in), w = own(weight), b = own(bias);
        requireDistinct("conv2d", o, x);
        Shape xs = x.shape(), os = o.shape(), ws = w.shape();
        int n = xs.dim(0), c = xs.dim(1), h = xs.dim(2), wd = xs.dim(3);
        int k = ws.dim(0), r = ws.dim(2), s = ws.dim(3), p = os.dim(2), q = os.dim(3);
        // The kernel indexes within an image and along the GEMM's column dimension with 32-bit ints.
        requireInt("conv2d", "N*P*Q", (long) n * p * q);
        requireInt("conv2d", "C*H*W", (long) c * h * wd);
        requireInt("conv2d", "K*P*Q", (long) k * p * q);
        int groups = spec.groups();
        if (winograd && winogradFits(r, s, spec)) {
            winogradConv("conv2d", o, x, w, b, null, groups, spec.pad(), false, relu);
            return;
        }
        int columnTiles = Dim3.blocksFor((long) n * p * q, CONV_TILE_PIXELS), crs = ws.dim(1) * r * s;
        int chunk = convForwardChunk(columnTiles, crs, multiprocessors);
        if (chunk < crs) {  // few output pixels (a small batch): the reduction split over more blocks (conv2d.cu v3)
            int splits = Dim3.blocksFor(crs, chunk);
            Dim3 grid = Dim3.of(columnTiles, Dim3.blocksFor(k / groups, CONV_SPLIT_TILE), Math.multiplyExact(groups, splits));
            requireGridYZ("conv2d", grid);
            long total = os.size();
            DeviceBuffer partials = workspace(splits * total * Float.BYTES);
            launch(Kernels.CONV2D_FORWARD_SPLIT, grid, Dim3.of(2 * CONV_SPLIT_TILE), partials.address(), x.address(), w.address(), n, c, h,
                    wd, k, r, s, p, q, spec.stride(), spec.pad(), groups, chunk);
            launch(Kernels.CONV2D_FORWARD_REDUCE, elementwiseGrid(total, 1), Dim3.of(ELEMENTWISE_THREADS), o.address(), partials.address(),
                    b.address(), total, k, p * q, splits, relu ? 1 : 0);
            return;
        }
        // The grid's y is largest with the smallest tile: checked for that one.
        requireGridYZ("conv2d", Dim3.of(1, Dim3.blocksFor(k / groups, ConvRowTiles.SMALLEST), groups));
        convTiles.launch(new ConvShape("conv2d", xs, ws, spec), ConvRowTiles.Op.FORWARD, k / groups, v -> launch(ConvRowTiles.Op.FORWARD.kernel(v),
                Dim3.of(columnTiles, Dim3.blocksFor(k / groups, v.tile()), groups), Dim3.of(2 * v.tile()),
                o.address(), x.address(), w.address(), b.address(), n, c, h, wd, k, r, s, p, q, spec.stride(), spec.pad(), groups,
                relu ? 1 : 0), this::timeMillis);
    }

    /** conv2d.cu v3: conv2d_forward_split's row tile. */
    private static final int CONV_SPLIT_TILE = 64;
    /** Shortest part of a forward reduction (Cg*R*S) worth a split of its own: 8 slabs. */
    private static final int CONV_FWD_MIN_CHUNK = 64;

    /**
     * The reduction length (Cg*R*S) each block of a forward convolution sums: all of it when there are at least half
     * as many column tiles (128 output pixels each) as SMs, which with the row tiles of each group's filters makes
     * about a wave of resident blocks; else short enough that column tiles x splits reaches that, but never below
     * {@link #CONV_FWD_MIN_CHUNK}, in whole slabs. It depends on the output pixels, the reduction and the SM count
     * only: not on the filters, the groups or the tuned tile, so a tower of the two-GPU split sums exactly as the
     * one-device network does. No AlexNet layer splits at batch 128.
     */
    static int convForwardChunk(int columnTiles, int crs, int multiprocessors) {
        long target = Math.max(1, multiprocessors / 2);
        if (columnTiles >= target) return crs;
        long splits = Math.ceilDiv(target, columnTiles);
        long chunk = Math.ceilDiv(crs, splits);
        chunk = Math.max(CONV_FWD_MIN_CHUNK, (chunk + CONV_SLAB - 1) / CONV_SLAB * CONV_SLAB);
        return chunk >= crs ? crs : (int) chunk;
    }

    @Override
    public void lrn(Tensor out, Tensor in, LrnSpec spec) {
        ShapeChecks.lrn(out, in, spec);
        DeviceTensor o = own(out), x = own(in);
        requireDistinct("lrn", o, x);
        Shape xs = x.shape();
        int n = xs.dim(0), c = xs.dim(1), h = xs.dim(2), w = xs.dim(3);
        Dim3 grid = lrnGrid("lrn", n, spec.groups(), h, w);
        launch(Kernels.LRN_FORWARD, grid, Dim3.of(ELEMENTWISE_THREADS), o.address(), x.address(),
                n, c, h, w, spec.size(), spec.effectiveAlpha(), spec.beta(), spec.k(), spec.groups());
    }

    /**
     * lrn.cu's grid: one thread per (n, group, h, w) column, grid-stride; its 32-bit index needs the columns plus the
     * grid's threads below 2^31 (far more than any GPU's memory holds at once).
     */
    private Dim3 lrnGrid(String op, int n, int groups, int h, int w) {
        long columns = (long) n * groups * h * w;
        Dim3 grid = elementwiseGrid(columns, 1);
        requireInt(op, "N*groups*H*W plus the grid's threads", columns + (long) grid.x() * ELEMENTWISE_THREADS);
        return grid;
    }

    @Override
    public void maxPool(Tensor out, Tensor in, PoolSpec spec) {
        ShapeChecks.maxPool(out, in, spec);
        DeviceTensor o = own(out), x = own(in);
        requireDistinct("maxPool", o, x);
        Shape xs = x.shape(), os = o.shape();
        requireInt("maxPool", "H*W", (long) xs.dim(2) * xs.dim(3));
        long total = os.size();  // one thread per output element
        launch(Kernels.MAXPOOL_FORWARD, elementwiseGrid(total, 1), Dim3.of(ELEMENTWISE_THREADS), o.address(), x.address(),
                xs.dim(0), xs.dim(1), xs.dim(2), xs.dim(3), os.dim(2), os.dim(3), spec.window(), spec.stride());
    }

    /** gemm.cu v1: block tile of 64 batch rows x 128 output features, 128 threads, reduction slabs of 16. */
    private static final int LINEAR_TILE_N = 64, LINEAR_TILE_K = 128, LINEAR_THREADS = 128, LINEAR_SLAB = 16;
    /** gemm.cu linear_forward_small: batches up to 8 rows, 256 threads, one warp (of 8) per output feature. */
    private static final int LINEAR_SMALL_MAX_N = 8, LINEAR_SMALL_THREADS = 256, LINEAR_SMALL_FEATURES_PER_BLOCK = 8;
    /** Resident blocks per SM: 128 threads at ~150 registers (ptxas, sm_90) and 24 KiB of shared memory each. */
    private static final int LINEAR_BLOCKS_PER_SM = 3;
    /** Shortest reduction range worth a split of its own (16 slabs). */
    private static final int LINEAR_MIN_CHUNK = 256;

    /** Partial sums of split-K linear layers; grown on demand, reused (ops on the stream run one after another). */
    private DeviceBuffer workspace;
    /**
     * Each linear layer here is one of this many slices of the whole layer's outputs ({@link #sliceLayers}). Its
     * reduction is then split as the whole layer's: on two GPUs each runs half the blocks of that split (a smaller
     * wave for the same bits); on two streams of one GPU the two halves fill the wave together.
     */
    private int layerSlices = 1;

    @Override
    public void sliceLayers(int slices) {
        Backend.super.sliceLayers(slices);
        layerSlices = slices;
    }

    @Override
    public synchronized void linear(Tensor out, Tensor in, Tensor weight, Tensor bias, boolean relu) {
        int[] nck = ShapeChecks.linear(out, in, weight, bias);
        int n = nck[0], c = nck[1], k = nck[2];
        DeviceTensor o = own(out), x = own(in), w = own(weight), b = own(bias);
        requireDistinct("linear", o, x);
        int act = relu ? 1 : 0;
        if (n <= LINEAR_SMALL_MAX_N) {  // a few rows: one warp per feature reads its weights once (gemm.cu)
            int blocks = Math.min(Dim3.blocksFor(k, LINEAR_SMALL_FEATURES_PER_BLOCK), multiprocessors * 16);
            launch(Kernels.LINEAR_FORWARD_SMALL, Dim3.of(blocks), Dim3.of(LINEAR_SMALL_THREADS), o.address(), x.address(), w.address(),
                    b.address(), n, c, k, act);
            return;
        }
        int tilesN = Dim3.blocksFor(n, LINEAR_TILE_N), tilesK = Dim3.blocksFor(k, LINEAR_TILE_K);
        // The split of the reduction as the whole layer's (all its slices' output tiles) would have it.
        int chunk = linearChunk(tilesN, Dim3.blocksFor((long) k * layerSlices, LINEAR_TILE_K), c, multiprocessors);
        int splits = Dim3.blocksFor(c, chunk);
        Dim3 grid = Dim3.of(tilesN, tilesK, splits);
        requireGridYZ("linear", grid);
        if (splits == 1) {
            launch(Kernels.LINEAR_FORWARD, grid, Dim3.of(LINEAR_THREADS), o.address(), x.address(), w.address(), b.address(),
                    n, c, k, c, act);
            return;
        }
        long partials = (long) splits * n * k;
        DeviceBuffer ws = workspace(partials * Float.BYTES);
        launch(Kernels.LINEAR_FORWARD, grid, Dim3.of(LINEAR_THREADS), ws.address(), x.address(), w.address(), b.address(),
                n, c, k, chunk, act);
        long total = (long) n * k;
        launch(Kernels.LINEAR_FORWARD_REDUCE, elementwiseGrid(total, 1), Dim3.of(ELEMENTWISE_THREADS), o.address(), ws.address(),
                b.address(), n, k, splits, act);
    }

    /**
     * The reduction length each split of a linear layer sums: all of {@code c} when the output tiles alone fill the
     * GPU, else short enough that tiles x splits is about one wave of resident blocks, but never below
     * {@link #LINEAR_MIN_CHUNK}, and a multiple of the slab (which keeps float4 loads aligned). Deterministic in
     * the shapes and the SM count, so results are reproducible on one kind of GPU.
     */
    static int linearChunk(int tilesN, int tilesK, int c, int multiprocessors) {
        long tiles = (long) tilesN * tilesK;
        long wave = (long) LINEAR_BLOCKS_PER_SM * multiprocessors;
        long splits = Math.max(1, wave / tiles);
        if (splits == 1) return c;
        long chunk = (c + splits - 1) / splits;
        chunk = Math.max(LINEAR_MIN_CHUNK, (chunk + LINEAR_SLAB - 1) / LINEAR_SLAB * LINEAR_SLAB);
        return chunk >= c ? c : (int) chunk;
    }

    private synchronized DeviceBuffer workspace(long bytes) {
        if (workspace == null || workspace.byteSize() < bytes) {
            requireNotRecording("growing the scratch memory of split reductions");
            if (workspace != null) {
                stream.synchronize();  // queued kernels may still read the old one
                if (recordings.isEmpty()) workspace.close();
                else retired.add(workspace);  // recorded kernels point into it: kept until the last recording closes
                workspace = null;
            }
            workspace = context.allocate(bytes);
        }
        return workspace;
    }

    /** softmax.cu v1: one block per row. */
    private static final int SOFTMAX_MAX_THREADS = 256;

    @Override
    public void softmax(Tensor out, Tensor in) {
        ShapeChecks.softmax(out, in);
        DeviceTensor o = own(out), x = own(in); // out may be in: each thread rewrites only the elements it read
        int n = x.shape().dim(0), k = x.shape().dim(1);
        // A multiple of 32 (the kernel's reductions need whole warps), no more threads than a row has elements.
        int threads = Math.min(SOFTMAX_MAX_THREADS, (k + 31) / 32 * 32);
        int blocks = Math.min(n, multiprocessors * 32);  // the kernel strides over rows beyond the grid
        launch(Kernels.SOFTMAX_FORWARD, Dim3.of(blocks), Dim3.of(threads), o.address(), x.address(), n, k);
    }

    private static void requireInt(String op, String what, long value) {
        if (value > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(op + ": " + what + " = " + value + " exceeds 2^31 - 1, which the CUDA kernel's 32-bit indexing allows");
        }
    }

    private static void requireGridYZ(String op, Dim3 grid) {
        if (grid.y() > 65535 || grid.z() > 65535) {
            throw new IllegalArgumentException(op + ": grid " + grid + " exceeds the 65535-block limit in y or z");
        }
    }

    /** Kernels whose output may not overwrite their input while other threads still read it. */
    private static void requireDistinct(String op, DeviceTensor out, DeviceTensor in) {
        long o0 = out.address(), o1 = o0 + out.shape().bytes(), i0 = in.address(), i1 = i0 + in.shape().bytes();
        if (o0 < i1 && i0 < o1) throw new IllegalArgumentException(op + ": the CUDA kernel cannot write its output over its input");
    }

    // --- Training ops. Every one is deterministic: reductions run in fixed orders, split reductions are added by a
    // second kernel in split order, and split counts depend only on the shapes and the GPU's SM count. ---

    @Override
    public void tanh(Tensor out, Tensor in) {
        ShapeChecks.sameShape("tanh", out, in);
        DeviceTensor o = own(out), x = own(in);
        long n = o.shape().size();
        launch(Kernels.TANH_FORWARD, elementwiseGrid(n, 1), Dim3.of(ELEMENTWISE_THREADS), o.address(), x.address(), n);
    }

    @Override
    public void tanhBackward(Tensor dIn, Tensor dOut, Tensor out) {
        ShapeChecks.activationBackward("tanhBackward", dIn, dOut, out);
        DeviceTensor dx = own(dIn), dy = own(dOut), y = own(out);
        long n = dx.shape().size();
        launch(Kernels.TANH_BACKWARD, elementwiseGrid(n, 1), Dim3.of(ELEMENTWISE_THREADS), dx.address(), dy.address(), y.address(), n);
    }

    @Override
    public void reluBackward(Tensor dIn, Tensor dOut, Tensor out) {
        ShapeChecks.reluBackward(dIn, dOut, out);
        DeviceTensor dx = own(dIn), dy = own(dOut), y = own(out); // elementwise: any of them may be the same tensor
        long n = dx.shape().size();
        launch(Kernels.RELU_BACKWARD, elementwiseGrid(n, 4), Dim3.of(ELEMENTWISE_THREADS), dx.address(), dy.address(), y.address(), n);
    }

    /** Resident blocks per SM of the backward convolution kernels at the default row tile: 128 threads at 145 registers (ptxas, sm_90). */
    private static final int CONV_BWD_BLOCKS_PER_SM = 3;
    /** Shortest reduction range (output pixels) worth a split of its own in the weight gradient. */
    private static final int CONV_BWD_MIN_CHUNK = 256;
    /** conv2d.cu backward kernels: reduction slab of 8. */
    private static final int CONV_SLAB = 8;

    @Override
    public synchronized void conv2dBackwardData(Tensor dIn, Tensor dOut, Tensor weight, ConvSpec spec, Tensor reluOut) {
        ShapeChecks.conv2dBackwardData(dIn, dOut, weight, spec, reluOut);
        DeviceTensor dx = own(dIn), dy = own(dOut), w = own(weight), y = reluOut == null ? null : own(reluOut);
        requireDistinct("conv2dBackwardData", dx, dy);
        requireDistinct("conv2dBackwardData", dx, w);
        if (y != null) requireDistinct("conv2dBackwardData", dx, y);
        Shape xs = dx.shape(), ys = dy.shape(), ws = w.shape();
        int n = xs.dim(0), c = xs.dim(1), h = xs.dim(2), wd = xs.dim(3);
        int k = ws.dim(0), r = ws.dim(2), s = ws.dim(3), p = ys.dim(2), q = ys.dim(3);
        requireInt("conv2dBackwardData", "N*H*W", (long) n * h * wd);
        requireInt("conv2dBackwardData", "C*H*W", (long) c * h * wd);
        requireInt("conv2dBackwardData", "K*P*Q", (long) k * p * q);
        requireInt("conv2dBackwardData", "the weight's size", ws.size());
        int groups = spec.groups(), stride = spec.stride();
        if (winograd && winogradFits(r, s, spec)) {
            // dOut convolved with the filters turned by 180 degrees, their channel axes swapped, padded 2 - pad
            winogradConv("conv2dBackwardData", dx, dy, w, null, y, groups, 2 - spec.pad(), true, false);
            return;
        }
        // One grid z-slice per (group, stride phase); x sized for the largest phase, ceil(H/stride) x ceil(W/stride).
        long phasePixels = (long) n * ((h + stride - 1) / stride) * ((wd + stride - 1) / stride);
        int z = Math.multiplyExact(groups, stride * stride);
        requireGridYZ("conv2dBackwardData", Dim3.of(1, Dim3.blocksFor(c / groups, ConvRowTiles.SMALLEST), z));
        convTiles.launch(new ConvShape("conv2dBackwardData", xs, ws, spec), ConvRowTiles.Op.BACKWARD_DATA, c / groups,
                v -> launch(ConvRowTiles.Op.BACKWARD_DATA.kernel(v),
                Dim3.of(Dim3.blocksFor(phasePixels, CONV_TILE_PIXELS), Dim3.blocksFor(c / groups, v.tile()), z), Dim3.of(2 * v.tile()),
                dx.address(), dy.address(), w.address(), y == null ? 0L : y.address(), n, c, h, wd, k, r, s, p, q, stride, spec.pad(), groups),
                this::timeMillis);
    }

    @Override
    public synchronized void conv2dBackwardWeight(Tensor dWeight, Tensor dBias, Tensor dOut, Tensor in, ConvSpec spec) {
        ShapeChecks.conv2dBackwardWeight(dWeight, dBias, dOut, in, spec);
        DeviceTensor dw = own(dWeight), db = own(dBias), dy = own(dOut), x = own(in);
        requireDistinct("conv2dBackwardWeight", dw, db);
        for (DeviceTensor input : new DeviceTensor[] {dy, x}) {
            requireDistinct("conv2dBackwardWeight", dw, input);
            requireDistinct("conv2dBackwardWeight", db, input);
        }
        Shape xs = x.shape(), ys = dy.shape(), ws = dw.shape();
        int n = xs.dim(0), c = xs.dim(1), h = xs.dim(2), wd = xs.dim(3);
        int k = ws.dim(0), r = ws.dim(2), s = ws.dim(3), p = ys.dim(2), q = ys.dim(3);
        int groups = spec.groups();
        int crs = ws.dim(1) * r * s;
        requireInt("conv2dBackwardWeight", "N*P*Q", (long) n * p * q);
        requireInt("conv2dBackwardWeight", "C*H*W", (long) c * h * wd);
        requireInt("conv2dBackwardWeight", "K*P*Q", (long) k * p * q);
        requireInt("conv2dBackwardWeight", "K*(C/groups*R*S + 1)", (long) k * (crs + 1));
        if (winograd && winogradFits(r, s, spec)) {
            winogradWeightGrad(dw, db, dy, x, spec);
            return;
        }
        int npq = n * p * q;
        // GEMM columns: (c, r, s) plus one for the bias; rows: the group's filters.
        // The split of the reduction depends on the shapes alone (tiles counted at the default row tile), not on the
        // tile that runs: every tile then sums the same ranges in the same order, and gives the same bits.
        int tilesX = Dim3.blocksFor(crs + 1, CONV_TILE_PIXELS);
        long tiles = (long) tilesX * Dim3.blocksFor(k / groups, ConvRowTiles.DEFAULT) * groups;
        int chunk = convWeightChunk(tiles, npq, multiprocessors);
        int splits = Dim3.blocksFor(npq, chunk);
        int z = Math.multiplyExact(groups, splits);
        requireGridYZ("conv2dBackwardWeight", Dim3.of(tilesX, Dim3.blocksFor(k / groups, ConvRowTiles.SMALLEST), z));
        Object[] sizes = {n, c, h, wd, k, r, s, p, q, spec.stride(), spec.pad(), groups, chunk};
        DeviceBuffer partialSums = splits == 1 ? null : workspace((long) splits * k * (crs + 1) * Float.BYTES);
        convTiles.launch(new ConvShape("conv2dBackwardWeight", xs, ws, spec), ConvRowTiles.Op.BACKWARD_WEIGHT, k / groups, v -> {
            Dim3 grid = Dim3.of(tilesX, Dim3.blocksFor(k / groups, v.tile()), z);
            KernelSignature kernel = ConvRowTiles.Op.BACKWARD_WEIGHT.kernel(v);
            if (splits == 1) {
                launch(kernel, grid, Dim3.of(2 * v.tile()), concat(new Object[] {dw.address(), db.address(), dy.address(), x.address()}, sizes));
                return;
            }
            launch(kernel, grid, Dim3.of(2 * v.tile()), concat(new Object[] {partialSums.address(), db.address(), dy.address(), x.address()},
                    sizes));
            launch(Kernels.CONV2D_BACKWARD_WEIGHT_REDUCE, elementwiseGrid((long) k * (crs + 1), 1), Dim3.of(ELEMENTWISE_THREADS),
                    dw.address(), db.address(), partialSums.address(), k, crs, splits);
        }, this::timeMillis);
    }

    /**
     * The reduction length (output pixels N*P*Q) each split of a weight gradient sums: all of it when the output
     * tiles fill the GPU, else short enough that tiles x splits is about one wave of resident blocks, but never below
     * {@link #CONV_BWD_MIN_CHUNK}, rounded to whole slabs. Depends only on the shapes and the SM count.
     */
    static int convWeightChunk(long tiles, int npq, int multiprocessors) {
        long wave = (long) CONV_BWD_BLOCKS_PER_SM * multiprocessors;
        long splits = Math.max(1, wave / tiles);
        if (splits == 1) return npq;
        long chunk = (npq + splits - 1) / splits;
        chunk = Math.max(CONV_BWD_MIN_CHUNK, (chunk + CONV_SLAB - 1) / CONV_SLAB * CONV_SLAB);
        return chunk >= npq ? npq : (int) chunk;
    }

    private static Object[] concat(Object[] a, Object[] b) {
        Object[] all = new Object[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    @Override
    public void lrnBackward(Tensor dIn, Tensor dOut, Tensor in, Tensor out, LrnSpec spec, boolean inFromRelu) {
        ShapeChecks.lrnBackward(dIn, dOut, in, out, spec);
        DeviceTensor dx = own(dIn), dy = own(dOut), x = own(in), y = own(out);
        requireDistinct("lrnBackward", dx, dy);
        requireDistinct("lrnBackward", dx, x);
        requireDistinct("lrnBackward", dx, y);
        Shape xs = x.shape();
        int n = xs.dim(0), c = xs.dim(1), h = xs.dim(2), w = xs.dim(3);
        Dim3 grid = lrnGrid("lrnBackward", n, spec.groups(), h, w);
        KernelSignature kernel = spec.size() <= Kernels.LRN_BACKWARD_MAX_SIZE ? Kernels.LRN_BACKWARD : Kernels.LRN_BACKWARD_WIDE;
        launch(kernel, grid, Dim3.of(ELEMENTWISE_THREADS), dx.address(), dy.address(),
                x.address(), y.address(), n, c, h, w, spec.size(), spec.effectiveAlpha(), spec.beta(), spec.k(), spec.groups(), inFromRelu ? 1 : 0);
    }

    @Override
    public void maxPoolBackward(Tensor dIn, Tensor dOut, Tensor in, PoolSpec spec, boolean inFromRelu) {
        ShapeChecks.maxPoolBackward(dIn, dOut, in, spec);
        DeviceTensor dx = own(dIn), dy = own(dOut), x = own(in);
        requireDistinct("maxPoolBackward", dx, dy);
        requireDistinct("maxPoolBackward", dx, x);
        Shape xs = x.shape(), ys = dy.shape();
        requireInt("maxPoolBackward", "H*W", (long) xs.dim(2) * xs.dim(3));
        long planes = (long) xs.dim(0) * xs.dim(1);
        int perBlock = maxPoolPlanesPerBlock(planes, xs.dim(2) * xs.dim(3), ys.dim(2) * ys.dim(3), multiprocessors);
        Object[] args = {dx.address(), dy.address(), x.address(), xs.dim(0), xs.dim(1), xs.dim(2), xs.dim(3), ys.dim(2), ys.dim(3),
                spec.window(), spec.stride(), inFromRelu ? 1 : 0};
        if (perBlock > 0) {
            long blocks = Math.ceilDiv(planes, perBlock);
            requireInt("maxPoolBackward", "N*C / planes per block", blocks);
            launch(Kernels.MAXPOOL_BACKWARD_PLANES, Dim3.of((int) blocks), Dim3.of(ELEMENTWISE_THREADS), concat(args, new Object[] {perBlock}));
        } else {
            long total = xs.size(); // one thread per input element, each window's choice found by each of its elements
            launch(Kernels.MAXPOOL_BACKWARD, elementwiseGrid(total, 1), Dim3.of(ELEMENTWISE_THREADS), args);
        }
    }

    /** Window choices one block of maxpool_backward_planes holds in shared memory (pool.cu's maxpool_planes_v1::WINDOWS). */
    static final int MAXPOOL_PLANES_WINDOWS = 4096;
    /** Input elements per block that maxpool_backward_planes aims at (planes are whole: a larger plane is a block alone). */
    static final int MAXPOOL_PLANES_ELEMENTS = 2048;

    /**
     * Planes per block of maxpool_backward_planes for {@code planes} (N*C) planes of {@code hw} inputs and {@code pq}
     * windows: about {@link #MAXPOOL_PLANES_ELEMENTS} inputs, choices within {@link #MAXPOOL_PLANES_WINDOWS}, and
     * at least two blocks per SM where there are planes enough; 0 where one plane's windows exceed the shared memory
     * (then maxpool_backward, which finds each choice again per element). The bits are the same either way.
     */
    static int maxPoolPlanesPerBlock(long planes, int hw, int pq, int multiprocessors) {
        if (pq > MAXPOOL_PLANES_WINDOWS) return 0;
        long perBlock = Math.min(Math.ceilDiv(MAXPOOL_PLANES_ELEMENTS, Math.max(1, hw)), MAXPOOL_PLANES_WINDOWS / Math.max(1, pq));
        perBlock = Math.min(perBlock, planes / (2L * multiprocessors));
        return (int) Math.max(1, perBlock);
    }

    @Override
    public synchronized void linearBackwardData(Tensor dIn, Tensor dOut, Tensor weight) {
        int[] nck = ShapeChecks.linearBackwardData(dIn, dOut, weight);
        int n = nck[0], c = nck[1], k = nck[2];
        DeviceTensor dx = own(dIn), dy = own(dOut), w = own(weight);
        requireDistinct("linearBackwardData", dx, dy);
        requireDistinct("linearBackwardData", dx, w);
        // dIn (N, C) = dOut (N, K) x weight (K, C): rows N, columns C, reduction K.
        linearBackwardGemm(Kernels.LINEAR_BACKWARD_DATA, dx, dy, w, n, c, k, n, n, k);
    }

    @Override
    public synchronized void linearBackwardWeight(Tensor dWeight, Tensor dBias, Tensor dOut, Tensor in) {
        int[] nck = ShapeChecks.linearBackwardWeight(dWeight, dBias, dOut, in);
        int n = nck[0], c = nck[1], k = nck[2];
        DeviceTensor dw = own(dWeight), db = own(dBias), dy = own(dOut), x = own(in);
        requireDistinct("linearBackwardWeight", dw, db);
        for (DeviceTensor input : new DeviceTensor[] {dy, x}) {
            requireDistinct("linearBackwardWeight", dw, input);
            requireDistinct("linearBackwardWeight", db, input);
        }
        // dWeight (K, C) = dOut^T (K, N) x in (N, C): rows K (the whole layer's, for the split of N), columns C.
        linearBackwardGemm(Kernels.LINEAR_BACKWARD_WEIGHT, dw, dy, x, n, c, k, k, (long) k * layerSlices, n);
        launch(Kernels.LINEAR_BACKWARD_BIAS, elementwiseGrid(k, 1), Dim3.of(ELEMENTWISE_THREADS), db.address(), dy.address(), n, k);
    }

    /**
     * gemm.cu backward: rows (M) in tiles of 64, columns (C) in tiles of 128, split-K as the forward pass; the split
     * chosen for {@code layerRows} rows (the whole layer's where this is a slice of it).
     */
    private void linearBackwardGemm(KernelSignature kernel, DeviceTensor out, DeviceTensor a, DeviceTensor b, int n, int c, int k,
            int rows, long layerRows, int reduction) {
        int tilesM = Dim3.blocksFor(rows, LINEAR_TILE_N), tilesC = Dim3.blocksFor(c, LINEAR_TILE_K);
        int chunk = linearChunk(Dim3.blocksFor(layerRows, LINEAR_TILE_N), tilesC, reduction, multiprocessors);
        int splits = Dim3.blocksFor(reduction, chunk);
        Dim3 grid = Dim3.of(tilesM, tilesC, splits);
        requireGridYZ(kernel.name(), grid);
        if (splits == 1) {
            launch(kernel, grid, Dim3.of(LINEAR_THREADS), out.address(), a.address(), b.address(), n, c, k, chunk);
            return;
        }
        long total = (long) rows * c;
        DeviceBuffer ws = workspace((long) splits * total * Float.BYTES);
        launch(kernel, grid, Dim3.of(LINEAR_THREADS), ws.address(), a.address(), b.address(), n, c, k, chunk);
        launch(Kernels.LINEAR_BACKWARD_REDUCE, elementwiseGrid(total, 1), Dim3.of(ELEMENTWISE_THREADS), out.address(), ws.address(),
                total, splits);
    }

    @Override
    public void dropoutForward(Tensor out, Tensor in, float p, long seed, int layer, long step) {
        ShapeChecks.dropout("dropoutForward", out, in, p);
        dropout(Kernels.DROPOUT_FORWARD, own(out), own(in), p, seed, layer, step);
    }

    @Override
    public void dropoutBackward(Tensor dIn, Tensor dOut, float p, long seed, int layer, long step) {
        ShapeChecks.dropout("dropoutBackward", dIn, dOut, p);
        dropout(Kernels.DROPOUT_BACKWARD, own(dIn), own(dOut), p, seed, layer, step);
    }

    /** dropout.cu: one Philox call per 4 elements. out may be in (each thread reads its 4 elements, then writes them). */
    private void dropout(KernelSignature kernel, DeviceTensor out, DeviceTensor in, float p, long seed, int layer, long step) {
        long n = out.shape().size();
        float scale = (float) (1.0 / (1.0 - p)); // once, in double, so that every backend multiplies by the same float
        launch(kernel, elementwiseGrid(n, 4), Dim3.of(ELEMENTWISE_THREADS), out.address(), in.address(), n, p, scale, seed, layer, step);
    }

    /** softmax_xent: per-row losses (N doubles) then the labels (N ints), on the device and in pinned host memory. */
    private DeviceBuffer xentDevice;
    private PinnedBuffer xentHost;

    @Override
    public synchronized float softmaxCrossEntropy(Tensor dLogits, Tensor logits, int[] labels) {
        int k = ShapeChecks.softmaxCrossEntropy(dLogits, logits, labels);
        DeviceTensor d = own(dLogits), x = own(logits); // dLogits may be logits: see softmax.cu
        int n = labels.length;
        long lossBytes = (long) n * Double.BYTES, labelBytes = (long) n * Integer.BYTES;
        ensureXentBuffers(lossBytes + labelBytes);
        context.ensureCurrent();
        MemorySegment host = xentHost.segment();
        MemorySegment.copy(labels, 0, host, ValueLayout.JAVA_INT, lossBytes, n);
        // Queued on the stream, so ordered after earlier ops and before the kernel; the host buffers are not touched
        // again until the stream has drained below.
        xentDevice.copyFromHostAsync(host, lossBytes, lossBytes, labelBytes, stream);
        int threads = Math.min(SOFTMAX_MAX_THREADS, (k + 31) / 32 * 32);
        int blocks = Math.min(n, multiprocessors * 32);
        launch(Kernels.SOFTMAX_XENT, Dim3.of(blocks), Dim3.of(threads), d.address(), xentDevice.address(), x.address(),
                xentDevice.address(lossBytes), n, k);
        xentDevice.copyToHostAsync(0, host, 0, lossBytes, stream);
        stream.synchronize();
        double sum = 0; // in row order: the same bits every run
        for (int i = 0; i < n; i++) sum += host.getAtIndex(ValueLayout.JAVA_DOUBLE, i);
        return (float) (sum / n);
    }

    private synchronized void ensureXentBuffers(long bytes) {
        requireNotRecording("the loss (it copies to and from the host)");
        if (xentDevice != null && xentDevice.byteSize() >= bytes) return;
        // Every earlier softmaxCrossEntropy waited for its stream work, so the old buffers are idle.
        if (xentDevice != null) xentDevice.close();
        if (xentHost != null) xentHost.close();
        xentDevice = null;
        xentHost = null;
        long size = Math.max(bytes, 4096);
        xentDevice = context.allocate(size);
        xentHost = context.allocatePinned(size);
    }

    @Override
    public void sgdUpdate(Tensor weight, Tensor velocity, Tensor grad, float lr, float momentum, float weightDecay) {
        ShapeChecks.sgdUpdate(weight, velocity, grad);
        DeviceTensor w = own(weight), v = own(velocity), g = own(grad);
        requireDistinct("sgdUpdate", w, v);
        requireDistinct("sgdUpdate", w, g);
        requireDistinct("sgdUpdate", v, g);
        float decay = weightDecay * lr; // in float, as the CPU reference: both sides multiply w by this same float
        long n = w.shape().size();
        launch(Kernels.SGD_UPDATE, elementwiseGrid(n, 4), Dim3.of(ELEMENTWISE_THREADS), w.address(), v.address(), g.address(),
                lr, momentum, decay, n);
    }

    @Override
    public void synchronize() {
        if (recorder == Thread.currentThread()) requireNotRecording("waiting for the device");
        stream.synchronize();
    }

    /** Recordings alive (see record): while any is, scratch memory their kernels point into is kept. */
    private final Set<Recording> recordings = new HashSet<>();
    /** Scratch buffers replaced while recordings were alive, freed when the last one closes. */
    private final List<DeviceBuffer> retired = new ArrayList<>();
    /** The thread recording, while one is. */
    private Thread recorder;

    /**
     * Captures the kernels {@code work} queues on this backend's stream into a CUDA graph (thread-local capture mode;
     * the backend's lock is held throughout, so other threads' ops wait), instantiated once; {@link Replay#run}
     * launches it on the stream. Something {@code work} must not do while recording (tune, grow scratch memory, copy
     * to or from the host, wait) fails with an {@link IllegalStateException} saying what, and nothing is recorded.
     */
    @Override
    public synchronized Replay record(Runnable work) {
        if (recorder != null) throw new IllegalStateException("record: " + name + " is recording already");
        context.ensureCurrent();
        stream.beginCapture(CuStream.CaptureMode.THREAD_LOCAL);
        recorder = Thread.currentThread();
        try {
            work.run();
        } catch (Throwable t) {
            recorder = null;
            try {
                stream.endCapture().close();
            } catch (RuntimeException e) {
                t.addSuppressed(e);
            }
            throw t;
        }
        recorder = null;
        CuGraphExec exec;
        try (CuGraph graph = stream.endCapture()) {
            exec = graph.instantiate();
        }
        Recording recording = new Recording(exec);
        recordings.add(recording);
        return recording;
    }

    private void requireNotRecording(String what) {
        if (recorder != null) {
            throw new IllegalStateException(what + " cannot be recorded into a CUDA graph: run the work once before recording it"
                    + " (and record ops only: no copies, no waiting)");
        }
    }

    /** A CUDA graph of recorded kernels. */
    private final class Recording implements Replay {
        private final CuGraphExec exec;

        Recording(CuGraphExec exec) {
            this.exec = exec;
        }

        @Override
        public void run() {
            synchronized (CudaBackend.this) {
                if (exec.isClosed()) throw new IllegalStateException("this recording on " + name + " is closed");
                context.ensureCurrent();
                exec.launch(stream);
            }
        }

        @Override
        public void close() {
            synchronized (CudaBackend.this) {
                if (!recordings.remove(this)) return;
                context.ensureCurrent();
                exec.close();  // a launch still running finishes first (the driver frees it then)
                if (recordings.isEmpty() && !retired.isEmpty()) {
                    stream.synchronize();  // the last launches may still read the retired buffers
                    retired.forEach(DeviceBuffer::close);
                    retired.clear();
                }
            }
        }
    }

    @Override
    public synchronized void close() {
        if (context.isClosed()) return;
        try {
            if (!stream.isClosed()) stream.synchronize();
        } finally {
            for (Recording r : List.copyOf(recordings)) r.exec.close();
            recordings.clear();
            retired.forEach(DeviceBuffer::close);
            retired.clear();
            if (workspace != null) {
                workspace.close();
                workspace = null;
            }
            if (xentDevice != null) {
                xentDevice.close();
                xentDevice = null;
            }
            if (xentHost != null) {
                xentHost.close();
                xentHost = null;
            }
            for (UploadFence f : List.copyOf(uploadFences)) f.close();
            for (int i = 0; i < staging.length; i++) {
                if (staging[i] != null) staging[i].close();
                if (stagingDone[i] != null) stagingDone[i].close();
                staging[i] = null;
                stagingDone[i] = null;
            }
            kernels.clear();
            modules.values().forEach(CuModule::close);
            modules.clear();
            stream.close();
            context.close();
        }
    }
}
