package dev.alexnetffm.engine.model;

import dev.alexnetffm.engine.backend.LrnSpec;
import dev.alexnetffm.engine.backend.PoolSpec;

/**
 * The network's configuration as data. {@link #paper()} is the 2012 paper's network (DESIGN.md); the other
 * settings exist for the paper's ablations and for smaller data sets.
 *
 * @param classes      outputs of fc8 (1000 for ImageNet)
 * @param inChannels   input channels (3: RGB)
 * @param inputSize    input height = width (227)
 * @param lrn          local response normalisation after conv1 and conv2, or null for none
 * @param pool         max pooling after conv1, conv2 and conv5 (3x3 stride 2: the paper's overlapping pooling)
 * @param dropout      dropout probability before fc7 and fc8 in training (0.5); identity at inference
 * @param hidden       width of fc6 and fc7 (4096)
 * @param activation   the non-linearity after conv1-5, fc6 and fc7: ReLU (the paper's) or tanh (its Figure 1 baseline)
 */
public record AlexNetConfig(int classes, int inChannels, int inputSize, LrnSpec lrn, PoolSpec pool, float dropout, int hidden,
                            Activation activation) {

    /** The hidden layers' non-linearity. */
    public enum Activation { RELU, TANH }

    public AlexNetConfig {
        if (classes < 1) throw new IllegalArgumentException("classes must be >= 1, got " + classes);
        if (inChannels < 1) throw new IllegalArgumentException("inChannels must be >= 1, got " + inChannels);
        if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
        if (hidden < 2 || hidden % 2 != 0) throw new IllegalArgumentException("hidden must be even (two towers), got " + hidden);
        if (pool == null) throw new IllegalArgumentException("pool must be given");
        if (activation == null) throw new IllegalArgumentException("activation must be given");
        if (lrn != null && (48 % lrn.groups() != 0 || 128 % lrn.groups() != 0)) {
            throw new IllegalArgumentException("LRN groups " + lrn.groups() + " must divide conv1's 96 and conv2's 256 channels");
        }
        Geometry.of(inputSize, pool); // validates that the input is large enough for every layer
    }

    /** The paper's network: 1000 classes, 3x227x227, LRN inside each tower, overlapping pooling, dropout 0.5. */
    public static AlexNetConfig paper() {
        return new AlexNetConfig(1000, 3, 227, LrnSpec.paper(), PoolSpec.overlapping(), 0.5f, 4096, Activation.RELU);
    }

    public AlexNetConfig withClasses(int classes) {
        return new AlexNetConfig(classes, inChannels, inputSize, lrn, pool, dropout, hidden, activation);
    }

    public AlexNetConfig withInput(int inChannels, int inputSize) {
        return new AlexNetConfig(classes, inChannels, inputSize, lrn, pool, dropout, hidden, activation);
    }

    public AlexNetConfig withLrn(LrnSpec lrn) {
        return new AlexNetConfig(classes, inChannels, inputSize, lrn, pool, dropout, hidden, activation);
    }

    public AlexNetConfig withPool(PoolSpec pool) {
        return new AlexNetConfig(classes, inChannels, inputSize, lrn, pool, dropout, hidden, activation);
    }

    public AlexNetConfig withActivation(Activation activation) {
        return new AlexNetConfig(classes, inChannels, inputSize, lrn, pool, dropout, hidden, activation);
    }

    public AlexNetConfig withDropout(float dropout) {
        return new AlexNetConfig(classes, inChannels, inputSize, lrn, pool, dropout, hidden, activation);
    }

    public AlexNetConfig withHidden(int hidden) {
        return new AlexNetConfig(classes, inChannels, inputSize, lrn, pool, dropout, hidden, activation);
    }

    /** This configuration as safetensors metadata (string pairs under "alexnet.*"), so a weights file describes itself. */
    public java.util.Map<String, String> toMetadata() {
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put("alexnet.classes", Integer.toString(classes));
        m.put("alexnet.in_channels", Integer.toString(inChannels));
        m.put("alexnet.input_size", Integer.toString(inputSize));
        m.put("alexnet.lrn", lrn == null ? "none" : lrn.size() + "," + lrn.alpha() + "," + lrn.beta() + "," + lrn.k() + ","
                + lrn.groups() + "," + (lrn.alphaOverSize() ? "alpha/size" : "alpha"));
        m.put("alexnet.pool", pool.window() + "," + pool.stride());
        m.put("alexnet.dropout", Float.toString(dropout));
        m.put("alexnet.hidden", Integer.toString(hidden));
        m.put("alexnet.activation", activation.name().toLowerCase(java.util.Locale.ROOT));
        return m;
    }

    /**
     * The configuration a weights file's metadata describes, or {@code fallback} when it has none. Malformed
     * values are a clear error naming the key.
     */
    public static AlexNetConfig fromMetadata(java.util.Map<String, String> m, AlexNetConfig fallback) {
        if (!m.containsKey("alexnet.classes")) return fallback;
        try {
            String lrnText = m.getOrDefault("alexnet.lrn", "none");
            LrnSpec lrn = null;
            if (!lrnText.equals("none")) {
                String[] f = lrnText.split(",");
                if (f.length != 6) throw new IllegalArgumentException("alexnet.lrn must be 'none' or 'size,alpha,beta,k,groups,alpha|alpha/size', got " + lrnText);
                lrn = new LrnSpec(Integer.parseInt(f[0]), Float.parseFloat(f[1]), Float.parseFloat(f[2]), Float.parseFloat(f[3]),
                        Integer.parseInt(f[4]), f[5].equals("alpha/size"));
            }
            String[] pool = m.getOrDefault("alexnet.pool", "3,2").split(",");
            return new AlexNetConfig(Integer.parseInt(m.get("alexnet.classes")),
                    Integer.parseInt(m.getOrDefault("alexnet.in_channels", "3")),
                    Integer.parseInt(m.getOrDefault("alexnet.input_size", "227")), lrn,
                    new PoolSpec(Integer.parseInt(pool[0]), Integer.parseInt(pool[1])),
                    Float.parseFloat(m.getOrDefault("alexnet.dropout", "0.5")),
                    Integer.parseInt(m.getOrDefault("alexnet.hidden", "4096")),
                    Activation.valueOf(m.getOrDefault("alexnet.activation", "relu").toUpperCase(java.util.Locale.ROOT)));
        } catch (IllegalArgumentException | ArrayIndexOutOfBoundsException e) {
            throw new IllegalArgumentException("the weights file's alexnet.* metadata is malformed (" + e.getMessage() + "): " + m, e);
        }
    }

    public Geometry geometry() {
        return Geometry.of(inputSize, pool);
    }

    /** Spatial sizes of every stage: conv1's output, then after each pooling (conv2-5 keep their input size). */
    public record Geometry(int input, int conv1, int pool1, int pool2, int pool5) {
        /** The sizes for {@code input}, or a clear error naming the first layer the input is too small for. */
        public static Geometry of(int input, PoolSpec pool) {
            if (input < 11) throw new IllegalArgumentException("input size " + input + " is smaller than conv1's 11x11 filter");
            int conv1 = (input - 11) / 4 + 1;
            int pool1 = pooled(pool, conv1, "pool1");
            int pool2 = pooled(pool, pool1, "pool2");
            return new Geometry(input, conv1, pool1, pool2, pooled(pool, pool2, "pool5"));
        }

        private static int pooled(PoolSpec pool, int in, String layer) {
            if (in < pool.window()) {
                throw new IllegalArgumentException("the input is too small: " + layer + " would see " + in + "x" + in
                        + ", smaller than its " + pool.window() + "x" + pool.window() + " window");
            }
            return pool.outSize(in);
        }

        /** Inputs of fc6: 256 channels of pool5. */
        public int fc6Inputs() {
            return 256 * pool5 * pool5;
        }
    }
}
