package dev.alexnetffm.engine.data.augment;

import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.io.AtomicFile;

import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

/**
 * The paper's PCA colour augmentation (section 4.1): to every pixel of an image add
 * {@code [p1 p2 p3][α1λ1 α2λ2 α3λ3]ᵀ}, where {@code pi}, {@code λi} are the eigenvectors and eigenvalues of the
 * 3x3 covariance of RGB pixel values over the training set and {@code αi ~ N(0, 0.1²)} is drawn once per image
 * (keyed by (seed, epoch, item) like {@link RandomCropFlip}, independently of the crop).
 *
 * <p><b>Units and channel order.</b> The covariance is measured on exactly the floats a {@link Dataset} yields, and
 * the offset is added to those same floats: here 0..255 pixel units with the channel mean subtracted (by {@code
 * ImagePreprocessor}). Subtracting a mean does not change a covariance, so it does not matter whether the data set
 * subtracts it; a per-channel {@code std} division or a BGR channel order does, and then the fit must be made
 * (and the result used) with that same preprocessing. Channel k of the stored vectors is channel k of the data
 * set's planes.
 *
 * <p><b>Magnitude: λ or √λ.</b> Read literally, the paper scales each αi by the eigenvalue λi, which has units of
 * pixel² and so depends on the pixel scale: in 0..255 units ImageNet's λ1 is of the order of 10⁴, and 0.1·λ1 would
 * shift colours by ~1000, far beyond the pixel range. Krizhevsky's own cuda-convnet2 data provider scales the
 * N(0, 1) draws by the <em>standard deviations</em> along the components ({@code color_stdevs}, i.e. √λi) times
 * {@code color_noise} (0.1), as does the widely used torch "lighting" transform. {@link Magnitude#STDDEV} (√λ, the
 * default) does that and is independent of the pixel scale up to the obvious factor; {@link Magnitude#EIGENVALUE}
 * is the formula exactly as printed. The eigenvalues stored and returned are always the covariance's λ.
 *
 * <p>Immutable and thread-safe. Stored as a small properties file by {@link #save} / {@link #load}.
 */
public final class PcaColour {
    /** The paper's α standard deviation. */
    public static final double PAPER_ALPHA_STD = 0.1;

    /** What αi multiplies: the component's standard deviation √λi (default) or the eigenvalue λi as printed. */
    public enum Magnitude { STDDEV, EIGENVALUE }

    private static final String FORMAT = "alexnet-ffm-pca-colour/1";

    private final double[] eigenvalues;
    private final double[][] eigenvectors;   // eigenvectors[k] is p_{k+1}
    private final double[] mean;
    private final long pixels;
    private final int images;
    private final double alphaStd;
    private final Magnitude magnitude;

    private PcaColour(double[] eigenvalues, double[][] eigenvectors, double[] mean, long pixels, int images, double alphaStd,
                      Magnitude magnitude) {
        this.eigenvalues = eigenvalues.clone();
        this.eigenvectors = new double[][] {eigenvectors[0].clone(), eigenvectors[1].clone(), eigenvectors[2].clone()};
        this.mean = mean.clone();
        this.pixels = pixels;
        this.images = images;
        if (!(alphaStd >= 0) || !Double.isFinite(alphaStd)) throw new IllegalArgumentException("alpha std must be finite and >= 0, got " + alphaStd);
        this.alphaStd = alphaStd;
        this.magnitude = java.util.Objects.requireNonNull(magnitude, "magnitude");
    }

    /** From a covariance matrix (sample mean and counts only for the record). */
    public static PcaColour fromCovariance(double[][] covariance, double[] mean, long pixels, int images) {
        SymmetricEigen3.Result e = SymmetricEigen3.decompose(covariance);
        double[] values = e.values().clone();
        // A covariance is positive semi-definite; round-off can leave a tiny negative value on a rank-deficient one.
        for (int k = 0; k < 3; k++) if (values[k] < 0) values[k] = 0;
        return new PcaColour(values, e.vectors(), mean, pixels, images, PAPER_ALPHA_STD, Magnitude.STDDEV);
    }

    /** The same eigen-decomposition with another α standard deviation (the paper's is 0.1). */
    public PcaColour withAlphaStd(double std) {
        return new PcaColour(eigenvalues, eigenvectors, mean, pixels, images, std, magnitude);
    }

