package dev.alexnetffm.engine.backend;

import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * The reference backend: plain loops over Java arrays, written to be read. It is the specification the CUDA
 * kernels are tested against, and a slow but complete engine on machines without a GPU.
 */
public final class CpuBackend implements Backend {

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public HostTensor allocate(Shape shape) {
        return HostTensor.zeros(shape);
    }

    @Override
    public HostTensor fromArray(Shape shape, float[] data) {
        return new HostTensor(shape, data.clone());
    }

    @Override
    public void copyFromHost(Tensor dst, float[] src) {
        float[] d = data(dst);
        if (src.length < d.length) throw new IllegalArgumentException("copyFromHost: " + dst + " needs " + d.length + " floats, got " + src.length);
        System.arraycopy(src, 0, d, 0, d.length);
    }

    static float[] data(Tensor t) {
        if (t instanceof HostTensor h) return h.data();
        throw new IllegalArgumentException("the CPU backend got " + t + ": copy it to the host first (toArray)");
    }

    @Override
    public void fill(Tensor out, float value) {
        Arrays.fill(data(out), value);
    }

    // out = max(in, 0), NaN propagating (as PyTorch's ReLU does)
    @Override
    public void relu(Tensor out, Tensor in) {
        ShapeChecks.sameShape("relu", out, in);
        float[] o = data(out), x = data(in);
        for (int i = 0; i < x.length; i++) o[i] = x[i] > 0f || Float.isNaN(x[i]) ? x[i] : 0f;
    }

    // in is (N, C, inner); out[n, c, i] = in[n, c, i] + bias[c]
    @Override
    public void biasAdd(Tensor out, Tensor in, Tensor bias) {
        int channels = ShapeChecks.biasAdd(out, in, bias);
        float[] o = data(out), x = data(in), b = data(bias);
        int inner = (int) in.shape().sizeFrom(2);
        for (int i = 0; i < x.length; i++) o[i] = x[i] + b[(i / inner) % channels];
    }

    /*
     * The forward ops. Every output element is computed by exactly one thread, its sum running over the reduction
     * in one fixed order, so results are the same bits whatever the number of threads. Sums are float32 and
     * computed as written (Java never fuses a multiply and an add); the CUDA kernels may use FMA and another
     * order, which is why they are compared with a tolerance rather than bit for bit.
     */

    // in is (N, C, H, W), weight is (K, C/G, R, S), bias is (K), out is (N, K, P, Q), G = spec.groups().
    // out[n,k,p,q] = act(bias[k] + sum over (c, r, s) in that order of
    //                    weight[k,c,r,s] * in[n, g*C/G + c, p*stride - pad + r, q*stride - pad + s])
    // where g = k / (K/G) is k's group. Taps that fall in the zero padding are skipped: they add nothing (even for
    // a non-finite weight, where a literal 0 * w would give NaN).
    @Override
    public void conv2d(Tensor out, Tensor in, Tensor weight, Tensor bias, ConvSpec spec, boolean relu) {
        ShapeChecks.conv2d(out, in, weight, bias, spec);
        float[] o = data(out), x = data(in), w = data(weight), b = data(bias);
        int N = in.shape().dim(0), C = in.shape().dim(1), H = in.shape().dim(2), W = in.shape().dim(3);
        int K = weight.shape().dim(0), CG = weight.shape().dim(1), R = weight.shape().dim(2), S = weight.shape().dim(3);
        int P = out.shape().dim(2), Q = out.shape().dim(3);
        int stride = spec.stride(), pad = spec.pad(), KG = K / spec.groups();
        // One task per output plane (n, k). Within it the loops run (c, r, s) outside and the output positions
        // inside, so the innermost loop is a branch-free axpy over an output row: the ranges of p and q whose
        // taps land inside the image are computed once per (r, s) instead of testing every tap.
        IntStream.range(0, N * K).parallel().forEach(nk -> {
            int n = nk / K, k = nk % K;
            int firstChannel = k / KG * CG;
            int outPlane = nk * P * Q;
            Arrays.fill(o, outPlane, outPlane + P * Q, 0f);
            for (int c = 0; c < CG; c++) {
                int inPlane = (n * C + firstChannel + c) * H * W;
                for (int r = 0; r < R; r++) {
                    int pLo = firstInside(r - pad, stride, P), pHi = endInside(r - pad, stride, H, P);
                    for (int s = 0; s < S; s++) {
                        int qLo = firstInside(s - pad, stride, Q), qHi = endInside(s - pad, stride, W, Q);
                        float wv = w[((k * CG + c) * R + r) * S + s];
                        for (int p = pLo; p < pHi; p++) {
                            int oRow = outPlane + p * Q;
                            int xRow = inPlane + (p * stride + r - pad) * W + s - pad; // + q * stride is the column
                            for (int q = qLo; q < qHi; q++) o[oRow + q] += wv * x[xRow + q * stride];
                        }
                    }
                }
            }
            finish(o, outPlane, P * Q, b[k], relu);
        });
    }

