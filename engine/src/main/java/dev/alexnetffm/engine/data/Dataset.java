package dev.alexnetffm.engine.data;

import java.io.IOException;

/**
 * A labelled image set the trainer reads by index. Implementations are safe to read from several loader threads
 * at once.
 */
public interface Dataset {
    /** A short name for logs, e.g. "fashion-mnist/train". */
    String name();

    int size();

    int classes();

    /** Channels of the images this data set produces (the network's input channels). */
    int channels();

    /** Height = width of the images this data set produces. */
    int imageSize();

    int label(int index);

    /**
     * Writes image {@code index} as {@code channels x imageSize x imageSize} floats (CHW) into {@code out} at
     * {@code offset}. A corrupt or unreadable item throws {@link IOException} naming it.
     */
    void image(int index, float[] out, int offset) throws IOException;

    /**
     * Called before each training epoch's loading starts (1, 2, ...): random augmentation keys its choices on it.
     * Nothing by default.
     */
    default void startEpoch(int epoch) {}

    /** How this data set encodes its images, so that image files can be prepared alike for the trained network. */
    default InputEncoding encoding() {
        return InputEncoding.IMAGENET;
    }

    /** The classes' names, index i naming class i; empty where the data set has none. */
    default java.util.List<String> classNames() {
        return java.util.List.of();
    }

    default int imageFloats() {
        return channels() * imageSize() * imageSize();
    }
}
