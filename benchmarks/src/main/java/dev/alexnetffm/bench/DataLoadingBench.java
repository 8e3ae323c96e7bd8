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
 *   <li>{@code preparedAugmented}: the same augmentation from the folder {@code alexnet prepare} made of those JPEGs
 *       (256x256 JPEG files at quality 90, decoded as they are, no resizing);</li>
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

    Path dir;
    Dataset jpeg;
    Dataset augmented;
    Dataset prepared;
    Dataset fashion;

    @State(Scope.Thread)
    public static class Slot {
        final float[] out = new float[3 * 227 * 227];
        int next;
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
        Path square = dir.resolveSibling(dir.getFileName() + "-256");
        FolderPreparer.prepare(dir, square, FolderPreparer.Settings.paper(), (done, total) -> {});
        prepared = new Augmented(ImageFolder.open(square, ImagePreprocessor.builder().cropSize(256).build()), RandomCropFlip.paper(), pca, 7);
        Path fm = FashionMnist.defaultDir();
        fashion = Files.isDirectory(fm) ? FashionMnist.train(fm, 3, 227) : null;
    }

    @TearDown
    public void tearDown() throws IOException {
        for (Path root : new Path[] {dir, dir.resolveSibling(dir.getFileName() + "-256")}) {
            try (var files = Files.walk(root)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Benchmark
    public float[] jpeg(Slot slot) throws IOException {
        jpeg.image(slot.next++ % IMAGES, slot.out, 0);
        return slot.out;
    }

    @Benchmark
    public float[] jpegAugmented(Slot slot) throws IOException {
        augmented.image(slot.next++ % IMAGES, slot.out, 0);
        return slot.out;
    }

    @Benchmark
    public float[] preparedAugmented(Slot slot) throws IOException {
        prepared.image(slot.next++ % IMAGES, slot.out, 0);
        return slot.out;
    }

    @Benchmark
    public float[] fashionMnist(Slot slot) throws IOException {
        if (fashion == null) throw new IllegalStateException("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        fashion.image(slot.next++ % fashion.size(), slot.out, 0);
        return slot.out;
    }
}
