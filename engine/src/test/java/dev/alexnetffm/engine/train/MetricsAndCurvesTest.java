package dev.alexnetffm.engine.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class MetricsAndCurvesTest {
    @Test
    void topKCountsLabelsOutsideTheKLargest() {
        float[] logits = {
                0.1f, 0.9f, 0.5f, 0.3f,   // label 1: top-1
                0.9f, 0.1f, 0.5f, 0.3f,   // label 2: second
                0.9f, 0.8f, 0.5f, 0.3f,   // label 3: last
                0.5f, 0.5f, 0.1f, 0.1f,   // label 1: tied with class 0, which wins the tie
                Float.NaN, 1f, 0f, 0f};   // label 0: NaN
        int[] labels = {1, 2, 3, 1, 0};
        assertEquals(4, Metrics.topKWrong(logits, 5, labels, 1));
        assertEquals(2, Metrics.topKWrong(logits, 5, labels, 2));
        assertEquals(1, Metrics.topKWrong(logits, 5, labels, 4));
        // per class, with the same rules: class 1 has two rows (one right, one lost on a tie), 2 and 3 one wrong each
        long[] images = new long[4], wrong = new long[4];
        Metrics.countPerClass(logits, 5, labels, 1, images, wrong);
        assertArrayEquals(new long[] {1, 2, 1, 1}, images);
        assertArrayEquals(new long[] {1, 1, 1, 1}, wrong);
        Metrics.countPerClass(logits, 5, labels, 2, images, wrong);  // adds to the counts
        assertArrayEquals(new long[] {2, 4, 2, 2}, images);
        assertArrayEquals(new long[] {2, 1, 1, 2}, wrong);
    }

    @Test
    void curvesRoundTripThroughCsvAndDrawAPng(@TempDir Path dir) throws Exception {
        Curves c = new Curves();
        c.add(new Curves.Epoch(1, 1.2, 0.4, 0.3, 0.05, 0.01, 12.5, 4800));
        c.add(new Curves.Epoch(2, 0.6, 0.2, 0.15, 0.01, 0.001, 12.0, 5000));
        Curves back = Curves.parse(c.csv());
        assertEquals(c.epochs(), back.epochs());
        c.write(dir.resolve("curves.csv"), dir.resolve("curves.png"), "test");
        assertTrue(Files.readString(dir.resolve("curves.csv")).startsWith(Curves.CSV_HEADER));
        BufferedImage png = ImageIO.read(dir.resolve("curves.png").toFile());
        assertEquals(1000, png.getWidth());
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "no temporary files left");
        }
        assertThrows(IllegalArgumentException.class, () -> Curves.parse(Curves.CSV_HEADER + "\n1,2,3\n"));
    }
}
