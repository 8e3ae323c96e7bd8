package dev.alexnetffm.engine.data.augment;

import dev.alexnetffm.engine.data.Dataset;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class AugmentedTest {
    private static Dataset coordinates(int items) {
        List<float[]> images = new ArrayList<>();
        for (int i = 0; i < items; i++) {
            float[] img = RandomCropFlipTest.coordinateImage(3, 256);
            for (int k = 0; k < img.length; k++) img[k] += i * 0.25f;   // tell items apart, still exact
            images.add(img);
        }
        return PcaColourTest.listDataset(images, 256);
    }

    @Test
    void yieldsTheChosenCropPerEpoch() throws IOException {
        Dataset base = coordinates(4);
        RandomCropFlip crop = RandomCropFlip.paper();
        Augmented aug = new Augmented(base, crop, null, 123);
        assertEquals(227, aug.imageSize());
        assertEquals(3 * 227 * 227, aug.imageFloats());
        assertEquals(4, aug.size());
        float[] out = new float[aug.imageFloats()];
        for (int epoch = 0; epoch < 3; epoch++) {
            aug.setEpoch(epoch);
            for (int i = 0; i < 4; i++) {
                aug.image(i, out, 0);
                RandomCropFlip.Choice ch = crop.choose(123, epoch, i);
                int x0 = ch.flip() ? ch.x() + 226 : ch.x();
                assertEquals(ch.y() * 256f + x0 + i * 0.25f, out[0], "epoch " + epoch + " item " + i);
                float[] expect = new float[aug.imageFloats()];
                float[] src = new float[base.imageFloats()];
                base.image(i, src, 0);
                crop.apply(src, expect, 0, 123, epoch, i);
                assertArrayEquals(expect, out);
            }
        }
    }

    @Test
    void withColourAddsTheItemsOffset() throws IOException {
        Dataset base = coordinates(2);
        RandomCropFlip crop = RandomCropFlip.paper();
        PcaColour pca = PcaColour.fromCovariance(PcaColourTest.COV, new double[3], 100, 1);
        Augmented plain = new Augmented(base, crop, null, 9), coloured = new Augmented(base, crop, pca, 9);
        plain.setEpoch(5);
        coloured.setEpoch(5);
        float[] a = new float[plain.imageFloats()], b = new float[plain.imageFloats()];
        plain.image(1, a, 0);
        coloured.image(1, b, 0);
        float[] d = pca.offset(9, 5, 1);
        int plane = 227 * 227;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < plane; i += 101) assertEquals(a[c * plane + i] + d[c], b[c * plane + i]);
    }

    @Test
    void sameResultFromParallelLoaders() throws Exception {
        Dataset base = coordinates(8);
        Augmented aug = new Augmented(base, RandomCropFlip.paper(), PcaColour.fromCovariance(PcaColourTest.COV, new double[3], 1, 1), 77);
        aug.setEpoch(2);
        float[][] seq = new float[8][aug.imageFloats()];
        for (int i = 7; i >= 0; i--) aug.image(i, seq[i], 0);
        float[][] par = new float[8][aug.imageFloats()];
        java.util.stream.IntStream.range(0, 8).parallel().forEach(i -> {
            try {
                aug.image(i, par[i], 0);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        for (int i = 0; i < 8; i++) assertArrayEquals(seq[i], par[i]);
    }

    @Test
    void preprocessorAt256ThenCentreCropMatchesTheEvaluationTransform() {
        // A square 300x300 image: cropSize(256) gives the 256x256 centre of the short-side-256 resize, and the
        // ten-crop centre (offset 14) of that equals the default 227 centre crop.
        java.util.Random r = new java.util.Random(4);
        float[] planes = new float[3 * 300 * 300];
        for (int i = 0; i < planes.length; i++) planes[i] = r.nextFloat() * 255;
        dev.alexnetffm.engine.data.RgbImage img = new dev.alexnetffm.engine.data.RgbImage(300, 300, planes, "test");
        float[] at256 = dev.alexnetffm.engine.data.ImagePreprocessor.builder().cropSize(256).build().process(img);
        assertEquals(3 * 256 * 256, at256.length);
        float[] centre = new float[3 * 227 * 227];
        System.arraycopy(TenCrop.paper().write(at256), 4 * centre.length, centre, 0, centre.length);
        assertArrayEquals(dev.alexnetffm.engine.data.ImagePreprocessor.imageNet().process(img), centre, 1e-3f);
    }

    @Test
    void rejectsAWrongSizedBase() {
        Dataset small = PcaColourTest.listDataset(List.of(new float[3 * 227 * 227]), 227);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Augmented(small, RandomCropFlip.paper(), null, 1));
        assertTrue(e.getMessage().contains("cropSize(256)"), e.getMessage());
    }
}
