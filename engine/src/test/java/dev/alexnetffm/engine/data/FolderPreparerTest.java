package dev.alexnetffm.engine.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@link FolderPreparer}: an image folder resized once to JPEG squares, continued, refused, and with bad images. */
class FolderPreparerTest {
    static final int SIZE = 64;

    /** Smooth colour gradients (JPEG keeps them closely) and a grey image, in two classes, one in a nested folder. */
    static Path source(Path dir) throws IOException {
        Path root = dir.resolve("images");
        Path cat = Files.createDirectories(root.resolve("cat").resolve("sub"));
        Path dog = Files.createDirectories(root.resolve("dog"));
        TestImages.writeJpeg(TestImages.rgb(500, 375, (x, y) -> (x * 255 / 499) << 16 | (y * 255 / 374) << 8 | 90), root.resolve("cat/a.jpg"));
        TestImages.write(TestImages.rgb(120, 300, (x, y) -> 40 << 16 | (x + y) / 2 << 8 | (255 - y * 255 / 299)), "png", root.resolve("cat/b.png"));
        TestImages.write(TestImages.rgb(70, 50, (x, y) -> (x * 3) << 16 | (y * 4) << 8 | 128), "png", cat.resolve("c.png"));
        TestImages.write(TestImages.gray(300, 260, (x, y) -> (x + y) * 255 / 558), "png", dog.resolve("g.png"));
        return root;
    }

    static FolderPreparer.Settings settings() {
        return new FolderPreparer.Settings(SIZE, 100, 2, false);
    }

    static final FolderPreparer.Listener QUIET = (done, total) -> {};

    @Test
    void everyImageBecomesTheSquareTrainingCutsItsCropsFrom(@TempDir Path dir) throws Exception {
        Path src = source(dir), out = dir.resolve("prepared");
        List<int[]> progress = new ArrayList<>();
        FolderPreparer.Report r = FolderPreparer.prepare(src, out, settings(), (done, total) -> progress.add(new int[] {done, total}));
        assertEquals(4, r.images());
        assertEquals(4, r.written());
        assertEquals(0, r.upToDate());
        assertTrue(r.skipped().isEmpty());
        assertArrayEquals(new int[] {4, 4}, progress.getLast());
        assertTrue(r.bytesRead() > 0 && r.bytesWritten() > 0);

        ImagePreprocessor square = ImagePreprocessor.builder().shortSide(SIZE).cropSize(SIZE).mean(0, 0, 0).build();
        Map<String, String> targets = Map.of("cat/a.jpg", "cat/a.jpg", "cat/b.png", "cat/b.png.jpg", "cat/sub/c.png", "cat/sub/c.png.jpg",
                "dog/g.png", "dog/g.png.jpg");
        for (var e : targets.entrySet()) {
            Path target = out.resolve(e.getValue());
            byte[] bytes = Files.readAllBytes(target);
            assertTrue(FormatSniffer.isJpeg(bytes), target + " is a JPEG");
            RgbImage image = ImageDecoder.defaults().decode(target);
            assertEquals(SIZE, image.width());
            assertEquals(SIZE, image.height());
            float[] expected = square.load(src.resolve(e.getKey()));
            float[] got = image.planes();
            double sum = 0, worst = 0;
            for (int i = 0; i < got.length; i++) {
                double d = Math.abs(got[i] - expected[i]);
                sum += d;
                worst = Math.max(worst, d);
            }
            // quality 100: what is left is 8-bit rounding, the DCT's and the chroma's 4:2:0 on smooth gradients
            assertTrue(sum / got.length < 1.5 && worst < 12, e.getKey() + ": mean error " + sum / got.length + ", worst " + worst);
        }
        byte[] grey = Files.readAllBytes(out.resolve("dog/g.png.jpg"));
        assertEquals(1, FormatSniffer.jpegComponents(grey), "a grey image is stored as a grey JPEG");
        assertEquals(3, FormatSniffer.jpegComponents(Files.readAllBytes(out.resolve("cat/a.jpg"))));

        ImageFolder prepared = ImageFolder.open(out, ImagePreprocessor.imageNet());
        ImageFolder original = ImageFolder.open(src, ImagePreprocessor.imageNet());
        assertEquals(original.classNames(), prepared.classNames());
        assertEquals(List.of(0, 0, 0, 1), List.of(prepared.label(0), prepared.label(1), prepared.label(2), prepared.label(3)));
        String manifest = Files.readString(out.resolve(FolderPreparer.MANIFEST));
        assertTrue(manifest.contains("\"complete\": true") && manifest.contains("\"size\": 64") && manifest.contains("\"quality\": 100"), manifest);
        assertEquals(List.of(), temporaryFiles(out));
    }

