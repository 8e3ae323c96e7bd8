package dev.alexnetffm.engine.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** libjpeg-turbo gives javax.imageio's samples, and leaves every file it warns about to javax.imageio's verdict. */
class TurboJpegTest {
    final ImageDecoder turbo = ImageDecoder.defaults().withJpegMode(TurboJpeg.Mode.FULL);
    final ImageDecoder imageio = ImageDecoder.defaults().withJpegMode(TurboJpeg.Mode.IMAGEIO);

    static BufferedImage picture(int w, int h, int type, long seed) {
        Random r = new Random(seed);
        BufferedImage img = new BufferedImage(w, h, type);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int red = (int) (128 + 100 * Math.sin(x / 7.0) * Math.cos(y / 5.0)) + r.nextInt(9) - 4;
                int green = (x * 255 / w + r.nextInt(16)) & 0xff;
                int blue = ((x / 8 + y / 6) % 2 == 0) ? 30 : 220;
                img.setRGB(x, y, Math.clamp(red, 0, 255) << 16 | green << 8 | blue);
            }
        }
        return img;
    }

    static byte[] jpeg(BufferedImage img, float quality, boolean progressive) throws IOException {
        return TestImages.jpeg(img, quality, progressive);
    }

    @Test
    void theSameSamplesAsJavaxImageio() throws IOException {
        assumeTrue(TurboJpeg.loaded(), TurboJpeg::describe);
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("333x251 RGB q0.85", jpeg(picture(333, 251, BufferedImage.TYPE_INT_RGB, 1), 0.85f, false));
        files.put("333x251 RGB q1.0", jpeg(picture(333, 251, BufferedImage.TYPE_INT_RGB, 2), 1.0f, false));
        files.put("333x251 RGB progressive", jpeg(picture(333, 251, BufferedImage.TYPE_INT_RGB, 3), 0.9f, true));
        files.put("97x61 greyscale", jpeg(picture(97, 61, BufferedImage.TYPE_BYTE_GRAY, 4), 0.9f, false));
        files.put("1x1 RGB", jpeg(picture(1, 1, BufferedImage.TYPE_INT_RGB, 5), 0.9f, false));
        files.put("17x9 RGB", jpeg(picture(17, 9, BufferedImage.TYPE_INT_RGB, 6), 0.5f, false));
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            Optional<RgbImage> fast = TurboJpeg.decode(f.getValue(), ImageDecoder.DEFAULT_MAX_PIXELS);
            assertTrue(fast.isPresent(), f.getKey() + ": libjpeg-turbo did not take a clean file");
            RgbImage reference = imageio.decode(f.getValue(), f.getKey());
            assertEquals(reference.width(), fast.get().width(), f.getKey());
            assertEquals(reference.height(), fast.get().height(), f.getKey());
            assertEquals(reference.format(), fast.get().format(), f.getKey());
            assertArrayEquals(reference.planes(), fast.get().planes(), f.getKey());
            assertArrayEquals(reference.planes(), turbo.decode(f.getValue(), f.getKey()).planes(), f.getKey());
        }
    }

    /** Truncated, cut and corrupt files: libjpeg-turbo declines, and the verdict (or the image) is javax.imageio's. */
    @Test
    void aFileItWarnsAboutGetsJavaxImageiosVerdict() throws IOException {
        assumeTrue(TurboJpeg.loaded(), TurboJpeg::describe);
        byte[] whole = jpeg(picture(300, 200, BufferedImage.TYPE_INT_RGB, 7), 0.9f, false);
        byte[] corrupt = whole.clone();
        for (int i = whole.length / 2; i < whole.length / 2 + 200; i++) corrupt[i] ^= 0x5a;
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("half", Arrays.copyOf(whole, whole.length / 2));
        files.put("headers only", Arrays.copyOf(whole, 100));
        files.put("end marker missing", Arrays.copyOf(whole, whole.length - 2));
        files.put("corrupt", corrupt);
        for (int n = 3; n < whole.length; n += whole.length / 37) files.put("cut at " + n, Arrays.copyOf(whole, n));
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            String name = f.getKey();
            if (!name.equals("end marker missing")) {
                assertFalse(TurboJpeg.decode(f.getValue(), ImageDecoder.DEFAULT_MAX_PIXELS).isPresent(), name + ": taken by libjpeg-turbo");
            }
            Object expected = outcome(imageio, f.getValue(), name), got = outcome(turbo, f.getValue(), name);
            if (expected instanceof float[] e) assertArrayEquals(e, (float[]) got, name);
            else assertEquals(expected, got, name);
        }
        assertTrue(outcome(turbo, files.get("half"), "half") instanceof String s && s.startsWith("TRUNCATED"));
        assertArrayEquals(turbo.decode(whole, "whole").planes(), (float[]) outcome(turbo, files.get("end marker missing"), "x"));
    }

    /** The image's samples, or the failure's reason and message. */
    private static Object outcome(ImageDecoder decoder, byte[] bytes, String name) {
        try {
            return decoder.decode(bytes, name).planes();
        } catch (ImageLoadException e) {
            return e.reason() + ": " + e.getMessage();
        }
    }

    @Test
    void aPictureOverThePixelLimitIsRefusedAsBefore() throws IOException {
        byte[] file = jpeg(picture(100, 80, BufferedImage.TYPE_INT_RGB, 8), 0.9f, false);
        assertTrue(TurboJpeg.decode(file, 7999).isEmpty());
        ImageLoadException e = assertThrows(ImageLoadException.class,
                () -> new ImageDecoder(ImageDecoder.AlphaPolicy.DROP, 7999).withJpegMode(TurboJpeg.Mode.AUTO).decode(file, "big", 10));
        assertEquals(ImageLoadException.Reason.TOO_LARGE, e.reason());
    }

    @Test
    void theSettingIsAutoFullOrImageioAndAnythingElseIsAClearError() {
        assertEquals(TurboJpeg.Mode.AUTO, TurboJpeg.parseSetting("ALEXNET_JPEG", null));
        assertEquals(TurboJpeg.Mode.AUTO, TurboJpeg.parseSetting("ALEXNET_JPEG", "AUTO"));
        assertEquals(TurboJpeg.Mode.FULL, TurboJpeg.parseSetting("ALEXNET_JPEG", "full"));
        assertEquals(TurboJpeg.Mode.IMAGEIO, TurboJpeg.parseSetting("ALEXNET_JPEG", " imageio "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TurboJpeg.parseSetting("system property alexnet.jpeg", "turbo"));
        assertTrue(e.getMessage().startsWith("system property alexnet.jpeg is 'turbo': use auto"), e.getMessage());
        assertTrue(e.getMessage().contains("full (libjpeg-turbo, always at full size) or imageio"), e.getMessage());
    }

    /** The largest of the reductions by 2, 4 and 8 that keeps the short side, rounded up as libjpeg rounds, at least the size asked for. */
    @Test
    void aReductionNeverTakesTheShortSideBelowWhatWasAskedFor() {
        assertEquals(1, TurboJpeg.reduction(4000, 3000, 0), "0: full size");
        assertEquals(8, TurboJpeg.reduction(4000, 3000, 256));   // 375
        assertEquals(4, TurboJpeg.reduction(4000, 3000, 376));   // 750
        assertEquals(2, TurboJpeg.reduction(1200, 900, 256));    // 450: 900 / 4 = 225 would be too small
        assertEquals(1, TurboJpeg.reduction(500, 375, 256));     // 375 / 2 = 188
        assertEquals(2, TurboJpeg.reduction(513, 511, 256));     // ceil(511 / 2) = 256
        assertEquals(1, TurboJpeg.reduction(509, 700, 256));     // ceil(509 / 2) = 255
        assertEquals(8, TurboJpeg.reduction(2041, 3000, 256));   // ceil(2041 / 8) = 256
    }

    /**
     * A picture decoded for a smaller short side comes back reduced, and, once resized by the preprocessor, within a
     * fraction of a grey level of the full-size decode (libjpeg's scaled IDCT is an antialiased reduction); a picture
     * under twice the size, and every one with the setting at full, comes back whole.
     */
    @Test
    void aLargePictureIsReducedWhileDecodedAndResizesToNearlyTheSameImage() throws IOException {
        assumeTrue(TurboJpeg.loaded(), TurboJpeg::describe);
        byte[] file = jpeg(smooth(1200, 900), 0.95f, false);
        ImageDecoder auto = ImageDecoder.defaults().withJpegMode(TurboJpeg.Mode.AUTO);
        RgbImage half = auto.decode(file, "1200x900", 256);
        assertEquals(600, half.width());
        assertEquals(450, half.height());
        RgbImage eighth = auto.decode(file, "1200x900", 100);
        assertEquals(150, eighth.width());
        assertEquals(113, eighth.height(), "ceil(900 / 8)");
        assertEquals(1200, auto.decode(file, "1200x900", 451).width(), "600x450 would be too small");
        assertEquals(1200, auto.decode(file, "1200x900").width());
        assertEquals(1200, turbo.decode(file, "1200x900", 256).width(), "full: never reduced");
        assertEquals(1200, imageio.decode(file, "1200x900", 256).width(), "javax.imageio: never reduced");

        float[] reduced = ImagePreprocessor.imageNet().process(half);
        float[] whole = ImagePreprocessor.imageNet().process(turbo.decode(file, "whole"));
        double sum = 0, worst = 0;
        for (int i = 0; i < whole.length; i++) {
            double d = Math.abs(reduced[i] - whole[i]);
            sum += d;
            worst = Math.max(worst, d);
        }
        assertTrue(sum / whole.length < 0.3 && worst < 3, "mean difference " + sum / whole.length + ", worst " + worst);
    }

    /** A photograph-like picture: smooth shading and soft edges, little noise. */
    static BufferedImage smooth(int w, int h) {
        Random r = new Random(9);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int red = (int) (128 + 90 * Math.sin(x / 60.0) * Math.cos(y / 45.0)) + r.nextInt(3) - 1;
                int green = (int) (40 + 170.0 * x / w);
                int blue = (int) (200 - 150.0 * y / h + 20 * Math.tanh((x - w / 2.0) / 8.0));
                img.setRGB(x, y, Math.clamp(red, 0, 255) << 16 | Math.clamp(green, 0, 255) << 8 | Math.clamp(blue, 0, 255));
            }
        }
        return img;
    }
}
