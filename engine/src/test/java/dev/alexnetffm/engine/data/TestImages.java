package dev.alexnetffm.engine.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.IntBinaryOperator;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;

/** Synthetic images for the data tests, written with javax.imageio. */
final class TestImages {
    private TestImages() {}

    /** An 8-bit RGB image whose pixel (x, y) is {@code rgb.applyAsInt(x, y)} (0xRRGGBB). */
    static BufferedImage rgb(int w, int h, IntBinaryOperator rgb) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, rgb.applyAsInt(x, y));
        return img;
    }

    /** An 8-bit grayscale image. */
    static BufferedImage gray(int w, int h, IntBinaryOperator value) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        WritableRaster r = img.getRaster();
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) r.setSample(x, y, 0, value.applyAsInt(x, y));
        return img;
    }

    /** A 16-bit RGB image, samples 0..65535 from the three functions. */
    static BufferedImage rgb16(int w, int h, IntBinaryOperator r, IntBinaryOperator g, IntBinaryOperator b) {
        ColorSpace cs = ColorSpace.getInstance(ColorSpace.CS_sRGB);
        ComponentColorModel cm = new ComponentColorModel(cs, false, false, java.awt.Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
        WritableRaster raster = cm.createCompatibleWritableRaster(w, h);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                raster.setSample(x, y, 0, r.applyAsInt(x, y));
                raster.setSample(x, y, 1, g.applyAsInt(x, y));
                raster.setSample(x, y, 2, b.applyAsInt(x, y));
            }
        }
        return new BufferedImage(cm, raster, false, null);
    }

    static Path write(BufferedImage img, String format, Path file) throws IOException {
        if (!ImageIO.write(img, format, file.toFile())) throw new IOException("no " + format + " writer for " + img);
        return file;
    }

    static byte[] bytes(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(img, format, out)) throw new IOException("no " + format + " writer for " + img);
        return out.toByteArray();
    }

    /** A JPEG at the highest quality, so that tests can compare it tightly with the source. */
    static Path writeJpeg(BufferedImage img, Path file) throws IOException {
        Files.write(file, jpeg(img, 1.0f, false));
        return file;
    }

    /** A JPEG at {@code quality} (0..1), baseline or progressive, as javax.imageio writes it (4:2:0 for colour). */
    static byte[] jpeg(BufferedImage img, float quality, boolean progressive) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ImageWriteParam p = writer.getDefaultWriteParam();
        p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        p.setCompressionQuality(quality);
        if (progressive) p.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
            writer.setOutput(ios);
            writer.write(null, new IIOImage(img, null, null), p);
        } finally {
            writer.dispose();
        }
        return out.toByteArray();
    }

    /** A 4-component (CMYK) JPEG, written from a raw raster. */
    static byte[] cmykJpeg(int w, int h) throws IOException {
        WritableRaster raster = WritableRaster.createInterleavedRaster(DataBuffer.TYPE_BYTE, w, h, 4, null);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) raster.setSample(x, y, x % 4, 200);
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
            writer.setOutput(ios);
            writer.write(null, new IIOImage(raster, null, null), null);
        } finally {
            writer.dispose();
        }
        return out.toByteArray();
    }
}
