package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.data.FashionMnist;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.alexnetffm.engine.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code alexnet experiment} end to end on a tiny sample of Fashion-MNIST on the CPU. */
class ExperimentCommandTest {
    static final List<String> TINY = List.of("--device", "cpu", "--subset", "32", "--val-subset", "16", "--image-size", "67", "--hidden", "32",
            "--batch", "16", "--epochs", "1", "--init", "kaiming", "--threads", "1");

    static String[] args(String experiment, Path dir, String... more) {
        List<String> a = new java.util.ArrayList<>(List.of("experiment", experiment, "--out", dir.resolve("out").toString(), "--runs",
                dir.resolve("runs").toString()));
        a.addAll(TINY);
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    static void assumeFashionMnist() {
        assumeTrue(Files.isDirectory(FashionMnist.defaultDir()), "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    }

    @Test
    void anAblationTrainsBothArmsAndWritesTheTableAndCharts(@TempDir Path dir) throws Exception {
        assumeFashionMnist();
        MainTest.Result r = run(args("pooling", dir));
        assertEquals(0, r.status(), r.err());
        Path out = dir.resolve("out");
        String readme = Files.readString(out.resolve("README.md"));
        assertTrue(readme.contains("| overlapping-3x3 |") && readme.contains("| non-overlapping-2x2 |"), readme);
        assertTrue(readme.contains("./alexnet experiment pooling --out"), "the command that reproduces it: " + readme);
        List<String> csv = Files.readAllLines(out.resolve("results.csv"));
        assertEquals(3, csv.size(), csv.toString());
        for (String f : List.of("comparison.png", "overlapping-3x3-curves.png", "non-overlapping-2x2-curves.csv", "overlapping-3x3-steps.csv")) {
            assertTrue(Files.size(out.resolve(f)) > 100, f);
        }
        assertTrue(Files.isRegularFile(dir.resolve("runs/non-overlapping-2x2/checkpoint.safetensors")), "checkpoints go to --runs");
    }

    @Test
    void tenCropEvaluatesTheCentreAndTheTenCrops(@TempDir Path dir) throws Exception {
        assumeFashionMnist();
        MainTest.Result r = run(args("ten-crop", dir));
        assertEquals(0, r.status(), r.err());
        String readme = Files.readString(dir.resolve("out/README.md"));
        assertTrue(readme.contains("| centre crop |") && readme.contains("| ten crops |"), readme);
    }

    @Test
    void badRequestsAreUsageErrors(@TempDir Path dir) {
        MainTest.Result r = run("experiment", "relu-sigmoid");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("no experiment 'relu-sigmoid'; there are relu-tanh, lrn, pooling, dropout, pca, ten-crop"), r.err());
        r = run(args("relu-tanh", dir, "--activation", "tanh"));
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--activation is what the relu-tanh experiment varies"), r.err());
        r = run(args("pca", dir, "--augment", "none"));
        assertEquals(2, r.status());
        assertTrue(r.err().contains("trains with --augment crop-flip"), r.err());
    }
}
