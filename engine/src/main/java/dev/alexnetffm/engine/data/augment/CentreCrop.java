package dev.alexnetffm.engine.data.augment;

import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.data.DatasetView;

import java.io.IOException;

/**
 * The centre 227x227 of a data set of 3x256x256 images, unflipped: what validation sees when training uses
 * {@link RandomCropFlip}, so that objects have the same scale in both.
 */
public final class CentreCrop extends DatasetView {
    private final RandomCropFlip crop;
    private final RandomCropFlip.Choice centre;
    private final ThreadLocal<float[]> scratch;

    public CentreCrop(Dataset base256, RandomCropFlip crop) {
        super(base256);
        if (base256.channels() != 3 || base256.imageSize() != crop.inSize()) {
            throw new IllegalArgumentException(base.name() + " yields " + base256.channels() + "x" + base256.imageSize() + "x"
                    + base256.imageSize() + " images; a centre crop needs 3x" + crop.inSize() + "x" + crop.inSize());
        }
        this.crop = crop;
        int offset = (crop.inSize() - crop.outSize()) / 2;
        this.centre = new RandomCropFlip.Choice(offset, offset, false);
        this.scratch = ThreadLocal.withInitial(() -> new float[base256.imageFloats()]);
    }

    @Override
    public String name() {
        return base.name() + "/centre" + crop.outSize();
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
    public void image(int index, float[] out, int offset) throws IOException {
        float[] src = scratch.get();
        base.image(index, src, 0);
        crop.apply(src, 0, out, offset, centre);
    }
}
