package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.Engine;
import dev.alexnetffm.engine.data.ImagePreprocessor;
import dev.alexnetffm.engine.model.AlexNet;
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
        MainTest.Result ten = run("infer", "--weights", weights.toString(), "--device", "cpu", "--ten-crop", image.toString());
        assertEquals(0, ten.status(), ten.err());
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
        assertEquals(3, lines.length, json.out());  // the untrained warning, then one line per image
        String entry = "\\{\"class\": (\\d+)(, \"label\": \"(\\w+)\")?, \"probability\": ([0-9.E-]+)}";
        Pattern object = Pattern.compile("\\{\"file\": \"(.*)\", \"top\": \\[" + entry + "(, " + entry + "){3}]}");
        assertTrue(object.matcher(lines[1]).matches(), lines[1]);
        assertTrue(lines[2].startsWith("{\"file\": \"" + other.toString().replace("\"", "\\\"") + "\""), "escaped: " + lines[2]);
        Matcher m = Pattern.compile(entry).matcher(lines[1]);
        int found = 0;
        while (m.find()) {
            int k = Integer.parseInt(m.group(1));
            assertEquals(k < 3, m.group(2) != null, "a label only where the labels file names the class: " + lines[1]);
            String printed = String.format(Locale.ROOT, "%6.2f%%  %s", 100 * Float.parseFloat(m.group(4)), k < 3 ? m.group(3) : k);
            assertTrue(text.out().contains(printed), printed + " in\n" + text.out());
            found++;
        }
        assertEquals(4, found);
    }

    private static String[] concat(List<String> a, String... b) {
        return java.util.stream.Stream.concat(a.stream(), java.util.Arrays.stream(b)).toArray(String[]::new);
    }
}