    // in and out are (N, C, H, W). For each channel c of group g (channels [g*C/G, (g+1)*C/G)):
    // out[n,c,h,w] = in[n,c,h,w] * (k + alpha' * sum_{j in window(c)} in[n,j,h,w]^2)^-beta
    // window(c) = c - size/2 .. c + (size-1)/2 clipped to c's group; for odd sizes that is c +- size/2, for even
    // sizes it leans one channel before c, as PyTorch's LocalResponseNorm (which pads size/2 channels before and
    // (size-1)/2 after). alpha' is spec.effectiveAlpha(), computed in float.
    // Precision: the sum of squares and k + alpha' * sum are float; the power is (float) Math.pow(base, -beta),
    // the double result rounded once to float (pow in float has no Java counterpart; this is the closest to a
    // correctly rounded powf), and the output is one float multiply by it.
    @Override
    public void lrn(Tensor out, Tensor in, LrnSpec spec) {
        ShapeChecks.lrn(out, in, spec);
        float[] o = data(out), x = data(in);
        int N = in.shape().dim(0), C = in.shape().dim(1), HW = in.shape().dim(2) * in.shape().dim(3);
        int CG = C / spec.groups();
        int before = spec.size() / 2, after = (spec.size() - 1) / 2;
        float alpha = spec.effectiveAlpha(), k = spec.k();
        double negBeta = -(double) spec.beta();
        // One task per output plane (n, c); the plane holds the sum of squares until it is replaced by the result.
        IntStream.range(0, N * C).parallel().forEach(nc -> {
            int n = nc / C, c = nc % C;
            int groupStart = c / CG * CG;
            int lo = Math.max(c - before, groupStart), hi = Math.min(c + after, groupStart + CG - 1);
            int outPlane = nc * HW;
            Arrays.fill(o, outPlane, outPlane + HW, 0f);
            for (int j = lo; j <= hi; j++) {
                int inPlane = (n * C + j) * HW;
                for (int i = 0; i < HW; i++) o[outPlane + i] += x[inPlane + i] * x[inPlane + i];
            }
            for (int i = 0; i < HW; i++) {
                float base = k + alpha * o[outPlane + i];
                o[outPlane + i] = x[outPlane + i] * (float) Math.pow(base, negBeta);
            }
        });
    }

    // in is (N, C, H, W), out is (N, C, P, Q); no padding, so every window lies inside the input.
    // out[n,c,p,q] = max_{r, s < window} in[n, c, p*stride + r, q*stride + s]; a NaN in the window gives NaN
    // (Math.max propagates it, as PyTorch's max pooling does), so divergence is not hidden.
    @Override
    public void maxPool(Tensor out, Tensor in, PoolSpec spec) {
        ShapeChecks.maxPool(out, in, spec);
        float[] o = data(out), x = data(in);
        int N = in.shape().dim(0), C = in.shape().dim(1), H = in.shape().dim(2), W = in.shape().dim(3);
        int P = out.shape().dim(2), Q = out.shape().dim(3);
        int window = spec.window(), stride = spec.stride();
        IntStream.range(0, N * C).parallel().forEach(nc -> {
            int inPlane = nc * H * W, outPlane = nc * P * Q;
            for (int p = 0; p < P; p++) {
                for (int q = 0; q < Q; q++) {
                    float m = Float.NEGATIVE_INFINITY;
                    for (int r = 0; r < window; r++) {
                        int xRow = inPlane + (p * stride + r) * W + q * stride;
                        for (int s = 0; s < window; s++) m = Math.max(m, x[xRow + s]);
                    }
                    o[outPlane + p * Q + q] = m;
                }
            }
        });
    }

    // in is (N, C) (or (N, C1, H, W) read as (N, C1*H*W)), weight is (K, C), bias is (K), out is (N, K).
    // out[n,k] = act(bias[k] + sum_c weight[k,c] * in[n,c]), the sum running over c in order.
    @Override
    public void linear(Tensor out, Tensor in, Tensor weight, Tensor bias, boolean relu) {
        int[] nck = ShapeChecks.linear(out, in, weight, bias);
        int N = nck[0], C = nck[1], K = nck[2];
        float[] o = data(out), x = data(in), w = data(weight), b = data(bias);
        // One task per output feature k: its weight row stays in cache while it meets every input row.
        // Four rows of the batch go through it together, four independent sums that hide the add latency
        // (each still runs over c in order, so the bits are those of the plain loop).
        IntStream.range(0, K).parallel().forEach(k -> {
            int wRow = k * C;
            int n = 0;
            for (; n + 4 <= N; n += 4) {
                int x0 = n * C, x1 = x0 + C, x2 = x1 + C, x3 = x2 + C;
                float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
                for (int c = 0; c < C; c++) {
                    float wv = w[wRow + c];
                    s0 += wv * x[x0 + c];
                    s1 += wv * x[x1 + c];
                    s2 += wv * x[x2 + c];
                    s3 += wv * x[x3 + c];
                }
                o[n * K + k] = activate(b[k] + s0, relu);
                o[(n + 1) * K + k] = activate(b[k] + s1, relu);
                o[(n + 2) * K + k] = activate(b[k] + s2, relu);
                o[(n + 3) * K + k] = activate(b[k] + s3, relu);
            }
            for (; n < N; n++) {
                float sum = 0f;
                for (int c = 0; c < C; c++) sum += w[wRow + c] * x[n * C + c];
                o[n * K + k] = activate(b[k] + sum, relu);
            }
        });
    }