    /** The same eigen-decomposition with αi multiplying √λi ({@link Magnitude#STDDEV}) or λi. */
    public PcaColour withMagnitude(Magnitude m) {
        return new PcaColour(eigenvalues, eigenvectors, mean, pixels, images, alphaStd, m);
    }

    public Magnitude magnitude() {
        return magnitude;
    }

    /** The factor αi multiplies for component k: √λk or λk. */
    public double scale(int k) {
        return magnitude == Magnitude.STDDEV ? Math.sqrt(eigenvalues[k]) : eigenvalues[k];
    }

    // ---------------------------------------------------------------- fitting

    /**
     * Streaming covariance of 3-channel pixels in double. Each image's mean and co-moments are computed on their own,
     * then merged with Chan et al.'s pairwise update, so precision holds over billions of pixels.
     */
    public static final class Accumulator {
        private long n;
        private final double[] mean = new double[3];
        private final double[][] m2 = new double[3][3];
        private int images;

        /** Adds a CHW image of {@code 3 x plane} floats at {@code offset}. */
        public void add(float[] chw, int offset, int plane) {
            if (plane <= 0) throw new IllegalArgumentException("plane must be positive, got " + plane);
            if (offset < 0 || chw.length - (long) offset < 3L * plane) {
                throw new IllegalArgumentException("image of 3x" + plane + " floats does not fit in " + chw.length + " at " + offset);
            }
            double[] mb = new double[3];
            for (int c = 0; c < 3; c++) {
                double s = 0;
                int base = offset + c * plane;
                for (int i = 0; i < plane; i++) s += chw[base + i];
                mb[c] = s / plane;
            }
            double[][] cb = new double[3][3];
            int r0 = offset, g0 = offset + plane, b0 = offset + 2 * plane;
            double s00 = 0, s01 = 0, s02 = 0, s11 = 0, s12 = 0, s22 = 0;
            for (int i = 0; i < plane; i++) {
                double r = chw[r0 + i] - mb[0], g = chw[g0 + i] - mb[1], b = chw[b0 + i] - mb[2];
                s00 += r * r; s01 += r * g; s02 += r * b; s11 += g * g; s12 += g * b; s22 += b * b;
            }
            cb[0][0] = s00; cb[0][1] = cb[1][0] = s01; cb[0][2] = cb[2][0] = s02;
            cb[1][1] = s11; cb[1][2] = cb[2][1] = s12; cb[2][2] = s22;
            merge(plane, mb, cb);
            images++;
        }

