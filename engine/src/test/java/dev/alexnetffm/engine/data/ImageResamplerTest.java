package dev.alexnetffm.engine.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ImageResamplerTest {
    /** RGB planes are resampled together (each tap read once for the three); each must come out as it would alone. */
    @ParameterizedTest
    @CsvSource({"500, 375, 341, 256, 57, 0, 227, 227", "28, 28, 227, 227, 0, 0, 227, 227", "333, 251, 100, 80, 3, 5, 90, 70",
                "17, 9, 40, 20, 1, 2, 30, 15"})
    void everyChannelComesOutAsIfResampledAlone(int w, int h, int outW, int outH, int x0, int y0, int cropW, int cropH) {
        Random r = new Random(w * 31L + h);
        for (int channels : new int[] {2, 3, 4}) {
            float[] src = new float[channels * w * h];
            for (int i = 0; i < src.length; i++) src[i] = r.nextFloat() * 255;
            float[] all = ImageResampler.resizeWindow(src, channels, w, h, outW, outH, x0, y0, cropW, cropH);
            int out = cropW * cropH;
            for (int c = 0; c < channels; c++) {
                float[] alone = ImageResampler.resizeWindow(Arrays.copyOfRange(src, c * w * h, (c + 1) * w * h), 1, w, h,
                        outW, outH, x0, y0, cropW, cropH);
                assertArrayEquals(alone, Arrays.copyOfRange(all, c * out, (c + 1) * out), channels + " channels, channel " + c);
            }
        }
    }


    static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = r.nextFloat() * 255f;
        return a;
    }

    @Test
    void sameSizeIsTheIdentity() {
        float[] src = random(3 * 17 * 11, 1);
        assertArrayEquals(src, ImageResampler.resize(src, 3, 11, 17, 11, 17));
    }

    /** At scale 1 a window is copied; the filter, whose taps are then 1 and 0, gives the same values. */
    @Test
    void aWindowAtScaleOneIsWhatTheFilterGives() {
        int w = 256, h = 256, x0 = 13, y0 = 29, cw = 227, ch = 200;
        float[] src = random(3 * w * h, 5);
        float[] copied = ImageResampler.resizeWindow(src, 3, w, h, w, h, x0, y0, cw, ch);
        float[] filtered = new float[copied.length];
        ImageResampler.filterInto(src, 3, w, h, w, h, x0, y0, cw, ch, filtered, 0);
        assertArrayEquals(filtered, copied);
        assertEquals(src[2 * w * h + (y0 + ch - 1) * w + x0 + cw - 1], copied[copied.length - 1]);
    }

    @ParameterizedTest(name = "{0}x{1} -> {2}x{3}")
    @CsvSource({"50,40,256,300", "600,400,300,256", "1000,31,426,256", "13,7,29,16", "640,480,256,256"})
    void aWindowIsExactlyTheCropOfTheFullResize(int w, int h, int outW, int outH) {
        float[] src = random(2 * w * h, w * 31L + h);
        float[] full = ImageResampler.resize(src, 2, w, h, outW, outH);
        int cw = Math.min(outW, 37), ch = Math.min(outH, 23);
        int x0 = (outW - cw) / 3, y0 = (outH - ch) / 2;
        float[] window = ImageResampler.resizeWindow(src, 2, w, h, outW, outH, x0, y0, cw, ch);
        for (int c = 0; c < 2; c++) {
            for (int i = 0; i < ch; i++) {
                for (int j = 0; j < cw; j++) {
                    assertEquals(full[(c * outH + y0 + i) * outW + x0 + j], window[(c * ch + i) * cw + j], 0f, "at " + c + "," + i + "," + j);
                }
            }
        }
    }

    /** Enlarging is ordinary bilinear interpolation with half-pixel centres and clamped edges. */
    @ParameterizedTest(name = "{0}x{1} -> {2}x{3}")
    @CsvSource({"7,5,16,12", "13,9,29,20", "10,10,20,20", "3,2,256,171"})
    void enlargingIsBilinearInterpolation(int w, int h, int outW, int outH) {
        float[] src = random(w * h, 7);
        float[] out = ImageResampler.resize(src, 1, w, h, outW, outH);
        for (int i = 0; i < outH; i++) {
            for (int j = 0; j < outW; j++) {
                double x = Math.clamp((j + 0.5) * w / outW - 0.5, 0, w - 1);
                double y = Math.clamp((i + 0.5) * h / outH - 0.5, 0, h - 1);
                int xa = (int) Math.floor(x), ya = (int) Math.floor(y);
                int xb = Math.min(xa + 1, w - 1), yb = Math.min(ya + 1, h - 1);
                double fx = x - xa, fy = y - ya;
                double v = (1 - fy) * ((1 - fx) * src[ya * w + xa] + fx * src[ya * w + xb])
                        + fy * ((1 - fx) * src[yb * w + xa] + fx * src[yb * w + xb]);
                assertEquals(v, out[i * outW + j], 1e-3, "at " + i + "," + j);
            }
        }
    }

    /** Halving weighs four input pixels 1/8, 3/8, 3/8, 1/8 per axis (PIL's 2× bilinear), not two. */
    @Test
    void halvingUsesTheWidenedTent() {
        int w = 8;
        float[] row = {0, 8, 16, 24, 100, 0, 0, 0};
        float[] out = ImageResampler.resize(row, 1, w, 1, 4, 1);
        // Output 1 is centred at input coordinate 3.0: pixels 1..4 (centres 1.5 .. 4.5) weigh 1/8, 3/8, 3/8, 1/8.
        assertEquals(8 / 8f + 16 * 3 / 8f + 24 * 3 / 8f + 100 / 8f, out[1], 1e-4);
        // Output 2 at 5.0: pixels 3..6.
        assertEquals(24 / 8f + 100 * 3 / 8f, out[2], 1e-4);
        // Output 0 at 1.0, by the edge: pixels 0..2 weigh 3/8, 3/8, 1/8, renormalised by 7/8.
        assertEquals((0 * 3 / 8f + 8 * 3 / 8f + 16 / 8f) / (7 / 8f), out[0], 1e-4);
    }

    @Test
    void reducingKeepsTheMeanOfSmoothContentAndConstantsExactly() {
        float[] constant = new float[1000 * 700];
        Arrays.fill(constant, 42.5f);
        for (float v : ImageResampler.resize(constant, 1, 1000, 700, 256, 179)) assertEquals(42.5f, v, 1e-4);
        float[] src = random(997 * 601, 3);
        float[] out = ImageResampler.resize(src, 1, 997, 601, 97, 61);
        assertEquals(mean(src), mean(out), 0.5);
    }

    @Test
    void rejectsBadArguments() {
        float[] src = new float[12];
        assertThrows(IllegalArgumentException.class, () -> ImageResampler.resize(src, 1, 4, 4, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> ImageResampler.resizeWindow(src, 1, 4, 3, 8, 6, 5, 0, 4, 4));
        assertThrows(IllegalArgumentException.class, () -> ImageResampler.resize(src, 1, 4, 3, 0, 2));
    }

    static double mean(float[] a) {
        double s = 0;
        for (float v : a) s += v;
        return s / a.length;
    }
}
