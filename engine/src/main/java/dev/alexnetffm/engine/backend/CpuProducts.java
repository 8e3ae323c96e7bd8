package dev.alexnetffm.engine.backend;

import dev.alexnetffm.engine.tensor.Shape;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * The CPU backend's convolutions and fully connected layers as products of rows, several times faster than its
 * plain loops and the same bits.
 *
 * <p>Each result is a sum over terms: a convolution's over taps ((c, r, s) for an output, (k, r, s) for an input's
 * gradient, (n, p, q) for a weight's gradient), a fully connected layer's over inputs, outputs or images. Each term
 * gets a row: the values it multiplies at every position of the result (for a convolution, an input row of the
 * image as the filter tap sees it, zero where it falls in the padding), copied into an array of its own. A result
 * row is then {@code acc[i] = acc[i] + f0 * row0[i] + f1 * row1[i] + ...}, terms in their order, four per pass:
 * loops in which every array is read at the same index {@code i}, which the JIT turns into vector instructions (it
 * does not where two arrays are read at offsets that differ by a variable, as in the plain loops, for it cannot rule
 * out that they are one array). Rows are made a chunk of terms at a time and results are worked on in blocks of
 * rows and columns, so that what a pass reads stays in the caches.
 *
 * <p>Same bits as {@link CpuBackend}'s loops: every result element gets the same terms, in the same order, each
 * a float multiply and a float add (Java never fuses them, in vector code either), from {@code 0f}. The one
 * difference is a convolution's padding: a tap there multiplies a stored zero instead of being skipped. That adds a
 * signed zero, which leaves a sum unchanged (a float sum started at {@code +0f} is never {@code -0f}) as long as the
 * factor multiplying the zero is finite; {@code CpuBackend} uses its loops when it is not (see {@link #finite}).
 */
final class CpuProducts {
    private CpuProducts() {}

    /** Floats of rows made at once (about 1 MB), and columns and result rows per task. */
    private static final int CHUNK_FLOATS = 1 << 18, COLUMNS = 512, ROWS_PER_TASK = 8;

    /** The fewest images for which a fully connected layer runs as rows (a row as long as the batch). */
    static final int LINEAR_MIN_BATCH = 8;

    /** A convolution's sizes: input (N, C, H, W), weight (K, C/G, R, S), output (N, K, P, Q). */
    record Geometry(int N, int C, int H, int W, int K, int R, int S, int P, int Q, int stride, int pad, int groups) {
        static Geometry of(Shape in, Shape weight, Shape out, ConvSpec spec) {
            return new Geometry(in.dim(0), in.dim(1), in.dim(2), in.dim(3), weight.dim(0), weight.dim(2), weight.dim(3),
                    out.dim(2), out.dim(3), spec.stride(), spec.pad(), spec.groups());
        }

        int CG() {
            return C / groups;
        }

        int KG() {
            return K / groups;
        }
    }

    /** Whether every value is finite: then a zero times it is a signed zero, which a sum absorbs. */
    static boolean finite(float[] values) {
        for (float v : values) {
            if (!Float.isFinite(v)) return false;
        }
        return true;
    }

    /**
     * {@link CpuBackend#conv2d}: per image and group, the rows are the taps (c, r, s): row[p * Q + q] = in[n, c,
     * p * stride - pad + r, q * stride - pad + s], 0 in the padding; out[k] = act(bias[k] + sum of w[k, tap] * row).
     * The weights must be finite.
     */
    static void forward(float[] out, float[] in, float[] weight, float[] bias, Geometry g, boolean relu) {
        int CG = g.CG(), KG = g.KG(), rs = g.R() * g.S(), taps = CG * rs;
        int positions = g.P() * g.Q(), plane = g.H() * g.W();
        float[][] acc = new float[KG][positions];
        for (int n = 0; n < g.N(); n++) {
            for (int group = 0; group < g.groups(); group++) {
                int firstPlane = (n * g.C() + group * CG) * plane, firstFilter = group * KG, image = n;
                for (float[] row : acc) Arrays.fill(row, 0f);
                product(acc, weight, firstFilter * taps, taps, 1, taps, positions,
                        (row, tap) -> imageRow(row, in, firstPlane + tap / rs * plane, tap % rs / g.S(), tap % g.S(), g));
                IntStream.range(0, KG).parallel().forEach(j -> {
                    int k = firstFilter + j, outPlane = (image * g.K() + k) * positions;
                    float b = bias[k];
                    float[] sums = acc[j];
                    for (int i = 0; i < positions; i++) out[outPlane + i] = CpuBackend.activate(b + sums[i], relu);
                });
            }
        }
    }

    /**
     * {@link CpuBackend#conv2dBackwardData} for stride 1 (without the ReLU, which the caller applies): per image
     * and group the rows are the taps (k, r, s): row[h * W + w] = dOut[n, k, h + pad - r, w + pad - s], 0 outside
     * the output; dIn[c] = sum of weight[k, c', r, s] * row. The weights must be finite.
     */
    static void backwardData(float[] dIn, float[] dOut, float[] weight, Geometry g) {
        if (g.stride() != 1) throw new IllegalArgumentException("backwardData by rows needs stride 1, got " + g.stride());
        int CG = g.CG(), KG = g.KG(), rs = g.R() * g.S(), taps = KG * rs, pixels = g.H() * g.W();
        // The weights as (group, c', k, r, s): row c' of a group's matrix holds its taps in (k, r, s) order.
        float[] transposed = new float[g.groups() * CG * taps];
        for (int k = 0; k < g.K(); k++) {
            int group = k / KG;
            for (int c = 0; c < CG; c++) {
                System.arraycopy(weight, (k * CG + c) * rs, transposed, ((group * CG + c) * KG + k % KG) * rs, rs);
            }
        }
        float[][] acc = new float[CG][pixels];
        int outPlane = g.P() * g.Q();
        for (int n = 0; n < g.N(); n++) {
            for (int group = 0; group < g.groups(); group++) {
                int firstOutPlane = (n * g.K() + group * KG) * outPlane, firstInPlane = (n * g.C() + group * CG) * pixels;
                for (float[] row : acc) Arrays.fill(row, 0f);
                product(acc, transposed, group * CG * taps, taps, 1, taps, pixels,
                        (row, tap) -> gradientRow(row, dOut, firstOutPlane + tap / rs * outPlane, tap % rs / g.S(), tap % g.S(),
                                g));
                IntStream.range(0, CG).parallel()
                        .forEach(c -> System.arraycopy(acc[c], 0, dIn, firstInPlane + c * pixels, pixels));
            }
        }
    }

    /**
     * {@link CpuBackend#conv2dBackwardWeight}'s weights (not the bias): the rows are the positions (n, p, q), row
     * [(c', r, s)] = in[n, c, p * stride - pad + r, q * stride - pad + s], 0 in the padding; dWeight[k] = sum of
     * dOut[n, k, p, q] * row, images and positions in order. dOut must be finite.
     */
    static void backwardWeight(float[] dWeight, float[] dOut, float[] in, Geometry g) {
        int CG = g.CG(), KG = g.KG(), rs = g.R() * g.S(), taps = CG * rs, positions = g.P() * g.Q();
        for (int group = 0; group < g.groups(); group++) {
            int firstFilter = group * KG;
            float[][] acc = new float[KG][taps];
            for (int n = 0; n < g.N(); n++) {
                int firstPlane = (n * g.C() + group * CG) * g.H() * g.W();
                product(acc, dOut, (n * g.K() + firstFilter) * positions, positions, 1, positions, taps,
                        (row, position) -> positionRow(row, in, firstPlane, position / g.Q(), position % g.Q(), g));
            }
            for (int j = 0; j < KG; j++) System.arraycopy(acc[j], 0, dWeight, (firstFilter + j) * taps, taps);
        }
    }

    /** Fills {@code row} with the values term {@code t} multiplies. */
    private interface RowMaker {
        void make(float[] row, int t);
    }

    /**
     * acc[j][i] = acc[j][i] + sum over t < terms in order of factors[at + j * rowStride + t * termStride] * row_t[i],
     * for every j and every i < columns, where the rows come from {@code maker} a chunk at a time (in parallel).
     */
    private static void product(float[][] acc, float[] factors, int at, int rowStride, int termStride, int terms,
            int columns, RowMaker maker) {
        int chunk = Math.min(terms, Math.max(4, CHUNK_FLOATS / columns / 4 * 4));
        float[][] rows = new float[chunk][columns];
        int rowBlocks = Math.ceilDiv(acc.length, ROWS_PER_TASK), columnBlocks = Math.ceilDiv(columns, COLUMNS);
        for (int t0 = 0; t0 < terms; t0 += chunk) {
            int count = Math.min(chunk, terms - t0), first = at + t0 * termStride, firstTerm = t0;
            IntStream.range(0, count).parallel().forEach(j -> maker.make(rows[j], firstTerm + j));
            IntStream.range(0, rowBlocks * columnBlocks).parallel().forEach(task -> {
                int j0 = task / columnBlocks * ROWS_PER_TASK, from = task % columnBlocks * COLUMNS;
                int to = Math.min(columns, from + COLUMNS);
                for (int j = j0; j < Math.min(acc.length, j0 + ROWS_PER_TASK); j++) {
                    addRows(acc[j], factors, first + j * rowStride, termStride, rows, count, from, to);
                }
            });
        }
    }

    /**
     * acc[i] = (((acc[i] + f[at] * rows[0][i]) + f[at + stride] * rows[1][i]) + ...) for i in [from, to), four
     * rows a pass.
     */
    private static void addRows(float[] acc, float[] f, int at, int stride, float[][] rows, int count, int from, int to) {
        int t = 0;
        for (; t + 4 <= count; t += 4) {
            int a = at + t * stride;
            float f0 = f[a], f1 = f[a + stride], f2 = f[a + 2 * stride], f3 = f[a + 3 * stride];
            float[] r0 = rows[t], r1 = rows[t + 1], r2 = rows[t + 2], r3 = rows[t + 3];
            for (int i = from; i < to; i++) acc[i] = acc[i] + f0 * r0[i] + f1 * r1[i] + f2 * r2[i] + f3 * r3[i];
        }
        for (; t < count; t++) {
            float f0 = f[at + t * stride];
            float[] r0 = rows[t];
            for (int i = from; i < to; i++) acc[i] += f0 * r0[i];
        }
    }

    /**
     * {@link CpuBackend#linear} for a batch of at least {@link #LINEAR_MIN_BATCH}: out (N, K), in (N, C), weight
     * (K, C). The rows are the inputs c, row[n] = in[n, c]; out[n, k] = act(bias[k] + sum of weight[k, c] * row).
     */
    static void linear(float[] out, float[] in, float[] weight, float[] bias, int N, int C, int K, boolean relu) {
        float[][] acc = new float[K][N];
        product(acc, weight, 0, C, 1, C, N, (row, c) -> {
            for (int n = 0; n < N; n++) row[n] = in[n * C + c];
        });
        IntStream.range(0, K).parallel().forEach(k -> {
            for (int n = 0; n < N; n++) out[n * K + k] = CpuBackend.activate(bias[k] + acc[k][n], relu);
        });
    }

    /**
     * {@link CpuBackend#linearBackwardData}: dIn (N, C), dOut (N, K), weight (K, C). The rows are the weight's rows
     * k, copied a chunk at a time; dIn[n] = sum over k in order of dOut[n, k] * row.
     */
    static void linearBackwardData(float[] dIn, float[] dOut, float[] weight, int N, int C, int K) {
        float[][] acc = new float[N][C];
        product(acc, dOut, 0, K, 1, K, C, (row, k) -> System.arraycopy(weight, k * C, row, 0, C));
        IntStream.range(0, N).parallel().forEach(n -> System.arraycopy(acc[n], 0, dIn, n * C, C));
    }

    /**
     * {@link CpuBackend#linearBackwardWeight}'s weights (not the bias): dWeight (K, C), dOut (N, K), in (N, C). The
     * rows are the images, row[c] = in[n, c]; dWeight[k] = sum over n in order of dOut[n, k] * row. Each task works
     * out a block of result rows, a block of columns at a time, and copies it out, so that no second K x C array is
     * held.
     */
    static void linearBackwardWeight(float[] dWeight, float[] dOut, float[] in, int N, int C, int K) {
        float[][] rows = new float[N][];
        IntStream.range(0, N).parallel().forEach(n -> rows[n] = Arrays.copyOfRange(in, n * C, (n + 1) * C));
        IntStream.range(0, Math.ceilDiv(K, ROWS_PER_TASK)).parallel().forEach(block -> {
            int k0 = block * ROWS_PER_TASK, k1 = Math.min(K, k0 + ROWS_PER_TASK);
            float[][] acc = new float[k1 - k0][C];
            for (int from = 0; from < C; from += COLUMNS) {
                for (int k = k0; k < k1; k++) addRows(acc[k - k0], dOut, k, K, rows, N, from, Math.min(C, from + COLUMNS));
            }
            for (int k = k0; k < k1; k++) System.arraycopy(acc[k - k0], 0, dWeight, k * C, C);
        });
    }

    /** row[p * Q + q] = the input plane at (p * stride - pad + r, q * stride - pad + s), 0 outside it. */
    private static void imageRow(float[] row, float[] in, int plane, int r, int s, Geometry g) {
        int stride = g.stride(), P = g.P(), Q = g.Q(), W = g.W();
        int pLo = firstInside(r - g.pad(), stride, P), pHi = endInside(r - g.pad(), stride, g.H(), P);
        int qLo = firstInside(s - g.pad(), stride, Q), qHi = endInside(s - g.pad(), stride, W, Q);
        Arrays.fill(row, 0, P * Q, 0f);
        for (int p = pLo; p < pHi; p++) {
            int from = plane + (p * stride + r - g.pad()) * W + s - g.pad();
            if (stride == 1) {
                System.arraycopy(in, from + qLo, row, p * Q + qLo, qHi - qLo);
            } else {
                for (int q = qLo; q < qHi; q++) row[p * Q + q] = in[from + q * stride];
            }
        }
    }

    /** Stride 1: row[h * W + w] = the output-gradient plane at (h + pad - r, w + pad - s), 0 outside it. */
    private static void gradientRow(float[] row, float[] dOut, int plane, int r, int s, Geometry g) {
        int H = g.H(), W = g.W(), P = g.P(), Q = g.Q();
        Arrays.fill(row, 0, H * W, 0f);
        int hLo = Math.max(0, r - g.pad()), hHi = Math.min(H, P + r - g.pad());
        int wLo = Math.max(0, s - g.pad()), wHi = Math.min(W, Q + s - g.pad());
        if (wHi <= wLo) return;
        for (int h = hLo; h < hHi; h++) {
            System.arraycopy(dOut, plane + (h + g.pad() - r) * Q + wLo + g.pad() - s, row, h * W + wLo, wHi - wLo);
        }
    }

    /** row[(c', r, s)] = the group's input channel c' at (p * stride - pad + r, q * stride - pad + s), 0 outside it. */
    private static void positionRow(float[] row, float[] in, int firstPlane, int p, int q, Geometry g) {
        int R = g.R(), S = g.S(), H = g.H(), W = g.W(), top = p * g.stride() - g.pad(), left = q * g.stride() - g.pad();
        int rLo = Math.max(0, -top), rHi = Math.min(R, H - top), sLo = Math.max(0, -left), sHi = Math.min(S, W - left);
        Arrays.fill(row, 0f);
        if (rHi <= rLo || sHi <= sLo) return;
        for (int c = 0; c < g.CG(); c++) {
            int plane = firstPlane + c * H * W;
            for (int r = rLo; r < rHi; r++) {
                System.arraycopy(in, plane + (top + r) * W + left + sLo, row, (c * R + r) * S + sLo, sHi - sLo);
            }
        }
    }

    /** The first of {@code count} output positions i whose input position i * stride + offset is >= 0. */
    static int firstInside(int offset, int stride, int count) {
        return Math.clamp(Math.ceilDiv(-offset, stride), 0, count);
    }

    /** One past the last of {@code count} output positions i whose input position i * stride + offset is < size. */
    static int endInside(int offset, int stride, int size, int count) {
        return Math.clamp(Math.ceilDiv(size - offset, stride), 0, count);
    }
}
