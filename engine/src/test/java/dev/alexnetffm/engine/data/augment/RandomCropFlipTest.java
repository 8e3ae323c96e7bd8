package dev.alexnetffm.engine.data.augment;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class RandomCropFlipTest {
    private final RandomCropFlip crop = RandomCropFlip.paper();

    /** Value encodes (channel, row, column) exactly in float: c·65536 + y·256 + x. */
    static float[] coordinateImage(int channels, int size) {
        float[] img = new float[channels * size * size];
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++) img[(c * size + y) * size + x] = c * 65536f + y * 256f + x;
        return img;
    }

    @Test
    void offsetsCoverTheRangeAndFlipIsHalf() {
        int[] xs = new int[30], ys = new int[30];
        int flips = 0, n = 20000;
        for (int i = 0; i < n; i++) {
            RandomCropFlip.Choice ch = crop.choose(42, 3, i);
            assertTrue(ch.x() >= 0 && ch.x() <= 29 && ch.y() >= 0 && ch.y() <= 29, ch.toString());
            xs[ch.x()]++;
            ys[ch.y()]++;
            if (ch.flip()) flips++;
        }
        for (int k = 0; k < 30; k++) {
            // expected n/30 = 667 each; a 5-sigma band is about +-125
            assertTrue(Math.abs(xs[k] - n / 30.0) < 140, "x=" + k + " count " + xs[k]);
            assertTrue(Math.abs(ys[k] - n / 30.0) < 140, "y=" + k + " count " + ys[k]);
        }
        assertEquals(0.5, flips / (double) n, 0.02);
    }

    @Test
    void deterministicPerSeedEpochItem() {
        float[] src = coordinateImage(3, 256);
        float[] a = new float[crop.outFloats()], b = new float[crop.outFloats()];
        int epochDiffers = 0, seedDiffers = 0;
        for (int i = 0; i < 200; i++) {
            assertEquals(crop.choose(7, 1, i), crop.choose(7, 1, i));
            if (!crop.choose(7, 1, i).equals(crop.choose(7, 2, i))) epochDiffers++;
            if (!crop.choose(7, 1, i).equals(crop.choose(8, 1, i))) seedDiffers++;
        }
        // a repeat has probability 1/1800 per item
        assertTrue(epochDiffers >= 195, "epoch changed only " + epochDiffers + " of 200 choices");
        assertTrue(seedDiffers >= 195, "seed changed only " + seedDiffers + " of 200 choices");
        crop.apply(src, a, 0, 7, 1, 5);
        crop.apply(src, b, 0, 7, 1, 5);
        assertArrayEquals(a, b);
    }

    @Test
    void sameBitsFromAnyThreadInAnyOrder() throws Exception {
        RandomCropFlip.Choice[] seq = new RandomCropFlip.Choice[1000];
        for (int i = 999; i >= 0; i--) seq[i] = crop.choose(11, 4, i);
        RandomCropFlip.Choice[] par = new RandomCropFlip.Choice[1000];
        java.util.stream.IntStream.range(0, 1000).parallel().forEach(i -> par[i] = crop.choose(11, 4, i));
        assertArrayEquals(seq, par);
    }

    @Test
    void cropHasTheRightTopLeftAndFlippedOrder() {
        float[] src = coordinateImage(3, 256);
        float[] dst = new float[5 + crop.outFloats()];
        for (boolean flip : new boolean[] {false, true}) {
            RandomCropFlip.Choice ch = new RandomCropFlip.Choice(13, 29, flip);
            crop.apply(src, 0, dst, 5, ch);
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 227; y += 17)
                    for (int x = 0; x < 227; x++) {
                        int sx = flip ? 13 + 226 - x : 13 + x;
                        assertEquals(c * 65536f + (29 + y) * 256f + sx, dst[5 + (c * 227 + y) * 227 + x], "c" + c + " y" + y + " x" + x);
                    }
        }
        // apply(seed...) uses choose(seed...)
        RandomCropFlip.Choice ch = crop.choose(1, 2, 3);
        float[] out = new float[crop.outFloats()];
        crop.apply(src, out, 0, 1, 2, 3);
        int x0 = ch.flip() ? ch.x() + 226 : ch.x();
        assertEquals(ch.y() * 256f + x0, out[0]);
    }

    @Test
    void rejectsBadSizes() {
        assertThrows(IllegalArgumentException.class, () -> new RandomCropFlip(3, 200, 227));
        assertThrows(IllegalArgumentException.class, () -> crop.apply(new float[10], new float[crop.outFloats()], 0, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> crop.apply(new float[crop.inFloats()], new float[crop.outFloats()], 1, 1, 1, 1));
    }
}
