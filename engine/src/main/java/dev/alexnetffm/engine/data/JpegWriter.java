package dev.alexnetffm.engine.data;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Optional;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;

/**
 * Encodes 8-bit images as baseline JPEG files: libjpeg-turbo where it loads and the {@code alexnet.jpeg} setting
 * allows it (see {@link TurboJpeg}), else javax.imageio. Both are libjpeg underneath, with the same quality scaling of
 * the standard quantisation tables, the accurate integer DCT and 4:2:0 chroma for colour; an image whose three planes
 * are equal is written as a one-component grey JPEG (a third of the data to decode, the same pixels back).
 */
final class JpegWriter {
    private JpegWriter() {}

    /**
     * {@code planes} (R, G and B planes of {@code width x height} samples, 0..255, rounded to the nearest integer and
     * clamped) as a JPEG at {@code quality} (1-100).
     */
    static byte[] encode(float[] planes, int width, int height, int quality, boolean turboJpeg) throws IOException {
        if (quality < 1 || quality > 100) throw new IllegalArgumentException("JPEG quality must be 1-100, got " + quality);
        int plane = width * height;
        if (planes.length != 3 * plane) {
            throw new IllegalArgumentException("3 planes of " + width + "x" + height + " need " + 3 * plane + " samples, got " + planes.length);
        }
        boolean grey = true;
        for (int i = 0; i < plane && grey; i++) grey = planes[i] == planes[plane + i] && planes[i] == planes[2 * plane + i];
        byte[] samples = new byte[(grey ? 1 : 3) * plane];
        if (grey) {
            for (int i = 0; i < plane; i++) samples[i] = toByte(planes[i]);
        } else {
            for (int i = 0, p = 0; i < plane; i++, p += 3) {
                samples[p] = toByte(planes[i]);
                samples[p + 1] = toByte(planes[plane + i]);
                samples[p + 2] = toByte(planes[2 * plane + i]);
            }
        }
        if (turboJpeg) {
            Optional<byte[]> jpeg = TurboJpeg.encode(samples, width, height, grey, quality);
            if (jpeg.isPresent()) return jpeg.get();
        }
        return imageIo(samples, width, height, grey, quality);
    }

    /** The sample rounded half up and clamped to 0..255 (a resampled value may stray a rounding error outside). */
    static byte toByte(float v) {
        int i = (int) Math.floor(v + 0.5f);
        return (byte) Math.max(0, Math.min(255, i));
    }

    private static byte[] imageIo(byte[] samples, int width, int height, boolean grey, int quality) throws IOException {
        BufferedImage image = new BufferedImage(width, height, grey ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_3BYTE_BGR);
        byte[] data = ((DataBufferByte) image.getRaster().getDataBuffer()).getData();
        if (grey) {
            System.arraycopy(samples, 0, data, 0, samples.length);
        } else {
            for (int p = 0; p < samples.length; p += 3) {  // TYPE_3BYTE_BGR stores B, G, R
                data[p] = samples[p + 2];
                data[p + 1] = samples[p + 1];
                data[p + 2] = samples[p];
            }
        }
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        try {
            ImageWriteParam param = writer.getDefaultWriteParam();
            param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            param.setCompressionQuality(quality / 100f);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (ImageOutputStream stream = ImageIO.createImageOutputStream(out)) {
                writer.setOutput(stream);
                writer.write(null, new IIOImage(image, null, null), param);
            }
            return out.toByteArray();
        } finally {
            writer.dispose();
        }
    }
}
