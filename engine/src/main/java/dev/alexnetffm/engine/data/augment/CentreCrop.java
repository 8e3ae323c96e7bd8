package dev.alexnetffm.engine.data.augment;

import dev.alexnetffm.engine.data.Dataset;

import java.io.IOException;

/**
 * The centre 227x227 of a data set of 3x256x256 images, unflipped: what validation sees when training uses
 * {@link RandomCropFlip}, so that objects have the same scale in both.
 */
public final class CentreCrop implements Dataset {
    private final Dataset base256;
    private final RandomCropFlip crop;
    private final RandomCropFlip.Choice centre;
    private final ThreadLocal<float[]> scratch;

    public CentreCrop(Dataset base256, RandomCropFlip crop) {
        if (base256.channels() != 3 || base256.imageSize() != crop.inSize()) {
            throw new IllegalArgumentException(base256.name() + " yields " + base256.channels() + "x" + base256.imageSize() + "x"
                    + base256.imageSize() + " images; a centre crop needs 3x" + crop.inSize() + "x" + crop.inSize());
        }
        this.base256 = base256;
        this.crop = crop;
        int offset = (crop.inSize() - crop.outSize()) / 2;
        this.centre = new RandomCropFlip.Choice(offset, offset, false);
        this.scratch = ThreadLocal.withInitial(() -> new float[base256.imageFloats()]);
    }

    @Override
    public String name() {
        return base256.name() + "/centre" + crop.outSize();
    }

    @Override
    public int size() {
        return base256.size();
    }

    @Override
    public int classes() {
        return base256.classes();
    }

    @Override
    public int channels() {
        return 3;
    }

    @Override
    public int imageSize() {
        return crop.outSize();
    }

    @Override
    public int label(int index) {
        return base256.label(index);
    }

    @Override
    public void image(int index, float[] out, int offset) throws IOException {
        float[] src = scratch.get();
        base256.image(index, src, 0);
        crop.apply(src, 0, out, offset, centre);
    }
}
