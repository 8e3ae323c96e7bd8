package dev.alexnetffm.engine.model;

import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.backend.ConvSpec;
import dev.alexnetffm.engine.backend.HostBuffer;
import dev.alexnetffm.engine.io.SafeTensors;
import dev.alexnetffm.engine.io.SafeTensorsFile;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;
import dev.alexnetffm.engine.tensor.TensorGroup;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The paper's network on one backend: parameters, and forward to logits. Parameter names and shapes
 * (PyTorch's layouts, C = 3 input channels, S = input size, P5 = pool5's size, 6 for S = 227):
 * <pre>
 * conv1.weight (96, C, 11, 11)   conv1.bias (96)     stride 4, pad 0
 * conv2.weight (256, 48, 5, 5)   conv2.bias (256)    pad 2, groups 2
 * conv3.weight (384, 256, 3, 3)  conv3.bias (384)    pad 1 (sees both towers)
 * conv4.weight (384, 192, 3, 3)  conv4.bias (384)    pad 1, groups 2
 * conv5.weight (256, 192, 3, 3)  conv5.bias (256)    pad 1, groups 2
 * fc6.weight (H, 256*P5*P5)      fc6.bias (H)        H = 4096 hidden units
 * fc7.weight (H, H)              fc7.bias (H)
 * fc8.weight (classes, H)        fc8.bias (classes)
 * </pre>
 * Each tower owns half of every layer's output channels (the first half: tower A). Dropout is inverted (scaled
 * by 1 / (1 - p) in training), so inference is exactly the identity.
 *
 * <p>{@link #logits}, {@link #probabilities}, {@link #weights} and {@link #save} may be called from several threads
 * at once (a server's request threads, say): they run one at a time, each on the network's input and activation
 * buffers, and return copies. {@link #forward(Tensor)} and {@link #upload} hand out those buffers, valid until the
 * next such call from any thread: a thread that keeps them must hold the network's lock ({@code synchronized (net)})
 * meanwhile. Training (which writes the parameters) runs on one thread.
 */
public final class AlexNet implements AutoCloseable {
    /** conv1: 11x11 stride 4, no padding, each tower sees the whole image. */
    public static final ConvSpec CONV1 = new ConvSpec(4, 0, 1);
    /** conv2: 5x5, pad 2, two groups (each tower sees only its own half). */
    public static final ConvSpec CONV2 = new ConvSpec(1, 2, 2);
    /** conv3: 3x3, pad 1, sees both towers. */
    public static final ConvSpec CONV3 = new ConvSpec(1, 1, 1);
    /** conv4 and conv5: 3x3, pad 1, two groups. */
    public static final ConvSpec CONV45 = new ConvSpec(1, 1, 2);

    /** A parameter's name, shape and initial value rule: N(0, 0.01^2) when {@code gaussian}, else {@code constant}. */
    public record ParamSpec(String name, Shape shape, boolean gaussian, float constant) {}

    private final Backend backend;
    private final AlexNetConfig config;
    private final Map<String, Tensor> params;
    /**
     * The inference input and activations of the last {@value #BATCH_SIZES_KEPT} batch sizes used, by batch size,
     * least recently used first: alternating sizes (a classifier's full batches and its last, smaller one) reuse
     * them instead of reallocating.
     */
    private final LinkedHashMap<Integer, Tensor> inputs = new LinkedHashMap<>(4, 0.75f, true);
    private final LinkedHashMap<Integer, Activations> activationSets = new LinkedHashMap<>(4, 0.75f, true);
    private static final int BATCH_SIZES_KEPT = 2;
    private volatile boolean closed;

    private AlexNet(Backend backend, AlexNetConfig config, Map<String, Tensor> params) {
        this.backend = backend;
        this.config = config;
        this.params = Collections.unmodifiableMap(params);
    }

    /** Every parameter in order, with the paper's initialisation: weights N(0, 0.01^2); biases 1 in conv2, conv4, conv5, fc6, fc7, else 0. */
    public static List<ParamSpec> parameterSpecs(AlexNetConfig c) {
        int h = c.hidden();
        List<ParamSpec> specs = new ArrayList<>();
        addLayer(specs, "conv1", Shape.of(96, c.inChannels(), 11, 11), 0f);
        addLayer(specs, "conv2", Shape.of(256, 48, 5, 5), 1f);
        addLayer(specs, "conv3", Shape.of(384, 256, 3, 3), 0f);
        addLayer(specs, "conv4", Shape.of(384, 192, 3, 3), 1f);
        addLayer(specs, "conv5", Shape.of(256, 192, 3, 3), 1f);
        addLayer(specs, "fc6", Shape.of(h, c.geometry().fc6Inputs()), 1f);
        addLayer(specs, "fc7", Shape.of(h, h), 1f);
        addLayer(specs, "fc8", Shape.of(c.classes(), h), 0f);
        return List.copyOf(specs);
    }

    private static void addLayer(List<ParamSpec> specs, String layer, Shape weight, float bias) {
        specs.add(new ParamSpec(layer + ".weight", weight, true, 0f));
        specs.add(new ParamSpec(layer + ".bias", Shape.of(weight.dim(0)), false, bias));
    }

    /** Name -> shape of every parameter, for validating a weights file. */
    public static Map<String, Shape> parameterShapes(AlexNetConfig c) {
        Map<String, Shape> shapes = new LinkedHashMap<>();
        for (ParamSpec p : parameterSpecs(c)) shapes.put(p.name(), p.shape());
        return shapes;
    }

    /** How the weights start. */
    public enum Init {
        /** The paper's: weights N(0, 0.01^2); biases 1 in conv2, conv4, conv5, fc6 and fc7, else 0. */
        PAPER,
        /**
         * He et al. 2015: weights N(0, 2 / fan_in), biases 0. Keeps the signal's scale through the eight layers, so a
         * network starts learning within the first hundred steps instead of after a long plateau.
         */
        KAIMING
    }

    /** The paper's initial weights, drawn on the host from {@code seed} (the same seed gives the same bits everywhere). */
    public static Map<String, HostTensor> initialWeights(AlexNetConfig config, long seed) {
        return initialWeights(config, seed, Init.PAPER);
    }

    /** Initial weights by {@code init}, drawn on the host from {@code seed}. */
    public static Map<String, HostTensor> initialWeights(AlexNetConfig config, long seed, Init init) {
        SplittableRandom root = new SplittableRandom(seed);
        Map<String, HostTensor> weights = new LinkedHashMap<>();
        for (ParamSpec p : parameterSpecs(config)) {
            SplittableRandom random = root.split(); // one stream per parameter, in a fixed order
            float[] data = new float[p.shape().intSize()];
            if (p.gaussian()) {
                double std = init == Init.PAPER ? 0.01 : Math.sqrt(2.0 / p.shape().sizeFrom(1));
                for (int i = 0; i < data.length; i++) data[i] = (float) (std * random.nextGaussian());
            } else {
                java.util.Arrays.fill(data, init == Init.PAPER ? p.constant() : 0f);
            }
            weights.put(p.name(), new HostTensor(p.shape(), data));
        }
        return weights;
    }

    /** A new network with the paper's initialisation. */
    public static AlexNet initialize(Backend backend, AlexNetConfig config, long seed) {
        return initialize(backend, config, seed, Init.PAPER);
    }

    /** A new network initialised by {@code init}. */
    public static AlexNet initialize(Backend backend, AlexNetConfig config, long seed, Init init) {
        return fromWeights(backend, config, initialWeights(config, seed, init));
    }

    /**
     * A network with the given weights, which must be exactly the parameters {@link #parameterShapes} lists.
     * Everything is checked before anything is copied to the backend.
     */
    public static AlexNet fromWeights(Backend backend, AlexNetConfig config, Map<String, HostTensor> weights) {
        requireWeights(config, weights);
        Map<String, Tensor> params = new LinkedHashMap<>();
        try {
            for (String name : parameterShapes(config).keySet()) {
                HostTensor t = weights.get(name);
                params.put(name, backend.fromArray(t.shape(), t.data()));
            }
        } catch (RuntimeException e) {
            params.values().forEach(Tensor::close);
            throw e;
        }
        return new AlexNet(backend, config, params);
    }

    /** Checks that {@code weights} are exactly the parameters {@link #parameterShapes} lists; the error names every problem. */
    public static void requireWeights(AlexNetConfig config, Map<String, HostTensor> weights) {
        Map<String, Shape> expected = parameterShapes(config);
        List<String> problems = new ArrayList<>();
        for (var e : expected.entrySet()) {
            HostTensor t = weights.get(e.getKey());
            if (t == null) problems.add(e.getKey() + " is missing (expected " + e.getValue() + ")");
            else if (!t.shape().equals(e.getValue())) problems.add(e.getKey() + " has shape " + t.shape() + ", expected " + e.getValue());
        }
        for (String name : weights.keySet()) {
            if (!expected.containsKey(name)) problems.add(name + " is not a parameter of this network");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("weights do not fit " + config + ": " + String.join("; ", problems));
        }
    }

    public AlexNetConfig config() {
        return config;
    }

    public Backend backend() {
        return backend;
    }

    /** The parameters as they live on the backend, by name. */
    public Map<String, Tensor> parameters() {
        return params;
    }

    /** A host copy of every parameter, by name (for saving). */
    public synchronized Map<String, HostTensor> weights() {
        requireOpen();
        return HostTensor.copiesOf(params);
    }

    /**
     * Saves the weights as safetensors (names and shapes as in this class's documentation, float32), with this
     * configuration in the metadata. The file is replaced atomically: a failure leaves an existing file as it was.
     */
    public synchronized void save(Path file) throws IOException {
        SafeTensors.write(file, weights(), config.toMetadata());
    }

    /**
     * Loads a network saved by {@link #save} (or any safetensors file with these names and shapes). The
     * configuration comes from the file's metadata, else {@code fallback}. Every tensor's name, shape and dtype
     * is checked before anything is copied to the backend; an error names the file and the tensor.
     */
    public static AlexNet load(Backend backend, Path file, AlexNetConfig fallback) throws IOException {
        Saved saved = read(file, fallback);
        return fromWeights(backend, saved.config(), saved.weights());
    }

    /** A weights file read into host memory: its configuration and the parameters by name. */
    public record Saved(AlexNetConfig config, Map<String, HostTensor> weights) {}

    /** Reads and validates a weights file as {@link #load} does, without putting it on a backend. */
    public static Saved read(Path file, AlexNetConfig fallback) throws IOException {
        return read(file, fallback, name -> false);
    }

    /**
     * {@link #read(Path, AlexNetConfig)}, passing over the other tensors {@code skip} accepts (a training checkpoint's
     * optimizer state): neither read nor reported as unexpected.
     */
    public static Saved read(Path file, AlexNetConfig fallback, java.util.function.Predicate<String> skip) throws IOException {
        AlexNetConfig config = AlexNetConfig.fromMetadata(SafeTensors.readHeader(file).metadata(), fallback);
        SafeTensorsFile weights = SafeTensors.readExpecting(file, parameterShapes(config), skip);
        return new Saved(config, weights.tensors());
    }

    /** Number of parameters: 60,965,224 for the paper's network. */
    public static long parameterCount(AlexNetConfig config) {
        return parameterSpecs(config).stream().mapToLong(p -> p.shape().size()).sum();
    }

    /** The input shape for a batch of {@code n}. */
    public Shape inputShape(int n) {
        return Shape.of(n, config.inChannels(), config.inputSize(), config.inputSize());
    }

    /** Keys a training forward pass's dropout masks: the run's seed and the step's number. */
    public record Dropout(long seed, long step) {}

    /** The dropout layers' numbers in the masks' key (after fc6's and after fc7's activation). */
    public static final int DROPOUT6 = 6, DROPOUT7 = 7;

    /**
     * Forward pass at inference. {@code input} is (N, C, S, S) on this network's backend; the returned logits
     * (N, classes) belong to the network and are overwritten by the next forward call.
     */
    public synchronized Tensor forward(Tensor input) {
        return forward(input, activationsFor(input.shape().dim(0)), null);
    }

    /**
     * The forward pass into caller-owned activations {@code a} (made for this batch size): at inference when
     * {@code dropout} is null, else with dropout after fc6 and fc7 (then {@code a} must have been made for
     * training). Returns {@code a.fc8}, the logits.
     */
    public Tensor forward(Tensor input, Activations a, Dropout dropout) {
        Shape s = input.shape();
        if (s.rank() != 4 || s.dim(1) != config.inChannels() || s.dim(2) != config.inputSize() || s.dim(3) != config.inputSize()) {
            throw new IllegalArgumentException("input must be (N, " + config.inChannels() + ", " + config.inputSize() + ", "
                    + config.inputSize() + "), got " + s);
        }
        if (a.n != s.dim(0)) throw new IllegalArgumentException("activations for batch " + a.n + " given a batch of " + s.dim(0));
        requireOpen();
        if (dropout != null && a.drop6 == null) throw new IllegalArgumentException("training needs activations made for training");
        Backend b = backend;
        boolean relu = config.activation() == AlexNetConfig.Activation.RELU;
        b.conv2d(a.conv1, input, p("conv1.weight"), p("conv1.bias"), CONV1, relu);
        activate(a.conv1);
        if (config.lrn() != null) b.lrn(a.norm1, a.conv1, config.lrn());
        b.maxPool(a.pool1, a.pool1Input(), config.pool());
        b.conv2d(a.conv2, a.pool1, p("conv2.weight"), p("conv2.bias"), CONV2, relu);
        activate(a.conv2);
        if (config.lrn() != null) b.lrn(a.norm2, a.conv2, config.lrn());
        b.maxPool(a.pool2, a.pool2Input(), config.pool());
        b.conv2d(a.conv3, a.pool2, p("conv3.weight"), p("conv3.bias"), CONV3, relu);
        activate(a.conv3);
        b.conv2d(a.conv4, a.conv3, p("conv4.weight"), p("conv4.bias"), CONV45, relu);
        activate(a.conv4);
        b.conv2d(a.conv5, a.conv4, p("conv5.weight"), p("conv5.bias"), CONV45, relu);
        activate(a.conv5);
        b.maxPool(a.pool5, a.conv5, config.pool());
        b.linear(a.fc6, a.pool5, p("fc6.weight"), p("fc6.bias"), relu);
        activate(a.fc6);
        if (dropout != null) b.dropoutForward(a.drop6, a.fc6, config.dropout(), dropout.seed(), DROPOUT6, dropout.step());
        b.linear(a.fc7, a.fc7Input(), p("fc7.weight"), p("fc7.bias"), relu);
        activate(a.fc7);
        if (dropout != null) b.dropoutForward(a.drop7, a.fc7, config.dropout(), dropout.seed(), DROPOUT7, dropout.step());
        b.linear(a.fc8, a.fc8Input(), p("fc8.weight"), p("fc8.bias"), false);
        return a.fc8;
    }

    /** Logits for a batch given as a host array of N*C*S*S floats in NCHW order. */
    public synchronized float[] logits(float[] input, int n) {
        return forward(upload(exactly(input, n), n)).toArray();
    }

    /** Logits for a batch of N*C*S*S native-order floats in off-heap memory (NCHW). */
    public synchronized float[] logits(MemorySegment input, int n) {
        try (Tensor x = backend.fromSegment(inputShape(n), input)) {
            return forward(x).toArray();
        }
    }

    /** Class probabilities (softmax of the logits) for a host batch. */
    public synchronized float[] probabilities(float[] input, int n) {
        Tensor logits = forward(upload(exactly(input, n), n));
        Activations a = activationsFor(n);
        backend.softmax(a.probabilities, logits);
        return a.probabilities.toArray();
    }

    /**
     * The network's input tensor for a batch of {@code n}, holding the first N*C*S*S floats of {@code images}: one
     * tensor per batch size (the last two sizes' kept), the copy queued after the work before it. Valid until the
     * next upload.
     */
    public synchronized Tensor upload(float[] images, int n) {
        Tensor x = inputFor(n);
        backend.copyFromHost(x, images);
        return x;
    }

    /** {@link #upload(float[], int)} from host memory the backend allocated (no copy on the calling thread). */
    public synchronized Tensor upload(HostBuffer images, int n) {
        Tensor x = inputFor(n);
        backend.copyFromHost(x, images);
        return x;
    }

    private Tensor inputFor(int n) {
        requireOpen();
        return cached(inputs, n, () -> backend.allocate(inputShape(n)), Tensor::close);
    }

    /** {@code map}'s value for batch size {@code n}, made if missing; the least recently used one past the kept few closed. */
    private static <T> T cached(LinkedHashMap<Integer, T> map, int n, java.util.function.Supplier<T> make,
                                java.util.function.Consumer<T> close) {
        T value = map.get(n);
        if (value != null) return value;
        if (map.size() >= BATCH_SIZES_KEPT) {
            var eldest = map.entrySet().iterator().next();
            map.remove(eldest.getKey());
            close.accept(eldest.getValue());
        }
        value = make.get();
        map.put(n, value);
        return value;
    }

    /** A batch given as exactly N*C*S*S floats. */
    private float[] exactly(float[] images, int n) {
        Shape shape = inputShape(n);
        if (images.length != shape.size()) {
            throw new IllegalArgumentException("shape " + shape + " needs " + shape.size() + " floats, got " + images.length);
        }
        return images;
    }

    private Tensor p(String name) {
        return params.get(name);
    }

    void requireOpen() {
        if (closed) throw new IllegalStateException("this AlexNet is closed (closing its Engine closes it too): load or build it again");
    }

    /** Applies tanh in place when the configuration asks for it (ReLU is fused into the layer itself). */
    private void activate(Tensor t) {
        if (config.activation() == AlexNetConfig.Activation.TANH) backend.tanh(t, t);
    }

    private Activations activationsFor(int n) {
        return cached(activationSets, n, () -> new Activations(backend, config, n, false), Activations::close);
    }

    /** Releases parameters and activations (device memory on a GPU backend). The backend stays open. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        activationSets.values().forEach(Activations::close);
        activationSets.clear();
        inputs.values().forEach(Tensor::close);
        inputs.clear();
        params.values().forEach(Tensor::close);
    }

    /**
     * Every intermediate tensor of a forward pass at one batch size, allocated once and reused: norm1 and norm2 only
     * with LRN, drop6 and drop7 (fc6's and fc7's outputs after dropout) only for training.
     */
    public static final class Activations implements AutoCloseable {
        public final int n;
        public final Tensor conv1, norm1, pool1, conv2, norm2, pool2, conv3, conv4, conv5, pool5, fc6, drop6, fc7, drop7, fc8,
                probabilities;
        private final TensorGroup group;

        public Activations(Backend b, AlexNetConfig c, int n, boolean training) {
            this.n = n;
            this.group = new TensorGroup(b);
            AlexNetConfig.Geometry g = c.geometry();
            boolean lrn = c.lrn() != null;
            try {
                conv1 = group.allocate(Shape.of(n, 96, g.conv1(), g.conv1()));
                norm1 = group.allocateIf(lrn, Shape.of(n, 96, g.conv1(), g.conv1()));
                pool1 = group.allocate(Shape.of(n, 96, g.pool1(), g.pool1()));
                conv2 = group.allocate(Shape.of(n, 256, g.pool1(), g.pool1()));
                norm2 = group.allocateIf(lrn, Shape.of(n, 256, g.pool1(), g.pool1()));
                pool2 = group.allocate(Shape.of(n, 256, g.pool2(), g.pool2()));
                conv3 = group.allocate(Shape.of(n, 384, g.pool2(), g.pool2()));
                conv4 = group.allocate(Shape.of(n, 384, g.pool2(), g.pool2()));
                conv5 = group.allocate(Shape.of(n, 256, g.pool2(), g.pool2()));
                pool5 = group.allocate(Shape.of(n, 256, g.pool5(), g.pool5()));
                fc6 = group.allocate(Shape.of(n, c.hidden()));
                drop6 = group.allocateIf(training, Shape.of(n, c.hidden()));
                fc7 = group.allocate(Shape.of(n, c.hidden()));
                drop7 = group.allocateIf(training, Shape.of(n, c.hidden()));
                fc8 = group.allocate(Shape.of(n, c.classes()));
                probabilities = group.allocateIf(!training, Shape.of(n, c.classes()));
            } catch (RuntimeException e) {
                group.close();
                throw e;
            }
        }

        /** What pool1 reads: norm1 with LRN, else conv1. */
        public Tensor pool1Input() {
            return norm1 != null ? norm1 : conv1;
        }

        /** What pool2 reads: norm2 with LRN, else conv2. */
        public Tensor pool2Input() {
            return norm2 != null ? norm2 : conv2;
        }

        /** What fc7 reads: fc6's output after dropout in training, else fc6's output. */
        public Tensor fc7Input() {
            return drop6 != null ? drop6 : fc6;
        }

        /** What fc8 reads: fc7's output after dropout in training, else fc7's output. */
        public Tensor fc8Input() {
            return drop7 != null ? drop7 : fc7;
        }

        /**
         * The tensors this set holds, by layer name in the network's order (conv1, norm1, pool1, ..., fc8,
         * probabilities), those the configuration leaves out (no LRN, inference or training) omitted. A convolution's
         * or fully connected layer's entry is its output after the activation.
         */
        public Map<String, Tensor> byName() {
            Map<String, Tensor> m = new LinkedHashMap<>();
            String[] names = {"conv1", "norm1", "pool1", "conv2", "norm2", "pool2", "conv3", "conv4", "conv5", "pool5", "fc6", "drop6", "fc7",
                    "drop7", "fc8", "probabilities"};
            Tensor[] tensors = {conv1, norm1, pool1, conv2, norm2, pool2, conv3, conv4, conv5, pool5, fc6, drop6, fc7, drop7, fc8, probabilities};
            for (int i = 0; i < names.length; i++) if (tensors[i] != null) m.put(names[i], tensors[i]);
            return m;
        }

        @Override
        public void close() {
            group.close();
        }
    }
}
