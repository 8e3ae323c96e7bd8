package dev.alexnetffm.engine.data.augment;

import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.data.DatasetView;

import java.io.IOException;
import java.util.Objects;

/**
 * Training augmentation over a data set of {@code 3 x 256 x 256} images (e.g. an {@code ImageFolder} whose
 * {@code ImagePreprocessor} has {@code cropSize(256)}): each item is a random crop (mirrored half the time) and,
 * when a {@link PcaColour} is given, the PCA colour offset. Item {@code i} in epoch {@code e} is a pure function of
 * (seed, e, i): set the epoch with {@link #setEpoch} before each epoch's loading starts. Thread-safe for reads from
 * several loader threads.
 */
public final class Augmented extends DatasetView {
    private final RandomCropFlip crop;
    private final PcaColour colour;
    private final long seed;
    private final ThreadLocal<float[]> scratch;
    private volatile int epoch;

    public Augmented(Dataset base256, RandomCropFlip crop, PcaColour colourOrNull, long seed) {
        super(base256);
        this.crop = Objects.requireNonNull(crop, "crop");
        if (base.channels() != crop.channels() || base.imageSize() != crop.inSize()) {
            throw new IllegalArgumentException(base.name() + " yields " + base.channels() + "x" + base.imageSize() + "x" + base.imageSize()
                    + " images; the crop needs " + crop.channels() + "x" + crop.inSize() + "x" + crop.inSize()
                    + " (prepare them with ImagePreprocessor.builder().cropSize(" + crop.inSize() + "))");
        }
        if (colourOrNull != null && base.channels() != 3) throw new IllegalArgumentException("PCA colour needs 3 channels");
        this.colour = colourOrNull;
        this.seed = seed;
        int floats = base.imageFloats();
        this.scratch = ThreadLocal.withInitial(() -> new float[floats]);
    }

    /** Called by the trainer before each epoch: the same as {@link #setEpoch}. */
    @Override
    public void startEpoch(int epoch) {
        setEpoch(epoch);
    }

    /** The epoch whose random choices {@link #image} uses from now on. */
    public void setEpoch(int epoch) {
        this.epoch = epoch;
    }

    public int epoch() {
        return epoch;
    }

    @Override
    public String name() {
        return base.name() + "+augment";
    }

    @Override
    public int imageSize() {
        return crop.outSize();
    }

    @Override
    public void image(int index, float[] out, int offset) throws IOException {
        int e = epoch;
        float[] src = scratch.get();
        base.image(index, src, 0);
        crop.apply(src, 0, out, offset, crop.choose(seed, e, index));
        if (colour != null) colour.apply(out, offset, crop.outSize() * crop.outSize(), seed, e, index);
    }
}
