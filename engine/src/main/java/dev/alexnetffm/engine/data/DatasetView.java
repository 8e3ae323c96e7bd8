package dev.alexnetffm.engine.data;

import java.io.IOException;

/**
 * A data set seen through a transformation of another (a sample of it, a crop of its images): everything is the
 * base's unless the view overrides it.
 */
public abstract class DatasetView implements Dataset {
    protected final Dataset base;

    protected DatasetView(Dataset base) {
        this.base = java.util.Objects.requireNonNull(base, "base");
    }

    public Dataset base() {
        return base;
    }

    @Override
    public String name() {
        return base.name();
    }

    @Override
    public int size() {
        return base.size();
    }

    @Override
    public int classes() {
        return base.classes();
    }

    @Override
    public int channels() {
        return base.channels();
    }

    @Override
    public int imageSize() {
        return base.imageSize();
    }

    @Override
    public int label(int index) {
        return base.label(index);
    }

    @Override
    public void image(int index, float[] out, int offset) throws IOException {
        base.image(index, out, offset);
    }

    @Override
    public InputEncoding encoding() {
        return base.encoding();
    }

    @Override
    public java.util.List<String> classNames() {
        return base.classNames();
    }

    @Override
    public void startEpoch(int epoch) {
        base.startEpoch(epoch);
    }
}
