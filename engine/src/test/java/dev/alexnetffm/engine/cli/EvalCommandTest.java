package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.io.SafeTensors;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.SplittableRandom;

import static dev.alexnetffm.engine.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.*;

/** {@code alexnet eval} on a tiny network and an image folder, on the CPU: one device, and the two-tower split. */
class EvalCommandTest {
    /** A 67x67 network with two classes, saved to a weights file. */
    static Path tinyWeights(Path dir) throws Exception {
        AlexNetConfig config = AlexNetConfig.paper().withClasses(2).withInput(3, 67).withHidden(16);
        Path weights = dir.resolve("tiny.safetensors");
        SafeTensors.write(weights, AlexNet.initialWeights(config, 7, AlexNet.Init.KAIMING), config.toMetadata());
        return weights;
    }

    /** An image folder of two classes, {@code a} and {@code b}, with two noise images each. */
    static Path noiseFolder(Path dir) throws Exception {
        Path root = dir.resolve("images");
        SplittableRandom random = new SplittableRandom(11);
        for (String label : List.of("a", "b")) {
            Files.createDirectories(root.resolve(label));
            for (int i = 0; i < 2; i++) {
                BufferedImage img = new BufferedImage(90, 80, BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < 80; y++) for (int x = 0; x < 90; x++) img.setRGB(x, y, random.nextInt(1 << 24));
                ImageIO.write(img, "png", root.resolve(label).resolve(i + ".png").toFile());
            }
        }
        return root;
    }

    /** The error lines after the header: centre crop, ten crops, the whole image, then the ten crops' per class. */
    static List<String> errors(MainTest.Result r) {
        assertEquals(0, r.status(), r.err());
        List<String> lines = r.out().lines().skip(1).toList();
        assertTrue(lines.size() >= 5, r.out());
        assertTrue(lines.get(0).startsWith("centre crop: top-1 error ") && lines.get(1).startsWith("ten crops:   top-1 error ")
                && lines.get(2).startsWith("whole image: top-1 error ") && lines.get(3).equals("ten crops, top-1 error per class:"), r.out());
        return lines;
    }

    /** "top-1 error X%, top-5 error Y%" from a line of eval's or train's output. */
    static String topErrors(String text) {
        Matcher m = Pattern.compile("top-1 error [0-9.]+%.*?top-5 error [0-9.]+%").matcher(text);
        assertTrue(m.find(), text);
        return m.group().replaceAll(" \\(accuracy [0-9.]+%\\)", "");
    }

    @Test
    void onTwoDevicesItGivesTheOneDeviceErrors(@TempDir Path dir) throws Exception {
        // batch 3 of 4 images: a full batch, then a partial one
        String[] common = {"eval", "--weights", tinyWeights(dir).toString(), "--data", noiseFolder(dir).toString(), "--batch", "3", "--threads", "1"};
        MainTest.Result one = run(concat(common, "--device", "cpu"));
        MainTest.Result two = run(concat(common, "--devices", "cpu,cpu"));
        assertTrue(two.out().contains("(4 images), tower A on cpu, tower B on cpu"), two.out());
        assertEquals(errors(one), errors(two), "the split network scores the same crops the same way");
        MainTest.Result both = run(concat(common, "--device", "cpu", "--devices", "cpu,cpu"));
        assertEquals(2, both.status());
        assertTrue(both.err().contains("give --device or --devices, not both"), both.err());
    }

    /** --json: one line, nothing else, the errors of the text output as fractions, per class too. */
    @Test
    void jsonGivesTheSameErrors(@TempDir Path dir) throws Exception {
        String[] common = {"eval", "--weights", tinyWeights(dir).toString(), "--data", noiseFolder(dir).toString(), "--threads", "1", "--device", "cpu"};
        List<String> text = errors(run(common));
        MainTest.Result json = run(concat(common, "--json"));
        assertEquals(0, json.status(), json.err());
        String line = json.out().strip();
        assertEquals(1, json.out().strip().lines().count(), json.out());
        String pair = "\\{\"top1\": ([0-9.E-]+), \"top5\": ([0-9.E-]+)}";
        Matcher m = Pattern.compile("\\{\"weights\": \".*\", \"data\": \".*\", \"images\": 4, \"device\": \"cpu\", \"centre_crop\": " + pair
                + ", \"ten_crops\": " + pair + ", \"whole_image\": " + pair + ", \"classes\": \\[(.*)]}").matcher(line);
        assertTrue(m.matches(), line);
        for (int i = 0; i < 3; i++) {
            String expected = String.format(java.util.Locale.ROOT, "top-1 error %.2f%%, top-5 error %.2f%%",
                    100 * Double.parseDouble(m.group(1 + 2 * i)), 100 * Double.parseDouble(m.group(2 + 2 * i)));
            assertEquals(topErrors(text.get(i)), expected, line);
        }
        Matcher c = Pattern.compile("\\{\"class\": (\\d), \"label\": \"([ab])\", \"images\": 2, \"ten_crop_top1\": ([0-9.E-]+)}").matcher(m.group(7));
        for (int k = 0; k < 2; k++) {
            assertTrue(c.find(), m.group(7));
            String printed = String.format(java.util.Locale.ROOT, "  %s  %6.2f%%  of 2", c.group(2), 100 * Double.parseDouble(c.group(3)));
            assertTrue(text.contains(printed), printed + " in " + text);
        }
    }

