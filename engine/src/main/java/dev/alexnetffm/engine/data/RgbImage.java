package dev.alexnetffm.engine.data;

/**
 * A decoded image as three float planes, R then G then B, each {@code height × width} in row-major
 * order, values in 0..255 pixel units (16-bit sources keep their extra precision: v16 · 255 / 65535).
 *
 * @param planes  {@code 3 · height · width} floats; not copied, so do not share a mutable array
 * @param format  the decoder's format name ("png", "JPEG", ...) or a description of the source
 */
public record RgbImage(int width, int height, float[] planes, String format) {
    public RgbImage {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("image size " + width + "x" + height + " must be positive");
        if (planes.length != 3L * width * height) {
            throw new IllegalArgumentException("a " + width + "x" + height + " RGB image needs " + 3L * width * height + " floats, got " + planes.length);
        }
    }

    /** Value of channel {@code c} (0 R, 1 G, 2 B) at column {@code x}, row {@code y}. */
    public float get(int c, int x, int y) {
        return planes[(c * height + y) * width + x];
    }

    @Override
    public String toString() {
        return "RgbImage[" + width + "x" + height + ", " + format + "]";
    }
}
