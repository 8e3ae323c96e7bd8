package dev.alexnetffm.engine.backend;

import static dev.alexnetffm.engine.backend.CpuProducts.endInside;
import static dev.alexnetffm.engine.backend.CpuProducts.firstInside;

import dev.alexnetffm.engine.backend.CpuProducts.Geometry;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * The reference backend: plain loops over Java arrays, written to be read. It is the specification the CUDA
 * kernels are tested against, and a complete engine on machines without a GPU. The convolutions and fully
 * connected layers, where nearly all the time goes, run as products of rows ({@link CpuProducts}), the same bits as
 * their loops here, which remain the specification (and run where a convolution's factor is not finite, or where a
 * fully connected layer's batch is too small for rows of images).
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

    @Override
    public HostBuffer allocateHost(long floats) {
        return HostBuffer.allocate(floats);
    }

    /** A plain copy, done when it returns: the buffer is reusable at once (it gets no fence). */
    @Override
    public void copyFromHost(Tensor dst, HostBuffer src) {
        float[] d = data(dst);
        if (src.floats() < d.length) throw new IllegalArgumentException("copyFromHost: " + dst + " needs " + d.length + " floats, the host buffer has " + src.floats());
        MemorySegment.copy(src.segment(), ValueLayout.JAVA_FLOAT, 0, d, 0, d.length);
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

    // out = tanh(in), the double result rounded once to float
    @Override
    public void tanh(Tensor out, Tensor in) {
        ShapeChecks.sameShape("tanh", out, in);
        float[] o = data(out), x = data(in);
        for (int i = 0; i < x.length; i++) o[i] = (float) Math.tanh(x[i]);
    }

    // dIn = dOut * (1 - out * out): three float operations, each rounded (Java never fuses them)
    @Override
    public void tanhBackward(Tensor dIn, Tensor dOut, Tensor out) {
        ShapeChecks.activationBackward("tanhBackward", dIn, dOut, out);
        float[] dx = data(dIn), dy = data(dOut), y = data(out);
        for (int i = 0; i < dx.length; i++) dx[i] = dy[i] * (1f - y[i] * y[i]);
    }

    @Override
    public void add(Tensor out, Tensor a, Tensor b) {
        ShapeChecks.add(out, a, b);
        float[] o = data(out), x = data(a), y = data(b);
        for (int i = 0; i < o.length; i++) o[i] = x[i] + y[i];
    }

    // For each image n: one contiguous run of count * inner floats from src's channel srcOffset to dst's dstOffset.
    @Override
    public void copyChannels(Tensor dst, int dstOffset, Tensor src, int srcOffset, int count) {
        int inner = Math.toIntExact(ShapeChecks.copyChannels(dst, dstOffset, src, srcOffset, count));
        float[] d = data(dst), s = data(src);
        int n = dst.shape().dim(0), dc = dst.shape().dim(1), sc = src.shape().dim(1);
        for (int i = 0; i < n; i++) {
            System.arraycopy(s, (i * sc + srcOffset) * inner, d, (i * dc + dstOffset) * inner, count * inner);
        }
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
        Geometry geometry = Geometry.of(in.shape(), weight.shape(), out.shape(), spec);
        if (CpuProducts.finite(w)) {
            CpuProducts.forward(o, x, w, b, geometry, relu);
        } else {
            conv2dLoops(o, x, w, b, geometry, relu);
        }
    }

    /**
     * conv2d by its formula's loops, skipping the taps in the padding: for weights that are not all finite, and the
     * reference CpuProducts is held to bit for bit.
     */
    static void conv2dLoops(float[] o, float[] x, float[] w, float[] b, Geometry geometry, boolean relu) {
        int N = geometry.N(), C = geometry.C(), H = geometry.H(), W = geometry.W(), K = geometry.K(), CG = geometry.CG();
        int R = geometry.R(), S = geometry.S(), P = geometry.P(), Q = geometry.Q(), KG = geometry.KG();
        int stride = geometry.stride(), pad = geometry.pad();
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
        if (N >= CpuProducts.LINEAR_MIN_BATCH) {
            CpuProducts.linear(o, x, w, b, N, C, K, relu);
        } else {
            linearLoops(o, x, w, b, N, C, K, relu);
        }
    }

    /** linear by its formula's loops: for small batches, and the reference CpuProducts is held to bit for bit. */
    static void linearLoops(float[] o, float[] x, float[] w, float[] b, int N, int C, int K, boolean relu) {
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

    /** o[from .. from+count) = act(bias + o[...]): the sums become outputs. */
    private static void finish(float[] o, int from, int count, float bias, boolean relu) {
        if (relu) {
            for (int i = from; i < from + count; i++) o[i] = activate(bias + o[i], true);
        } else {
            for (int i = from; i < from + count; i++) o[i] = bias + o[i];
        }
    }

    /** The fused activation: ReLU when asked, NaN propagating as in {@link #relu(Tensor, Tensor)}. */
    static float activate(float v, boolean relu) {
        return !relu || v > 0f || Float.isNaN(v) ? v : 0f;
    }

    /*
     * The training ops. As in the forward ops, every output element is written by one thread, its sum running in
     * one fixed order stated beside the op, from 0f, in float32 (no FMA: Java never fuses), so the bits do not
     * depend on the number of threads. Loops that look like scatters (an output row updated inside a loop over
     * filter taps) give each element its terms in the stated order: they equal the gather form a kernel with one
     * thread per output element computes, bit for bit, when that kernel adds the same terms in the same order.
     */

    // out, dOut and dIn have one shape. dIn = out > 0 ? dOut : 0, and NaN where out is NaN (a diverged forward
    // pass shows in the gradients rather than being cut off); where out <= 0 the result is 0 whatever dOut is
    // (also NaN). dIn may be dOut.
    @Override
    public void reluBackward(Tensor dIn, Tensor dOut, Tensor out) {
        ShapeChecks.reluBackward(dIn, dOut, out);
        float[] d = data(dIn), g = data(dOut), y = data(out);
        for (int i = 0; i < y.length; i++) d[i] = reluGrad(g[i], y[i]);
    }

    private static float reluGrad(float dy, float y) {
        return y > 0f ? dy : Float.isNaN(y) ? Float.NaN : 0f;
    }

    // The ops that can end in a ReLU's gradient (the ReLU whose output they read): d[i] = reluGrad(d[i], y[i]) over
    // [from, to) after their own loops, as reluBackward(d, d, y) would.
    private static void throughRelu(float[] d, float[] y, int from, int to) {
        for (int i = from; i < to; i++) d[i] = reluGrad(d[i], y[i]);
    }

    // dOut is (N, K, P, Q), weight is (K, C/G, R, S), dIn is (N, C, H, W); c's group is g = c / (C/G), c' = c - g*C/G.
    // dIn[n,c,h,w] = sum over (k, r, s) in that order, k running over g's output channels g*K/G .. (g+1)*K/G - 1,
    //                of weight[k,c',r,s] * dOut[n,k,p,q]
    // for the taps with h = p*stride - pad + r and w = q*stride - pad + s, 0 <= p < P, 0 <= q < Q (a gather: the
    // input position finds the (p, r) and (q, s) pairs that read it; there are none for positions only the
    // padding's neighbours reach, or rows/columns the last window does not cover: those get 0).
    // With reluOut: then through the ReLU (see throughRelu).
    @Override
    public void conv2dBackwardData(Tensor dIn, Tensor dOut, Tensor weight, ConvSpec spec, Tensor reluOut) {
        ShapeChecks.conv2dBackwardData(dIn, dOut, weight, spec, reluOut);
        float[] d = data(dIn), g = data(dOut), w = data(weight), y = reluOut == null ? null : data(reluOut);
        Geometry geometry = Geometry.of(dIn.shape(), weight.shape(), dOut.shape(), spec);
        if (spec.stride() == 1 && CpuProducts.finite(w)) {
            CpuProducts.backwardData(d, g, w, geometry);
            int plane = geometry.H() * geometry.W();
            if (y != null) {
                IntStream.range(0, geometry.N() * geometry.C()).parallel().forEach(nc -> throughRelu(d, y, nc * plane, (nc + 1) * plane));
            }
        } else {
            conv2dBackwardDataLoops(d, g, w, y, geometry);
        }
    }

    /**
     * conv2dBackwardData by its formula's loops: for strides above 1 or weights that are not all finite, and the
     * reference CpuProducts is held to bit for bit. y is the ReLU's output, or null.
     */
    static void conv2dBackwardDataLoops(float[] d, float[] g, float[] w, float[] y, Geometry geometry) {
        int N = geometry.N(), C = geometry.C(), H = geometry.H(), W = geometry.W(), K = geometry.K(), CG = geometry.CG();
        int R = geometry.R(), S = geometry.S(), P = geometry.P(), Q = geometry.Q(), KG = geometry.KG();
        int stride = geometry.stride(), pad = geometry.pad();
        // One task per input plane (n, c), looping like the forward: (k, r, s) outside, output positions inside.
        // For a fixed (r, s) each (p, q) reaches a different (h, w), so every element still gets its terms in
        // (k, r, s) order, as the gather above.
        IntStream.range(0, N * C).parallel().forEach(nc -> {
            int n = nc / C, c = nc % C;
            int group = c / CG, cg = c % CG;
            int inPlane = nc * H * W;
            Arrays.fill(d, inPlane, inPlane + H * W, 0f);
            for (int k = group * KG; k < (group + 1) * KG; k++) {
                int outPlane = (n * K + k) * P * Q;
                for (int r = 0; r < R; r++) {
                    int pLo = firstInside(r - pad, stride, P), pHi = endInside(r - pad, stride, H, P);
                    for (int s = 0; s < S; s++) {
                        int qLo = firstInside(s - pad, stride, Q), qHi = endInside(s - pad, stride, W, Q);
                        float wv = w[((k * CG + cg) * R + r) * S + s];
                        for (int p = pLo; p < pHi; p++) {
                            int gRow = outPlane + p * Q;
                            int dRow = inPlane + (p * stride + r - pad) * W + s - pad; // + q * stride is the column
                            for (int q = qLo; q < qHi; q++) d[dRow + q * stride] += wv * g[gRow + q];
                        }
                    }
                }
            }
            if (y != null) throughRelu(d, y, inPlane, inPlane + H * W);
        });
    }

    // dOut is (N, K, P, Q), in is (N, C, H, W), dWeight is (K, C/G, R, S), dBias is (K); k's group is g = k / (K/G).
    // dWeight[k,c',r,s] = sum over (n, p, q) in that order of dOut[n,k,p,q] * in[n, g*C/G + c', p*stride - pad + r, q*stride - pad + s]
    //                     skipping the taps in the zero padding (they add nothing);
    // dBias[k]          = sum over (n, p, q) in that order of dOut[n,k,p,q].
    @Override
    public void conv2dBackwardWeight(Tensor dWeight, Tensor dBias, Tensor dOut, Tensor in, ConvSpec spec) {
        ShapeChecks.conv2dBackwardWeight(dWeight, dBias, dOut, in, spec);
        float[] dw = data(dWeight), db = data(dBias), g = data(dOut), x = data(in);
        Geometry geometry = Geometry.of(in.shape(), dWeight.shape(), dOut.shape(), spec);
        if (CpuProducts.finite(g)) {
            CpuProducts.backwardWeight(dw, g, x, geometry);
        } else {
            conv2dBackwardWeightLoops(dw, g, x, geometry);
        }
        int N = geometry.N(), K = geometry.K(), P = geometry.P(), Q = geometry.Q();
        IntStream.range(0, K).parallel().forEach(k -> {
            float sum = 0f;
            for (int n = 0; n < N; n++) {
                int outPlane = (n * K + k) * P * Q;
                for (int i = 0; i < P * Q; i++) sum += g[outPlane + i];
            }
            db[k] = sum;
        });
    }

    /**
     * conv2dBackwardWeight's weights by its formula's loops: for an output gradient that is not all finite, and the
     * reference CpuProducts is held to bit for bit.
     */
    static void conv2dBackwardWeightLoops(float[] dw, float[] g, float[] x, Geometry geometry) {
        int N = geometry.N(), C = geometry.C(), H = geometry.H(), W = geometry.W(), K = geometry.K(), CG = geometry.CG();
        int R = geometry.R(), S = geometry.S(), P = geometry.P(), Q = geometry.Q(), KG = geometry.KG();
        int stride = geometry.stride(), pad = geometry.pad();
        // One task per (k, c'): its R * S weights, each a dot product over the batch and the output plane.
        IntStream.range(0, K * CG).parallel().forEach(kc -> {
            int k = kc / CG, cg = kc % CG;
            int channel = k / KG * CG + cg;
            for (int r = 0; r < R; r++) {
                int pLo = firstInside(r - pad, stride, P), pHi = endInside(r - pad, stride, H, P);
                for (int s = 0; s < S; s++) {
                    int qLo = firstInside(s - pad, stride, Q), qHi = endInside(s - pad, stride, W, Q);
                    float sum = 0f;
                    for (int n = 0; n < N; n++) {
                        int outPlane = (n * K + k) * P * Q, inPlane = (n * C + channel) * H * W;
                        for (int p = pLo; p < pHi; p++) {
                            int gRow = outPlane + p * Q;
                            int xRow = inPlane + (p * stride + r - pad) * W + s - pad;
                            for (int q = qLo; q < qHi; q++) sum += g[gRow + q] * x[xRow + q * stride];
                        }
                    }
                    dw[(kc * R + r) * S + s] = sum;
                }
            }
        });
    }

    /*
     * LRN backward. in = a, out = b, dOut = dB, dIn = dA, all (N, C, H, W); per pixel, for channels c, j, i:
     *   scale_j = k + alpha' * sum_{i in window(j)} a_i^2,   b_j = a_j * scale_j^-beta,
     *   window(j) = j - before .. j + after clipped to j's group, before = size/2, after = (size-1)/2.
     * Differentiating, d b_j / d a_c = [j = c] scale_j^-beta - beta * a_j * scale_j^(-beta-1) * alpha' * 2 a_c * [c in window(j)], so
     *   dA_c = dB_c * scale_c^-beta - 2 alpha' beta a_c * sum_{j : c in window(j)} dB_j * b_j / scale_j.
     * c in window(j) <=> j - before <= c <= j + after (same group) <=> c - after <= j <= c + before: the set of j is
     * window(c) mirrored, c - after .. c + before clipped to c's group (the same group as j's, since c is in window(j)
     * and windows never leave their group). For odd sizes before = after and it is window(c) itself; for even sizes
     * it leans one channel after c instead of before.
     *
     * Float evaluation, in this order (every step one float operation unless it says double):
     *   sumSq_j = sum over i in window(j) ascending of a_i * a_i, from 0f     (bit for bit the forward's sum)
     *   scale_j = k + alpha' * sumSq_j                                      (alpha' = spec.effectiveAlpha(), a float)
     *   t_j     = (dB_j * b_j) / scale_j                                   (b_j read from out, not recomputed)
     *   acc_c   = sum over j = c - after .. c + before in c's group, ascending, of t_j, from 0f
     *   pow_c   = (float) Math.pow((double) scale_c, -(double) beta)       (the forward's power, in double, rounded once)
     *   coef    = (2f * alpha') * beta
     *   dA_c    = (dB_c * pow_c) - ((coef * a_c) * acc_c)
     * and with inFromRelu, through the ReLU that output a (see throughRelu).
     */
    @Override
    public void lrnBackward(Tensor dIn, Tensor dOut, Tensor in, Tensor out, LrnSpec spec, boolean inFromRelu) {
        ShapeChecks.lrnBackward(dIn, dOut, in, out, spec);
        float[] da = data(dIn), db = data(dOut), a = data(in), b = data(out);
        int N = in.shape().dim(0), C = in.shape().dim(1), HW = in.shape().dim(2) * in.shape().dim(3);
        int CG = C / spec.groups();
        int before = spec.size() / 2, after = (spec.size() - 1) / 2;
        float alpha = spec.effectiveAlpha(), k = spec.k(), coef = 2f * alpha * spec.beta();
        double negBeta = -(double) spec.beta();
        // Two passes per image, each one task per channel plane: the first writes t into a scratch image and
        // dB * pow into dIn, the second adds the neighbours' part. The scratch holds one image, not the batch.
        float[] t = new float[C * HW];
        for (int n = 0; n < N; n++) {
            int image = n * C * HW;
            IntStream.range(0, C).parallel().forEach(j -> {
                int groupStart = j / CG * CG;
                int lo = Math.max(j - before, groupStart), hi = Math.min(j + after, groupStart + CG - 1);
                int plane = image + j * HW;
                float[] sumSq = new float[HW];
                for (int i = lo; i <= hi; i++) {
                    int from = image + i * HW;
                    for (int e = 0; e < HW; e++) sumSq[e] += a[from + e] * a[from + e];
                }
                for (int e = 0; e < HW; e++) {
                    float scale = k + alpha * sumSq[e];
                    t[j * HW + e] = db[plane + e] * b[plane + e] / scale;
                    da[plane + e] = db[plane + e] * (float) Math.pow(scale, negBeta);
                }
            });
            IntStream.range(0, C).parallel().forEach(c -> {
                int groupStart = c / CG * CG;
                int lo = Math.max(c - after, groupStart), hi = Math.min(c + before, groupStart + CG - 1);
                int plane = image + c * HW;
                float[] acc = new float[HW];
                for (int j = lo; j <= hi; j++) {
                    for (int e = 0; e < HW; e++) acc[e] += t[j * HW + e];
                }
                for (int e = 0; e < HW; e++) da[plane + e] = da[plane + e] - coef * a[plane + e] * acc[e];
                if (inFromRelu) throughRelu(da, a, plane, plane + HW);
            });
        }
    }

    /*
     * Max pooling backward. in and dIn are (N, C, H, W), dOut is (N, C, P, Q).
     * Each window (p, q) chooses one input, its first maximum in row-major (r, s) order, by this exact scan:
     *   best = in[p*stride][q*stride]; chosen = (0, 0)
     *   for (r, s) in row-major order after (0, 0):
     *       v = in[p*stride + r][q*stride + s]
     *       if (!isNaN(best) && (v > best || isNaN(v))) { best = v; chosen = (r, s) }
     * so ties (equal values, also -0 and +0) keep the earlier element, and the first NaN wins and stays (the forward
     * returns NaN for such a window). Then
     *   dIn[n,c,h,w] = sum over windows (p, q) in row-major order that chose (h, w) of dOut[n,c,p,q], from 0f
     * (0 for an input no window chose). A window's gradient goes to one input only. With inFromRelu, then through the
     * ReLU that output in (see throughRelu).
     */
    @Override
    public void maxPoolBackward(Tensor dIn, Tensor dOut, Tensor in, PoolSpec spec, boolean inFromRelu) {
        ShapeChecks.maxPoolBackward(dIn, dOut, in, spec);
        float[] d = data(dIn), g = data(dOut), x = data(in);
        int N = in.shape().dim(0), C = in.shape().dim(1), H = in.shape().dim(2), W = in.shape().dim(3);
        int P = dOut.shape().dim(2), Q = dOut.shape().dim(3);
        int window = spec.window(), stride = spec.stride();
        IntStream.range(0, N * C).parallel().forEach(nc -> {
            int inPlane = nc * H * W, outPlane = nc * P * Q;
            // chosen[p*Q + q] = the in-plane index (h*W + w) that window (p, q) chose
            int[] chosen = new int[P * Q];
            for (int p = 0; p < P; p++) {
                for (int q = 0; q < Q; q++) {
                    int first = p * stride * W + q * stride;
                    int best = first;
                    for (int r = 0; r < window; r++) {
                        for (int s = 0; s < window; s++) {
                            int at = first + r * W + s;
                            float v = x[inPlane + at], m = x[inPlane + best];
                            if (!Float.isNaN(m) && (v > m || Float.isNaN(v))) best = at;
                        }
                    }
                    chosen[p * Q + q] = best;
                }
            }
            // The gather: input (h, w) lies in windows p = ceil((h - window + 1) / stride) .. floor(h / stride), the
            // same for q and w.
            for (int h = 0; h < H; h++) {
                int pLo = Math.max(0, Math.ceilDiv(h - window + 1, stride)), pHi = Math.min(P - 1, h / stride);
                for (int w = 0; w < W; w++) {
                    int qLo = Math.max(0, Math.ceilDiv(w - window + 1, stride)), qHi = Math.min(Q - 1, w / stride);
                    float sum = 0f;
                    for (int p = pLo; p <= pHi; p++) {
                        for (int q = qLo; q <= qHi; q++) {
                            if (chosen[p * Q + q] == h * W + w) sum += g[outPlane + p * Q + q];
                        }
                    }
                    d[inPlane + h * W + w] = sum;
                }
            }
            if (inFromRelu) throughRelu(d, x, inPlane, inPlane + H * W);
        });
    }

    // dOut is (N, K), weight is (K, C), dIn is (N, C) (or (N, C1, H, W) read as (N, C1*H*W)).
    // dIn[n,c] = sum over k in order of dOut[n,k] * weight[k,c], from 0f.
    @Override
    public void linearBackwardData(Tensor dIn, Tensor dOut, Tensor weight) {
        int[] nck = ShapeChecks.linearBackwardData(dIn, dOut, weight);
        int N = nck[0], C = nck[1], K = nck[2];
        float[] d = data(dIn), g = data(dOut), w = data(weight);
        CpuProducts.linearBackwardData(d, g, w, N, C, K);
    }

    /** linearBackwardData by its formula's loops: the reference CpuProducts is held to bit for bit. */
    static void linearBackwardDataLoops(float[] d, float[] g, float[] w, int N, int C, int K) {
        // One task per row n; k outside and c inside, so the inner loop is an axpy over a weight row and each
        // element still sums over k in order.
        IntStream.range(0, N).parallel().forEach(n -> {
            int dRow = n * C;
            Arrays.fill(d, dRow, dRow + C, 0f);
            for (int k = 0; k < K; k++) {
                float gv = g[n * K + k];
                int wRow = k * C;
                for (int c = 0; c < C; c++) d[dRow + c] += gv * w[wRow + c];
            }
        });
    }

    // dOut is (N, K), in is (N, C) (or (N, C1, H, W)), dWeight is (K, C), dBias is (K).
    // dWeight[k,c] = sum over n in order of dOut[n,k] * in[n,c], from 0f; dBias[k] = sum over n in order of dOut[n,k], from 0f.
    @Override
    public void linearBackwardWeight(Tensor dWeight, Tensor dBias, Tensor dOut, Tensor in) {
        int[] nck = ShapeChecks.linearBackwardWeight(dWeight, dBias, dOut, in);
        int N = nck[0], C = nck[1], K = nck[2];
        float[] dw = data(dWeight), db = data(dBias), g = data(dOut), x = data(in);
        CpuProducts.linearBackwardWeight(dw, g, x, N, C, K);
        IntStream.range(0, K).parallel().forEach(k -> {
            float bias = 0f;
            for (int n = 0; n < N; n++) bias += g[n * K + k];
            db[k] = bias;
        });
    }

    /** linearBackwardWeight's weights by its formula's loops: the reference CpuProducts is held to bit for bit. */
    static void linearBackwardWeightLoops(float[] dw, float[] g, float[] x, int N, int C, int K) {
        IntStream.range(0, K).parallel().forEach(k -> {
            int wRow = k * C;
            Arrays.fill(dw, wRow, wRow + C, 0f);
            for (int n = 0; n < N; n++) {
                float gv = g[n * K + k];
                int xRow = n * C;
                for (int c = 0; c < C; c++) dw[wRow + c] += gv * x[xRow + c];
            }
        });
    }

    // out = kept ? in * scale : +0f, with the mask and scale that Philox's Javadoc defines (element i is the flat
    // index; one Philox4x32-10 call decides elements 4b .. 4b + 3). out may be in.
    @Override
    public void dropoutForward(Tensor out, Tensor in, float p, long seed, int layer, long step) {
        ShapeChecks.dropout("dropoutForward", out, in, p);
        applyDropoutMask(data(out), data(in), p, seed, layer, step);
    }

    // dIn = kept ? dOut * scale : +0f with the forward's mask and scale: the same computation. dIn may be dOut.
    @Override
    public void dropoutBackward(Tensor dIn, Tensor dOut, float p, long seed, int layer, long step) {
        ShapeChecks.dropout("dropoutBackward", dIn, dOut, p);
        applyDropoutMask(data(dIn), data(dOut), p, seed, layer, step);
    }

    private static void applyDropoutMask(float[] o, float[] x, float p, long seed, int layer, long step) {
        float scale = Philox.dropoutScale(p);
        int blocks = Math.ceilDiv(x.length, 4);
        IntStream.range(0, blocks).parallel().forEach(block -> {
            int[] words = new int[4];
            Philox.dropoutBlock(seed, layer, step, block, words);
            for (int lane = 0; lane < 4 && 4 * block + lane < x.length; lane++) {
                int i = 4 * block + lane;
                o[i] = Philox.uniform(words[lane]) >= p ? x[i] * scale : 0f;
            }
        });
    }

    /*
     * Softmax cross-entropy. logits and dLogits are (N, K), labels (N). Per row n, with y = labels[n]:
     *   m       = max_k logits[n,k]                        float, Math.max (a NaN gives NaN)
     *   s       = sum over k ascending of exp((double) logits[n,k] - m), from 0.0   (double, as softmax's)
     *   loss_n  = (log(s) + (double) m) - (double) logits[n,y]                      (double)
     *   prob    = (float) (exp((double) logits[n,k] - m) / s)                       (double, rounded once)
     *   dLogits[n,k] = (prob - (k == y ? 1f : 0f)) / (float) N                     (float subtract, float divide)
     * returns (float) ((sum over n ascending of loss_n, from 0.0) / N), in double until the final rounding.
     * A NaN logit makes its row's loss and gradients NaN, and so the mean loss. This version also works with
     * dLogits = logits (a row is read whole before it is written), which the Backend contract does not promise.
     */
    @Override
    public float softmaxCrossEntropy(Tensor dLogits, Tensor logits, int[] labels) {
        int K = ShapeChecks.softmaxCrossEntropy(dLogits, logits, labels);
        float[] d = data(dLogits), x = data(logits);
        int N = logits.shape().dim(0);
        float floatN = N;
        double[] loss = new double[N];
        IntStream.range(0, N).parallel().forEach(n -> {
            int row = n * K, label = labels[n];
            float max = Float.NEGATIVE_INFINITY;
            for (int k = 0; k < K; k++) max = Math.max(max, x[row + k]);
            double sum = 0;
            for (int k = 0; k < K; k++) sum += Math.exp((double) x[row + k] - max);
            loss[n] = Math.log(sum) + max - x[row + label];
            for (int k = 0; k < K; k++) {
                float prob = (float) (Math.exp((double) x[row + k] - max) / sum);
                d[row + k] = (prob - (k == label ? 1f : 0f)) / floatN;
            }
        });
        double total = 0;
        for (int n = 0; n < N; n++) total += loss[n];
        return (float) (total / N);
    }

    /*
     * SGD with momentum and weight decay, the paper's update, per element in float with exactly this evaluation
     * order (each operator one correctly rounded float operation, nothing fused):
     *   decay = weightDecay * lr                                  (once per call)
     *   v = ((momentum * v) - (decay * w)) - (lr * grad)
     *   w = w + v                                                 (with the new v)
     * A CUDA kernel reproduces the bits with __fmul_rn / __fsub_rn / __fadd_rn (no FMA contraction).
     */
    @Override
    public void sgdUpdate(Tensor weight, Tensor velocity, Tensor grad, float lr, float momentum, float weightDecay) {
        ShapeChecks.sgdUpdate(weight, velocity, grad);
        float[] w = data(weight), v = data(velocity), g = data(grad);
        float decay = weightDecay * lr;
        for (int i = 0; i < w.length; i++) {
            v[i] = momentum * v[i] - decay * w[i] - lr * g[i];
            w[i] = w[i] + v[i];
        }
    }

    @Override
    public void synchronize() {}

    @Override
    public void close() {}
}
