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
    final ImageDecoder turbo = ImageDecoder.defaults().withTurboJpeg(true);
    final ImageDecoder imageio = ImageDecoder.defaults().withTurboJpeg(false);

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
                () -> new ImageDecoder(ImageDecoder.AlphaPolicy.DROP, 7999).withTurboJpeg(true).decode(file, "big"));
        assertEquals(ImageLoadException.Reason.TOO_LARGE, e.reason());
    }

    @Test
    void theSettingIsAutoOrImageioAndAnythingElseIsAClearError() {
        assertTrue(TurboJpeg.parseSetting("ALEXNET_JPEG", null));
        assertTrue(TurboJpeg.parseSetting("ALEXNET_JPEG", "AUTO"));
        assertFalse(TurboJpeg.parseSetting("ALEXNET_JPEG", " imageio "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TurboJpeg.parseSetting("system property alexnet.jpeg", "turbo"));
        assertTrue(e.getMessage().startsWith("system property alexnet.jpeg is 'turbo': use auto"), e.getMessage());
    }
}
