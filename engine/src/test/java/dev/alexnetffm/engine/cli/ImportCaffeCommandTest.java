package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.Classifier;
import dev.alexnetffm.engine.Engine;
import dev.alexnetffm.engine.data.InputEncoding;
import dev.alexnetffm.engine.io.CaffeModelTest;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.train.Checkpoint;
import dev.alexnetffm.engine.tensor.HostTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static dev.alexnetffm.engine.io.CaffeModelTest.CAFFE_SMALL;
import static org.junit.jupiter.api.Assertions.*;

class ImportCaffeCommandTest {
    /** The command line: import, then infer prepares images as Caffe's models expect (BGR, Caffe's mean) and names the classes. */
    @Test
    void importedNetworksClassifyImagesAsCaffePreparesThem(@TempDir Path dir) throws Exception {
        Map<String, HostTensor> w = AlexNet.initialWeights(CAFFE_SMALL, 9, AlexNet.Init.KAIMING);
        Path model = Files.write(dir.resolve("small.caffemodel"), CaffeModelTest.caffeModel(CAFFE_SMALL, w, new CaffeModelTest.Style(true, true, false)));
        Path labels = dir.resolve("synset_words.txt");
        Files.writeString(labels, "n01 tench\nn02 goldfish\nn03 shark\nn04 ray\n");
        Path out = dir.resolve("small.safetensors");
        MainTest.Result r = MainTest.run("import-caffe", model.toString(), "--out", out.toString(), "--labels", labels.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("4 classes, 3x67x67 inputs, LRN size 5"), r.out());

        BufferedImage img = new BufferedImage(90, 70, BufferedImage.TYPE_INT_RGB);
        SplittableRandom random = new SplittableRandom(5);
        for (int y = 0; y < 70; y++) for (int x = 0; x < 90; x++) img.setRGB(x, y, random.nextInt(1 << 24));
        Path png = dir.resolve("photo.png");
        ImageIO.write(img, "png", png.toFile());
        try (Engine engine = Engine.open(Engine.Device.CPU, 0)) {
            Classifier classifier = engine.loadClassifier(out);
            assertEquals(InputEncoding.CAFFE, classifier.encoding());
            float[] expected;
            try (AlexNet net = AlexNet.fromWeights(engine.backend(), CAFFE_SMALL, w)) {
                expected = net.probabilities(InputEncoding.CAFFE.preprocessor(67, 67).load(png), 1);
            }
            Classifier.Prediction best = classifier.classify(png, 1).getFirst();
            assertEquals(expected[best.index()], best.probability());
            assertEquals(List.of("n01 tench", "n02 goldfish", "n03 shark", "n04 ray").get(best.index()), best.label());
        }
        MainTest.Result bad = MainTest.run("import-caffe", model.toString(), "--out", out.toString(), "--labels", model.toString());
        assertNotEquals(0, bad.status());
    }

    /**
     * Fine-tuning an imported network on an image folder of other classes: every layer but fc8 starts from the file
     * (at a rate of 1e-30 they stay so), fc8 starts afresh for the folder's two classes, the folder's images are prepared
     * with the network's encoding, and the checkpoint records it; --resume keeps it.
     */
    @Test
    void anImportedNetworkIsFineTunedOnAFolder(@TempDir Path dir) throws Exception {
        Map<String, HostTensor> w = AlexNet.initialWeights(CAFFE_SMALL, 9, AlexNet.Init.KAIMING);
        Path model = Files.write(dir.resolve("small.caffemodel"), CaffeModelTest.caffeModel(CAFFE_SMALL, w, new CaffeModelTest.Style(false, false, false)));
        Path weights = dir.resolve("small.safetensors"), run = dir.resolve("run"), images = EvalCommandTest.noiseFolder(dir);
        assertEquals(0, MainTest.run("import-caffe", model.toString(), "--out", weights.toString()).status());
        String[] common = {"train", "--data", images.toString(), "--val", images.toString(), "--run", run.toString(), "--batch", "2",
                "--lr", "1e-30", "--threads", "1", "--device", "cpu"};
        MainTest.Result r = MainTest.run(concat(common, "--init-from", weights.toString(), "--epochs", "1"));
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("fc8 starts afresh for 2 classes (it had 4)"), r.out());
        assertTrue(r.out().contains("images prepared with the caffe encoding"), r.out());

        Checkpoint.Loaded loaded = Checkpoint.load(run);
        assertEquals(CAFFE_SMALL.withClasses(2), loaded.config());
        for (String name : w.keySet()) {
            if (name.startsWith("fc8")) continue;
            assertArrayEquals(w.get(name).data(), loaded.weights().get(name).data(), 1e-20f, name + " as the file has it (rate 1e-30)");
        }
        Map<String, HostTensor> fresh = AlexNet.initialWeights(CAFFE_SMALL.withClasses(2), 42, AlexNet.Init.PAPER);
        assertArrayEquals(fresh.get("fc8.weight").data(), loaded.weights().get("fc8.weight").data(), 1e-20f, "fc8: the paper's init, seed 42");
        assertEquals(InputEncoding.CAFFE, InputEncoding.fromMetadata(
                dev.alexnetffm.engine.io.SafeTensors.readHeader(Checkpoint.weightsFile(run)).metadata()));

        MainTest.Result resumed = MainTest.run(concat(common, "--epochs", "2", "--resume"));
        assertEquals(0, resumed.status(), resumed.err());
        assertTrue(resumed.out().contains("images prepared with the caffe encoding"), resumed.out());

        MainTest.Result both = MainTest.run(concat(common, "--init-from", weights.toString(), "--hidden", "8"));
        assertEquals(2, both.status());
        assertTrue(both.err().contains("--hidden does not go with --init-from"), both.err());
    }

    private static String[] concat(String[] a, String... b) {
        return java.util.stream.Stream.concat(java.util.Arrays.stream(a), java.util.Arrays.stream(b)).toArray(String[]::new);
    }
}
