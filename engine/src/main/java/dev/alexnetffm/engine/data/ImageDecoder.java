package dev.alexnetffm.engine.data;

import dev.alexnetffm.engine.data.ImageLoadException.Reason;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import javax.imageio.IIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Decodes image files with javax.imageio into {@link RgbImage}s (float RGB, 0..255), with an exception
 * that names the file and the problem for every kind of bad input.
 *
 * <h2>What is read, and how</h2>
 * <ul>
 *   <li>Formats: whatever javax.imageio reads: JPEG, PNG, GIF, BMP, WBMP, TIFF. Multi-image files (an
 *       animated GIF, a multi-page TIFF) give their first image. The format is found from the bytes,
 *       not the file name, so a PNG named {@code x.jpg} loads as a PNG.</li>
 *   <li>RGB and grayscale images with 8- or 16-bit samples are read from their raster directly:
 *       grayscale becomes R = G = B = the sample, 16-bit samples become {@code v · 255 / 65535} (the
 *       extra precision is kept, as floats). An embedded ICC profile or PNG gamma is <em>ignored</em> for
 *       these, as PIL's {@code convert("RGB")} ignores it: the samples are taken as sRGB.</li>
 *   <li>Everything else (paletted PNG/GIF, 1/2/4-bit grayscale, packed BMP, ...) goes through
 *       {@link BufferedImage#getRGB}, i.e. the image's colour model, to 8-bit sRGB.</li>
 *   <li>Alpha, including a palette's transparent entries, follows {@link AlphaPolicy}; the default
 *       {@link AlphaPolicy#DROP} discards it, which is what PIL's {@code convert("RGB")} (and so the
 *       usual PyTorch pipeline) does.</li>
 *   <li>CMYK and YCCK JPEGs are refused with {@link Reason#UNSUPPORTED_COLOR}: older JDKs cannot decode
 *       them at all, and newer ones do not undo the Adobe inverted-CMYK convention reliably, so the
 *       colours could be silently wrong. The message says how to convert the file.</li>
 *   <li>EXIF orientation is not applied (nor is it by PIL unless asked).</li>
 *   <li>JPEG files go to libjpeg-turbo first where it is installed ({@link TurboJpeg}), which gives javax.imageio's
 *       samples at full size. A caller that will shrink the picture anyway ({@link #decode(Path, int)}, as
 *       {@link ImagePreprocessor} does) may get a JPEG of at least twice its size reduced by 2, 4 or 8 while it is
 *       decoded, ten times as fast for a 12-megapixel photograph; {@code -Dalexnet.jpeg=full} (or
 *       ALEXNET_JPEG=full) turns that off.</li>
 * </ul>
 *
 * <h2>Truncated and corrupt data</h2>
 * The JPEG decoder does not fail on a truncated file: it fills the missing part with grey and warns.
 * This decoder listens for the warnings: "premature end of data segment" (the compressed data ran out
 * before the last block, so part of the picture is made up) is an error, {@link Reason#TRUNCATED} if
 * the file also lacks its end marker, {@link Reason#CORRUPT} otherwise. A file that lacks only its
 * final EOI marker, with every block present, loads. Other JPEG warnings, such as "extraneous bytes
 * before marker", which many real files carry harmlessly, are tolerated. PNG, GIF, BMP and TIFF
 * decoders throw on truncated or corrupt data; an {@link EOFException} among the causes is reported as
 * {@link Reason#TRUNCATED}, anything else as {@link Reason#CORRUPT}. A PNG whose image data is
 * complete but whose final IEND chunk is missing loads (no pixel is missing). Corruption that decodes
 * without complaint (flipped bits inside compressed data that still parses) cannot be detected.
 *
 * <p>Instances are immutable and thread-safe; each call uses its own {@link ImageReader}.
 */
public final class ImageDecoder {

    /** What to do with an alpha channel. */
    public enum AlphaPolicy {
        /** Ignore alpha and keep the colour samples as stored (PIL's {@code convert("RGB")}). */
        DROP,
        /** Composite on black: {@code c · a}. */
        COMPOSITE_ON_BLACK,
        /** Composite on white: {@code c · a + 255 · (1 − a)}. */
        COMPOSITE_ON_WHITE
    }

    /** Default limit on width × height: 64 Mpixel (768 MiB of float planes). */
    public static final long DEFAULT_MAX_PIXELS = 1L << 26;

    private static final ImageDecoder DEFAULT = new ImageDecoder(AlphaPolicy.DROP, DEFAULT_MAX_PIXELS);

    private final AlphaPolicy alphaPolicy;
    private final long maxPixels;
    private final TurboJpeg.Mode jpeg;  // null: as the alexnet.jpeg setting says

    public ImageDecoder(AlphaPolicy alphaPolicy, long maxPixels) {
        this(alphaPolicy, maxPixels, null);
    }

    private ImageDecoder(AlphaPolicy alphaPolicy, long maxPixels, TurboJpeg.Mode jpeg) {
        this.alphaPolicy = Objects.requireNonNull(alphaPolicy, "alphaPolicy");
        if (maxPixels <= 0) throw new IllegalArgumentException("maxPixels must be positive, got " + maxPixels);
        this.maxPixels = maxPixels;
        this.jpeg = jpeg;
    }

    /** This decoder, decoding JPEG files as {@code mode} says whatever the alexnet.jpeg setting (see {@link TurboJpeg}). */
    ImageDecoder withJpegMode(TurboJpeg.Mode mode) {
        return new ImageDecoder(alphaPolicy, maxPixels, Objects.requireNonNull(mode, "mode"));
    }

    /** Which library decodes JPEG files (see {@link TurboJpeg}), in words: for {@code info} and the benchmarks. */
    public static String jpegLibrary() {
        return TurboJpeg.describe();
    }

    /** Alpha dropped, at most {@link #DEFAULT_MAX_PIXELS} pixels. */
    public static ImageDecoder defaults() {
        return DEFAULT;
    }

    public AlphaPolicy alphaPolicy() {
        return alphaPolicy;
    }

    public long maxPixels() {
        return maxPixels;
    }

    /** Reads and decodes {@code file}, at full size. */
    public RgbImage decode(Path file) throws ImageLoadException {
        return decode(file, 0);
    }

    /**
     * Reads and decodes {@code file} for a caller that will resize it to a short side of {@code minShortSide} (0: full
     * size): a JPEG that libjpeg-turbo decodes may come back reduced by 2, 4 or 8 (its scaled inverse DCT, an
     * antialiased reduction), the most that keeps its short side at least {@code minShortSide}; see {@link TurboJpeg}.
     * Every other image, and every image where the alexnet.jpeg setting is {@code full} or {@code imageio}, comes back
     * at full size. The pixel limit applies to the full size.
     */
    public RgbImage decode(Path file, int minShortSide) throws ImageLoadException {
        Objects.requireNonNull(file, "file");
        if (!Files.exists(file)) {
            if (Files.isSymbolicLink(file)) throw new ImageLoadException(file, Reason.NOT_FOUND, "broken symbolic link (its target does not exist)");
            Path parent = file.toAbsolutePath().getParent();
            String where = parent != null && !Files.isDirectory(parent) ? " (nor does its directory " + parent + ")" : "";
            throw new ImageLoadException(file, Reason.NOT_FOUND, "no such file" + where);
        }
        if (Files.isDirectory(file)) throw new ImageLoadException(file, Reason.NOT_A_FILE, "is a directory, not an image file");
        if (!Files.isRegularFile(file)) throw new ImageLoadException(file, Reason.NOT_A_FILE, "is not a regular file (a device, pipe or socket?)");
        if (!Files.isReadable(file)) throw new ImageLoadException(file, Reason.NOT_READABLE, "permission denied: this process may not read it");
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size == 0) throw new ImageLoadException(file, Reason.EMPTY, "the file is empty (0 bytes)");
            if (size > Integer.MAX_VALUE - 8) throw new ImageLoadException(file, Reason.TOO_LARGE, "the file has " + size + " bytes, too many to decode in memory");
            bytes = Files.readAllBytes(file);
        } catch (ImageLoadException e) {
            throw e;
        } catch (AccessDeniedException e) {
            throw new ImageLoadException(file, Reason.NOT_READABLE, "permission denied: " + e.getMessage(), e);
        } catch (NoSuchFileException e) {
            throw new ImageLoadException(file, Reason.NOT_FOUND, "no such file (removed while being read?)", e);
        } catch (IOException e) {
            throw new ImageLoadException(file, Reason.IO_ERROR, "read failed: " + e, e);
        }
        if (bytes.length == 0) throw new ImageLoadException(file, Reason.EMPTY, "the file is empty (0 bytes)");
        return decode(bytes, file, String.valueOf(file), minShortSide);
    }

    /** Decodes an image held in memory, at full size; {@code source} names it in error messages. */
    public RgbImage decode(byte[] bytes, String source) throws ImageLoadException {
        return decode(bytes, source, 0);
    }

    /** Decodes an image held in memory, perhaps reduced as {@link #decode(Path, int)} says. */
    public RgbImage decode(byte[] bytes, String source, int minShortSide) throws ImageLoadException {
        Objects.requireNonNull(bytes, "bytes");
        if (bytes.length == 0) throw new ImageLoadException(source, Reason.EMPTY, "no bytes", null);
        return decode(bytes, null, source, minShortSide);
    }

    /**
     * Converts an already decoded image. A CMYK image is refused (see the class comment); the alpha
     * policy applies.
     */
    public RgbImage convert(BufferedImage image, String source) throws ImageLoadException {
        return toRgb(image, null, source, "BufferedImage type " + image.getType());
    }

    private RgbImage toRgb(BufferedImage image, Path file, String source, String format) throws ImageLoadException {
        ColorModel cm = image.getColorModel();
        int csType = cm.getColorSpace().getType();
        if (csType == ColorSpace.TYPE_CMYK || csType == ColorSpace.TYPE_4CLR || cm.getNumColorComponents() == 4) {
            throw error(file, source, Reason.UNSUPPORTED_COLOR, cmykAdvice("a CMYK image"), null);
        }
        long pixels = (long) image.getWidth() * image.getHeight();
        if (pixels > maxPixels) throw error(file, source, Reason.TOO_LARGE, tooLarge(image.getWidth(), image.getHeight()), null);
        return new RgbImage(image.getWidth(), image.getHeight(), toPlanes(image, alphaPolicy), format);
    }

    private RgbImage decode(byte[] bytes, Path file, String source, int minShortSide) throws ImageLoadException {
        TurboJpeg.Mode mode = jpeg != null ? jpeg : TurboJpeg.mode();
        if (FormatSniffer.isJpeg(bytes) && mode != TurboJpeg.Mode.IMAGEIO && FormatSniffer.jpegComponents(bytes) != 4) {
            // The clean case only: a file libjpeg-turbo warns about, or refuses, is javax.imageio's to judge below.
            Optional<RgbImage> image = TurboJpeg.decode(bytes, maxPixels, mode == TurboJpeg.Mode.AUTO ? minShortSide : 0);
            if (image.isPresent()) return image.get();
        }
        List<String> warnings = new ArrayList<>();
        ImageReader reader = null;
        String format = FormatSniffer.name(bytes);
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw error(file, source, Reason.UNSUPPORTED_FORMAT, FormatSniffer.notAnImage(bytes), null);
            }
            reader = readers.next();
            format = reader.getFormatName().toUpperCase(Locale.ROOT);
            reader.setInput(in, true, true);
            reader.addIIOReadWarningListener((r, warning) -> warnings.add(warning));

            int width = reader.getWidth(0);
            int height = reader.getHeight(0);
            if (width <= 0 || height <= 0) throw error(file, source, Reason.CORRUPT, format + " header gives a size of " + width + "x" + height, null);
            if ((long) width * height > maxPixels) throw error(file, source, Reason.TOO_LARGE, tooLarge(width, height), null);
            if (FormatSniffer.isJpeg(bytes)) {
                int components = FormatSniffer.jpegComponents(bytes);
                if (components == 4) throw error(file, source, Reason.UNSUPPORTED_COLOR, cmykAdvice("a CMYK or YCCK JPEG (4 colour components)"), null);
            }

            BufferedImage image = reader.read(0);
            checkWarnings(file, source, format, warnings, true);
            if (image == null) throw error(file, source, Reason.CORRUPT, format + " decoder returned no image", null);
            if (image.getWidth() != width || image.getHeight() != height) {
                throw error(file, source, Reason.CORRUPT, format + " header says " + width + "x" + height + " but " + image.getWidth() + "x" + image.getHeight() + " was decoded", null);
            }
            return toRgb(image, file, source, format);
        } catch (ImageLoadException e) {
            throw e;
        } catch (IOException e) {
            // The bytes are in memory: an IOException from the decoder is about the data, not the disk.
            checkWarnings(file, source, format, warnings, false);
            // The GIF decoder reports running out of data as a bad block type; a GIF ends with 0x3B.
            boolean eof = hasCause(e, EOFException.class) || ("GIF".equals(format) && bytes[bytes.length - 1] != 0x3B);
            Reason reason = eof ? Reason.TRUNCATED : Reason.CORRUPT;
            String what = eof ? " data ends early (truncated file): " : " data is invalid: ";
            throw error(file, source, reason, format + what + describe(e), e);
        } catch (RuntimeException e) {
            // Several decoders throw unchecked exceptions (IndexOutOfBounds, IllegalArgument, NegativeArraySize) on bad data.
            checkWarnings(file, source, format, warnings, false);
            throw error(file, source, Reason.CORRUPT, format + " decoder failed on invalid data: " + describe(e), e);
        } finally {
            if (reader != null) reader.dispose();
        }
    }

    /**
     * Turns the JPEG decoder's warnings about missing data into errors. libjpeg warns "Missing EOI
     * marker" whenever the file ends without its end marker, and "premature end of data segment" when
     * the entropy-coded data ran out before the last block; only the second means pixels were made up.
     * So a file that lacks just its final marker still loads when decoding succeeded ({@code decoded})
     * with that single warning, and is reported as truncated otherwise (a file cut inside its headers
     * gives "Missing EOI" several times, with no data warning, and a grey picture).
     */
    private static void checkWarnings(Path file, String source, String format, List<String> warnings, boolean decoded)
            throws ImageLoadException {
        String missingEnd = null;
        String prematureEnd = null;
        for (String w : warnings) {
            String lower = w.toLowerCase(Locale.ROOT);
            if (missingEnd == null && (lower.contains("truncated") || lower.contains("missing eoi"))) missingEnd = w;
            if (prematureEnd == null && lower.contains("premature end")) prematureEnd = w;
        }
        // The decoder's end-of-file handling repeats "Missing EOI" when it runs out inside the headers.
        boolean onlyTheEndMarkerIsMissing = decoded && prematureEnd == null && warnings.size() == 1;
        if (missingEnd != null && !onlyTheEndMarkerIsMissing) {
            throw error(file, source, Reason.TRUNCATED, format + " data ends early (truncated file): the decoder warned \""
                    + missingEnd + "\"" + (prematureEnd != null ? " and \"" + prematureEnd + "\"" : ""), null);
        }
        if (prematureEnd != null) {
            throw error(file, source, Reason.CORRUPT, format + " data is corrupt: the decoder warned \"" + prematureEnd
                    + "\", so part of the picture would be made up", null);
        }
    }

    private static ImageLoadException error(Path file, String source, Reason reason, String detail, Throwable cause) {
        return file != null ? new ImageLoadException(file, reason, detail, cause) : new ImageLoadException(source, reason, detail, cause);
    }

    private String tooLarge(int width, int height) {
        return "the image is " + width + "x" + height + " = " + (long) width * height + " pixels, more than the limit of " + maxPixels;
    }

    private static String cmykAdvice(String what) {
        return what + ", which this loader does not convert (javax.imageio cannot decode it, or cannot be trusted to undo"
                + " Adobe's inverted CMYK); convert it to RGB first, e.g. `magick in.jpg -colorspace sRGB out.jpg`";
    }

    private static boolean hasCause(Throwable t, Class<? extends Throwable> type) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (type.isInstance(c)) return true;
            if (c.getCause() == c) break;
        }
        return false;
    }

    private static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (!sb.isEmpty()) sb.append(" <- ");
            String msg = c.getMessage();
            sb.append(c instanceof IIOException ? "" : c.getClass().getSimpleName() + (msg == null ? "" : ": "));
            if (msg != null) sb.append(msg);
            if (c.getCause() == c) break;
        }
        return sb.toString();
    }

    // ---- pixels

    /** The image as R, G, B float planes in 0..255, alpha handled by {@code alpha}. */
    static float[] toPlanes(BufferedImage image, AlphaPolicy alpha) {
        int w = image.getWidth();
        int h = image.getHeight();
        int plane = w * h;
        float[] out = new float[3 * plane];
        ColorModel cm = image.getColorModel();
        int csType = cm.getColorSpace().getType();
        int colours = cm.getNumColorComponents();
        int transfer = cm.getTransferType();
        boolean direct = cm instanceof ComponentColorModel
                && !cm.isAlphaPremultiplied()
                && (transfer == DataBuffer.TYPE_BYTE || transfer == DataBuffer.TYPE_USHORT)
                && ((csType == ColorSpace.TYPE_RGB && colours == 3) || (csType == ColorSpace.TYPE_GRAY && colours == 1));
        if (direct) {
            Raster raster = image.getRaster();
            int bands = raster.getNumBands();
            boolean hasAlpha = cm.hasAlpha() && bands == colours + 1;
            float[] scale = new float[bands];
            for (int b = 0; b < bands; b++) scale[b] = 255f / ((1 << cm.getComponentSize(b)) - 1);
            float alphaScale = hasAlpha ? 1f / ((1 << cm.getComponentSize(colours)) - 1) : 0f;
            int[] row = new int[w * bands];
            int x0 = raster.getMinX();
            int y0 = raster.getMinY();
            for (int y = 0; y < h; y++) {
                raster.getPixels(x0, y0 + y, w, 1, row);
                for (int x = 0, p = 0; x < w; x++, p += bands) {
                    float r, g, b;
                    if (colours == 1) {
                        r = g = b = row[p] * scale[0];
                    } else {
                        r = row[p] * scale[0];
                        g = row[p + 1] * scale[1];
                        b = row[p + 2] * scale[2];
                    }
                    int i = y * w + x;
                    if (hasAlpha && alpha != AlphaPolicy.DROP) {
                        store(out, i, plane, r, g, b, row[p + colours] * alphaScale, alpha);
                    } else {
                        out[i] = r;
                        out[plane + i] = g;
                        out[2 * plane + i] = b;
                    }
                }
            }
        } else {
            boolean hasAlpha = cm.hasAlpha();
            int[] argb = new int[w];
            for (int y = 0; y < h; y++) {
                image.getRGB(0, y, w, 1, argb, 0, w);
                for (int x = 0; x < w; x++) {
                    int p = argb[x];
                    int i = y * w + x;
                    float r = (p >>> 16) & 0xff;
                    float g = (p >>> 8) & 0xff;
                    float b = p & 0xff;
                    if (hasAlpha && alpha != AlphaPolicy.DROP) {
                        store(out, i, plane, r, g, b, (p >>> 24) / 255f, alpha);
                    } else {
                        out[i] = r;
                        out[plane + i] = g;
                        out[2 * plane + i] = b;
                    }
                }
            }
        }
        return out;
    }

    private static void store(float[] out, int i, int plane, float r, float g, float b, float a, AlphaPolicy policy) {
        float background = policy == AlphaPolicy.COMPOSITE_ON_WHITE ? 255f * (1f - a) : 0f;
        out[i] = r * a + background;
        out[plane + i] = g * a + background;
        out[2 * plane + i] = b * a + background;
    }
}
