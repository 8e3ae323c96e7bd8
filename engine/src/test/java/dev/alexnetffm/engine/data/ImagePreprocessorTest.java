package dev.alexnetffm.engine.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.alexnetffm.engine.data.ImageDecoder.AlphaPolicy;
import dev.alexnetffm.engine.data.ImagePreprocessor.ChannelOrder;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ImagePreprocessorTest {
    static final int C = 227;
    static final int PLANE = C * C;
    static final float MR = 123.68f, MG = 116.779f, MB = 103.939f;

    @TempDir
    Path dir;

    static ImagePreprocessor noMean() {
        return ImagePreprocessor.builder().mean(0, 0, 0).build();
    }

    static float at(float[] out, int c, int y, int x) {
        return out[c * PLANE + y * C + x];
    }

    /**
     * A 200x150 image: a red border 30 pixels wide around a grey middle, with a yellow mark at the top left
     * (x < 60, y < 45).
     */
    static BufferedImage framed() {
        BufferedImage img = new BufferedImage(200, 150, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 150; y++) {
            for (int x = 0; x < 200; x++) {
                boolean border = x < 30 || y < 30 || x >= 170 || y >= 120;
                img.setRGB(x, y, x < 60 && y < 45 ? 0xffff40 : border ? 0xd01010 : 0x808080);
            }
        }
        return img;
    }

    /** The colour (0..255 RGB, mean added back) at (y, x) of a size x size output. */
    static String colourAt(float[] out, int size, int y, int x) {
        int plane = size * size;
        float r = out[y * size + x] + MR, g = out[plane + y * size + x] + MG, b = out[2 * plane + y * size + x] + MB;
        if (r > 230 && g > 230 && b < 100) return "yellow";
        if (r > 180 && g < 40 && b < 40) return "red";
        if (Math.abs(r - 128) < 3 && Math.abs(g - 128) < 3 && Math.abs(b - 128) < 3) return "grey";
        return String.format(java.util.Locale.ROOT, "(%.0f, %.0f, %.0f)", r, g, b);
    }

    @Test
    void aSmallerNetworkGetsTheSameViewOfTheImageInProportion() throws Exception {
        // 227: short side 256, centre 227. 67: short side 76 (256 / 227 of it), centre 67: the same framing, smaller
        assertEquals(256, ImagePreprocessor.shortSideFor(227));
        assertEquals(76, ImagePreprocessor.shortSideFor(67));
        ImagePreprocessor small = ImagePreprocessor.forInput(67, 67);
        assertEquals(76, small.shortSide());
        assertEquals(67, small.cropSize());
        assertEquals(76, ImagePreprocessor.forInput(67, 76).cropSize(), "the square the crops are cut from");
        assertThrows(IllegalArgumentException.class, () -> ImagePreprocessor.forInput(67, 77), "a crop beyond the short side");
        float[] paper = ImagePreprocessor.forInput(227, 227).process(framed());
        assertArrayEquals(ImagePreprocessor.imageNet().process(framed()), paper, "forInput(227, 227) is imageNet()");
        float[] mini = small.process(framed());
        int[][] at = {{2, 2}, {33, 33}, {64, 64}};  // in 67ths: near the top left, the centre, near the bottom right
        List<String> expected = List.of("yellow", "grey", "red");
        for (int i = 0; i < at.length; i++) {
            int y = at[i][0], x = at[i][1];
            assertEquals(expected.get(i), colourAt(paper, 227, y * 227 / 67, x * 227 / 67), "227 at " + y + ", " + x);
            assertEquals(expected.get(i), colourAt(mini, 67, y, x), "67 at " + y + ", " + x);
        }
        // cutting the 67 pixels out of a 256 short side instead would see the grey middle alone
        float[] patch = ImagePreprocessor.builder().cropSize(67).build().process(framed());
        assertEquals("grey", colourAt(patch, 67, 2, 2));
    }

    @ParameterizedTest(name = "{0}x{1} {2}")
    @CsvSource({"300,500,png", "500,300,png", "100,80,png", "300,500,jpg", "500,300,jpg", "227,227,png", "256,256,png",
            "4000,30,png", "1,1,png", "2000,1500,jpg"})
    void outputIsThreeCropPlanesOfFiniteValues(int w, int h, String format) throws Exception {
        Path file = TestImages.write(TestImages.rgb(w, h, (x, y) -> (x * 255 / w) << 16 | (y * 255 / h) << 8 | 60), format, dir.resolve("g." + format));
        float[] out = ImagePreprocessor.imageNet().load(file);
        assertEquals(3 * 227 * 227, out.length);
        for (float v : out) {
            assertTrue(Float.isFinite(v));
            assertTrue(v >= -MR - 1 && v <= 255 - MB + 1, "value " + v + " outside the mean-subtracted pixel range");
        }
    }

    @Test
    void grayscaleImageGivesThreeEqualChannels() throws Exception {
        Path file = TestImages.write(TestImages.gray(300, 200, (x, y) -> 77), "png", dir.resolve("gray.png"));
        float[] out = noMean().load(file);
        for (int i = 0; i < PLANE; i++) {
            // The sample itself, not a gamma-converted value (CS_GRAY is linear in Java2D).
            assertEquals(77f, out[i], 1e-4);
            assertEquals(77f, out[PLANE + i], 1e-4);
            assertEquals(77f, out[2 * PLANE + i], 1e-4);
        }
        Path gradient = TestImages.write(TestImages.gray(500, 300, (x, y) -> x / 2), "jpg", dir.resolve("gray.jpg"));
        float[] g = noMean().load(gradient);
        assertArrayEquals(Arrays.copyOfRange(g, 0, PLANE), Arrays.copyOfRange(g, PLANE, 2 * PLANE));
        assertArrayEquals(Arrays.copyOfRange(g, 0, PLANE), Arrays.copyOfRange(g, 2 * PLANE, 3 * PLANE));
    }

    @Test
    void meanSubtractionIsExactOnAConstantColour() throws Exception {
        Path file = TestImages.write(TestImages.rgb(320, 240, (x, y) -> 200 << 16 | 100 << 8 | 50), "png", dir.resolve("c.png"));
        float[] out = ImagePreprocessor.imageNet().load(file);
        for (int i = 0; i < PLANE; i++) {
            assertEquals(200f - MR, out[i], 1e-4);
            assertEquals(100f - MG, out[PLANE + i], 1e-4);
            assertEquals(50f - MB, out[2 * PLANE + i], 1e-4);
        }
        float[] custom = ImagePreprocessor.builder().mean(10, 20, 30).std(2, 4, 5).build().load(file);
        for (int i = 0; i < PLANE; i++) {
            assertEquals((200f - 10f) / 2f, custom[i], 1e-4);
            assertEquals((100f - 20f) / 4f, custom[PLANE + i], 1e-4);
            assertEquals((50f - 30f) / 5f, custom[2 * PLANE + i], 1e-4);
        }
        float[] tv = ImagePreprocessor.torchvisionImageNet().load(file);
        assertEquals((200 / 255.0 - 0.485) / 0.229, tv[0], 1e-5);
        assertEquals((100 / 255.0 - 0.456) / 0.224, tv[PLANE], 1e-5);
        assertEquals((50 / 255.0 - 0.406) / 0.225, tv[2 * PLANE], 1e-5);
    }

    @Test
    void bgrOrderSwapsPlanesAndTheirMeans() throws Exception {
        Path file = TestImages.write(TestImages.rgb(300, 300, (x, y) -> 200 << 16 | 100 << 8 | 50), "png", dir.resolve("c.png"));
        float[] out = ImagePreprocessor.builder().channelOrder(ChannelOrder.BGR).build().load(file);
        assertEquals(50f - MB, out[5], 1e-4);
        assertEquals(100f - MG, out[PLANE + 5], 1e-4);
        assertEquals(200f - MR, out[2 * PLANE + 5], 1e-4);
    }

    /**
     * An image whose red channel is its x coordinate and green its y: enlarging is exact bilinear
     * interpolation, so every output pixel must carry the input coordinate its centre maps to.
     */
    @Test
    void cropSamplesTheExpectedCoordinatesWhenEnlarging() throws Exception {
        int w = 200, h = 250; // short side 200 -> 256: 256 x 320, crop at (14, 46)
        Path file = TestImages.write(TestImages.rgb(w, h, (x, y) -> x << 16 | y << 8), "png", dir.resolve("coords.png"));
        float[] out = noMean().load(file);
        int outW = 256, outH = 256 * h / w;
        assertEquals(320, outH);
        int x0 = 14, y0 = 46;
        for (int i = 0; i < C; i++) {
            for (int j = 0; j < C; j++) {
                double ex = (x0 + j + 0.5) * w / outW - 0.5;
                double ey = (y0 + i + 0.5) * h / outH - 0.5;
                assertEquals(ex, at(out, 0, i, j), 2e-3, "x at " + i + "," + j);
                assertEquals(ey, at(out, 1, i, j), 2e-3, "y at " + i + "," + j);
                assertEquals(0f, at(out, 2, i, j), 1e-6);
            }
        }
        assertCentred(out, w, h, outW, outH);
    }

    /** The same with a 16-bit PNG (exact coordinates up to 1000) reduced by 2.3× and 3.9×. */
    @ParameterizedTest(name = "{0}x{1}")
    @CsvSource({"600,1000", "1000,600", "1000,1000"})
    void cropSamplesTheExpectedCoordinatesWhenReducing(int w, int h) throws Exception {
        int k = 60; // sample = coordinate * 60, below 65535 for coordinates up to 1092
        Path file = TestImages.write(TestImages.rgb16(w, h, (x, y) -> x * k, (x, y) -> y * k, (x, y) -> 0), "png", dir.resolve("c16.png"));
        float[] out = noMean().load(file);
        int outW = w <= h ? 256 : 256 * w / h;
        int outH = w <= h ? 256 * h / w : 256;
        float unit = k * 255f / 65535f; // one input pixel of x or y, in output units
        // The tent over a ramp sampled at half-integers is not exactly centred for a non-integer width:
        // allow a tenth of an input pixel.
        for (int i = 0; i < C; i += 7) {
            for (int j = 0; j < C; j += 5) {
                double ex = ((ImagePreprocessor.centreOffset(outW, C) + j + 0.5) * w / outW - 0.5) * unit;
                double ey = ((ImagePreprocessor.centreOffset(outH, C) + i + 0.5) * h / outH - 0.5) * unit;
                assertEquals(ex, at(out, 0, i, j), 0.1 * unit, "x at " + i + "," + j);
                assertEquals(ey, at(out, 1, i, j), 0.1 * unit, "y at " + i + "," + j);
            }
        }
        float[] scaled = out.clone();
        for (int i = 0; i < 2 * PLANE; i++) scaled[i] /= unit;
        assertCentred(scaled, w, h, outW, outH);
    }

    /**
     * The crop is centred: the first and last columns (rows) sit symmetrically about the image's
     * centre, to within one resized pixel (the rounding of an odd margin), and the centre pixel
     * is within one resized pixel of the image centre.
     */
    static void assertCentred(float[] coords, int w, int h, int outW, int outH) {
        double pxX = (double) w / outW, pxY = (double) h / outH;
        int mid = C / 2;
        double left = at(coords, 0, mid, 0), right = at(coords, 0, mid, C - 1);
        double top = at(coords, 1, 0, mid), bottom = at(coords, 1, C - 1, mid);
        assertEquals(w - 1, left + right, 2 * pxX * 0.5 + 0.1, "columns " + left + ".." + right + " not centred in width " + w);
        assertEquals(h - 1, top + bottom, 2 * pxY * 0.5 + 0.1, "rows " + top + ".." + bottom + " not centred in height " + h);
        assertEquals((w - 1) / 2.0, at(coords, 0, mid, mid), pxX + 0.1);
        assertEquals((h - 1) / 2.0, at(coords, 1, mid, mid), pxY + 0.1);
        // Width of the crop in input pixels: 226 resized pixels.
        assertEquals(226 * pxX, right - left, 0.2 * pxX + 0.1);
        assertEquals(226 * pxY, bottom - top, 0.2 * pxY + 0.1);
    }

    @Test
    void centreOffsetRoundsHalfToEvenLikeTorchvision() {
        assertEquals(14, ImagePreprocessor.centreOffset(256, 227)); // 14.5
        assertEquals(100, ImagePreprocessor.centreOffset(426, 227)); // 99.5
        assertEquals(15, ImagePreprocessor.centreOffset(257, 227));
        assertEquals(0, ImagePreprocessor.centreOffset(227, 227));
    }

    /**
     * One-pixel stripes reduced by a non-integer factor: plain bilinear would give values anywhere in
     * 0..255 depending on the phase; the widened tent averages them to about 127.5.
     */
    @Test
    void reducingAveragesFineDetailInsteadOfAliasing() throws Exception {
        Path file = TestImages.write(TestImages.gray(2000, 1300, (x, y) -> (x % 2) * 255), "png", dir.resolve("stripes.png"));
        float[] out = noMean().load(file);
        float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
        for (float v : out) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertTrue(min > 118 && max < 137, "stripes reduced to " + min + ".." + max + ", expected about 127.5");
    }

    @Test
    void jpegMatchesThePngOfTheSameImage() throws Exception {
        BufferedImage img = TestImages.rgb(500, 300, (x, y) -> (x * 255 / 500) << 16 | (y * 255 / 300) << 8 | 128);
        float[] png = ImagePreprocessor.imageNet().load(TestImages.write(img, "png", dir.resolve("a.png")));
        float[] jpg = ImagePreprocessor.imageNet().load(TestImages.writeJpeg(img, dir.resolve("a.jpg")));
        double sum = 0;
        for (int i = 0; i < png.length; i++) sum += Math.abs(png[i] - jpg[i]);
        assertTrue(sum / png.length < 2.0, "mean |png - jpg| = " + sum / png.length);
    }

    @Test
    void batchPutsImageIAtOffsetITimesTheImageSize() throws Exception {
        List<Path> files = List.of(
                TestImages.write(TestImages.rgb(300, 500, (x, y) -> x << 8), "png", dir.resolve("a.png")),
                TestImages.write(TestImages.rgb(500, 300, (x, y) -> y), "jpg", dir.resolve("b.jpg")),
                TestImages.write(TestImages.gray(100, 80, (x, y) -> x + y), "png", dir.resolve("c.png")));
        ImagePreprocessor p = ImagePreprocessor.imageNet();
        float[] batch = p.loadBatch(files);
        assertEquals(3 * 3 * C * C, batch.length);
        for (int i = 0; i < files.size(); i++) {
            assertArrayEquals(p.load(files.get(i)), Arrays.copyOfRange(batch, i * 3 * PLANE, (i + 1) * 3 * PLANE), "image " + i);
        }
        HostTensor t = p.loadBatchTensor(files);
        assertEquals(Shape.of(3, 3, 227, 227).toString(), t.shape().toString());
        assertArrayEquals(batch, t.data());

        float[] padded = new float[10 + 3 * 3 * PLANE];
        p.loadBatchInto(files, padded, 10);
        assertArrayEquals(batch, Arrays.copyOfRange(padded, 10, padded.length));
        assertThrows(IllegalArgumentException.class, () -> p.loadBatchInto(files, new float[3 * 3 * PLANE], 1));
        assertThrows(IllegalArgumentException.class, () -> p.loadInto(files.get(0), new float[3 * PLANE - 1], 0));
    }

    @Test
    void batchNamesTheFirstBadFileAndAttachesTheOthers() throws Exception {
        Path good = TestImages.write(TestImages.rgb(300, 300, (x, y) -> 0), "png", dir.resolve("good.png"));
        Path missing = dir.resolve("missing.png");
        Path text = java.nio.file.Files.writeString(dir.resolve("notes.jpg"), "not an image");
        ImageLoadException e = assertThrows(ImageLoadException.class,
                () -> ImagePreprocessor.imageNet().loadBatch(List.of(good, missing, good, text)));
        assertTrue(e.getMessage().contains("missing.png"), e.getMessage());
        assertEquals(ImageLoadException.Reason.NOT_FOUND, e.reason());
        assertEquals(1, e.getSuppressed().length);
        assertTrue(e.getSuppressed()[0].getMessage().contains("notes.jpg"));
    }

    @Test
    void alphaIsDroppedByDefaultOrComposited() throws Exception {
        BufferedImage img = new BufferedImage(300, 300, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < 300; y++) for (int x = 0; x < 300; x++) img.setRGB(x, y, 128 << 24 | 255 << 16 | 0 << 8 | 100);
        Path file = TestImages.write(img, "png", dir.resolve("alpha.png"));
        float[] drop = noMean().load(file);
        assertEquals(255f, drop[0], 1e-3);
        assertEquals(0f, drop[PLANE], 1e-3);
        assertEquals(100f, drop[2 * PLANE], 1e-3);
        float a = 128 / 255f;
        float[] black = ImagePreprocessor.builder().mean(0, 0, 0).alpha(AlphaPolicy.COMPOSITE_ON_BLACK).build().load(file);
        assertEquals(255f * a, black[0], 1e-3);
        assertEquals(0f, black[PLANE], 1e-3);
        assertEquals(100f * a, black[2 * PLANE], 1e-3);
        float[] white = ImagePreprocessor.builder().mean(0, 0, 0).alpha(AlphaPolicy.COMPOSITE_ON_WHITE).build().load(file);
        assertEquals(255f, white[0], 1e-3);
        assertEquals(255f * (1 - a), white[PLANE], 1e-3);
        assertEquals(100f * a + 255f * (1 - a), white[2 * PLANE], 1e-3);
    }

    @Test
    void palettedPngWithATransparentEntry() throws Exception {
        byte[] r = {(byte) 250, 10}, g = {20, (byte) 240}, b = {30, 5};
        IndexColorModel icm = new IndexColorModel(8, 2, r, g, b, 1); // entry 1 transparent
        BufferedImage img = new BufferedImage(300, 300, BufferedImage.TYPE_BYTE_INDEXED, icm);
        for (int y = 0; y < 300; y++) for (int x = 0; x < 300; x++) img.getRaster().setSample(x, y, 0, x < 150 ? 0 : 1);
        Path file = TestImages.write(img, "png", dir.resolve("pal.png"));
        float[] drop = noMean().load(file);
        assertEquals(250f, at(drop, 0, 113, 10), 1e-3);
        assertEquals(10f, at(drop, 0, 113, 220), 1e-3);
        assertEquals(240f, at(drop, 1, 113, 220), 1e-3);
        float[] black = ImagePreprocessor.builder().mean(0, 0, 0).alpha(AlphaPolicy.COMPOSITE_ON_BLACK).build().load(file);
        assertEquals(250f, at(black, 0, 113, 10), 1e-3);
        assertEquals(0f, at(black, 1, 113, 220), 1e-3);
    }

    @Test
    void sixteenBitSamplesKeepTheirPrecision() throws Exception {
        Path file = TestImages.write(TestImages.rgb16(300, 300, (x, y) -> 32768, (x, y) -> 65535, (x, y) -> 1), "png", dir.resolve("16.png"));
        float[] out = noMean().load(file);
        assertEquals(32768 * 255f / 65535f, out[0], 1e-4);
        assertEquals(255f, out[PLANE], 1e-4);
        assertEquals(255f / 65535f, out[2 * PLANE], 1e-6);
        BufferedImage g16 = new BufferedImage(300, 300, BufferedImage.TYPE_USHORT_GRAY);
        for (int y = 0; y < 300; y++) for (int x = 0; x < 300; x++) g16.getRaster().setSample(x, y, 0, 1000);
        float[] gray = noMean().load(TestImages.write(g16, "png", dir.resolve("g16.png")));
        assertEquals(1000 * 255f / 65535f, gray[0], 1e-4);
        assertEquals(gray[0], gray[PLANE]);
    }

    @Test
    void inMemoryImagesAndOtherSizes() throws Exception {
        BufferedImage img = TestImages.rgb(640, 480, (x, y) -> 90 << 16 | 80 << 8 | 70);
        float[] out = ImagePreprocessor.imageNet().process(img);
        assertEquals(90f - MR, out[0], 1e-4);
        ImagePreprocessor small = ImagePreprocessor.builder().shortSide(64).cropSize(56).mean(0, 0, 0).build();
        float[] s = small.process(img);
        assertEquals(3 * 56 * 56, s.length);
        assertEquals(70f, s[2 * 56 * 56 + 100], 1e-4);
    }

    @Test
    void builderRejectsImpossibleSettings() {
        assertThrows(IllegalArgumentException.class, () -> ImagePreprocessor.builder().shortSide(200).build());
        assertThrows(IllegalArgumentException.class, () -> ImagePreprocessor.builder().std(1, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> ImagePreprocessor.builder().std(1, -2, 1));
        assertThrows(IllegalArgumentException.class, () -> ImagePreprocessor.builder().mean(Double.NaN, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> ImagePreprocessor.builder().cropSize(0));
        assertTrue(ImagePreprocessor.imageNet().toString().contains("227"));
    }
}
