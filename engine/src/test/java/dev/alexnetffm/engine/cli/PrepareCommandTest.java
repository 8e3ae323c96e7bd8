package dev.alexnetffm.engine.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.alexnetffm.engine.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.*;

/** {@code alexnet prepare}: a folder prepared, continued, then trained on; its errors. */
class PrepareCommandTest {
    @Test
    void preparesAFolderThatTheOtherCommandsRead(@TempDir Path dir) throws Exception {
        Path images = EvalCommandTest.noiseFolder(dir), out = dir.resolve("prepared");
        MainTest.Result first = run("prepare", "--data", images.toString(), "--out", out.toString(), "--size", "76", "--threads", "2");
        assertEquals(0, first.status(), first.err());
        assertTrue(first.out().contains("76x76 JPEG at quality 90, 2 threads"), first.out());
        assertTrue(first.out().contains("4 images: 4 prepared now"), first.out());
        assertTrue(Files.isRegularFile(out.resolve("a/0.png.jpg")) && Files.isRegularFile(out.resolve("b/1.png.jpg")));

        MainTest.Result again = run("prepare", "--data", images.toString(), "--out", out.toString(), "--size", "76");
        assertEquals(0, again.status(), again.err());
        assertTrue(again.out().contains("4 images: 0 prepared now") && again.out().contains("4 up to date already"), again.out());

        MainTest.Result eval = run("eval", "--weights", EvalCommandTest.tinyWeights(dir).toString(), "--data", out.toString(),
                "--device", "cpu", "--threads", "1");
        assertEquals(0, eval.status(), eval.err());
        assertTrue(eval.out().contains("4 images"), eval.out());
    }

    @Test
    void badUseAndBadImagesSayWhatToDo(@TempDir Path dir) throws Exception {
        Path images = EvalCommandTest.noiseFolder(dir), out = dir.resolve("prepared");
        MainTest.Result noOut = run("prepare", "--data", images.toString());
        assertEquals(2, noOut.status());
        assertTrue(noOut.err().contains("--out <folder> is required"), noOut.err());
        MainTest.Result noData = run("prepare", "--out", out.toString());
        assertEquals(2, noData.status());
        assertTrue(noData.err().contains("--data <folder> is required"), noData.err());
        MainTest.Result quality = run("prepare", "--data", images.toString(), "--out", out.toString(), "--quality", "101");
        assertEquals(2, quality.status());
        assertTrue(quality.err().contains("--quality must be between 1 and 100, got 101"), quality.err());
        MainTest.Result missing = run("prepare", "--data", dir.resolve("nowhere").toString(), "--out", out.toString());
        assertEquals(1, missing.status());
        assertTrue(missing.err().contains("no such file: " + dir.resolve("nowhere")), missing.err());

        Files.writeString(images.resolve("a").resolve("notes.png"), "not an image");
        MainTest.Result bad = run("prepare", "--data", images.toString(), "--out", out.toString(), "--threads", "1");
        assertEquals(1, bad.status());
        assertTrue(bad.err().contains("notes.png") && bad.err().contains("run the same command again to continue, with --skip-corrupt"),
                bad.err());
        MainTest.Result skip = run("prepare", "--data", images.toString(), "--out", out.toString(), "--skip-corrupt");
        assertEquals(0, skip.status(), skip.err());
        assertTrue(skip.out().contains("5 images: ") && skip.out().contains("1 skipped as unreadable:")
                && skip.out().contains("notes.png"), skip.out());
    }
}