        private void merge(long nb, double[] mb, double[][] m2b) {
            long na = n;
            long total = na + nb;
            double[] delta = new double[3];
            for (int c = 0; c < 3; c++) delta[c] = mb[c] - mean[c];
            double f = (double) na * nb / total;
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 3; j++) m2[i][j] += m2b[i][j] + delta[i] * delta[j] * f;
            }
            for (int c = 0; c < 3; c++) mean[c] += delta[c] * nb / total;
            n = total;
        }

        public long pixels() {
            return n;
        }

        public int images() {
            return images;
        }

        public double[] mean() {
            return mean.clone();
        }

        /** The sample covariance (divided by n - 1). */
        public double[][] covariance() {
            if (n < 2) throw new IllegalStateException("a covariance needs at least two pixels, have " + n);
            double[][] c = new double[3][3];
            for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) c[i][j] = m2[i][j] / (n - 1);
            return c;
        }

        public PcaColour result() {
            return fromCovariance(covariance(), mean, n, images);
        }
    }

    /**
     * Fits on at most {@code maxImages} images of a 3-channel data set (all of them when {@code maxImages <= 0} or
     * it is at least the size): evenly spaced indices {@code floor(k · size / maxImages)}, so a class-sorted folder
     * is sampled across all classes.
     */
    public static PcaColour fit(Dataset data, int maxImages) throws IOException {
        if (data.channels() != 3) throw new IllegalArgumentException(data.name() + " has " + data.channels() + " channels; PCA colour needs 3");
        int size = data.size();
        if (size == 0) throw new IllegalArgumentException(data.name() + " is empty");
        int count = maxImages <= 0 || maxImages >= size ? size : maxImages;
        int plane = data.imageSize() * data.imageSize();
        float[] buf = new float[data.imageFloats()];
        Accumulator acc = new Accumulator();
        for (int k = 0; k < count; k++) {
            int index = (int) ((long) k * size / count);
            data.image(index, buf, 0);
            acc.add(buf, 0, plane);
        }
        return acc.result();
    }

    /** Fits on CHW images of {@code 3 x plane} floats each. */
    public static PcaColour fit(List<float[]> images, int plane) {
        if (images.isEmpty()) throw new IllegalArgumentException("no images to fit on");
        Accumulator acc = new Accumulator();
        for (float[] img : images) acc.add(img, 0, plane);
        return acc.result();
    }

    // ---------------------------------------------------------------- applying

    /** The offset {@code Σ pi αi scale(i)} for (seed, epoch, item), one value per channel. */
    public float[] offset(long seed, int epoch, int item) {
        return offset(alphas(seed, epoch, item));
    }

    /** The α draws for (seed, epoch, item): three N(0, alphaStd²) values. */
    public double[] alphas(long seed, int epoch, int item) {
        CounterRandom r = CounterRandom.of(seed, epoch, item, CounterRandom.COLOUR);
        return new double[] {r.nextGaussian() * alphaStd, r.nextGaussian() * alphaStd, r.nextGaussian() * alphaStd};
    }

    /** The offset {@code Σ pi αi scale(i)} for given α. */
    public float[] offset(double[] alpha) {
        float[] out = new float[3];
        for (int c = 0; c < 3; c++) {
            double s = 0;
            for (int k = 0; k < 3; k++) s += eigenvectors[k][c] * alpha[k] * scale(k);
            out[c] = (float) s;
        }
        return out;
    }

    /** Adds the offset for (seed, epoch, item) to every pixel of the CHW image of {@code 3 x plane} floats at {@code offset}. */
    public void apply(float[] chw, int offset, int plane, long seed, int epoch, int item) {
        add(chw, offset, plane, offset(seed, epoch, item));
    }

    static void add(float[] chw, int offset, int plane, float[] delta) {
        if (offset < 0 || chw.length - (long) offset < 3L * plane) {
            throw new IllegalArgumentException("image of 3x" + plane + " floats does not fit in " + chw.length + " at " + offset);
        }
        for (int c = 0; c < 3; c++) {
            float d = delta[c];
            int base = offset + c * plane;
            for (int i = 0; i < plane; i++) chw[base + i] += d;
        }
    }

    // ---------------------------------------------------------------- accessors

    /** λ1 ≥ λ2 ≥ λ3 (a copy). */
    public double[] eigenvalues() {
        return eigenvalues.clone();
    }

    /** {@code eigenvectors()[k]} is the unit vector p_{k+1} (a copy); sign as in {@link SymmetricEigen3}. */
    public double[][] eigenvectors() {
        return new double[][] {eigenvectors[0].clone(), eigenvectors[1].clone(), eigenvectors[2].clone()};
    }

    /** Per-channel mean of the fitted pixels (for the record; not used to augment). */
    public double[] mean() {
        return mean.clone();
    }

    public long pixels() {
        return pixels;
    }

    public int images() {
        return images;
    }

    public double alphaStd() {
        return alphaStd;
    }

    // ---------------------------------------------------------------- storage

    /** Writes a properties file, atomically (a temporary file in the same folder, then a rename). */
    public void save(Path file) throws IOException {
        StringBuilder sb = new StringBuilder();
        sb.append("# PCA colour augmentation: eigen-decomposition of the RGB pixel covariance of a training set,\n");
        sb.append("# in the units and channel order of the data set's floats (0..255, mean subtracted by default).\n");
        sb.append("# eigenvector.k belongs to eigenvalue.k; eigenvalues descending.\n");
        sb.append("format=").append(FORMAT).append('\n');
        sb.append("images=").append(images).append('\n');
        sb.append("pixels=").append(pixels).append('\n');
        sb.append("alphaStd=").append(alphaStd).append('\n');
        sb.append("magnitude=").append(magnitude.name().toLowerCase(Locale.ROOT)).append('\n');
        sb.append("mean=").append(join(mean)).append('\n');
        for (int k = 0; k < 3; k++) {
            sb.append("eigenvalue.").append(k).append('=').append(eigenvalues[k]).append('\n');
            sb.append("eigenvector.").append(k).append('=').append(join(eigenvectors[k])).append('\n');
        }
        AtomicFile.writeString(file, sb);
    }

    /** Reads a file written by {@link #save}; a malformed one fails with an {@link IOException} naming it and the problem. */
    public static PcaColour load(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        Properties p = new Properties();
        try (Reader r = new StringReader(text)) {
            p.load(r);
        } catch (IllegalArgumentException e) {
            throw malformed(file, "not a properties file (" + e.getMessage() + ")");
        }
        String format = p.getProperty("format");
        if (!FORMAT.equals(format)) {
            throw malformed(file, "format is " + (format == null ? "missing" : "'" + format + "'") + ", expected '" + FORMAT + "'");
        }
        double[] values = new double[3];
        double[][] vectors = new double[3][];
        for (int k = 0; k < 3; k++) {
            values[k] = number(file, p, "eigenvalue." + k);
            if (values[k] < 0) throw malformed(file, "eigenvalue." + k + " is negative: " + values[k]);
            if (k > 0 && values[k] > values[k - 1]) throw malformed(file, "eigenvalues are not in descending order");
            vectors[k] = triple(file, p, "eigenvector." + k);
            double norm = Math.sqrt(vectors[k][0] * vectors[k][0] + vectors[k][1] * vectors[k][1] + vectors[k][2] * vectors[k][2]);
            if (Math.abs(norm - 1.0) > 1e-6) throw malformed(file, "eigenvector." + k + " has length " + norm + ", expected 1");
        }
        double[] mean = triple(file, p, "mean");
        double alphaStd = number(file, p, "alphaStd");
        if (alphaStd < 0) throw malformed(file, "alphaStd is negative: " + alphaStd);
        String mag = required(file, p, "magnitude");
        Magnitude magnitude;
        try {
            magnitude = Magnitude.valueOf(mag.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw malformed(file, "magnitude is '" + mag + "', expected 'stddev' or 'eigenvalue'");
        }
        long pixels = integer(file, p, "pixels");
        long images = integer(file, p, "images");
        if (images > Integer.MAX_VALUE) throw malformed(file, "images is too large: " + images);
        return new PcaColour(values, vectors, mean, pixels, (int) images, alphaStd, magnitude);
    }

    private static String join(double[] v) {
        return v[0] + "," + v[1] + "," + v[2];
    }

    private static IOException malformed(Path file, String why) {
        return new IOException("malformed PCA colour file " + file + ": " + why);
    }

    private static String required(Path file, Properties p, String key) throws IOException {
        String v = p.getProperty(key);
        if (v == null) throw malformed(file, "missing key '" + key + "'");
        return v.trim();
    }

    private static double parse(Path file, String key, String text) throws IOException {
        try {
            double d = Double.parseDouble(text.trim());
            if (!Double.isFinite(d)) throw malformed(file, key + " is not finite: '" + text + "'");
            return d;
        } catch (NumberFormatException e) {
            throw malformed(file, key + " is not a number: '" + text + "'");
        }
    }

    private static double number(Path file, Properties p, String key) throws IOException {
        return parse(file, key, required(file, p, key));
    }

    private static long integer(Path file, Properties p, String key) throws IOException {
        String v = required(file, p, key);
        try {
            long n = Long.parseLong(v);
            if (n < 0) throw malformed(file, key + " is negative: " + n);
            return n;
        } catch (NumberFormatException e) {
            throw malformed(file, key + " is not a whole number: '" + v + "'");
        }
    }

    private static double[] triple(Path file, Properties p, String key) throws IOException {
        String[] parts = required(file, p, key).split(",", -1);
        if (parts.length != 3) throw malformed(file, key + " needs 3 comma-separated numbers, got " + parts.length);
        double[] out = new double[3];
        for (int i = 0; i < 3; i++) out[i] = parse(file, key, parts[i]);
        return out;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "PcaColour[λ = %.4g, %.4g, %.4g; α std %.3g × %s; %d images]",
                eigenvalues[0], eigenvalues[1], eigenvalues[2], alphaStd, magnitude == Magnitude.STDDEV ? "√λ" : "λ", images);
    }
}
