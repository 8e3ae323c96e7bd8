package dev.alexnetffm.engine.data;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Fashion-MNIST (Xiao, Rasul and Vollgraf 2017) from its IDX files, as Debian's {@code dataset-fashion-mnist}
 * installs them under {@value #DEFAULT_DIR} ({@code train-images-idx3-ubyte.gz} and friends; uncompressed files
 * work too). Each 28x28 grey image is resized (bilinear) to the network's input size, normalised with the
 * training set's mean and standard deviation, and replicated to {@code channels} channels.
 */
public final class FashionMnist implements Dataset {
    public static final String DEFAULT_DIR = "/usr/share/datasets/fashion-mnist";
    /** Mean and standard deviation of the training set's pixels in [0, 1]. */
    public static final float MEAN = 0.2860f, STD = 0.3530f;
    public static final String[] CLASS_NAMES = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
            "Sneaker", "Bag", "Ankle boot"};
    private static final int SIDE = 28;

    private final String name;
    private final byte[] pixels; // n * 28 * 28
    private final byte[] labels;
    private final int channels;
    private final int imageSize;

    private FashionMnist(String name, byte[] pixels, byte[] labels, int channels, int imageSize) {
        this.name = name;
        this.pixels = pixels;
        this.labels = labels;
        this.channels = channels;
        this.imageSize = imageSize;
    }

    /** The training split (60,000 images) from {@code dir}. */
    public static FashionMnist train(Path dir, int channels, int imageSize) throws IOException {
        return load(dir, "train", channels, imageSize);
    }

    /** The test split (10,000 images) from {@code dir}. */
    public static FashionMnist test(Path dir, int channels, int imageSize) throws IOException {
        return load(dir, "t10k", channels, imageSize);
    }

    /** The directory from the environment (FASHION_MNIST_DIR), else Debian's. */
    public static Path defaultDir() {
        String env = System.getenv("FASHION_MNIST_DIR");
        return Path.of(env != null && !env.isBlank() ? env : DEFAULT_DIR);
    }

    private static FashionMnist load(Path dir, String prefix, int channels, int imageSize) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "Fashion-MNIST folder not found: install the Debian package "
                    + "dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or give the folder holding the IDX files");
        }
        if (channels < 1 || imageSize < 1) throw new IllegalArgumentException("channels and image size must be positive");
        Path images = find(dir, prefix + "-images-idx3-ubyte");
        Path labelFile = find(dir, prefix + "-labels-idx1-ubyte");
        byte[] pixels = readIdx(images, 0x00000803, new int[] {-1, SIDE, SIDE});
        byte[] labels = readIdx(labelFile, 0x00000801, new int[] {-1});
        if (pixels.length / (SIDE * SIDE) != labels.length) {
            throw new IOException(images + " holds " + pixels.length / (SIDE * SIDE) + " images but " + labelFile + " holds " + labels.length + " labels");
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] > 9) throw new IOException(labelFile + ": label " + labels[i] + " of item " + i + " is not in 0..9");
        }
        return new FashionMnist("fashion-mnist/" + (prefix.equals("train") ? "train" : "test"), pixels, labels, channels, imageSize);
    }

    private static Path find(Path dir, String base) throws IOException {
        for (String name : new String[] {base + ".gz", base}) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) return p;
        }
        throw new NoSuchFileException(dir.resolve(base + ".gz").toString(), null, "Fashion-MNIST file missing from " + dir);
    }

    /** Reads an IDX file of unsigned bytes, checking the magic number and the dimensions ({@code -1}: any). */
    static byte[] readIdx(Path file, int magic, int[] dims) throws IOException {
        try (InputStream raw = Files.newInputStream(file);
             InputStream in = file.toString().endsWith(".gz") ? new GZIPInputStream(raw, 1 << 16) : raw;
             DataInputStream data = new DataInputStream(in)) {
            int m = data.readInt();
            if (m != magic) {
                throw new IOException(file + " is not an IDX file of the expected kind (magic 0x" + Integer.toHexString(m)
                        + ", expected 0x" + Integer.toHexString(magic) + ")");
            }
            long count = 1;
            for (int i = 0; i < dims.length; i++) {
                int d = data.readInt();
                if (d < 0 || (dims[i] >= 0 && d != dims[i])) throw new IOException(file + ": dimension " + i + " is " + d + ", expected " + dims[i]);
                count *= d;
            }
            if (count > Integer.MAX_VALUE - 8) throw new IOException(file + " is too large (" + count + " bytes of data)");
            byte[] out = new byte[(int) count];
            data.readFully(out);
            return out;
        } catch (EOFException e) {
            throw new IOException(file + " is truncated: it ends before the data its header announces", e);
        } catch (java.util.zip.ZipException e) {
            throw new IOException(file + " is not a valid gzip file (" + e.getMessage() + ")", e);
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int size() {
        return labels.length;
    }

    @Override
    public int classes() {
        return 10;
    }

    @Override
    public InputEncoding encoding() {
        return InputEncoding.FASHION_MNIST;
    }

    @Override
    public java.util.List<String> classNames() {
        return java.util.List.of(CLASS_NAMES);
    }

    @Override
    public int channels() {
        return channels;
    }

    @Override
    public int imageSize() {
        return imageSize;
    }

    @Override
    public int label(int index) {
        return labels[index];
    }

    @Override
    public void image(int index, float[] out, int offset) {
        float[] grey = new float[SIDE * SIDE];
        int base = index * SIDE * SIDE;
        for (int i = 0; i < grey.length; i++) grey[i] = ((pixels[base + i] & 0xff) / 255f - MEAN) / STD;
        int plane = imageSize * imageSize;
        if (imageSize == SIDE) {
            System.arraycopy(grey, 0, out, offset, plane);
        } else {
            ImageResampler.resizeWindowInto(grey, 1, SIDE, SIDE, imageSize, imageSize, 0, 0, imageSize, imageSize, out, offset);
        }
        for (int c = 1; c < channels; c++) System.arraycopy(out, offset, out, offset + c * plane, plane);
    }
}