    @Test
    void aSecondRunKeepsWhatIsDoneAndPreparesAChangedImageAgain(@TempDir Path dir) throws Exception {
        Path src = source(dir), out = dir.resolve("prepared");
        FolderPreparer.prepare(src, out, settings(), QUIET);
        Path target = out.resolve("cat/b.png.jpg");
        FileTime before = Files.getLastModifiedTime(target);
        Path killed = Files.writeString(out.resolve("dog/.g.png.jpg.3fa9c2.tmp"), "half an image");  // a run killed mid-write
        Path mine = Files.writeString(out.resolve("dog/notes.tmp"), "not a temporary file of ours");
        FolderPreparer.Report again = FolderPreparer.prepare(src, out, settings().withThreads(1), QUIET);
        assertEquals(0, again.written());
        assertEquals(4, again.upToDate());
        assertEquals(before, Files.getLastModifiedTime(target));
        assertFalse(Files.exists(killed), "a killed run's temporary file is deleted");
        assertTrue(Files.exists(mine));

        Files.setLastModifiedTime(src.resolve("cat/b.png"), FileTime.fromMillis(before.toMillis() + 60_000));
        Files.delete(out.resolve("dog/g.png.jpg"));
        FolderPreparer.Report third = FolderPreparer.prepare(src, out, settings(), QUIET);
        assertEquals(2, third.written(), "the changed image and the missing one");
        assertEquals(2, third.upToDate());
        assertTrue(Files.isRegularFile(out.resolve("dog/g.png.jpg")));
    }

    @Test
    void aFolderOfOtherSettingsOrOtherFilesIsRefusedNotMixed(@TempDir Path dir) throws Exception {
        Path src = source(dir), out = dir.resolve("prepared");
        FolderPreparer.prepare(src, out, settings(), QUIET);
        IOException size = assertThrows(IOException.class, () -> FolderPreparer.prepare(src, out, settings().withSize(32), QUIET));
        assertTrue(size.getMessage().contains("was prepared at 64x64, quality 100, not at 32x32, quality 100"), size.getMessage());
        IOException quality = assertThrows(IOException.class, () -> FolderPreparer.prepare(src, out, settings().withQuality(90), QUIET));
        assertTrue(quality.getMessage().contains("not at 64x64, quality 90"), quality.getMessage());

        Path other = Files.createDirectories(dir.resolve("other/x"));
        Files.copy(src.resolve("cat/a.jpg"), other.resolve("a.jpg"));
        IOException source = assertThrows(IOException.class, () -> FolderPreparer.prepare(dir.resolve("other"), out, settings(), QUIET));
        assertTrue(source.getMessage().contains("was prepared from " + src.toAbsolutePath()), source.getMessage());

        Path busy = Files.createDirectories(dir.resolve("busy"));
        Files.writeString(busy.resolve("notes.txt"), "mine");
        IOException notOurs = assertThrows(IOException.class, () -> FolderPreparer.prepare(src, busy, settings(), QUIET));
        assertTrue(notOurs.getMessage().contains("is not empty and was not made by this command"), notOurs.getMessage());
        assertEquals("mine", Files.readString(busy.resolve("notes.txt")));

        IOException inside = assertThrows(IOException.class, () -> FolderPreparer.prepare(src, src.resolve("cat/copy"), settings(), QUIET));
        assertTrue(inside.getMessage().contains("lies inside the source folder"), inside.getMessage());
        IOException holds = assertThrows(IOException.class, () -> FolderPreparer.prepare(src, dir, settings(), QUIET));
        assertTrue(holds.getMessage().contains("holds the source folder"), holds.getMessage());
        assertFalse(Files.exists(src.resolve("cat/copy")));
    }

