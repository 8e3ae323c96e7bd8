package dev.alexnetffm.engine.data;

/**
 * Antialiased bilinear resampling of float planes: a separable tent (triangle) filter whose radius is
 * one input pixel when enlarging and {@code in / out} input pixels when reducing.
 *
 * <h2>Why this filter</h2>
 * Plain bilinear interpolation reads only the 2×2 input pixels around each sample point, so reducing
 * by more than 2× skips input pixels altogether and aliases (a fine checkerboard can come out as any
 * grey, or as stripes). Widening the tent with the reduction factor makes every input pixel contribute
 * with the weight of its overlap: it is the area-aware version of bilinear, with no separate prefilter
 * and no repeated halving (whose result depends on how the factor splits into powers of two). It is
 * the filter PIL's {@code Image.resize(..., BILINEAR)} uses, and so torchvision's {@code Resize} on PIL
 * images and on tensors with {@code antialias=True}: an image prepared here matches the usual PyTorch
 * ImageNet pipeline up to PIL's 8-bit rounding between its two passes.
 *
 * <h2>Geometry</h2>
 * Pixel centres sit at half-integers (PyTorch's {@code align_corners=False}): output pixel {@code o}
 * is centred at input coordinate {@code (o + 0.5) · in / out}. Input pixel {@code i} (centre
 * {@code i + 0.5}) gets weight {@code max(0, 1 − |i + 0.5 − centre| / s)} with {@code s =
 * max(1, in / out)}; weights are normalised to sum to one over the pixels inside the image, so edges
 * behave as if clamped. Enlarging by any factor, this is ordinary bilinear interpolation; at scale 1
 * it is the identity.
 *
 * <p>Only the requested window of the output is computed, so resize-then-crop costs the crop, not the
 * whole resized image.
 */
public final class ImageResampler {
    private ImageResampler() {}

    /** Resamples {@code src} ({@code channels} planes of {@code h × w}) to {@code outW × outH}. */
    public static float[] resize(float[] src, int channels, int w, int h, int outW, int outH) {
        return resizeWindow(src, channels, w, h, outW, outH, 0, 0, outW, outH);
    }

    /**
     * The window {@code [x0, x0 + cropW) × [y0, y0 + cropH)} of {@code src} resampled to
     * {@code outW × outH}: exactly the same values as resizing fully and cropping, computed directly.
     * Returns {@code channels} planes of {@code cropH × cropW}.
     */
    public static float[] resizeWindow(float[] src, int channels, int w, int h, int outW, int outH,
                                       int x0, int y0, int cropW, int cropH) {
        float[] dst = new float[channels * cropH * cropW];
        resizeWindowInto(src, channels, w, h, outW, outH, x0, y0, cropW, cropH, dst, 0);
        return dst;
    }

    /** As {@link #resizeWindow}, writing into {@code dst} from {@code offset}. */
    public static void resizeWindowInto(float[] src, int channels, int w, int h, int outW, int outH,
                                        int x0, int y0, int cropW, int cropH, float[] dst, int offset) {
        if (channels <= 0 || w <= 0 || h <= 0 || outW <= 0 || outH <= 0 || cropW <= 0 || cropH <= 0) {
            throw new IllegalArgumentException("sizes must be positive: channels " + channels + ", input " + w + "x" + h
                    + ", output " + outW + "x" + outH + ", window " + cropW + "x" + cropH);
        }
        if (src.length != (long) channels * w * h) {
            throw new IllegalArgumentException(channels + " planes of " + w + "x" + h + " need " + (long) channels * w * h + " floats, got " + src.length);
        }
        if (x0 < 0 || y0 < 0 || x0 + cropW > outW || y0 + cropH > outH) {
            throw new IllegalArgumentException("window " + cropW + "x" + cropH + " at (" + x0 + ", " + y0 + ") is not inside " + outW + "x" + outH);
        }
        if (offset < 0 || dst.length - offset < (long) channels * cropW * cropH) {
            throw new IllegalArgumentException("destination has " + dst.length + " floats, need " + (long) channels * cropW * cropH + " from offset " + offset);
        }
        if (w == outW && h == outH) {
            // Scale 1 (an image prepared at its final size): every tap's weight is 1 or 0, so the window is copied as it
            // is; the filter would give the same values (only a -0 would come out +0).
            for (int c = 0; c < channels; c++) {
                for (int i = 0; i < cropH; i++) {
                    System.arraycopy(src, c * w * h + (y0 + i) * w + x0, dst, offset + (c * cropH + i) * cropW, cropW);
                }
            }
            return;
        }
        filterInto(src, channels, w, h, outW, outH, x0, y0, cropW, cropH, dst, offset);
    }

