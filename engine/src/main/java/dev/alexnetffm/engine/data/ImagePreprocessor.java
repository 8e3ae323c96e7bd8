package dev.alexnetffm.engine.data;

import dev.alexnetffm.engine.data.ImageDecoder.AlphaPolicy;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.stream.IntStream;

/**
 * Turns image files into AlexNet's input: the standard single-crop evaluation transform.
 *
 * <ol>
 *   <li>Decode with {@link ImageDecoder} to float RGB in 0..255 pixel units (grayscale replicated,
 *       alpha dropped by default, 16-bit samples kept at full precision). A JPEG at least twice the short side may
 *       be reduced by 2, 4 or 8 while decoding ({@link ImageDecoder#decode(Path, int)}), never below it.</li>
 *   <li>Resize so the <em>short</em> side is {@link #shortSide()} (256), keeping the aspect ratio: the
 *       long side becomes {@code floor(shortSide · long / short)}, as torchvision's {@code Resize(256)}
 *       computes it. The filter is {@link ImageResampler}'s antialiased bilinear (a tent whose width grows
 *       with the reduction, so reducing by more than 2× averages every input pixel instead of skipping
 *       some). Small images are enlarged the same way.</li>
 *   <li>Centre-crop {@link #cropSize()} × {@link #cropSize()} (227): offset {@code rint((size − crop) / 2)}
 *       on each axis, round-half-even like torchvision's {@code CenterCrop} (so 256 → 227 starts at
 *       14). Only the crop is ever computed.</li>
 *   <li>Optionally ({@link Builder#grey}) grey: every plane the luma 0.299 R + 0.587 G + 0.114 B, for a network
 *       trained on grey images (Fashion-MNIST's, {@link InputEncoding#FASHION_MNIST}).</li>
 *   <li>Per channel: {@code (v − mean[c]) / std[c]}, mean and std in 0..255 units and given in RGB order.
 *       Default: the ImageNet mean R 123.68, G 116.779, B 103.939 and std 1 (the paper subtracts the
 *       mean and does not scale). {@link #torchvisionImageNet()} gives torchvision's mean/std.</li>
 *   <li>Output CHW, channels in {@link ChannelOrder} (RGB by default; BGR for Caffe-trained weights).</li>
 * </ol>
 *
 * <p>Immutable and thread-safe; {@link #loadBatch} decodes files in parallel.
 */
public final class ImagePreprocessor {

    /** Channel order of the output planes. Mean and std are always given in RGB order. */
    public enum ChannelOrder { RGB, BGR }

    /** The weights of R, G and B in an image's grey value (ITU-R BT.601 luma, as PIL's convert("L")). */
    public static final float LUMA_R = 0.299f, LUMA_G = 0.587f, LUMA_B = 0.114f;

    /** ImageNet training-set mean, RGB, 0..255 units. */
    public static final double IMAGENET_MEAN_R = 123.68, IMAGENET_MEAN_G = 116.779, IMAGENET_MEAN_B = 103.939;

    private final int shortSide;
    private final int cropSize;
    private final float[] mean;
    private final float[] std;
    private final ChannelOrder order;
    private final boolean grey;
    private final ImageDecoder decoder;

    private ImagePreprocessor(Builder b) {
        this.shortSide = b.shortSide;
        this.cropSize = b.cropSize;
        this.mean = b.mean.clone();
        this.std = b.std.clone();
        this.order = b.order;
        this.grey = b.grey;
        this.decoder = new ImageDecoder(b.alpha, b.maxPixels);
    }

    /** Short side 256, centre crop 227, ImageNet mean subtracted, no std scaling, RGB, alpha dropped. */
    public static ImagePreprocessor imageNet() {
        return builder().build();
    }

    /**
     * The short side images are resized to for a network of {@code inputSize} x {@code inputSize} inputs: the
     * paper's ratio 256 / 227, rounded (256 for 227; 76 for a 67x67 network), so that a smaller network sees the same
     * part of every image, at a lower resolution.
     */
    public static int shortSideFor(int inputSize) {
        if (inputSize <= 0) throw new IllegalArgumentException("input size must be positive, got " + inputSize);
        return Math.round(inputSize * 256f / 227f);
    }

    /**
     * {@link #imageNet()} in proportion for a network of {@code inputSize} x {@code inputSize} inputs: the short side
     * resized to {@link #shortSideFor}{@code (inputSize)}, then the centre {@code crop} x {@code crop}: the input size
     * (a single centre crop: the same as {@link #imageNet()} for 227), or up to the short side (the square images that
     * random and ten crops are cut from: 256 x 256 for 227).
     */
    public static ImagePreprocessor forInput(int inputSize, int crop) {
        return builder().shortSide(shortSideFor(inputSize)).cropSize(crop).build();
    }

