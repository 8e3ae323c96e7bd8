package dev.alexnetffm.engine.train;

import dev.alexnetffm.engine.data.BatchLoader;
import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.data.ImagePreprocessor;
import dev.alexnetffm.engine.data.augment.TenCrop;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;

import java.io.IOException;

/**
 * The paper's test protocol on images prepared at 256x256: the centre 227x227 crop alone, and ten crops (four
 * corners, centre, and their mirror images) with their softmax outputs averaged. One forward pass serves both:
 * the ten crops of a batch of images go to the network as one batch, and the centre crop is one of them.
 */
public final class Evaluation {
    /**
     * Error rates (fractions) for the centre crop and for the ten-crop average, and per class the images and the
     * ten-crop top-1 mistakes among them.
     */
    public record Result(int images, double centreTop1, double centreTop5, double tenCropTop1, double tenCropTop5,
                         long[] classImages, long[] classWrong) {
        /** The ten-crop top-1 error of class {@code c} (NaN where the data holds none of it). */
        public double classTop1(int c) {
            return classImages[c] == 0 ? Double.NaN : (double) classWrong[c] / classImages[c];
        }
    }

    private Evaluation() {}

    /**
     * @param base256 the data set, yielding 3x256x256 images (or, for a smaller network, images of
     *                {@link ImagePreprocessor#shortSideFor} its input)
     * @param images  images per forward pass (ten crops each)
     */
    public static Result tenCrop(AlexNet net, Dataset base256, int images, int threads) throws IOException, InterruptedException {
        return tenCrop(net::probabilities, net.config(), base256, images, threads);
    }

    /** Class probabilities (N, classes) for a host batch of N images: a network on one device or split over two. */
    @FunctionalInterface
    public interface Probabilities {
        float[] of(float[] images, int n);
    }

    /** {@link #tenCrop(AlexNet, Dataset, int, int)} for any network of {@code config}. */
    public static Result tenCrop(Probabilities network, AlexNetConfig config, Dataset base, int images, int threads)
            throws IOException, InterruptedException {
        int size = config.inputSize(), prepared = ImagePreprocessor.shortSideFor(size);
        if (base.imageSize() != prepared || base.channels() != config.inChannels()) {
            throw new IllegalArgumentException("ten-crop evaluation of a " + size + "x" + size + " network needs " + config.inChannels() + "x"
                    + prepared + "x" + prepared + " images; got " + base.channels() + "x" + base.imageSize() + "x" + base.imageSize());
        }
        TenCrop tc = new TenCrop(config.inChannels(), base.imageSize(), size);
        int classes = config.classes(), k5 = Math.min(5, classes);
        int inFloats = base.imageFloats(), outFloats = tc.outFloats();
        float[] crops = new float[images * 10 * outFloats];
        long seen = 0, c1 = 0, c5 = 0, t1 = 0, t5 = 0;
        long[] classImages = new long[classes], classWrong = new long[classes];
        try (BatchLoader loader = new BatchLoader(base, images, BatchLoader.sequential(base.size()), false, threads, 2, false)) {
            for (BatchLoader.Batch next; (next = loader.next()) != null; ) {
                try (BatchLoader.Batch batch = next) {
                    int n = batch.size;
                    for (int i = 0; i < n; i++) tc.write(batch.images, i * inFloats, crops, i * 10 * outFloats);
                    float[] p = network.of(n == images ? crops : java.util.Arrays.copyOf(crops, n * 10 * outFloats), n * 10);
                    float[] centre = new float[n * classes];
                    for (int i = 0; i < n; i++) System.arraycopy(p, (i * 10 + 4) * classes, centre, i * classes, classes);
                    float[] averaged = TenCrop.average(p, n, classes);
                    c1 += Metrics.topKWrong(centre, n, batch.labels, 1);
                    c5 += Metrics.topKWrong(centre, n, batch.labels, k5);
                    t1 += Metrics.topKWrong(averaged, n, batch.labels, 1);
                    t5 += Metrics.topKWrong(averaged, n, batch.labels, k5);
                    Metrics.countPerClass(averaged, n, batch.labels, 1, classImages, classWrong);
                    seen += n;
                }
            }
        }
        return new Result((int) seen, (double) c1 / seen, (double) c5 / seen, (double) t1 / seen, (double) t5 / seen, classImages, classWrong);
    }
}
