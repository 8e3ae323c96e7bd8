package dev.alexnetffm.engine.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InputEncodingTest {
    @Test
    void aFashionMnistImageSavedAsAFileGivesTheDataSetsInput(@TempDir Path dir) throws Exception {
        // the image the data set holds, written as a grey PNG and as an RGB one: prepared by the encoding, both give
        // what FashionMnist gives the network (to float rounding: the data set normalises, then resizes)
        FashionMnistTest.writeIdx(dir, "train", 4, false);
        for (int size : new int[] {227, 67}) {
            FashionMnist data = FashionMnist.train(dir, 3, size);
            float[] expected = new float[data.imageFloats()];
            data.image(3, expected, 0);
            for (int type : new int[] {BufferedImage.TYPE_BYTE_GRAY, BufferedImage.TYPE_INT_RGB}) {
                BufferedImage img = new BufferedImage(28, 28, type);
                for (int y = 0; y < 28; y++) {
                    for (int x = 0; x < 28; x++) {
                        int v = (3 + y + x) % 256;  // FashionMnistTest's pixel
                        if (type == BufferedImage.TYPE_BYTE_GRAY) img.getRaster().setSample(x, y, 0, v);  // setRGB would
                        else img.setRGB(x, y, v << 16 | v << 8 | v);                                   // change v's gamma
                    }
                }
                Path file = dir.resolve("item-" + size + "-" + type + ".png");
                ImageIO.write(img, "png", file.toFile());
                float[] actual = InputEncoding.FASHION_MNIST.preprocessor(size, size).load(file);
                assertEquals(expected.length, actual.length);
                for (int i = 0; i < expected.length; i++) {
                    assertEquals(expected[i], actual[i], 2e-5f * Math.max(1, Math.abs(expected[i])), "element " + i + " at " + size);
                }
            }
        }
    }

    @Test
    void aColourImageIsTurnedGreyForAGreyNetwork() throws Exception {
        BufferedImage img = new BufferedImage(30, 30, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 30; y++) for (int x = 0; x < 30; x++) img.setRGB(x, y, 200 << 16 | 100 << 8 | 50);
        float[] out = InputEncoding.FASHION_MNIST.preprocessor(28, 28).process(img);
        float luma = 0.299f * 200 + 0.587f * 100 + 0.114f * 50;
        float expected = (luma / 255f - FashionMnist.MEAN) / FashionMnist.STD;
        for (float v : out) assertEquals(expected, v, 1e-5f);
    }

    /** Caffe's ImageNet models: planes B, G, R, each minus its channel's mean in Caffe's ILSVRC 2012 mean image. */
    @Test
    void theCaffeEncodingIsBgrMinusCaffesMean() throws Exception {
        BufferedImage img = new BufferedImage(40, 30, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 30; y++) for (int x = 0; x < 40; x++) img.setRGB(x, y, 200 << 16 | 100 << 8 | 50);
        ImagePreprocessor p = InputEncoding.CAFFE.preprocessor(227, 227);
        assertEquals(256, p.shortSide());
        float[] v = p.process(img);
        int plane = 227 * 227;
        float[] expected = {(float) (50 - 104.0069879317889), (float) (100 - 116.66876761696767), (float) (200 - 122.6789143406786)};
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < plane; i += 997) assertEquals(expected[c], v[c * plane + i], 1e-3f, "plane " + c);
        }
        assertEquals(InputEncoding.CAFFE, InputEncoding.fromMetadata(Map.of(InputEncoding.METADATA_KEY, "caffe")));
    }

    @Test
    void theImageNetEncodingIsTheProportionalCentreCrop() {
        ImagePreprocessor p = InputEncoding.IMAGENET.preprocessor(67, 67);
        assertEquals(76, p.shortSide());
        assertEquals(67, p.cropSize());
        assertTrue(!p.grey());
        assertArrayEquals(ImagePreprocessor.imageNet().mean(), InputEncoding.IMAGENET.preprocessor(227, 227).mean());
    }

    @Test
    void theMetadataNamesTheEncodingAndAnUnknownOneIsAnError() {
        assertEquals(InputEncoding.IMAGENET, InputEncoding.fromMetadata(Map.of()), "files written before the key: ImageNet's");
        assertEquals(InputEncoding.FASHION_MNIST, InputEncoding.fromMetadata(Map.of(InputEncoding.METADATA_KEY, "fashion-mnist")));
        var e = assertThrows(IllegalArgumentException.class, () -> InputEncoding.fromMetadata(Map.of(InputEncoding.METADATA_KEY, "cifar")));
        assertTrue(e.getMessage().contains("alexnet.inputs is 'cifar'"), e.getMessage());
    }
}