    /**
     * As {@link #imageNet()} but normalised the torchvision way: mean (0.485, 0.456, 0.406) and std
     * (0.229, 0.224, 0.225) of 0..1 values, i.e. the same numbers × 255 in pixel units here.
     */
    public static ImagePreprocessor torchvisionImageNet() {
        return builder().mean(0.485 * 255, 0.456 * 255, 0.406 * 255).std(0.229 * 255, 0.224 * 255, 0.225 * 255).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public int shortSide() {
        return shortSide;
    }

    public int cropSize() {
        return cropSize;
    }

    /** Mean, RGB order, 0..255 units (a copy). */
    public float[] mean() {
        return mean.clone();
    }

    /** Std, RGB order, 0..255 units (a copy). */
    public float[] std() {
        return std.clone();
    }

    /** Whether the image is turned grey (luma in every plane) before the mean and std. */
    public boolean grey() {
        return grey;
    }

    public ChannelOrder channelOrder() {
        return order;
    }

    public ImageDecoder decoder() {
        return decoder;
    }

    /** Floats per image: {@code 3 · crop · crop}. */
    public int imageFloats() {
        return 3 * cropSize * cropSize;
    }

    /** The shape of one image's output, (3, crop, crop). */
    public Shape imageShape() {
        return Shape.of(3, cropSize, cropSize);
    }

    /** Loads one file: {@code 3 · crop · crop} floats, CHW. */
    public float[] load(Path file) throws ImageLoadException {
        float[] out = new float[imageFloats()];
        loadInto(file, out, 0);
        return out;
    }

    /** Loads one file into {@code dst[offset .. offset + imageFloats())}. */
    public void loadInto(Path file, float[] dst, int offset) throws ImageLoadException {
        checkRoom(dst, offset, 1);
        processInto(decoder.decode(file, shortSide), dst, offset);
    }

    /** Loads {@code files} into one (N, 3, crop, crop) array, image i at {@code i · imageFloats()}. */
    public float[] loadBatch(List<Path> files) throws ImageLoadException {
        float[] out = new float[Math.multiplyExact(files.size(), imageFloats())];
        loadBatchInto(files, out, 0);
        return out;
    }

    /** As {@link #loadBatch}, as a tensor of shape (N, 3, crop, crop). */
    public HostTensor loadBatchTensor(List<Path> files) throws ImageLoadException {
        if (files.isEmpty()) throw new IllegalArgumentException("a batch needs at least one image");
        return new HostTensor(Shape.of(files.size(), 3, cropSize, cropSize), loadBatch(files));
    }

    /**
     * Loads {@code files} into {@code dst} from {@code offset}, decoding in parallel. If some files
     * fail, the first failing one (in list order) is thrown, with up to nine more failures attached as
     * suppressed exceptions; the other images are still written.
     */
    public void loadBatchInto(List<Path> files, float[] dst, int offset) throws ImageLoadException {
        Objects.requireNonNull(files, "files");
        checkRoom(dst, offset, files.size());
        AtomicReferenceArray<ImageLoadException> failures = new AtomicReferenceArray<>(files.size());
        int per = imageFloats();
        IntStream.range(0, files.size()).parallel().forEach(i -> {
            try {
                loadInto(Objects.requireNonNull(files.get(i), "files[" + i + "]"), dst, offset + i * per);
            } catch (ImageLoadException e) {
                failures.set(i, e);
            }
        });
        List<ImageLoadException> failed = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) if (failures.get(i) != null) failed.add(failures.get(i));
        if (!failed.isEmpty()) {
            ImageLoadException first = failed.getFirst();
            for (int k = 1; k < Math.min(failed.size(), 10); k++) first.addSuppressed(failed.get(k));
            throw first;
        }
    }

    /** Preprocesses a decoded image. */
    public float[] process(RgbImage image) {
        float[] out = new float[imageFloats()];
        processInto(image, out, 0);
        return out;
    }

    /** Preprocesses an in-memory image (converted with this preprocessor's alpha policy). */
    public float[] process(BufferedImage image) throws ImageLoadException {
        return process(decoder.convert(image, "in-memory image"));
    }

    /** Preprocesses a decoded image into {@code dst[offset .. offset + imageFloats())}. */
    public void processInto(RgbImage image, float[] dst, int offset) {
        checkRoom(dst, offset, 1);
        int w = image.width();
        int h = image.height();
        int outW, outH;
        if (w <= h) {
            outW = shortSide;
            outH = (int) ((long) shortSide * h / w);
        } else {
            outH = shortSide;
            outW = (int) ((long) shortSide * w / h);
        }
        int x0 = centreOffset(outW, cropSize);
        int y0 = centreOffset(outH, cropSize);
        ImageResampler.resizeWindowInto(image.planes(), 3, w, h, outW, outH, x0, y0, cropSize, cropSize, dst, offset);
        int plane = cropSize * cropSize;
        if (order == ChannelOrder.BGR) {
            for (int i = 0; i < plane; i++) {
                float r = dst[offset + i];
                dst[offset + i] = dst[offset + 2 * plane + i];
                dst[offset + 2 * plane + i] = r;
            }
        }
        if (grey) {  // the same value in the three planes: the order of the planes does not matter
            for (int i = offset; i < offset + plane; i++) {
                float luma = LUMA_R * dst[i] + LUMA_G * dst[i + plane] + LUMA_B * dst[i + 2 * plane];
                dst[i] = dst[i + plane] = dst[i + 2 * plane] = luma;
            }
        }
        for (int c = 0; c < 3; c++) {
            int rgb = order == ChannelOrder.BGR ? 2 - c : c;
            float m = mean[rgb];
            float s = std[rgb];
            int base = offset + c * plane;
            if (s == 1f) {
                for (int i = 0; i < plane; i++) dst[base + i] -= m;
            } else {
                for (int i = 0; i < plane; i++) dst[base + i] = (dst[base + i] - m) / s;
            }
        }
    }

