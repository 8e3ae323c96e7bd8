package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.Engine;
import dev.alexnetffm.engine.data.FashionMnist;
import dev.alexnetffm.engine.data.FashionMnistTest;
import dev.alexnetffm.engine.data.ImagePreprocessor;
import dev.alexnetffm.engine.data.InputEncoding;
import dev.alexnetffm.engine.data.Labels;
import dev.alexnetffm.engine.io.SafeTensors;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.train.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.alexnetffm.engine.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InferCommandTest {
    /** A 200x150 image: a red border 30 pixels wide around a grey middle, with a bright mark at the top left. */
    static Path framedImage(Path dir) throws Exception {
        BufferedImage img = new BufferedImage(200, 150, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 150; y++) {
            for (int x = 0; x < 200; x++) {
                boolean border = x < 30 || y < 30 || x >= 170 || y >= 120;
                img.setRGB(x, y, x < 60 && y < 45 ? 0xffff40 : border ? 0xd01010 : 0x808080);
            }
        }
        Path file = dir.resolve("framed.png");
        ImageIO.write(img, "png", file.toFile());
        return file;
    }

    @Test
    void aNetworkWithSmallerInputsGetsTheImageInProportion(@TempDir Path dir) throws Exception {
        // weights of a 67x67 network: infer prepares the image as train prepares a folder's images for it (short side
        // 76, centre 67), and its probabilities are the network's on exactly that input
        Path weights = EvalCommandTest.tinyWeights(dir), image = framedImage(dir);
        MainTest.Result r = run("infer", "--weights", weights.toString(), "--device", "cpu", image.toString());
        assertEquals(0, r.status(), r.err());
        ImagePreprocessor prepared = ImagePreprocessor.forInput(67, 67);
        float[] expected;
        AlexNet.Saved saved = AlexNet.read(weights, null);
        try (Engine cpu = Engine.open(Engine.Device.CPU, 0);
             AlexNet net = AlexNet.fromWeights(cpu.backend(), saved.config(), saved.weights())) {
            expected = net.probabilities(prepared.load(image), 1);
        }
        for (int k = 0; k < 2; k++) {
            String line = String.format(Locale.ROOT, "%6.2f%%  %d", 100 * expected[k], k);
            assertTrue(r.out().contains(line), "expected '" + line + "' in\n" + r.out());
        }
        // ten crops of several images in one batch: each image gets what it gets alone
        Path other = dir.resolve("other.png");
        BufferedImage noise = new BufferedImage(90, 120, BufferedImage.TYPE_INT_RGB);
        java.util.SplittableRandom random = new java.util.SplittableRandom(3);
        for (int y = 0; y < 120; y++) for (int x = 0; x < 90; x++) noise.setRGB(x, y, random.nextInt(1 << 24));
        ImageIO.write(noise, "png", other.toFile());
        MainTest.Result ten = run("infer", "--weights", weights.toString(), "--device", "cpu", "--ten-crop", "--json",
                image.toString(), other.toString());
        assertEquals(0, ten.status(), ten.err());
        List<String> together = ten.out().lines().toList();
        for (int i = 0; i < 2; i++) {
            MainTest.Result alone = run("infer", "--weights", weights.toString(), "--device", "cpu", "--ten-crop", "--json",
                    (i == 0 ? image : other).toString());
            assertEquals(0, alone.status(), alone.err());
            assertEquals(alone.out().strip(), together.get(i), "image " + i + " in a batch of two");
        }
    }

    @Test
    void jsonGivesOneObjectPerImageWithTheSameProbabilities(@TempDir Path dir) throws Exception {
        Path image = framedImage(dir), other = dir.resolve("second \"image\".png");
        Files.copy(image, other);
        Path labels = Files.writeString(dir.resolve("labels.txt"), "zero\none\ntwo\n");
        List<String> common = List.of("infer", "--untrained", "--device", "cpu", "--top", "4", "--labels", labels.toString(),
                image.toString(), other.toString());
        MainTest.Result text = run(common.toArray(String[]::new));
        MainTest.Result json = run(concat(common, "--json"));
        assertEquals(0, json.status(), json.err());
        String[] lines = json.out().strip().split("\n");
        assertEquals(2, lines.length, json.out());  // one line per image, nothing else
        String entry = "\\{\"class\": (\\d+)(, \"label\": \"(\\w+)\")?, \"probability\": ([0-9.E-]+)}";
        Pattern object = Pattern.compile("\\{\"file\": \"(.*)\", \"top\": \\[" + entry + "(, " + entry + "){3}]}");
        assertTrue(object.matcher(lines[0]).matches(), lines[0]);
        assertTrue(lines[1].startsWith("{\"file\": \"" + other.toString().replace("\"", "\\\"") + "\""), "escaped: " + lines[1]);
        Matcher m = Pattern.compile(entry).matcher(lines[0]);
        int found = 0;
        while (m.find()) {
            int k = Integer.parseInt(m.group(1));
            assertEquals(k < 3, m.group(2) != null, "a label only where the labels file names the class: " + lines[0]);
            String printed = String.format(Locale.ROOT, "%6.2f%%  %s", 100 * Float.parseFloat(m.group(4)), k < 3 ? m.group(3) : k);
            assertTrue(text.out().contains(printed), printed + " in\n" + text.out());
            found++;
        }
        assertEquals(4, found);
    }

    private static String[] concat(List<String> a, String... b) {
        return java.util.stream.Stream.concat(a.stream(), java.util.Arrays.stream(b)).toArray(String[]::new);
    }

    @Test
    void aTrainRunIsReadWithItsClassNamesAndItsDataSetsEncoding(@TempDir Path dir) throws Exception {
        // a network trained on (a small stand-in for) Fashion-MNIST, read from its run folder: infer prepares an
        // image file of a test item as the data set prepares it, and names the classes as the data set does
        Path idx = Files.createDirectories(dir.resolve("idx")), run = dir.resolve("run");
        FashionMnistTest.writeIdx(idx, "train", 8, false);
        FashionMnistTest.writeIdx(idx, "t10k", 4, false);
        MainTest.Result trained = run("train", "--data", "fashion-mnist", "--data-dir", idx.toString(), "--run", run.toString(),
                "--image-size", "67", "--hidden", "16", "--batch", "4", "--epochs", "1", "--init", "kaiming", "--threads", "1", "--device", "cpu");
        assertEquals(0, trained.status(), trained.err());
        var meta = SafeTensors.readHeader(run.resolve(Checkpoint.WEIGHTS)).metadata();
        assertEquals("fashion-mnist", meta.get(InputEncoding.METADATA_KEY));
        assertEquals(String.join("\n", FashionMnist.CLASS_NAMES), meta.get(Labels.METADATA_KEY));

        BufferedImage item = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 28; y++) for (int x = 0; x < 28; x++) item.getRaster().setSample(x, y, 0, (y + x) % 256);  // test item 0
        Path png = dir.resolve("item.png");
        ImageIO.write(item, "png", png.toFile());
        float[] expected;
        try (Engine cpu = Engine.open(Engine.Device.CPU, 0)) {
            AlexNet net = cpu.loadModel(run);  // the embedding API reads a run folder too
            FashionMnist test = FashionMnist.test(idx, 3, 67);
            float[] image = new float[test.imageFloats()];
            test.image(0, image, 0);
            expected = net.probabilities(image, 1);
        }
        for (Path weights : new Path[] {run, run.resolve(Checkpoint.WEIGHTS)}) {  // the folder, or its checkpoint file
            MainTest.Result r = run("infer", "--weights", weights.toString(), "--device", "cpu", "--top", "10", png.toString());
            assertEquals(0, r.status(), r.err());
            for (int k = 0; k < 10; k++) {
                String line = String.format(Locale.ROOT, "%6.2f%%  %s", 100 * expected[k], FashionMnist.CLASS_NAMES[k]);
                assertTrue(r.out().contains(line), "expected '" + line + "' in\n" + r.out());
            }
        }
        MainTest.Result bench = run("bench", "--weights", run.toString(), "--device", "cpu", "--batch", "1", "--iterations", "1", "--warmup", "0");
        assertEquals(0, bench.status(), bench.err());
        MainTest.Result folder = run("infer", "--weights", dir.toString(), "--device", "cpu", png.toString());
        assertEquals(1, folder.status());
        assertTrue(folder.err().contains("is a folder without a training checkpoint"), folder.err());
    }

    @Test
    void aFolderStandsForItsImagesInOrder(@TempDir Path dir) throws Exception {
        Path folder = Files.createDirectories(dir.resolve("photos")), nested = Files.createDirectories(folder.resolve("b"));
        Path first = Files.copy(framedImage(dir), folder.resolve("a.png")), second = Files.copy(first, nested.resolve("c.PNG"));
        Files.writeString(folder.resolve("notes.txt"), "not an image");
        MainTest.Result r = run("infer", "--untrained", "--device", "cpu", "--json", folder.toString());
        assertEquals(0, r.status(), r.err());
        List<String> files = r.out().lines().map(l -> l.replaceAll("^\\{\"file\": \"([^\"]*)\".*", "$1")).toList();
        assertEquals(List.of(first.toString(), second.toString()), files);
        MainTest.Result empty = run("infer", "--untrained", "--device", "cpu", Files.createDirectories(dir.resolve("empty")).toString());
        assertEquals(1, empty.status());
        assertTrue(empty.err().contains("is a folder without .jpg, .jpeg or .png files"), empty.err());
    }
}
