package dev.alexnetffm.engine.cli;

import dev.alexnetffm.cuda.CudaDriver;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.*;

class MainTest {
    record Result(int status, String out, String err) {}

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void infoDescribesTheMachineWithOrWithoutAGpu() {
        Result r = run("info");
        assertTrue(r.out().contains("kernel modules packaged: "), r.out());
        if (CudaDriver.isAvailable()) {
            assertEquals(0, r.status(), r.out());
            assertTrue(r.out().contains("CUDA driver: "), r.out());
            assertTrue(r.out().contains("elementwise  loaded"), r.out());
        } else {
            assertEquals(0, r.status());
            assertTrue(r.out().contains("CUDA: not available."), r.out());
        }
    }

    @Test
    void badUsageSaysWhatWasWrong() {
        Result r = run("frobnicate");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("unknown command 'frobnicate'"), r.err());
        assertTrue(r.err().contains("usage: alexnet"), r.err());
        r = run("info", "--bogus");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("takes no arguments"), r.err());
        assertEquals(2, run().status());
        assertEquals(0, run("help").status());
        // numbers: not a number, or out of range, is a usage error naming the option (before any data is read)
        r = run("train", "--run", "unused", "--lr", "fast");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--lr must be a number, got 'fast'"), r.err());
        r = run("experiment", "dropout", "--target", "25");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--target must be between 0.0 and 1.0, got 25"), r.err());
    }

    @Test
    void inferPrintsTheTopClassesOfEachImage(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path image = dir.resolve("gradient.png");
        java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(300, 200, java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 200; y++) for (int x = 0; x < 300; x++) img.setRGB(x, y, (x % 256) << 16 | (y % 256) << 8 | 77);
        javax.imageio.ImageIO.write(img, "png", image.toFile());
        java.nio.file.Path labels = java.nio.file.Files.writeString(dir.resolve("labels.txt"), "zero\none\ntwo\n");
        Result r = run("infer", "--untrained", "--device", "cpu", "--top", "3", "--labels", labels.toString(), image.toString());
        assertEquals(0, r.status(), r.err());
        String[] lines = r.out().strip().split("\n");
        assertEquals(5, lines.length, r.out());
        assertEquals(image.toString(), lines[1]);
        double previous = 101;
        for (int i = 2; i < 5; i++) {
            String[] f = lines[i].strip().split("%\\s+");
            double p = Double.parseDouble(f[0]);
            assertTrue(p <= previous, "sorted by probability: " + r.out());
            previous = p;
        }
    }

    @Test
    void inferAndBenchRejectBadInputClearly(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        Result r = run("infer", "--untrained", "--device", "cpu", dir.resolve("missing.png").toString());
        assertEquals(1, r.status());
        assertTrue(r.err().contains("missing.png: no such file"), r.err());
        java.nio.file.Path text = java.nio.file.Files.writeString(dir.resolve("x.jpg"), "hello");
        r = run("infer", "--untrained", "--device", "cpu", text.toString());
        assertTrue(r.err().contains("x.jpg") && r.err().contains("not an image"), r.err());
        r = run("infer", "--weights", dir.resolve("none.safetensors").toString(), "--device", "cpu", text.toString());
        assertEquals(1, r.status());
        r = run("infer", "--device", "cpu", text.toString());
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--weights"), r.err());
        r = run("eval", "--device", "cpu");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--weights"), r.err());
        r = run("pca");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--out"), r.err());
        r = run("train", "--device", "cpu");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--run <dir> is required"), r.err());
        r = run("bench", "--batch", "zero");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--batch must be an integer"), r.err());
        r = run("bench", "--device", "tpu");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--device must be auto, cpu, cuda or cuda:N"), r.err());
        r = run("bench", "--frobs", "1");
        assertTrue(r.err().contains("unknown option --frobs"), r.err());
        if (!CudaDriver.isAvailable()) {
            r = run("bench", "--device", "cuda");
            assertEquals(1, r.status());
            assertTrue(r.err().contains("libcuda.so.1") || r.err().contains("CUDA"), r.err());
        }
    }

    @Test
    void benchReportsThroughput() {
        Result r = run("bench", "--device", "cpu", "--batch", "1", "--iterations", "1", "--warmup", "0");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("bench: cpu, forward, batch 1, 60,965,224 parameters"), r.out());
        assertTrue(r.out().matches("(?s).*median [0-9.]+ ms per batch .* images/s.*"), r.out());
        r = run("bench", "--device", "cpu", "--batch", "1", "--iterations", "1", "--warmup", "0", "--graph");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("bench: cpu, forward, recorded and replayed, batch 1"), r.out());
        r = run("bench", "--device", "cpu", "--graph", "--train");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--graph records one device's forward pass"), r.err());
    }

    @Test
    void benchProfilesEveryOpOfTheCall() {
        Result r = run("bench", "--device", "cpu", "--batch", "1", "--iterations", "1", "--warmup", "0", "--profile");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("profile: forward, batch 1 on cpu, 14 ops"), r.out());
        for (String op : new String[] {"conv1 ", "conv5 ", "lrn 1x96x55x55", "maxPool 1x256x6x6", "fc8 "}) {
            assertTrue(r.out().contains(op), op + " missing from\n" + r.out());
        }
        java.nio.file.Path json;
        try {
            json = java.nio.file.Files.createTempFile("profile", ".json");
            r = run("bench", "--device", "cpu", "--batch", "1", "--iterations", "1", "--warmup", "0", "--profile-json", json.toString());
            assertEquals(0, r.status(), r.err());
            String text = java.nio.file.Files.readString(json);
            assertTrue(text.contains("\"layers_ms\": {\"conv1\": "), text);
            assertTrue(r.out().contains("profile as JSON: " + json), r.out());
            java.nio.file.Files.delete(json);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        r = run("bench", "--devices", "cpu,cpu", "--profile");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--profile times one device's ops"), r.err());
    }

    @Test
    void benchOnTwoDevicesReportsTheExchangeAndWritesTheTimeline(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path trace = dir.resolve("split.json");
        Result r = run("bench", "--devices", "cpu,cpu", "--batch", "1", "--iterations", "1", "--warmup", "0", "--trace", trace.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("tower A on cpu, tower B on cpu"), r.out());
        // batch 1, inference: pool2 and pool5 halves, fc6 and fc7 halves (2048 floats), the logits' half (500)
        long bytes = 4L * 2 * (128 * 13 * 13 + 128 * 6 * 6 + 2048 + 2048) + 4L * 500;
        assertTrue(r.out().contains(String.format("exchanged per batch: %,d bytes", bytes)), r.out());
        assertTrue(r.out().contains(String.format("moved by the transport in the last call: %,d bytes in 9 copies (as the plan)", bytes)), r.out());
        assertTrue(java.nio.file.Files.readString(trace).contains("\"name\": \"conv1\""), "the trace has conv1's spans");
    }

    @Test
    void inferOnTwoDevicesGivesTheOneDeviceAnswer(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path image = dir.resolve("noise.png");
        java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(260, 300, java.awt.image.BufferedImage.TYPE_INT_RGB);
        java.util.SplittableRandom random = new java.util.SplittableRandom(3);
        for (int y = 0; y < 300; y++) for (int x = 0; x < 260; x++) img.setRGB(x, y, random.nextInt(1 << 24));
        javax.imageio.ImageIO.write(img, "png", image.toFile());
        Result one = run("infer", "--untrained", "--device", "cpu", image.toString());
        Result two = run("infer", "--untrained", "--devices", "cpu,cpu", image.toString());
        assertEquals(0, two.status(), two.err());
        assertEquals(one.out(), two.out());
    }

    @Test
    void devicesThatDoNotExistAreClearErrors() {
        Result r = run("bench", "--devices", "0,7");
        assertEquals(2, r.status());
        String expected = CudaDriver.isAvailable() ? "there is no GPU 7" : "needs CUDA GPUs";
        assertTrue(r.err().contains(expected), r.err());
        r = run("train", "--devices", "0", "--run", "x");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--devices takes two devices"), r.err());
        r = run("infer", "--untrained", "--devices", "gpu,1", "x.png");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("'gpu' is not a GPU ordinal"), r.err());
    }
}