    /** Where a centred crop of {@code crop} starts in {@code size}: {@code rint((size − crop) / 2)}. */
    static int centreOffset(int size, int crop) {
        return (int) Math.rint((size - crop) / 2.0);
    }

    private void checkRoom(float[] dst, int offset, int images) {
        Objects.requireNonNull(dst, "dst");
        long need = (long) images * imageFloats();
        if (offset < 0 || dst.length - (long) offset < need) {
            throw new IllegalArgumentException("destination of " + dst.length + " floats has no room for " + images
                    + " image(s) of 3x" + cropSize + "x" + cropSize + " at offset " + offset);
        }
    }

    @Override
    public String toString() {
        return "ImagePreprocessor[short side " + shortSide + ", crop " + cropSize + ", mean " + Arrays.toString(mean)
                + ", std " + Arrays.toString(std) + ", " + (grey ? "grey" : order) + ", alpha " + decoder.alphaPolicy() + "]";
    }

    /** Settings; every one has the {@link #imageNet()} default. */
    public static final class Builder {
        private int shortSide = 256;
        private int cropSize = 227;
        private float[] mean = {(float) IMAGENET_MEAN_R, (float) IMAGENET_MEAN_G, (float) IMAGENET_MEAN_B};
        private float[] std = {1f, 1f, 1f};
        private ChannelOrder order = ChannelOrder.RGB;
        private boolean grey;
        private AlphaPolicy alpha = AlphaPolicy.DROP;
        private long maxPixels = ImageDecoder.DEFAULT_MAX_PIXELS;

        private Builder() {}

        /** Length of the short side after resizing (default 256). */
        public Builder shortSide(int pixels) {
            if (pixels <= 0) throw new IllegalArgumentException("short side must be positive, got " + pixels);
            this.shortSide = pixels;
            return this;
        }

        /** Side of the square centre crop (default 227); at most the short side. */
        public Builder cropSize(int pixels) {
            if (pixels <= 0) throw new IllegalArgumentException("crop size must be positive, got " + pixels);
            this.cropSize = pixels;
            return this;
        }

        /** Per-channel mean to subtract, RGB order, 0..255 units (default: ImageNet's). */
        public Builder mean(double r, double g, double b) {
            float[] m = {(float) r, (float) g, (float) b};
            for (float v : m) if (!Float.isFinite(v)) throw new IllegalArgumentException("mean must be finite, got " + Arrays.toString(m));
            this.mean = m;
            return this;
        }

        /** Per-channel divisor applied after the mean, RGB order, 0..255 units (default 1, 1, 1). */
        public Builder std(double r, double g, double b) {
            float[] s = {(float) r, (float) g, (float) b};
            for (float v : s) if (!(v > 0) || !Float.isFinite(v)) throw new IllegalArgumentException("std must be positive and finite, got " + Arrays.toString(s));
            this.std = s;
            return this;
        }

        /**
         * Turns the image grey after resizing and cropping: every plane gets the luma {@link #LUMA_R} R + {@link
         * #LUMA_G} G + {@link #LUMA_B} B (a network trained on grey images replicated to three channels, such as
         * Fashion-MNIST's). Default: off.
         */
        public Builder grey(boolean grey) {
            this.grey = grey;
            return this;
        }

        public Builder channelOrder(ChannelOrder order) {
            this.order = Objects.requireNonNull(order, "order");
            return this;
        }

        /** What to do with alpha (default {@link AlphaPolicy#DROP}). */
        public Builder alpha(AlphaPolicy policy) {
            this.alpha = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /** Largest width × height to decode (default {@link ImageDecoder#DEFAULT_MAX_PIXELS}). */
        public Builder maxPixels(long pixels) {
            if (pixels <= 0) throw new IllegalArgumentException("maxPixels must be positive, got " + pixels);
            this.maxPixels = pixels;
            return this;
        }

        public ImagePreprocessor build() {
            if (cropSize > shortSide) {
                throw new IllegalArgumentException("crop size " + cropSize + " is larger than the short side " + shortSide + " it is cut from");
            }
            return new ImagePreprocessor(this);
        }
    }
}
