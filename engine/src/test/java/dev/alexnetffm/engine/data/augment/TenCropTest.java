package dev.alexnetffm.engine.data.augment;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class TenCropTest {
    @Test
    void positionsAreCornersCentreAndMirrors() {
        TenCrop t = TenCrop.paper();
        float[] src = RandomCropFlipTest.coordinateImage(3, 256);
        float[] out = t.write(src);
        assertEquals(10 * 3 * 227 * 227, out.length);
        int[][] expect = {{0, 0}, {29, 0}, {0, 29}, {29, 29}, {14, 14}};
        int per = t.outFloats();
        for (int k = 0; k < 10; k++) {
            int[] p = expect[k % 5];
            assertArrayEquals(p, t.position(k));
            boolean flip = k >= 5;
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 227; y += 13)
                    for (int x = 0; x < 227; x += 7) {
                        int sx = p[0] + (flip ? 226 - x : x);
                        assertEquals(c * 65536f + (p[1] + y) * 256f + sx, out[k * per + (c * 227 + y) * 227 + x], "crop " + k);
                    }
        }
        // mirrors: crop k+5 row reversed equals crop k
        for (int k = 0; k < 5; k++)
            for (int row = 0; row < 3 * 227; row += 50)
                for (int x = 0; x < 227; x++)
                    assertEquals(out[k * per + row * 227 + x], out[(k + 5) * per + row * 227 + 226 - x]);
    }

    @Test
    void averageOverTenRows() {
        int images = 2, classes = 3;
        float[] p = new float[images * 10 * classes];
        for (int i = 0; i < images; i++)
            for (int k = 0; k < 10; k++)
                for (int c = 0; c < classes; c++) p[(i * 10 + k) * classes + c] = i * 100 + k * 3 + c;
        float[] avg = TenCrop.average(p, images, classes);
        assertEquals(images * classes, avg.length);
        for (int i = 0; i < images; i++)
            for (int c = 0; c < classes; c++) assertEquals(i * 100 + 13.5f + c, avg[i * classes + c], 1e-5);
        assertThrows(IllegalArgumentException.class, () -> TenCrop.average(new float[59], 2, 3));
    }

    @Test
    void averageOfSoftmaxRowsSumsToOne() {
        java.util.Random r = new java.util.Random(1);
        int classes = 1000;
        float[] p = new float[10 * classes];
        for (int k = 0; k < 10; k++) {
            double s = 0;
            double[] e = new double[classes];
            for (int c = 0; c < classes; c++) s += e[c] = Math.exp(r.nextGaussian());
            for (int c = 0; c < classes; c++) p[k * classes + c] = (float) (e[c] / s);
        }
        double total = 0;
        for (float v : TenCrop.average(p, 1, classes)) total += v;
        assertEquals(1.0, total, 1e-4);
    }
}