    @Test
    void anUnreadableImageStopsTheRunUnlessSkippedAndNothingIsLeftHalfWritten(@TempDir Path dir) throws Exception {
        Path src = source(dir), out = dir.resolve("prepared");
        byte[] whole = Files.readAllBytes(src.resolve("cat/a.jpg"));
        Files.write(src.resolve("cat/0broken.jpg"), java.util.Arrays.copyOf(whole, whole.length / 3));
        // one thread, four images in flight (0broken.jpg, a.jpg, b.png, sub/c.png): dog/g.png is never begun
        ImageLoadException stop = assertThrows(ImageLoadException.class,
                () -> FolderPreparer.prepare(src, out, settings().withThreads(1), QUIET));
        assertTrue(stop.getMessage().contains("0broken.jpg") && stop.reason() == ImageLoadException.Reason.TRUNCATED, stop.getMessage());
        assertFalse(Files.exists(out.resolve("cat/0broken.jpg")));
        assertFalse(Files.exists(out.resolve("dog/g.png.jpg")), "nothing new begins after a failure");
        assertTrue(Files.readString(out.resolve(FolderPreparer.MANIFEST)).contains("\"complete\": false"));
        assertEquals(List.of(), temporaryFiles(out));
        for (Path p : listFiles(out)) {
            if (p.toString().endsWith(".jpg")) assertEquals(SIZE, ImageDecoder.defaults().decode(p).width(), p + " is whole");
        }

        FolderPreparer.Report r = FolderPreparer.prepare(src, out, settings().withSkipCorrupt(true), QUIET);
        assertEquals(5, r.images());
        assertEquals(1, r.skipped().size());
        assertTrue(r.skipped().getFirst().getMessage().contains("0broken.jpg"));
        assertEquals(4, r.written() + r.upToDate());
        String manifest = Files.readString(out.resolve(FolderPreparer.MANIFEST));
        assertTrue(manifest.contains("\"complete\": true") && manifest.contains("0broken.jpg"), manifest);
        assertEquals(4, ImageFolder.open(out, ImagePreprocessor.imageNet()).size());
    }

    @Test
    void targetNamesNeverCollideAndACollisionIsNamed(@TempDir Path dir) throws Exception {
        assertEquals("a.jpg", FolderPreparer.targetName("a.jpg"));
        assertEquals("A.JPEG", FolderPreparer.targetName("A.JPEG"));
        assertEquals("a.png.jpg", FolderPreparer.targetName("a.png"));
        Path src = source(dir);
        Files.copy(src.resolve("cat/a.jpg"), src.resolve("cat/b.png.jpg"));
        IOException e = assertThrows(IOException.class, () -> FolderPreparer.prepare(src, dir.resolve("prepared"), settings(), QUIET));
        assertTrue(e.getMessage().contains("would both be prepared as") && e.getMessage().contains("b.png.jpg"), e.getMessage());
    }

    /** libjpeg-turbo and javax.imageio encode alike: the same quality tables and DCT, so nearly the same pixels. */
    @Test
    void bothEncodersGiveTheSameImageBack() throws Exception {
        assumeTrue(TurboJpeg.loaded(), "libturbojpeg.so.0 is not installed");
        int w = 48, h = 40;
        float[] planes = new float[3 * w * h];
        for (int i = 0; i < w * h; i++) {
            planes[i] = (i % w) * 5.3f;
            planes[w * h + i] = (i / w) * 6.1f;
            planes[2 * w * h + i] = 128 + 100 * (float) Math.sin(i * 0.05);
        }
        RgbImage turbo = ImageDecoder.defaults().decode(JpegWriter.encode(planes, w, h, 90, true), "turbo");
        RgbImage imageIo = ImageDecoder.defaults().decode(JpegWriter.encode(planes, w, h, 90, false), "imageio");
        float[] a = turbo.planes(), b = imageIo.planes();
        for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 2f, "sample " + i);
    }

    @Test
    void samplesAreRoundedAndClamped() {
        assertEquals(0, JpegWriter.toByte(-3.2f));
        assertEquals(0, JpegWriter.toByte(0.49f));
        assertEquals(1, JpegWriter.toByte(0.5f));
        assertEquals(200, JpegWriter.toByte(199.6f) & 0xff);
        assertEquals(255, JpegWriter.toByte(255.4f) & 0xff);
        assertEquals(255, JpegWriter.toByte(300f) & 0xff);
    }

    static List<Path> temporaryFiles(Path dir) throws IOException {
        return listFiles(dir).stream().filter(p -> p.getFileName().toString().endsWith(".tmp")).toList();
    }

    static List<Path> listFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).toList();
        }
    }
}
