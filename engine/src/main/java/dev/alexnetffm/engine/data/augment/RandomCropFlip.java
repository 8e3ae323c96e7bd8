package dev.alexnetffm.engine.data.augment;

import dev.alexnetffm.engine.data.ImagePreprocessor;

/**
 * The paper's training crops: from a {@code channels x inSize x inSize} CHW image (3 x 256 x 256), an
 * {@code outSize x outSize} window (227 x 227) at an offset drawn uniformly from {@code 0 .. inSize - outSize} on
 * each axis (0..29), mirrored left-right with probability 1/2.
 *
 * <p>The choice for item {@code i} in epoch {@code e} is a pure function of (seed, e, i) ({@link #choose}), so it
 * does not depend on which loader thread processed the item. Immutable and thread-safe.
 */
public final class RandomCropFlip {
    /** Offsets of the crop's top-left corner and whether it is mirrored. */
    public record Choice(int x, int y, boolean flip) {}

    private final int channels;
    private final int inSize;
    private final int outSize;

    public RandomCropFlip(int channels, int inSize, int outSize) {
        if (channels <= 0 || inSize <= 0 || outSize <= 0) {
            throw new IllegalArgumentException("channels and sizes must be positive, got " + channels + ", " + inSize + ", " + outSize);
        }
        if (outSize > inSize) throw new IllegalArgumentException("crop " + outSize + " is larger than the image " + inSize);
        this.channels = channels;
        this.inSize = inSize;
        this.outSize = outSize;
    }

    /** 3 x 256 x 256 in, 3 x 227 x 227 out. */
    public static RandomCropFlip paper() {
        return new RandomCropFlip(3, 256, 227);
    }

    /**
     * Crops of {@code outSize} from images of {@link ImagePreprocessor#shortSideFor}{@code (outSize)} (the paper's
     * ratio 256 / 227: 76 for a 67x67 network), so that the recipe runs on smaller inputs; the paper's for 227.
     */
    public static RandomCropFlip forInput(int channels, int outSize) {
        return new RandomCropFlip(channels, ImagePreprocessor.shortSideFor(outSize), outSize);
    }

    public int channels() {
        return channels;
    }

    public int inSize() {
        return inSize;
    }

    public int outSize() {
        return outSize;
    }

    public int inFloats() {
        return channels * inSize * inSize;
    }

    public int outFloats() {
        return channels * outSize * outSize;
    }

    /** The crop for item {@code item} of epoch {@code epoch}: offsets in {@code 0 .. inSize - outSize}, flip 1/2. */
    public Choice choose(long seed, int epoch, int item) {
        CounterRandom r = CounterRandom.of(seed, epoch, item, CounterRandom.CROP);
        int range = inSize - outSize + 1;
        int x = r.nextInt(range);
        int y = r.nextInt(range);
        return new Choice(x, y, r.nextBoolean());
    }

    /** Writes the chosen crop of {@code src256} (at offset 0) into {@code dst} at {@code dstOffset}. */
    public void apply(float[] src256, float[] dst, int dstOffset, long seed, int epoch, int item) {
        apply(src256, 0, dst, dstOffset, choose(seed, epoch, item));
    }

    /** Writes the crop {@code choice} of the image at {@code src[srcOffset]} into {@code dst[dstOffset]}. */
    public void apply(float[] src, int srcOffset, float[] dst, int dstOffset, Choice choice) {
        crop(src, srcOffset, channels, inSize, choice.x(), choice.y(), outSize, choice.flip(), dst, dstOffset);
    }

    /**
     * Copies the {@code out x out} window at column {@code x}, row {@code y} of each of {@code channels} planes of
     * an {@code in x in} CHW image, mirrored left-right when {@code flip} (output column j holds window column
     * {@code out - 1 - j}).
     */
    static void crop(float[] src, int srcOffset, int channels, int in, int x, int y, int out, boolean flip,
                     float[] dst, int dstOffset) {
        if (x < 0 || y < 0 || x + out > in || y + out > in) {
            throw new IllegalArgumentException("crop of " + out + " at (" + x + ", " + y + ") does not fit in " + in);
        }
        if (srcOffset < 0 || src.length - (long) srcOffset < (long) channels * in * in) {
            throw new IllegalArgumentException("source of " + src.length + " floats has no " + channels + "x" + in + "x" + in + " image at " + srcOffset);
        }
        if (dstOffset < 0 || dst.length - (long) dstOffset < (long) channels * out * out) {
            throw new IllegalArgumentException("destination of " + dst.length + " floats has no room for " + channels + "x" + out + "x" + out + " at " + dstOffset);
        }
        for (int c = 0; c < channels; c++) {
            for (int row = 0; row < out; row++) {
                int s = srcOffset + (c * in + y + row) * in + x;
                int d = dstOffset + (c * out + row) * out;
                if (!flip) {
                    System.arraycopy(src, s, dst, d, out);
                } else {
                    for (int j = 0; j < out; j++) dst[d + j] = src[s + out - 1 - j];
                }
            }
        }
    }
}
