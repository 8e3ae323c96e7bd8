package dev.alexnetffm.engine;

import dev.alexnetffm.engine.data.ImageLoadException;
import dev.alexnetffm.engine.data.ImagePreprocessor;
import dev.alexnetffm.engine.data.InputEncoding;
import dev.alexnetffm.engine.data.Labels;
import dev.alexnetffm.engine.data.augment.TenCrop;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * A trained network as an image classifier: JPEG and PNG files (or decoded images) in, the most probable classes out.
 * Each image is prepared as the network's training images were ({@link InputEncoding}: the paper's centre crop minus
 * the ImageNet mean, in proportion for smaller inputs, or Fashion-MNIST's grey normalised image), and the classes are
 * named as training named them, or by a labels file. With ten-crop on, the softmax is averaged over the image's ten
 * crops (corners, centre, mirrored), the paper's test protocol.
 *
 * <pre>{@code
 * try (Engine engine = Engine.open()) {
 *     Classifier classifier = engine.loadClassifier(Path.of("runs/fashion-mnist"));  // or a weights file
 *     for (Classifier.Prediction p : classifier.classify(Path.of("shoe.png"), 3)) System.out.println(p);
 * }
 * }</pre>
 * Immutable; may be used from several threads at once (the network runs one call at a time).
 */
public final class Classifier {
    /** Images per forward pass in {@link #classify(List, int)}. */
    public static final int BATCH = 32;

    /**
     * One class for one image: its index, its name ({@code null} where the classes have no names) and its
     * probability.
     */
    public record Prediction(int index, String label, float probability) {
        /** E.g. {@code " 91.23%  Sneaker"}, or the index where the class has no name. */
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%6.2f%%  %s", 100 * probability, label != null ? label : Integer.toString(index));
        }
    }

    /** What computes class probabilities, (N, classes), for N prepared images: a network on one device or two. */
    @FunctionalInterface
    public interface Network {
        float[] probabilities(float[] images, int n);
    }

    private final Network network;
    private final AlexNetConfig config;
    private final InputEncoding encoding;
    private final Labels labels;
    private final ImagePreprocessor preprocessor;
    private final TenCrop crops;  // null: the single crop

    /**
     * A classifier over {@code network}, which computes {@code config}'s network (AlexNet::probabilities or
     * SplitAlexNet::probabilities), for images encoded as {@code encoding}, classes named by {@code labels}.
     */
    public Classifier(Network network, AlexNetConfig config, InputEncoding encoding, Labels labels, boolean tenCrop) {
        if (config.inChannels() != 3) {
            throw new IllegalArgumentException("a classifier reads RGB images, but the network takes " + config.inChannels() + "-channel inputs");
        }
        this.network = network;
        this.config = config;
        this.encoding = encoding;
        this.labels = labels;
        this.preprocessor = preprocessor(config, encoding, tenCrop);
        int size = config.inputSize();
        this.crops = tenCrop ? new TenCrop(3, ImagePreprocessor.shortSideFor(size), size) : null;
    }

    /** A single-crop classifier over a network on one device. */
    public static Classifier of(AlexNet network, InputEncoding encoding, Labels labels) {
        return new Classifier(network::probabilities, network.config(), encoding, labels, false);
    }

    /**
     * How images are prepared for {@code config}'s network trained on {@code encoding}: at the input size, or, for
     * ten crops, at the size the crops are cut from (256 for 227).
     */
    public static ImagePreprocessor preprocessor(AlexNetConfig config, InputEncoding encoding, boolean tenCrop) {
        int size = config.inputSize();
        return encoding.preprocessor(size, tenCrop ? ImagePreprocessor.shortSideFor(size) : size);
    }

    /** The same classifier with ten-crop testing on or off. */
    public Classifier withTenCrop(boolean on) {
        return new Classifier(network, config, encoding, labels, on);
    }

    /** The same classifier naming the classes by {@code names} (e.g. {@link Labels#load} of a labels file). */
    public Classifier withLabels(Labels names) {
        return new Classifier(network, config, encoding, names, tenCrop());
    }

    public AlexNetConfig config() {
        return config;
    }

    public InputEncoding encoding() {
        return encoding;
    }

    public Labels labels() {
        return labels;
    }

    public boolean tenCrop() {
        return crops != null;
    }

    /** What turns an image into the floats {@link #probabilities(float[], int)} takes. */
    public ImagePreprocessor preprocessor() {
        return preprocessor;
    }

    /** The {@code top} most probable classes of an image file (JPEG or PNG), most probable first. */
    public List<Prediction> classify(Path image, int top) throws ImageLoadException {
        return classify(List.of(image), top).getFirst();
    }

    /** The {@code top} most probable classes of a decoded image, most probable first. */
    public List<Prediction> classify(BufferedImage image, int top) throws ImageLoadException {
        return ranked(probabilities(preprocessor.process(image), 1), 0, top);
    }

    /**
     * The {@code top} most probable classes of each image file, in the order given, {@link #BATCH} images a forward
     * pass. An unreadable file is an error naming it.
     */
    public List<List<Prediction>> classify(List<Path> images, int top) throws ImageLoadException {
        List<List<Prediction>> result = new ArrayList<>(images.size());
        for (int start = 0; start < images.size(); start += BATCH) {
            List<Path> chunk = images.subList(start, Math.min(images.size(), start + BATCH));
            float[] p = probabilities(preprocessor.loadBatch(chunk), chunk.size());
            for (int i = 0; i < chunk.size(); i++) result.add(ranked(p, i, top));
        }
        return result;
    }

    /**
     * Class probabilities (N, classes) of N images as {@link #preprocessor()} prepares them: the network's softmax,
     * averaged over each image's ten crops with ten-crop on.
     */
    public float[] probabilities(float[] images, int n) {
        long expected = (long) n * preprocessor.imageFloats();
        if (n < 1 || images.length != expected) {
            throw new IllegalArgumentException(n + " prepared images of " + preprocessor.imageShape() + " need " + expected
                    + " floats, got " + images.length);
        }
        if (crops == null) return network.probabilities(images, n);
        float[] all = new float[n * TenCrop.CROPS * crops.outFloats()];
        for (int i = 0; i < n; i++) crops.write(images, i * preprocessor.imageFloats(), all, i * TenCrop.CROPS * crops.outFloats());
        return TenCrop.average(network.probabilities(all, n * TenCrop.CROPS), n, config.classes());
    }

    /**
     * Image {@code image}'s {@code top} most probable classes from probabilities (N, classes), most probable first;
     * of equal probabilities the lower index first.
     */
    public List<Prediction> ranked(float[] probabilities, int image, int top) {
        int classes = config.classes(), offset = image * classes;
        if (top < 1) throw new IllegalArgumentException("top must be at least 1, got " + top);
        List<Integer> order = new ArrayList<>(IntStream.range(0, classes).boxed().toList());
        order.sort(Comparator.<Integer>comparingDouble(k -> -probabilities[offset + k]).thenComparingInt(k -> k));
        List<Prediction> best = new ArrayList<>();
        for (int k : order.subList(0, Math.min(top, classes))) {
            best.add(new Prediction(k, labels.hasName(k) ? labels.name(k) : null, probabilities[offset + k]));
        }
        return best;
    }
}
