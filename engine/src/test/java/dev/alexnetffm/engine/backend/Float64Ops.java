package dev.alexnetffm.engine.backend;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.function.ToDoubleFunction;

/**
 * The forward ops again, written from their definitions in float64 with the plainest loops, for finite-difference
 * gradient checks: a backward pass is checked against the derivative of these, not against the code it mirrors.
 */
final class Float64Ops {
    private Float64Ops() {}

    /** A convolution's geometry: in (n, c, h, w), weight (k, c/groups, r, s), out (n, k, p, q). */
    record Conv(int n, int c, int h, int w, int k, int r, int s, int stride, int pad, int groups) {
        int p() {
            return (h + 2 * pad - r) / stride + 1;
        }

        int q() {
            return (w + 2 * pad - s) / stride + 1;
        }

        ConvSpec spec() {
            return new ConvSpec(stride, pad, groups);
        }

        int[] inDims() {
            return new int[] {n, c, h, w};
        }

        int[] weightDims() {
            return new int[] {k, c / groups, r, s};
        }

        int[] outDims() {
            return new int[] {n, k, p(), q()};
        }

        @Override
        public String toString() {
            return "in " + n + "x" + c + "x" + h + "x" + w + ", " + k + " filters " + r + "x" + s + ", stride " + stride + ", pad " + pad
                    + ", groups " + groups;
        }
    }

    /** out[n,k,p,q] = bias[k] + sum_{c', r, s} weight[k,c',r,s] * in[n, g*C/G + c', p*stride - pad + r, q*stride - pad + s]. */
    static double[] conv2d(Conv g, double[] x, double[] w, double[] b) {
        int cg = g.c / g.groups, kg = g.k / g.groups;
        double[] out = new double[g.n * g.k * g.p() * g.q()];
        for (int n = 0; n < g.n; n++) {
            for (int k = 0; k < g.k; k++) {
                for (int p = 0; p < g.p(); p++) {
                    for (int q = 0; q < g.q(); q++) {
                        double sum = b[k];
                        for (int c = 0; c < cg; c++) {
                            for (int r = 0; r < g.r; r++) {
                                for (int s = 0; s < g.s; s++) {
                                    int h = p * g.stride - g.pad + r, wc = q * g.stride - g.pad + s;
                                    if (h < 0 || h >= g.h || wc < 0 || wc >= g.w) continue;
                                    int channel = k / kg * cg + c;
                                    sum += w[((k * cg + c) * g.r + r) * g.s + s] * x[((n * g.c + channel) * g.h + h) * g.w + wc];
                                }
                            }
                        }
                        out[((n * g.k + k) * g.p() + p) * g.q() + q] = sum;
                    }
                }
            }
        }
        return out;
    }

    /** b = a / (k + alpha' * sum_{j in window(c)} a_j^2)^beta, window(c) = c - size/2 .. c + (size-1)/2 in c's group. */
    static double[] lrn(double[] x, int N, int C, int HW, LrnSpec spec) {
        double alpha = spec.effectiveAlpha();
        int perGroup = C / spec.groups();
        double[] out = new double[x.length];
        for (int n = 0; n < N; n++) {
            for (int c = 0; c < C; c++) {
                int group = c / perGroup;
                for (int i = 0; i < HW; i++) {
                    double sum = 0;
                    for (int j = c - spec.size() / 2; j <= c + (spec.size() - 1) / 2; j++) {
                        if (j < group * perGroup || j >= (group + 1) * perGroup) continue;
                        double a = x[(n * C + j) * HW + i];
                        sum += a * a;
                    }
                    out[(n * C + c) * HW + i] = x[(n * C + c) * HW + i] / Math.pow(spec.k() + alpha * sum, spec.beta());
                }
            }
        }
        return out;
    }

    static double[] maxPool(double[] x, int N, int C, int H, int W, PoolSpec spec) {
        int P = spec.outSize(H), Q = spec.outSize(W);
        double[] out = new double[N * C * P * Q];
        for (int nc = 0; nc < N * C; nc++) {
            for (int p = 0; p < P; p++) {
                for (int q = 0; q < Q; q++) {
                    double m = Double.NEGATIVE_INFINITY;
                    for (int r = 0; r < spec.window(); r++) {
                        for (int s = 0; s < spec.window(); s++) m = Math.max(m, x[(nc * H + p * spec.stride() + r) * W + q * spec.stride() + s]);
                    }
                    out[(nc * P + p) * Q + q] = m;
                }
            }
        }
        return out;
    }

    /** out[n,k] = bias[k] + sum_c weight[k,c] * in[n,c]. */
    static double[] linear(double[] x, double[] w, double[] b, int N, int C, int K) {
        double[] out = new double[N * K];
        for (int n = 0; n < N; n++) {
            for (int k = 0; k < K; k++) {
                double sum = b[k];
                for (int c = 0; c < C; c++) sum += w[k * C + c] * x[n * C + c];
                out[n * K + k] = sum;
            }
        }
        return out;
    }

    static double[] relu(double[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = Math.max(x[i], 0);
        return out;
    }

    /** The mean over rows of -log softmax(logits)[label]. */
    static double softmaxCrossEntropy(double[] x, int[] labels, int N, int K) {
        double total = 0;
        for (int n = 0; n < N; n++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int k = 0; k < K; k++) max = Math.max(max, x[n * K + k]);
            for (int k = 0; k < K; k++) sum += Math.exp(x[n * K + k] - max);
            total += Math.log(sum) + max - x[n * K + labels[n]];
        }
        return total / N;
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    static double dot(double[] a, double[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) sum += a[i] * b[i];
        return sum;
    }

    /**
     * The gradient of {@code loss} at {@code x} by central differences, step 1e-6 relative (at least 1e-6), each
     * divided by the step actually taken ((x + h) - (x - h) in float64).
     */
    static double[] numericGradient(double[] x, ToDoubleFunction<double[]> loss) {
        double[] grad = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double xi = x[i], h = 1e-6 * Math.max(1, Math.abs(xi));
            x[i] = xi + h;
            double plus = loss.applyAsDouble(x);
            x[i] = xi - h;
            double minus = loss.applyAsDouble(x);
            x[i] = xi;
            grad[i] = (plus - minus) / ((xi + h) - (xi - h));
        }
        return grad;
    }

    /**
     * A float32 gradient against a float64 numeric one: every element within 1e-4 of (|want| + rms(want)) (the rms
     * term covers elements that are sums cancelling to near zero), and the relative L2 error under 5e-6 (measured: at most 3e-7).
     */
    static void assertGradient(String what, float[] got, double[] want) {
        if (got.length != want.length) fail(what + ": " + got.length + " elements, expected " + want.length);
        double wantSq = 0;
        for (double v : want) wantSq += v * v;
        double rms = Math.sqrt(wantSq / want.length), errSq = 0;
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs(got[i] - want[i]);
            if (!(err <= 1e-4 * (Math.abs(want[i]) + rms))) { // false for NaN
                fail(what + ": element " + i + " is " + got[i] + ", the numeric gradient " + want[i] + " (rms " + rms + ")");
            }
            errSq += err * err;
        }
        double relative = wantSq == 0 ? Math.sqrt(errSq) : Math.sqrt(errSq / wantSq);
        if (!(relative < 5e-6)) fail(what + ": relative L2 error " + relative + " against the numeric gradient");
    }
}