    /** The two passes of the tent filter, for arguments {@link #resizeWindowInto} has checked. */
    static void filterInto(float[] src, int channels, int w, int h, int outW, int outH,
                           int x0, int y0, int cropW, int cropH, float[] dst, int offset) {
        Taps hx = Taps.of(w, outW, x0, cropW);
        Taps hy = Taps.of(h, outH, y0, cropH);
        int rowLo = hy.start[0];
        int rowHi = rowLo;
        for (int i = 0; i < cropH; i++) {
            rowLo = Math.min(rowLo, hy.start[i]);
            rowHi = Math.max(rowHi, hy.start[i] + hy.count[i]);
        }
        int rows = rowHi - rowLo;
        float[] tmp = new float[channels * rows * cropW];
        int planeSize = w * h, tmpPlane = rows * cropW;
        // Horizontal pass over the input rows the window needs, every channel at once (each tap's place and weight
        // read once for all of them); each output sums its taps in the same order as one channel alone would.
        for (int r = 0; r < rows; r++) {
            int srcRow = (rowLo + r) * w;
            int t = r * cropW;
            for (int j = 0; j < cropW; j++) {
                int s0 = srcRow + hx.start[j];
                int k0 = j * hx.stride;
                int n = hx.count[j];
                if (channels == 3) {
                    float a0 = 0f, a1 = 0f, a2 = 0f;
                    for (int k = 0; k < n; k++) {
                        float wk = hx.weight[k0 + k];
                        a0 += src[s0 + k] * wk;
                        a1 += src[planeSize + s0 + k] * wk;
                        a2 += src[2 * planeSize + s0 + k] * wk;
                    }
                    tmp[t + j] = a0;
                    tmp[tmpPlane + t + j] = a1;
                    tmp[2 * tmpPlane + t + j] = a2;
                } else {
                    for (int c = 0; c < channels; c++) {
                        float acc = 0f;
                        for (int k = 0; k < n; k++) acc += src[c * planeSize + s0 + k] * hx.weight[k0 + k];
                        tmp[c * tmpPlane + t + j] = acc;
                    }
                }
            }
        }
        for (int c = 0; c < channels; c++) {
            // Vertical pass.
            int out = offset + c * cropH * cropW;
            for (int i = 0; i < cropH; i++) {
                int k0 = i * hy.stride;
                int r0 = hy.start[i] - rowLo;
                int o = out + i * cropW;
                for (int j = 0; j < cropW; j++) dst[o + j] = 0f;
                for (int k = 0, n = hy.count[i]; k < n; k++) {
                    float wk = hy.weight[k0 + k];
                    int t = c * tmpPlane + (r0 + k) * cropW;
                    for (int j = 0; j < cropW; j++) dst[o + j] += tmp[t + j] * wk;
                }
            }
        }
    }

    /** The input taps and weights for output pixels {@code first .. first + count − 1} along one axis. */
    static final class Taps {
        final int[] start;
        final int[] count;
        final float[] weight;
        final int stride;

        private Taps(int[] start, int[] count, float[] weight, int stride) {
            this.start = start;
            this.count = count;
            this.weight = weight;
            this.stride = stride;
        }

        static Taps of(int in, int out, int first, int n) {
            double scale = (double) in / out;
            double filterScale = Math.max(scale, 1.0);
            double support = filterScale; // the tent's radius is 1 at filterScale 1
            int stride = (int) Math.ceil(support) * 2 + 1;
            int[] start = new int[n];
            int[] count = new int[n];
            float[] weight = new float[n * stride];
            double[] w = new double[stride];
            for (int j = 0; j < n; j++) {
                double centre = (first + j + 0.5) * scale;
                int lo = Math.max(0, (int) Math.floor(centre - support + 0.5));
                int hi = Math.min(in, (int) Math.floor(centre + support + 0.5));
                double sum = 0;
                int m = 0;
                for (int i = lo; i < hi && m < stride; i++, m++) {
                    double t = Math.abs(i + 0.5 - centre) / filterScale;
                    w[m] = t < 1.0 ? 1.0 - t : 0.0;
                    sum += w[m];
                }
                if (sum <= 0) { // cannot happen for in, out >= 1, but never divide by zero
                    int nearest = Math.min(in - 1, Math.max(0, (int) Math.floor(centre)));
                    lo = nearest;
                    m = 1;
                    w[0] = 1.0;
                    sum = 1.0;
                }
                start[j] = lo;
                count[j] = m;
                for (int k = 0; k < m; k++) weight[j * stride + k] = (float) (w[k] / sum);
            }
            return new Taps(start, count, weight, stride);
        }
    }
}
