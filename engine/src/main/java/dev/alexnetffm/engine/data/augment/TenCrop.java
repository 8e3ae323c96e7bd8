package dev.alexnetffm.engine.data.augment;

/**
 * The paper's test-time crops: the four corner {@code outSize x outSize} windows, the centre one, and their
 * horizontal mirrors, in this order: top-left, top-right, bottom-left, bottom-right, centre, then the same five
 * mirrored. Written as 10 consecutive CHW images so a batch of them can go through one forward pass; {@link
 * #average} then averages the 10 softmax rows of each image. The centre offset is {@code rint((in - out) / 2)},
 * round-half-even like {@code ImagePreprocessor}'s centre crop (256 -> 227 starts at 14). Immutable and thread-safe.
 *
 * <p>With a 256x256 input from {@code ImagePreprocessor.builder().cropSize(256)}, the centre crop equals the default
 * 227 evaluation transform when the resized long side minus 256 is even (e.g. square images); when it is odd, the two
 * round their centres independently and can differ by one pixel column or row.
 */
public final class TenCrop {
    public static final int CROPS = 10;

    private final int channels;
    private final int inSize;
    private final int outSize;

    public TenCrop(int channels, int inSize, int outSize) {
        if (channels <= 0 || inSize <= 0 || outSize <= 0 || outSize > inSize) {
            throw new IllegalArgumentException("need positive sizes with crop <= image, got " + channels + ", " + inSize + ", " + outSize);
        }
        this.channels = channels;
        this.inSize = inSize;
        this.outSize = outSize;
    }

    /** 3 x 256 x 256 in, 10 x 3 x 227 x 227 out. */
    public static TenCrop paper() {
        return new TenCrop(3, 256, 227);
    }

    public int outFloats() {
        return channels * outSize * outSize;
    }

    /** Top-left corner of crop {@code k} (0..9) as {x, y}; crops 5..9 are mirrors of 0..4. */
    public int[] position(int k) {
        if (k < 0 || k >= CROPS) throw new IllegalArgumentException("crop index " + k + " not in 0..9");
        int far = inSize - outSize;
        int centre = (int) Math.rint(far / 2.0);
        return switch (k % 5) {
            case 0 -> new int[] {0, 0};
            case 1 -> new int[] {far, 0};
            case 2 -> new int[] {0, far};
            case 3 -> new int[] {far, far};
            default -> new int[] {centre, centre};
        };
    }

    /** Writes the 10 crops of the image at {@code src[srcOffset]} to {@code dst[dstOffset ..]}, one after another. */
    public void write(float[] src, int srcOffset, float[] dst, int dstOffset) {
        int per = outFloats();
        if (dstOffset < 0 || dst.length - (long) dstOffset < (long) CROPS * per) {
            throw new IllegalArgumentException("destination of " + dst.length + " floats has no room for 10 crops at " + dstOffset);
        }
        for (int k = 0; k < CROPS; k++) {
            int[] p = position(k);
            RandomCropFlip.crop(src, srcOffset, channels, inSize, p[0], p[1], outSize, k >= 5, dst, dstOffset + k * per);
        }
    }

    /** A new array with the 10 crops of {@code src}. */
    public float[] write(float[] src) {
        float[] out = new float[CROPS * outFloats()];
        write(src, 0, out, 0);
        return out;
    }

    /**
     * Averages softmax probabilities over each image's 10 crops: {@code probabilities} holds {@code images x 10}
     * rows of {@code classes} (image i's crops in rows {@code 10i .. 10i + 9}); the result has {@code images} rows.
     * Sums in double.
     */
    public static float[] average(float[] probabilities, int images, int classes) {
        if (images < 0 || classes <= 0) throw new IllegalArgumentException("images " + images + " / classes " + classes);
        long need = (long) images * CROPS * classes;
        if (probabilities.length != need) {
            throw new IllegalArgumentException("expected " + images + " x 10 x " + classes + " = " + need + " probabilities, got " + probabilities.length);
        }
        float[] out = new float[images * classes];
        double[] sum = new double[classes];
        for (int i = 0; i < images; i++) {
            java.util.Arrays.fill(sum, 0.0);
            for (int k = 0; k < CROPS; k++) {
                int base = (i * CROPS + k) * classes;
                for (int c = 0; c < classes; c++) sum[c] += probabilities[base + c];
            }
            for (int c = 0; c < classes; c++) out[i * classes + c] = (float) (sum[c] / CROPS);
        }
        return out;
    }
}
