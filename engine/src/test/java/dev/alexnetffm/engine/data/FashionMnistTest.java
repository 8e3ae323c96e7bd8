package dev.alexnetffm.engine.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

public class FashionMnistTest {

    /** Writes IDX files of n images whose pixel (y, x) of image i is (i + y + x) % 256, labels i % 10. */
    public static void writeIdx(Path dir, String prefix, int n, boolean gzip) throws IOException {
        ByteArrayOutputStream images = new ByteArrayOutputStream(), labels = new ByteArrayOutputStream();
        DataOutputStream im = new DataOutputStream(images), lb = new DataOutputStream(labels);
        im.writeInt(0x803);
        im.writeInt(n);
        im.writeInt(28);
        im.writeInt(28);
        lb.writeInt(0x801);
        lb.writeInt(n);
        for (int i = 0; i < n; i++) {
            for (int y = 0; y < 28; y++) for (int x = 0; x < 28; x++) im.writeByte((i + y + x) % 256);
            lb.writeByte(i % 10);
        }
        write(dir.resolve(prefix + "-images-idx3-ubyte" + (gzip ? ".gz" : "")), images.toByteArray(), gzip);
        write(dir.resolve(prefix + "-labels-idx1-ubyte" + (gzip ? ".gz" : "")), labels.toByteArray(), gzip);
    }

    static void write(Path file, byte[] bytes, boolean gzip) throws IOException {
        try (OutputStream out = gzip ? new GZIPOutputStream(Files.newOutputStream(file)) : Files.newOutputStream(file)) {
            out.write(bytes);
        }
    }

    @Test
    void readsIdxFilesAndNormalisesResizesAndReplicates(@TempDir Path dir) throws IOException {
        writeIdx(dir, "train", 12, true);
        writeIdx(dir, "t10k", 5, false);
        FashionMnist train = FashionMnist.train(dir, 3, 28);
        assertEquals(12, train.size());
        assertEquals(10, train.classes());
        assertEquals(7, train.label(7));
        float[] img = new float[train.imageFloats()];
        train.image(3, img, 0);
        assertEquals(((3 + 2 + 5) / 255f - FashionMnist.MEAN) / FashionMnist.STD, img[2 * 28 + 5], 1e-6f);
        for (int i = 0; i < 28 * 28; i++) {
            assertEquals(img[i], img[28 * 28 + i]);
            assertEquals(img[i], img[2 * 28 * 28 + i]);
        }
        FashionMnist test = FashionMnist.test(dir, 1, 227);
        assertEquals(5, test.size());
        float[] big = new float[test.imageFloats()];
        test.image(0, big, 0);
        for (float v : big) assertTrue(Float.isFinite(v));
    }

    @Test
    void badFilesAreNamed(@TempDir Path dir) throws IOException {
        NoSuchFileException missing = assertThrows(NoSuchFileException.class, () -> FashionMnist.train(dir.resolve("nope"), 3, 28));
        assertTrue(missing.getMessage().contains("dataset-fashion-mnist"), missing.getMessage());
        assertThrows(NoSuchFileException.class, () -> FashionMnist.train(dir, 3, 28));
        writeIdx(dir, "train", 4, false);
        Path images = dir.resolve("train-images-idx3-ubyte");
        byte[] bytes = Files.readAllBytes(images);
        Files.write(images, java.util.Arrays.copyOf(bytes, bytes.length - 10));
        IOException truncated = assertThrows(IOException.class, () -> FashionMnist.train(dir, 3, 28));
        assertTrue(truncated.getMessage().contains("train-images-idx3-ubyte is truncated"), truncated.getMessage());
        bytes[3] = 0x01;
        Files.write(images, bytes);
        IOException magic = assertThrows(IOException.class, () -> FashionMnist.train(dir, 3, 28));
        assertTrue(magic.getMessage().contains("not an IDX file"), magic.getMessage());
    }

    @Test
    void theInstalledDataSetHasItsKnownSizes() throws IOException {
        Path dir = FashionMnist.defaultDir();
        assumeTrue(Files.isDirectory(dir), "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        FashionMnist train = FashionMnist.train(dir, 3, 227), test = FashionMnist.test(dir, 3, 227);
        assertEquals(60_000, train.size());
        assertEquals(10_000, test.size());
        int[] counts = new int[10];
        for (int i = 0; i < test.size(); i++) counts[test.label(i)]++;
        for (int c : counts) assertEquals(1000, c);
    }
}