    @Test
    void itReadsATrainRunsCheckpoint(@TempDir Path dir) throws Exception {
        Path images = noiseFolder(dir), run = dir.resolve("run");
        MainTest.Result trained = run("train", "--data", images.toString(), "--val", images.toString(), "--run", run.toString(), "--image-size", "67",
                "--hidden", "16", "--batch", "2", "--epochs", "1", "--init", "kaiming", "--threads", "1", "--device", "cpu");
        assertEquals(0, trained.status(), trained.err());
        String[] common = {"eval", "--weights", run.toString(), "--data", images.toString(), "--threads", "1"};
        List<String> one = errors(run(concat(common, "--device", "cpu")));
        assertEquals(one, errors(run(concat(common, "--devices", "cpu,cpu"))));
        // trained without crops: the whole-image line is what train reported on the same images
        String done = trained.out().lines().filter(l -> l.startsWith("done: validation")).findFirst().orElseThrow();
        assertEquals(topErrors(done), topErrors(one.get(2)));
        // a folder whose classes are named otherwise than the network's: an error, for eval as for train's --val
        Path other = dir.resolve("other");
        Files.move(images.resolve("b"), Files.createDirectories(images).resolve("c"));
        MainTest.Result renamed = run(concat(common, "--device", "cpu"));
        assertEquals(1, renamed.status(), renamed.out());
        assertTrue(renamed.err().contains("name their classes differently: class 1 is 'b' in one, 'c' in the other"), renamed.err());
        MainTest.Result val = run("train", "--data", images.toString(), "--val", noiseFolder(Files.createDirectories(other)).toString(),
                "--run", dir.resolve("run2").toString(), "--image-size", "67", "--hidden", "16", "--batch", "2", "--epochs", "1",
                "--threads", "1", "--device", "cpu");
        assertEquals(1, val.status(), val.out());
        assertTrue(val.err().contains("class 1 is 'c' in one, 'b' in the other"), val.err());
        Files.move(images.resolve("c"), images.resolve("b"));
        // per class, named as the folder's sub-folders (recorded in the checkpoint), the ten-crop errors in sum
        MainTest.Result r = run(concat(common, "--device", "cpu"));
        Matcher a = Pattern.compile("\\n  a  +([0-9.]+)%  of 2\\n").matcher(r.out()), b = Pattern.compile("\\n  b  +([0-9.]+)%  of 2\\n").matcher(r.out());
        assertTrue(r.out().contains("ten crops, top-1 error per class:") && a.find() && b.find(), r.out());
        double tenCrop = Double.parseDouble(r.out().replaceAll("(?s).*ten crops:   top-1 error ([0-9.]+)%.*", "$1"));
        assertEquals(tenCrop, (Double.parseDouble(a.group(1)) + Double.parseDouble(b.group(1))) / 2, 0.01, r.out());
    }

    @Test
    void resumingOnDataWithOtherClassesIsAnError(@TempDir Path dir) throws Exception {
        Path images = noiseFolder(dir), run = dir.resolve("run");
        String[] train = {"train", "--data", images.toString(), "--val", images.toString(), "--run", run.toString(), "--image-size", "67",
                "--hidden", "16", "--batch", "2", "--init", "kaiming", "--threads", "1", "--device", "cpu"};
        assertEquals(0, run(concat(train, "--epochs", "1")).status());
        Files.move(images.resolve("b"), images.resolve("c"));
        MainTest.Result resumed = run(concat(train, "--epochs", "2", "--resume"));
        assertEquals(1, resumed.status(), resumed.out());
        assertTrue(resumed.err().contains("the checkpoint in " + run) && resumed.err().contains("class 1 is 'b' in one, 'c' in the other"),
                resumed.err());
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
