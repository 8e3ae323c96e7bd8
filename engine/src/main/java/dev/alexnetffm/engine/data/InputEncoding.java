package dev.alexnetffm.engine.data;

import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

/**
 * How an image becomes the network's input: which part of it, in which units. A network only makes sense of inputs
 * encoded the way it was trained on, so the encoding is stored with its weights (metadata {@value #METADATA_KEY},
 * written by training; a file without it is read as {@link #IMAGENET}) and {@code infer} and {@code eval} prepare an
 * image file as it says.
 */
public enum InputEncoding {
    /**
     * The paper's, and an image folder's: RGB, the short side resized to 256 / 227 of the input (256 for 227), the
     * centre cropped, the ImageNet mean subtracted in 0..255 units ({@link ImagePreprocessor#forInput}).
     */
    IMAGENET("imagenet"),
    /**
     * Fashion-MNIST's, as {@link FashionMnist} prepares its images: the whole (square) image resized to the input,
     * grey, {@code (v / 255 - 0.2860) / 0.3530}, the same in every channel.
     */
    FASHION_MNIST("fashion-mnist"),
    /**
     * Caffe's ImageNet networks' (the BVLC reference AlexNet, imported by {@code alexnet import-caffe}): as
     * {@link #IMAGENET} but with the channels in BGR order and the mean of Caffe's ILSVRC 2012 mean image subtracted
     * per channel (B 104.007, G 116.669, R 122.679).
     */
    CAFFE("caffe");

    /** The per-channel mean of Caffe's ILSVRC 2012 mean image ({@code ilsvrc_2012_mean.npy}), in RGB order. */
    public static final double CAFFE_MEAN_R = 122.6789143406786, CAFFE_MEAN_G = 116.66876761696767, CAFFE_MEAN_B = 104.0069879317889;

    public static final String METADATA_KEY = "alexnet.inputs";

    private final String key;

    InputEncoding(String key) {
        this.key = key;
    }

    /** The value stored in the metadata. */
    public String key() {
        return key;
    }

    /**
     * An image file's preparation for a network of {@code inputSize} x {@code inputSize} inputs, cut to the centre
     * {@code crop} x {@code crop}: the input size itself (a single centre crop), or the square that random and ten
     * crops are cut from ({@link ImagePreprocessor#shortSideFor}: 256 for 227).
     */
    public ImagePreprocessor preprocessor(int inputSize, int crop) {
        return switch (this) {
            case IMAGENET -> ImagePreprocessor.forInput(inputSize, crop);
            case CAFFE -> ImagePreprocessor.builder().shortSide(ImagePreprocessor.shortSideFor(inputSize)).cropSize(crop)
                    .channelOrder(ImagePreprocessor.ChannelOrder.BGR).mean(CAFFE_MEAN_R, CAFFE_MEAN_G, CAFFE_MEAN_B).build();
            case FASHION_MNIST -> {
                // FashionMnist resizes the whole image to the size it is prepared at: here the short side, then
                // the centre square (all of a square image)
                float mean = 255 * FashionMnist.MEAN, std = 255 * FashionMnist.STD;
                yield ImagePreprocessor.builder().shortSide(crop).cropSize(crop).grey(true)
                        .mean(mean, mean, mean).std(std, std, std).build();
            }
        };
    }

    /** The encoding named in {@code metadata}, {@link #IMAGENET} where it names none; an unknown name is an error. */
    public static InputEncoding fromMetadata(Map<String, String> metadata) {
        String value = metadata.get(METADATA_KEY);
        if (value == null) return IMAGENET;
        for (InputEncoding e : values()) if (e.key.equals(value.strip().toLowerCase(Locale.ROOT))) return e;
        throw new IllegalArgumentException("the weights file's " + METADATA_KEY + " is '" + value + "': this version knows "
                + Arrays.stream(values()).map(InputEncoding::key).toList());
    }
}
