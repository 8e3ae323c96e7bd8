package dev.alexnetffm.bench;

import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.data.FashionMnist;
import dev.alexnetffm.engine.data.FolderPreparer;
import dev.alexnetffm.engine.data.ImageDecoder;
import dev.alexnetffm.engine.data.ImageFolder;
import dev.alexnetffm.engine.data.ImagePreprocessor;
import dev.alexnetffm.engine.data.augment.Augmented;
import dev.alexnetffm.engine.data.augment.PcaColour;
import dev.alexnetffm.engine.data.augment.RandomCropFlip;
import org.openjdk.jmh.annotations.*;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Images prepared per second by ONE loader thread (run with {@code -t N} for N threads), so that a user can work
 * out how many cores keep a GPU fed: cores = GPU images/s / this figure.
 * <ul>
 *   <li>{@code jpeg}: decode a 500x375 JPEG, resize the short side to 256, centre-crop 227, subtract the mean;</li>
 *   <li>{@code jpegAugmented}: the same at 256x256, then the paper's random crop and flip and PCA colour;</li>
 *   <li>{@code prepared}: a 256x256 JPEG from the folder {@code alexnet prepare} made of those JPEGs (quality 90),
 *       decoded and the mean subtracted, nothing else: what the augmentation below adds to it is what moving it to the
 *       GPU could save;</li>
 *   <li>{@code preparedAugmented}: the same, then the paper's random crop and flip and PCA colour;</li>
 *   <li>{@code photo}: a 4032x3024 JPEG (a phone camera's 12 megapixels: smooth shading, little noise, quality 0.9)
 *       as {@code jpeg} prepares it; libjpeg-turbo decodes it reduced by 8, {@code -Dalexnet.jpeg=full} at full size;</li>
 *   <li>{@code fashionMnist}: a 28x28 IDX image resized to 227x227 and replicated to three channels.</li>
 * </ul>
 * The JPEGs are synthetic (smooth gradients plus noise, quality 0.9), written to a temporary folder at setup. They are
 * decoded by libjpeg-turbo where libturbojpeg.so.0 loads (setup prints which); {@code -jvmArgsAppend
 * -Dalexnet.jpeg=imageio} measures javax.imageio instead.
 * Run: {@code java -jar benchmarks/target/benchmarks.jar DataLoadingBench -rf json -rff loading.json}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class DataLoadingBench {
    static final int IMAGES = 64;

    Path dir, square;
    Dataset jpeg;
    Dataset augmented;
    Dataset prepared;
    Dataset preparedAugmented;
    Dataset fashion;

    /** One thread's output buffers and its place in the images, which it takes in turn. */
    @State(Scope.Thread)
    public static class Slot {
        final float[] out = new float[3 * 227 * 227];
        final float[] out256 = new float[3 * 256 * 256];
        int next;

        /** The next image of {@code data}, into {@code into}. */
        float[] load(Dataset data, float[] into) throws IOException {
            data.image(next++ % data.size(), into, 0);
            return into;
        }
    }

    @Setup
    public void setUp() throws IOException {
        System.out.println("JPEG decoding: " + ImageDecoder.jpegLibrary());
        dir = Files.createTempDirectory("loading-bench");
        Path cls = Files.createDirectories(dir.resolve("class0"));
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < IMAGES; i++) {
            BufferedImage img = new BufferedImage(500, 375, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 375; y++) {
                for (int x = 0; x < 500; x++) {
                    int n = r.nextInt(32);
                    img.setRGB(x, y, ((x * 255 / 500 + n) & 0xff) << 16 | ((y * 255 / 375 + n) & 0xff) << 8 | ((i * 4 + n) & 0xff));
                }
            }
            ImageIO.write(img, "jpg", cls.resolve(i + ".jpg").toFile());
        }
        jpeg = ImageFolder.open(dir, ImagePreprocessor.imageNet());
        Dataset at256 = ImageFolder.open(dir, ImagePreprocessor.builder().cropSize(256).build());
        PcaColour pca = PcaColour.fit(at256, 16);
        augmented = new Augmented(at256, RandomCropFlip.paper(), pca, 7);
        square = dir.resolveSibling(dir.getFileName() + "-256");
        FolderPreparer.prepare(dir, square, FolderPreparer.Settings.paper(), (done, total) -> {});
        prepared = ImageFolder.open(square, ImagePreprocessor.builder().cropSize(256).build());
        preparedAugmented = new Augmented(prepared, RandomCropFlip.paper(), pca, 7);
        Path fm = FashionMnist.defaultDir();
        fashion = Files.isDirectory(fm) ? FashionMnist.train(fm, 3, 227) : null;
    }

    @TearDown
    public void tearDown() throws IOException {
        delete(dir);
        delete(square);
    }

    @Benchmark
    public float[] jpeg(Slot slot) throws IOException {
        return slot.load(jpeg, slot.out);
    }

    @Benchmark
    public float[] jpegAugmented(Slot slot) throws IOException {
        return slot.load(augmented, slot.out);
    }

    @Benchmark
    public float[] prepared(Slot slot) throws IOException {
        return slot.load(prepared, slot.out256);
    }

    @Benchmark
    public float[] preparedAugmented(Slot slot) throws IOException {
        return slot.load(preparedAugmented, slot.out);
    }

    /** Four camera-sized pictures, made only for {@code photo} (they take seconds to write). */
    @State(Scope.Benchmark)
    public static class Photos {
        static final int COUNT = 4;
        Path dir;
        Dataset photos;

        @Setup
        public void setUp() throws IOException {
            dir = Files.createTempDirectory("loading-bench-photos");
            Path cls = Files.createDirectories(dir.resolve("class0"));
            SplittableRandom r = new SplittableRandom(2);
            int w = 4032, h = 3024;
            for (int i = 0; i < COUNT; i++) {
                BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
                int[] row = new int[w];
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        int red = (int) (128 + 90 * Math.sin(x / 200.0 + i) * Math.cos(y / 150.0)) + r.nextInt(5) - 2;
                        int green = 40 + 170 * x / w + r.nextInt(5) - 2;
                        int blue = (int) (200 - 150.0 * y / h + 25 * Math.tanh((x - w / 2.0) / 20.0));
                        row[x] = Math.clamp(red, 0, 255) << 16 | Math.clamp(green, 0, 255) << 8 | Math.clamp(blue, 0, 255);
                    }
                    img.setRGB(0, y, w, 1, row, 0, w);
                }
                ImageIO.write(img, "jpg", cls.resolve(i + ".jpg").toFile());
            }
            photos = ImageFolder.open(dir, ImagePreprocessor.imageNet());
        }

        @TearDown
        public void tearDown() throws IOException {
            delete(dir);
        }
    }

    @Benchmark
    public float[] photo(Photos photos, Slot slot) throws IOException {
        return slot.load(photos.photos, slot.out);
    }

    static void delete(Path root) throws IOException {
        try (var files = Files.walk(root)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Benchmark
    public float[] fashionMnist(Slot slot) throws IOException {
        if (fashion == null) throw new IllegalStateException("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        return slot.load(fashion, slot.out);
    }
}