    // in and out are (N, K). For each row: m = max_k in[n,k]; out[n,k] = exp(in[n,k] - m) / sum_j exp(in[n,j] - m).
    // Unlike the other ops this one runs in double and rounds once at the end: in float, in - m alone costs a
    // relative error of |in - m| * 2^-24 after exp (6e-7 for a logit 10 below the max) and a sum of K = 1000
    // positive terms another ~6e-7, while the op is cheap (N * K elements) and its outputs are probabilities
    // read directly. Each exp is computed twice rather than stored, so that nothing is rounded before the
    // division. A NaN anywhere in a row makes the whole row NaN. out may be in.
    @Override
    public void softmax(Tensor out, Tensor in) {
        ShapeChecks.softmax(out, in);
        float[] o = data(out), x = data(in);
        int N = in.shape().dim(0), K = in.shape().dim(1);
        for (int n = 0; n < N; n++) {
            int row = n * K;
            float max = Float.NEGATIVE_INFINITY;
            for (int k = 0; k < K; k++) max = Math.max(max, x[row + k]);
            double sum = 0;
            for (int k = 0; k < K; k++) sum += Math.exp((double) x[row + k] - max);
            for (int k = 0; k < K; k++) o[row + k] = (float) (Math.exp((double) x[row + k] - max) / sum);
        }
    }

    /** The first of {@code count} output positions i whose input position i * stride + offset is >= 0. */
    private static int firstInside(int offset, int stride, int count) {
        return Math.clamp(Math.ceilDiv(-offset, stride), 0, count);
    }

    /** One past the last of {@code count} output positions i whose input position i * stride + offset is < size. */
    private static int endInside(int offset, int stride, int size, int count) {
        return Math.clamp(Math.ceilDiv(size - offset, stride), 0, count);
    }

    /** o[from .. from+count) = act(bias + o[...]): the sums become outputs. */
    private static void finish(float[] o, int from, int count, float bias, boolean relu) {
        if (relu) {
            for (int i = from; i < from + count; i++) o[i] = activate(bias + o[i], true);
        } else {
            for (int i = from; i < from + count; i++) o[i] = bias + o[i];
        }
    }

    /** The fused activation: ReLU when asked, NaN propagating as in {@link #relu(Tensor, Tensor)}. */
    private static float activate(float v, boolean relu) {
        return !relu || v > 0f || Float.isNaN(v) ? v : 0f;
    }

    // Training ops: being written (CPU reference and CUDA kernels in progress).
    @Override
    public void reluBackward(Tensor dIn, Tensor dOut, Tensor out) {
        throw new UnsupportedOperationException("reluBackward");
    }

    @Override
    public void conv2dBackwardData(Tensor dIn, Tensor dOut, Tensor weight, ConvSpec spec) {
        throw new UnsupportedOperationException("conv2dBackwardData");
    }

    @Override
    public void conv2dBackwardWeight(Tensor dWeight, Tensor dBias, Tensor dOut, Tensor in, ConvSpec spec) {
        throw new UnsupportedOperationException("conv2dBackwardWeight");
    }

    @Override
    public void lrnBackward(Tensor dIn, Tensor dOut, Tensor in, Tensor out, LrnSpec spec) {
        throw new UnsupportedOperationException("lrnBackward");
    }

    @Override
    public void maxPoolBackward(Tensor dIn, Tensor dOut, Tensor in, PoolSpec spec) {
        throw new UnsupportedOperationException("maxPoolBackward");
    }

    @Override
    public void linearBackwardData(Tensor dIn, Tensor dOut, Tensor weight) {
        throw new UnsupportedOperationException("linearBackwardData");
    }

    @Override
    public void linearBackwardWeight(Tensor dWeight, Tensor dBias, Tensor dOut, Tensor in) {
        throw new UnsupportedOperationException("linearBackwardWeight");
    }

    @Override
    public void dropoutForward(Tensor out, Tensor in, float p, long seed, int layer, long step) {
        throw new UnsupportedOperationException("dropoutForward");
    }

    @Override
    public void dropoutBackward(Tensor dIn, Tensor dOut, float p, long seed, int layer, long step) {
        throw new UnsupportedOperationException("dropoutBackward");
    }

    @Override
    public float softmaxCrossEntropy(Tensor dLogits, Tensor logits, int[] labels) {
        throw new UnsupportedOperationException("softmaxCrossEntropy");
    }

    @Override
    public void sgdUpdate(Tensor weight, Tensor velocity, Tensor grad, float lr, float momentum, float weightDecay) {
        throw new UnsupportedOperationException("sgdUpdate");
    }

    @Override
    public void synchronize() {}

    @Override
    public void close() {}
}
