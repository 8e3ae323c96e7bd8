package dev.alexnetffm.engine.data;

import dev.alexnetffm.engine.Setting;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * JPEG decoding with libjpeg-turbo's TurboJPEG API ({@code libturbojpeg.so.0}, Debian's {@code libturbojpeg0}), called
 * through the Foreign Function &amp; Memory API: about four times faster than javax.imageio on the same file, with
 * the same results (both are libjpeg: the accurate integer IDCT, the same upsampling and colour conversion). It also
 * encodes, for {@link JpegWriter}.
 * <p>
 * It only ever takes the clean case: a file it decodes without a warning or an error. Anything else (a truncated or
 * corrupt file, a format variant it refuses) returns empty, and {@link ImageDecoder} decodes that file with
 * javax.imageio, whose warnings it classifies: a file loads, or fails, with the same message either way.
 * <p>
 * A large picture can be decoded smaller: libjpeg's scaled inverse DCT turns each 8x8 block into 4x4, 2x2 or 1x1
 * pixels from its low frequencies (an antialiased reduction by 2, 4 or 8 at a fraction of the work), and what is left
 * to resize is a fraction of the pixels: a 12-megapixel photograph resized to 256 and cropped takes about 8 ms
 * instead of 90 (BENCHMARKS.md).
 * <p>
 * The system property {@value #PROPERTY} (else the environment's ALEXNET_JPEG) chooses: {@code auto} or unset,
 * libjpeg-turbo where it loads, large pictures reduced where the caller allows ({@link Mode#AUTO}); {@code full},
 * libjpeg-turbo at full size always, javax.imageio's samples bit for bit; {@code imageio}, javax.imageio only. Each
 * call has its own decompressor handle: thread-safe.
 */
final class TurboJpeg {
    static final String PROPERTY = "alexnet.jpeg";
    private static final String LIBRARY = "libturbojpeg.so.0";
    private static final int TJPF_RGB = 0, TJPF_GRAY = 6;
    private static final int TJSAMP_420 = 2, TJSAMP_GRAY = 3;
    private static final int TJFLAG_ACCURATEDCT = 4096;

    /** How JPEG files are decoded: the {@value #PROPERTY} setting. */
    enum Mode {
        /** libjpeg-turbo, a picture reduced by 2, 4 or 8 while decoding where it stays at least the size asked for. */
        AUTO,
        /** libjpeg-turbo, always at full size: javax.imageio's samples. */
        FULL,
        /** javax.imageio only. */
        IMAGEIO
    }

    private static final MethodHandle INIT, HEADER, DECOMPRESS, DESTROY, INIT_COMPRESS, COMPRESS, FREE;
    private static final String LOAD_FAILURE;

    static {
        MethodHandle init = null, header = null, decompress = null, destroy = null, initCompress = null, compress = null, free = null;
        String failure = null;
        try {
            SymbolLookup lib = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
            Linker linker = Linker.nativeLinker();
            init = linker.downcallHandle(lib.findOrThrow("tjInitDecompress"), FunctionDescriptor.of(ADDRESS));
            // int tjDecompressHeader3(tjhandle, const unsigned char *jpegBuf, unsigned long jpegSize, int *width,
            //                         int *height, int *jpegSubsamp, int *jpegColorspace)
            header = linker.downcallHandle(lib.findOrThrow("tjDecompressHeader3"),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
            // int tjDecompress2(tjhandle, const unsigned char *jpegBuf, unsigned long jpegSize, unsigned char *dstBuf,
            //                   int width, int pitch, int height, int pixelFormat, int flags)
            decompress = linker.downcallHandle(lib.findOrThrow("tjDecompress2"), FunctionDescriptor.of(JAVA_INT,
                    ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
            destroy = linker.downcallHandle(lib.findOrThrow("tjDestroy"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
            initCompress = linker.downcallHandle(lib.findOrThrow("tjInitCompress"), FunctionDescriptor.of(ADDRESS));
            // int tjCompress2(tjhandle, const unsigned char *srcBuf, int width, int pitch, int height, int pixelFormat,
            //                 unsigned char **jpegBuf, unsigned long *jpegSize, int jpegSubsamp, int jpegQual, int flags)
            compress = linker.downcallHandle(lib.findOrThrow("tjCompress2"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS,
                    JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT));
            free = linker.downcallHandle(lib.findOrThrow("tjFree"), FunctionDescriptor.ofVoid(ADDRESS));
        } catch (IllegalArgumentException | IllegalCallerException | NoSuchElementException e) {
            failure = LIBRARY + " could not be loaded (" + e.getMessage() + "); install Debian's libturbojpeg0 for "
                    + "faster JPEG decoding";
            init = header = decompress = destroy = initCompress = compress = free = null;
        }
        INIT = init;
        HEADER = header;
        DECOMPRESS = decompress;
        DESTROY = destroy;
        INIT_COMPRESS = initCompress;
        COMPRESS = compress;
        FREE = free;
        LOAD_FAILURE = failure;
    }

    /** The setting, parsed on first use; a bad value throws each time it is asked for. */
    private static volatile Mode mode;

    private TurboJpeg() {}

    /** System property alexnet.jpeg, else ALEXNET_JPEG: auto or unset, full, imageio. */
    static final Setting SETTING = new Setting(PROPERTY, "ALEXNET_JPEG", "use auto (libjpeg-turbo where libturbojpeg.so.0 "
            + "loads, large pictures reduced while decoding), full (libjpeg-turbo, always at full size) or imageio");
    private static final Map<String, Mode> VALUES = Map.of("auto", Mode.AUTO, "full", Mode.FULL, "imageio", Mode.IMAGEIO);

    static Mode parseSetting(String setting, String value) {
        return SETTING.parse(setting, value, Mode.AUTO, VALUES);
    }

    /** What the setting asks for (a bad value: an error naming the setting and its values). */
    static Mode mode() {
        Mode m = mode;
        if (m == null) mode = m = SETTING.read(Mode.AUTO, VALUES);
        return m;
    }

    /** Whether the setting allows libjpeg-turbo. */
    static boolean enabled() {
        return mode() != Mode.IMAGEIO;
    }

    /** Whether libturbojpeg.so.0 loaded (the setting aside). */
    static boolean loaded() {
        return LOAD_FAILURE == null;
    }

    /** Which library decodes JPEG files by default, in words, with the reason where it is javax.imageio. */
    static String describe() {
        Mode m = mode();
        if (m == Mode.IMAGEIO) return "javax.imageio (" + PROPERTY + " / ALEXNET_JPEG is imageio)";
        if (!loaded()) return "javax.imageio: " + LOAD_FAILURE;
        return "libjpeg-turbo (" + LIBRARY + ")" + (m == Mode.AUTO ? ", large pictures reduced by 2, 4 or 8 while decoding"
                : ", always at full size") + "; javax.imageio for files it warns about";
    }

    /**
     * The largest reduction (1, 2, 4 or 8) that keeps the short side of a {@code width x height} picture at least
     * {@code minShortSide} once libjpeg has scaled it (each side rounded up).
     */
    static int reduction(int width, int height, int minShortSide) {
        int shortSide = Math.min(width, height);
        for (int r = 8; r > 1; r /= 2) if (minShortSide > 0 && (shortSide + r - 1) / r >= minShortSide) return r;
        return 1;
    }

    /** The JPEG at full size: see {@link #decode(byte[], long, int)}. */
    static Optional<RgbImage> decode(byte[] jpeg, long maxPixels) {
        return decode(jpeg, maxPixels, 0);
    }

    /**
     * The JPEG in {@code jpeg} as R, G, B float planes (0..255; a greyscale JPEG gives R = G = B), reduced by the
     * {@link #reduction} that keeps its short side at least {@code minShortSide} (0: full size), or empty where
     * libjpeg-turbo warned or failed, or the image has more than {@code maxPixels} pixels at full size: then
     * javax.imageio decides.
     */
    static Optional<RgbImage> decode(byte[] jpeg, long maxPixels, int minShortSide) {
        if (!loaded()) return Optional.empty();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = (MemorySegment) INIT.invokeExact();
            if (handle.equals(MemorySegment.NULL)) return Optional.empty();
            try {
                MemorySegment src = arena.allocate(jpeg.length);
                MemorySegment.copy(jpeg, 0, src, JAVA_BYTE, 0, jpeg.length);
                MemorySegment dims = arena.allocate(JAVA_INT, 4);  // width, height, subsampling, colour space
                int rc = (int) HEADER.invokeExact(handle, src, (long) jpeg.length,
                        dims, dims.asSlice(4), dims.asSlice(8), dims.asSlice(12));
                int w = dims.getAtIndex(JAVA_INT, 0), h = dims.getAtIndex(JAVA_INT, 1);
                long pixels = (long) w * h;
                if (rc != 0 || w <= 0 || h <= 0 || pixels > maxPixels || pixels > Integer.MAX_VALUE / 3) return Optional.empty();
                int r = reduction(w, h, minShortSide);
                w = (w + r - 1) / r;  // the size libjpeg scales to: TJSCALED(side, 1/r)
                h = (h + r - 1) / r;
                int plane = w * h;
                MemorySegment rgb = arena.allocate(3L * plane);
                rc = (int) DECOMPRESS.invokeExact(handle, src, (long) jpeg.length, rgb, w, 3 * w, h, TJPF_RGB, TJFLAG_ACCURATEDCT);
                if (rc != 0) return Optional.empty();  // a warning (data made up or skipped) or an error
                byte[] bytes = rgb.toArray(JAVA_BYTE);
                float[] planes = new float[3 * plane];
                for (int i = 0, p = 0; i < plane; i++, p += 3) {
                    planes[i] = bytes[p] & 0xff;
                    planes[plane + i] = bytes[p + 1] & 0xff;
                    planes[2 * plane + i] = bytes[p + 2] & 0xff;
                }
                return Optional.of(new RgbImage(w, h, planes, "JPEG"));
            } finally {
                int ignored = (int) DESTROY.invokeExact(handle);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("calling " + LIBRARY, t);
        }
    }

    /**
     * {@code samples} ({@code width x height} pixels, R, G, B interleaved, or one grey sample per pixel where {@code
     * grey}) as a baseline JPEG at {@code quality} (1-100; colour 4:2:0, libjpeg's accurate integer DCT), or empty
     * where the library did not load.
     */
    static Optional<byte[]> encode(byte[] samples, int width, int height, boolean grey, int quality) throws IOException {
        if (!loaded()) return Optional.empty();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = (MemorySegment) INIT_COMPRESS.invokeExact();
            if (handle.equals(MemorySegment.NULL)) throw new IOException(LIBRARY + " could not make a JPEG compressor");
            try {
                MemorySegment src = arena.allocateFrom(JAVA_BYTE, samples);
                MemorySegment out = arena.allocate(ADDRESS);  // the library allocates the JPEG's buffer; tjFree frees it
                MemorySegment size = arena.allocate(JAVA_LONG);
                int channels = grey ? 1 : 3;
                int rc = (int) COMPRESS.invokeExact(handle, src, width, channels * width, height, grey ? TJPF_GRAY : TJPF_RGB,
                        out, size, grey ? TJSAMP_GRAY : TJSAMP_420, quality, TJFLAG_ACCURATEDCT);
                MemorySegment jpeg = out.get(ADDRESS, 0);
                try {
                    if (rc != 0 || jpeg.equals(MemorySegment.NULL)) {
                        throw new IOException(LIBRARY + " failed to encode a " + width + "x" + height + " JPEG (tjCompress2 returned " + rc + ")");
                    }
                    return Optional.of(jpeg.reinterpret(size.get(JAVA_LONG, 0)).toArray(JAVA_BYTE));
                } finally {
                    if (!jpeg.equals(MemorySegment.NULL)) FREE.invokeExact(jpeg);
                }
            } finally {
                int ignored = (int) DESTROY.invokeExact(handle);
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("calling " + LIBRARY, t);
        }
    }
}
