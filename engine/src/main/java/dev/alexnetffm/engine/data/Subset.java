package dev.alexnetffm.engine.data;

import java.io.IOException;

/** The first {@code n} items of a seeded shuffle of another data set: a smaller, still mixed, sample of it. */
public final class Subset extends DatasetView {
    private final int[] items;

    public Subset(Dataset base, int n, long seed) {
        super(base);
        if (n < 1) throw new IllegalArgumentException("a subset needs at least one item, got " + n);
        this.items = java.util.Arrays.copyOf(BatchLoader.shuffled(base.size(), seed), Math.min(n, base.size()));
    }

    @Override
    public String name() {
        return base.name() + "[" + items.length + "]";
    }

    @Override
    public int size() {
        return items.length;
    }

    @Override
    public int label(int index) {
        return base.label(items[index]);
    }

    @Override
    public void image(int index, float[] out, int offset) throws IOException {
        base.image(items[index], out, offset);
    }
}
