package dev.alexnetffm.engine;

import dev.alexnetffm.engine.data.ImagePreprocessor;
import dev.alexnetffm.engine.data.InputEncoding;
import dev.alexnetffm.engine.data.Labels;
import dev.alexnetffm.engine.data.augment.TenCrop;
import dev.alexnetffm.engine.io.SafeTensors;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class ClassifierTest {
    private static final AlexNetConfig TINY = AlexNetConfig.paper().withClasses(4).withInput(3, 67).withHidden(16);

    /** Weights of a 67x67 network with four classes, recording {@code encoding} and, unless null, class names. */
    private static Path weights(Path dir, InputEncoding encoding, List<String> names) throws Exception {
        Map<String, String> metadata = new HashMap<>(TINY.toMetadata());
        metadata.put(InputEncoding.METADATA_KEY, encoding.key());
        if (names != null) metadata.put(Labels.METADATA_KEY, Labels.toMetadata(names).orElseThrow());
        Path file = dir.resolve(encoding.key() + ".safetensors");
        SafeTensors.write(file, AlexNet.initialWeights(TINY, 7, AlexNet.Init.KAIMING), metadata);
        return file;
    }

    private static BufferedImage noise(int width, int height, long seed) {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        SplittableRandom random = new SplittableRandom(seed);
        for (int y = 0; y < height; y++) for (int x = 0; x < width; x++) img.setRGB(x, y, random.nextInt(1 << 24));
        return img;
    }

    private static Path png(Path dir, String name, BufferedImage img) throws Exception {
        Path file = dir.resolve(name);
        ImageIO.write(img, "png", file.toFile());
        return file;
    }

    /** The network's own probabilities for the image as the training data was prepared, ranked by hand. */
    private static float[] direct(Engine engine, Path weights, ImagePreprocessor prepared, Path image) throws Exception {
        AlexNet.Saved saved = AlexNet.read(weights, null);
        try (AlexNet net = AlexNet.fromWeights(engine.backend(), saved.config(), saved.weights())) {
            return net.probabilities(prepared.load(image), 1);
        }
    }

    @Test
    void classifiesAFileAsTheNetworkSeesItsTrainingImages(@TempDir Path dir) throws Exception {
        Path weights = weights(dir, InputEncoding.FASHION_MNIST, List.of("T-shirt", "Trouser", "Pullover", "Dress"));
        Path image = png(dir, "item.png", noise(80, 60, 1));
        try (Engine engine = Engine.open(Engine.Device.CPU, 0)) {
            Classifier classifier = engine.loadClassifier(weights);
            assertEquals(InputEncoding.FASHION_MNIST, classifier.encoding());
            List<Classifier.Prediction> top = classifier.classify(image, 4);
            float[] expected = direct(engine, weights, InputEncoding.FASHION_MNIST.preprocessor(67, 67), image);
            assertEquals(4, top.size());
            for (int i = 0; i < 4; i++) {
                Classifier.Prediction p = top.get(i);
                assertEquals(expected[p.index()], p.probability(), "the network's own probability, bit for bit");
                assertEquals(List.of("T-shirt", "Trouser", "Pullover", "Dress").get(p.index()), p.label());
                if (i > 0) assertTrue(top.get(i - 1).probability() >= p.probability(), "most probable first");
            }
            assertEquals(2, classifier.classify(image, 2).size());
            // a decoded image gives what its file gives
            assertEquals(top, classifier.classify(ImageIO.read(image.toFile()), 4));
            assertThrows(IllegalArgumentException.class, () -> classifier.classify(image, 0));
        }
    }

    @Test
    void withoutNamesTheClassesAreIndicesUntilLabelsAreGiven(@TempDir Path dir) throws Exception {
        Path weights = weights(dir, InputEncoding.IMAGENET, null);
        Path image = png(dir, "photo.png", noise(120, 90, 2));
        try (Engine engine = Engine.open(Engine.Device.CPU, 0)) {
            Classifier classifier = engine.loadClassifier(weights);
            Classifier.Prediction best = classifier.classify(image, 1).getFirst();
            assertNull(best.label());
            assertTrue(best.toString().endsWith("  " + best.index()), best.toString());
            float[] expected = direct(engine, weights, ImagePreprocessor.forInput(67, 67), image);
            assertEquals(expected[best.index()], best.probability());
            Classifier named = classifier.withLabels(Labels.of(List.of("cat", "dog", "fox", "owl")));
            assertEquals(List.of("cat", "dog", "fox", "owl").get(best.index()), named.classify(image, 1).getFirst().label());
        }
    }

    @Test
    void tenCropAveragesTheSoftmaxOfTheImagesTenCrops(@TempDir Path dir) throws Exception {
        Path weights = weights(dir, InputEncoding.IMAGENET, null);
        Path image = png(dir, "photo.png", noise(120, 90, 3));
        try (Engine engine = Engine.open(Engine.Device.CPU, 0)) {
            Classifier tenCrop = engine.loadClassifier(weights).withTenCrop(true);
            assertEquals(76, tenCrop.preprocessor().cropSize(), "crops are cut from 76x76 for a 67 network");
            float[] crops = new TenCrop(3, 76, 67).write(ImagePreprocessor.forInput(67, 76).load(image));
            AlexNet.Saved saved = AlexNet.read(weights, null);
            float[] expected;
            try (AlexNet net = AlexNet.fromWeights(engine.backend(), saved.config(), saved.weights())) {
                expected = TenCrop.average(net.probabilities(crops, TenCrop.CROPS), 1, 4);
            }
            for (Classifier.Prediction p : tenCrop.classify(image, 4)) assertEquals(expected[p.index()], p.probability());
        }
    }

    @Test
    void manyFilesAreClassifiedInBatchesEachAsItIsAlone(@TempDir Path dir) throws Exception {
        Path weights = weights(dir, InputEncoding.IMAGENET, null);
        List<Path> images = new ArrayList<>();
        for (int i = 0; i < Classifier.BATCH + 3; i++) images.add(png(dir, i + ".png", noise(70 + i, 68, 10 + i)));
        try (Engine engine = Engine.open(Engine.Device.CPU, 0)) {
            Classifier classifier = engine.loadClassifier(weights);
            List<List<Classifier.Prediction>> all = classifier.classify(images, 2);
            assertEquals(images.size(), all.size());
            for (int i : new int[] {0, Classifier.BATCH - 1, Classifier.BATCH, images.size() - 1}) {
                assertEquals(classifier.classify(images.get(i), 2), all.get(i), "image " + i);
            }
        }
    }

    @Test
    void badInputIsAClearError(@TempDir Path dir) throws Exception {
        Path weights = weights(dir, InputEncoding.IMAGENET, null);
        try (Engine engine = Engine.open(Engine.Device.CPU, 0)) {
            Classifier classifier = engine.loadClassifier(weights);
            Exception e = assertThrows(Exception.class, () -> classifier.classify(dir.resolve("missing.jpg"), 1));
            assertTrue(e.getMessage().contains("missing.jpg"), e.getMessage());
            IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class, () -> classifier.probabilities(new float[10], 1));
            assertTrue(wrong.getMessage().contains("need 13467 floats, got 10"), wrong.getMessage());
            AlexNetConfig grey = TINY.withInput(1, 67);
            IllegalArgumentException channels = assertThrows(IllegalArgumentException.class,
                    () -> new Classifier((x, n) -> x, grey, InputEncoding.IMAGENET, Labels.none(), false));
            assertTrue(channels.getMessage().contains("1-channel"), channels.getMessage());
        }
    }
}
