package dev.alexnetffm.engine.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.alexnetffm.engine.data.ImageLoadException.Reason;

import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class ImageDecoderTest {
    @TempDir
    Path dir;

    final ImageDecoder decoder = ImageDecoder.defaults();

    /** Asserts that loading fails for {@code reason}, with a message naming {@code file} and containing {@code words}. */
    static ImageLoadException fails(Reason reason, Path file, Executable load, String... words) {
        ImageLoadException e = assertThrows(ImageLoadException.class, load);
        assertEquals(reason, e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), "message does not name the file: " + e.getMessage());
        assertEquals(file, e.file().orElseThrow());
        for (String w : words) {
            assertTrue(e.getMessage().toLowerCase().contains(w.toLowerCase()), "message lacks \"" + w + "\": " + e.getMessage());
        }
        return e;
    }

    static BufferedImage gradient(int w, int h) {
        return TestImages.rgb(w, h, (x, y) -> (x % 256) << 16 | (y % 256) << 8 | ((x * y) & 0xff));
    }

    @Test
    void decodesPngJpegGifBmpAndFindsTheFormatFromTheBytes() throws Exception {
        BufferedImage img = gradient(120, 90);
        for (String format : new String[] {"png", "jpg", "gif", "bmp"}) {
            RgbImage out = decoder.decode(TestImages.write(img, format, dir.resolve("img." + format)));
            assertEquals(120, out.width(), format);
            assertEquals(90, out.height(), format);
        }
        // A PNG named .jpg is a PNG.
        Path misnamed = dir.resolve("really-a-png.jpg");
        Files.write(misnamed, TestImages.bytes(img, "png"));
        RgbImage png = decoder.decode(misnamed);
        assertEquals("png", png.format().toLowerCase());
        assertEquals(img.getRGB(7, 5) >> 16 & 0xff, png.get(0, 7, 5), 0f);
        assertEquals(img.getRGB(7, 5) >> 8 & 0xff, png.get(1, 7, 5), 0f);
        assertEquals(img.getRGB(7, 5) & 0xff, png.get(2, 7, 5), 0f);
    }

    @Test
    void missingFile() {
        Path file = dir.resolve("nope.jpg");
        fails(Reason.NOT_FOUND, file, () -> decoder.decode(file), "no such file");
        Path deeper = dir.resolve("no-dir/nope.jpg");
        fails(Reason.NOT_FOUND, deeper, () -> decoder.decode(deeper), "no such file", "no-dir");
    }

    @Test
    void brokenSymbolicLink() throws Exception {
        Path link = dir.resolve("link.png");
        try {
            Files.createSymbolicLink(link, dir.resolve("gone.png"));
        } catch (UnsupportedOperationException | java.io.IOException e) {
            assumeTrue(false, "symbolic links unavailable: " + e);
        }
        fails(Reason.NOT_FOUND, link, () -> decoder.decode(link), "broken symbolic link");
    }

    @Test
    void directory() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("images.jpg"));
        fails(Reason.NOT_A_FILE, sub, () -> decoder.decode(sub), "is a directory");
    }

    @Test
    void unreadableFile() throws Exception {
        assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"), "no POSIX permissions");
        Path file = TestImages.write(gradient(10, 10), "png", dir.resolve("secret.png"));
        Files.setPosixFilePermissions(file, Set.of());
        try {
            assumeFalse(Files.isReadable(file), "this process (root?) can read files without permission");
            fails(Reason.NOT_READABLE, file, () -> decoder.decode(file), "permission denied");
        } finally {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        }
    }

    @Test
    void emptyFile() throws Exception {
        Path file = Files.createFile(dir.resolve("empty.png"));
        fails(Reason.EMPTY, file, () -> decoder.decode(file), "empty");
    }

    @Test
    void textFileNamedJpg() throws Exception {
        Path file = Files.writeString(dir.resolve("x.jpg"), "hello, this is not a picture\n");
        fails(Reason.UNSUPPORTED_FORMAT, file, () -> decoder.decode(file), "not an image", "text", "hello, this is");
    }

    @Test
    void randomBytes() throws Exception {
        byte[] noise = new byte[4096];
        new Random(1).nextBytes(noise);
        noise[0] = 0x00; // no accidental magic number
        Path file = Files.write(dir.resolve("noise.png"), noise);
        fails(Reason.UNSUPPORTED_FORMAT, file, () -> decoder.decode(file), "not an image", "unrecognised data", "first bytes 00");
    }

    @Test
    void formatsJavaCannotReadAreNamed() throws Exception {
        byte[] webp = "RIFF\0\0\0\0WEBPVP8 \0\0\0\0".getBytes(StandardCharsets.ISO_8859_1);
        Path file = Files.write(dir.resolve("photo.jpg"), webp);
        fails(Reason.UNSUPPORTED_FORMAT, file, () -> decoder.decode(file), "WebP", "convert it");
        byte[] heic = "\0\0\0\u0018ftypheic\0\0\0\0mif1heic".getBytes(StandardCharsets.ISO_8859_1);
        Path file2 = Files.write(dir.resolve("photo.heic"), heic);
        fails(Reason.UNSUPPORTED_FORMAT, file2, () -> decoder.decode(file2), "HEIC");
    }

    @Test
    void truncatedJpeg() throws Exception {
        byte[] jpg = TestImages.bytes(gradient(300, 200), "jpg");
        Path half = Files.write(dir.resolve("half.jpg"), Arrays.copyOf(jpg, jpg.length / 2));
        fails(Reason.TRUNCATED, half, () -> decoder.decode(half), "truncated");
        Path headerOnly = Files.write(dir.resolve("header.jpg"), Arrays.copyOf(jpg, 100));
        fails(Reason.TRUNCATED, headerOnly, () -> decoder.decode(headerOnly), "truncated");
        // Only the end marker missing: every block is there, so the image loads, identical to the whole file.
        Path noEoi = Files.write(dir.resolve("noeoi.jpg"), Arrays.copyOf(jpg, jpg.length - 2));
        assertArrayEquals(decoder.decode(jpg, "whole").planes(), decoder.decode(noEoi).planes());
        Path sixBytes = Files.write(dir.resolve("six.jpg"), Arrays.copyOf(jpg, 6));
        ImageLoadException e = assertThrows(ImageLoadException.class, () -> decoder.decode(sixBytes));
        assertTrue(e.getMessage().contains("six.jpg"), e.getMessage());
    }

    /** Every cut of a JPEG, PNG, GIF or BMP that loses image data fails, and says so. */
    @Test
    void everyCutThatLosesDataFails() throws Exception {
        BufferedImage img = gradient(300, 200);
        String[] formats = {"jpg", "png", "gif", "bmp"};
        int[] keep = {2, 25, 1, 0}; // bytes at the end that hold no pixels: EOI; CRC, IEND, Adler-32; trailer
        for (int f = 0; f < formats.length; f++) {
            byte[] b = TestImages.bytes(img, formats[f]);
            int step = Math.max(1, b.length / 400);
            for (int n = 1; n < b.length - keep[f]; n += step) {
                byte[] cut = Arrays.copyOf(b, n);
                ImageLoadException e = assertThrows(ImageLoadException.class, () -> decoder.decode(cut, "cut"), formats[f] + " cut at " + n);
                // The GIF decoder cannot tell a short file from bad LZW data; the loader guesses from the trailer byte.
                boolean gifGuess = formats[f].equals("gif") && e.reason() == Reason.CORRUPT;
                assertTrue(e.reason() == Reason.TRUNCATED || gifGuess || (n < 8 && e.reason() == Reason.UNSUPPORTED_FORMAT),
                        formats[f] + " cut at " + n + ": " + e.getMessage());
            }
        }
    }

    @Test
    void corruptJpeg() throws Exception {
        byte[] jpg = TestImages.bytes(gradient(300, 200), "jpg");
        for (int i = jpg.length / 2; i < jpg.length / 2 + 200; i++) jpg[i] ^= 0x5a;
        Path file = Files.write(dir.resolve("corrupt.jpg"), jpg);
        ImageLoadException e = assertThrows(ImageLoadException.class, () -> decoder.decode(file));
        assertTrue(e.reason() == Reason.CORRUPT || e.reason() == Reason.TRUNCATED, e.getMessage());
        assertTrue(e.getMessage().contains("corrupt.jpg") && e.getMessage().contains("JPEG"), e.getMessage());
    }

    @Test
    void truncatedAndCorruptPng() throws Exception {
        byte[] png = TestImages.bytes(gradient(300, 200), "png");
        Path half = Files.write(dir.resolve("half.png"), Arrays.copyOf(png, png.length / 2));
        fails(Reason.TRUNCATED, half, () -> decoder.decode(half), "truncated", "png");
        Path header = Files.write(dir.resolve("header.png"), Arrays.copyOf(png, 33));
        fails(Reason.TRUNCATED, header, () -> decoder.decode(header), "truncated");
        byte[] bad = png.clone();
        for (int i = 200; i < 260; i++) bad[i] ^= 0x5a;
        Path corrupt = Files.write(dir.resolve("corrupt.png"), bad);
        ImageLoadException e = assertThrows(ImageLoadException.class, () -> decoder.decode(corrupt));
        assertTrue(e.reason() == Reason.CORRUPT || e.reason() == Reason.TRUNCATED, e.getMessage());
        assertTrue(e.getMessage().contains("corrupt.png"), e.getMessage());
    }

    @Test
    void cmykJpegIsRefusedWithAdvice() throws Exception {
        Path file = Files.write(dir.resolve("print.jpg"), TestImages.cmykJpeg(64, 48));
        fails(Reason.UNSUPPORTED_COLOR, file, () -> decoder.decode(file), "CMYK", "convert it to RGB");
    }

    @Test
    void imagesOverThePixelLimitAreRefused() throws Exception {
        Path file = TestImages.write(gradient(100, 80), "png", dir.resolve("big.png"));
        fails(Reason.TOO_LARGE, file, () -> new ImageDecoder(ImageDecoder.AlphaPolicy.DROP, 7999).decode(file), "100x80", "7999");
        assertEquals(100, new ImageDecoder(ImageDecoder.AlphaPolicy.DROP, 8000).decode(file).width());
    }

    @Test
    void inMemoryBytesAreNamedBySource() throws Exception {
        ImageLoadException e = assertThrows(ImageLoadException.class,
                () -> decoder.decode("GIF89a but no more".getBytes(StandardCharsets.US_ASCII), "upload #3"));
        assertTrue(e.getMessage().startsWith("cannot load image upload #3: "), e.getMessage());
        assertTrue(e.file().isEmpty());
        assertEquals("upload #3", e.source());
        RgbImage ok = decoder.decode(TestImages.bytes(gradient(20, 10), "png"), "memory");
        assertEquals(20, ok.width());
    }

    @Test
    void lowBitDepthGrayscalePng() throws Exception {
        BufferedImage bw = new BufferedImage(16, 4, BufferedImage.TYPE_BYTE_BINARY);
        for (int x = 0; x < 16; x += 2) for (int y = 0; y < 4; y++) bw.setRGB(x, y, 0xffffff);
        RgbImage img = decoder.decode(TestImages.write(bw, "png", dir.resolve("bw.png")));
        assertEquals(255f, img.get(0, 0, 0));
        assertEquals(0f, img.get(1, 1, 0));
        assertEquals(255f, img.get(2, 2, 3));
    }
}
