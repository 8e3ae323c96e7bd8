package dev.alexnetffm.engine.train;

import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;
import dev.alexnetffm.engine.tensor.TensorGroup;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One SGD step of the paper's network: forward with dropout, softmax cross-entropy, backward through every layer,
 * and the momentum update of every parameter. Holds the gradients, the velocities (momentum) and the training
 * activations for one batch size; every op is deterministic, so the same seed gives the same weights.
 *
 * <p>Dropout follows fc6's and fc7's ReLUs (the paper's "first two fully-connected layers"); its mask is a
 * function of (seed, layer, step), so backward recomputes it rather than storing it.
 */
public final class TrainingStep implements AutoCloseable {
    private static final int DROPOUT6 = 6, DROPOUT7 = 7;

    private final AlexNet net;
    private final Backend b;
    private final AlexNetConfig c;
    private final long seed;
    private final Map<String, Tensor> grads = new LinkedHashMap<>();
    private final Map<String, Tensor> velocities = new LinkedHashMap<>();
    private final TensorGroup owned;
    private Acts acts;

    /** Velocities start at zero. */
    public TrainingStep(AlexNet net, long seed) {
        this.net = net;
        this.b = net.backend();
        this.c = net.config();
        this.seed = seed;
        this.owned = new TensorGroup(b);
        try {
            for (var e : net.parameters().entrySet()) {
                Shape s = e.getValue().shape();
                grads.put(e.getKey(), owned.allocate(s));
                Tensor v = owned.allocate(s);
                b.fill(v, 0f);
                velocities.put(e.getKey(), v);
            }
        } catch (RuntimeException ex) {
            close();
            throw ex;
        }
    }

    public AlexNet net() {
        return net;
    }

    /** The logits of the last step's forward pass (with dropout), copied to the host. */
    public float[] lastLogits() {
        return acts.f8.toArray();
    }

    /** The momentum buffers, by parameter name. */
    public Map<String, Tensor> velocities() {
        return velocities;
    }

    /** The last step's gradients, by parameter name. */
    public Map<String, Tensor> gradients() {
        return grads;
    }

    /** Host copies of the velocities (for checkpoints). */
    public Map<String, HostTensor> velocitiesToHost() {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        velocities.forEach((name, t) -> out.put(name, new HostTensor(t.shape(), t.toArray())));
        return out;
    }

    /** Replaces the velocities (when resuming from a checkpoint); shapes must match. */
    public void loadVelocities(Map<String, HostTensor> host) {
        for (var e : velocities.entrySet()) {
            HostTensor h = host.get(e.getKey());
            if (h == null || !h.shape().equals(e.getValue().shape())) {
                throw new IllegalArgumentException("checkpoint velocity " + e.getKey() + (h == null ? " is missing" : " has shape " + h.shape()
                        + ", expected " + e.getValue().shape()));
            }
        }
        for (var e : velocities.entrySet()) b.copyFromHost(e.getValue(), host.get(e.getKey()).data());
    }

    /**
     * One training step on a batch already on the backend: {@code input} (N, C, S, S), {@code labels} (N).
     * {@code step} numbers the step from 0 over the whole run (it keys the dropout masks). Returns the mean loss.
     */
    public float step(Tensor input, int[] labels, Sgd sgd, long step) {
        int n = input.shape().dim(0);
        Acts a = actsFor(n);
        boolean relu = c.activation() == AlexNetConfig.Activation.RELU;
        // ---- forward
        b.conv2d(a.c1, input, p("conv1.weight"), p("conv1.bias"), AlexNet.CONV1, relu);
        activate(a.c1);
        Tensor x = a.c1;
        if (c.lrn() != null) {
            b.lrn(a.n1, x, c.lrn());
            x = a.n1;
        }
        Tensor pool1In = x;
        b.maxPool(a.p1, x, c.pool());
        b.conv2d(a.c2, a.p1, p("conv2.weight"), p("conv2.bias"), AlexNet.CONV2, relu);
        activate(a.c2);
        x = a.c2;
        if (c.lrn() != null) {
            b.lrn(a.n2, x, c.lrn());
            x = a.n2;
        }
        Tensor pool2In = x;
        b.maxPool(a.p2, x, c.pool());
        b.conv2d(a.c3, a.p2, p("conv3.weight"), p("conv3.bias"), AlexNet.CONV3, relu);
        activate(a.c3);
        b.conv2d(a.c4, a.c3, p("conv4.weight"), p("conv4.bias"), AlexNet.CONV45, relu);
        activate(a.c4);
        b.conv2d(a.c5, a.c4, p("conv5.weight"), p("conv5.bias"), AlexNet.CONV45, relu);
        activate(a.c5);
        b.maxPool(a.p5, a.c5, c.pool());
        b.linear(a.f6, a.p5, p("fc6.weight"), p("fc6.bias"), relu);
        activate(a.f6);
        b.dropoutForward(a.d6, a.f6, c.dropout(), seed, DROPOUT6, step);
        b.linear(a.f7, a.d6, p("fc7.weight"), p("fc7.bias"), relu);
        activate(a.f7);
        b.dropoutForward(a.d7, a.f7, c.dropout(), seed, DROPOUT7, step);
        b.linear(a.f8, a.d7, p("fc8.weight"), p("fc8.bias"), false);
        // ---- loss
        float loss = b.softmaxCrossEntropy(a.g8, a.f8, labels);
        // ---- backward (gradient buffers of the activations: gX has X's shape)
        b.linearBackwardWeight(g("fc8.weight"), g("fc8.bias"), a.g8, a.d7);
        b.linearBackwardData(a.g7, a.g8, p("fc8.weight"));
        b.dropoutBackward(a.g7, a.g7, c.dropout(), seed, DROPOUT7, step);
        activationBackward(a.g7, a.g7, a.f7);
        b.linearBackwardWeight(g("fc7.weight"), g("fc7.bias"), a.g7, a.d6);
        b.linearBackwardData(a.g6, a.g7, p("fc7.weight"));
        b.dropoutBackward(a.g6, a.g6, c.dropout(), seed, DROPOUT6, step);
        activationBackward(a.g6, a.g6, a.f6);
        b.linearBackwardWeight(g("fc6.weight"), g("fc6.bias"), a.g6, a.p5);
        b.linearBackwardData(a.gp5, a.g6, p("fc6.weight"));
        b.maxPoolBackward(a.gc5, a.gp5, a.c5, c.pool());
        activationBackward(a.gc5, a.gc5, a.c5);
        b.conv2dBackwardWeight(g("conv5.weight"), g("conv5.bias"), a.gc5, a.c4, AlexNet.CONV45);
        b.conv2dBackwardData(a.gc4, a.gc5, p("conv5.weight"), AlexNet.CONV45);
        activationBackward(a.gc4, a.gc4, a.c4);
        b.conv2dBackwardWeight(g("conv4.weight"), g("conv4.bias"), a.gc4, a.c3, AlexNet.CONV45);
        b.conv2dBackwardData(a.gc3, a.gc4, p("conv4.weight"), AlexNet.CONV45);
        activationBackward(a.gc3, a.gc3, a.c3);
        b.conv2dBackwardWeight(g("conv3.weight"), g("conv3.bias"), a.gc3, a.p2, AlexNet.CONV3);
        b.conv2dBackwardData(a.gp2, a.gc3, p("conv3.weight"), AlexNet.CONV3);
        if (c.lrn() != null) {
            b.maxPoolBackward(a.gn2, a.gp2, pool2In, c.pool());
            b.lrnBackward(a.gc2, a.gn2, a.c2, a.n2, c.lrn());
        } else {
            b.maxPoolBackward(a.gc2, a.gp2, pool2In, c.pool());
        }
        activationBackward(a.gc2, a.gc2, a.c2);
        b.conv2dBackwardWeight(g("conv2.weight"), g("conv2.bias"), a.gc2, a.p1, AlexNet.CONV2);
        b.conv2dBackwardData(a.gp1, a.gc2, p("conv2.weight"), AlexNet.CONV2);
        if (c.lrn() != null) {
            b.maxPoolBackward(a.gn1, a.gp1, pool1In, c.pool());
            b.lrnBackward(a.gc1, a.gn1, a.c1, a.n1, c.lrn());
        } else {
            b.maxPoolBackward(a.gc1, a.gp1, pool1In, c.pool());
        }
        activationBackward(a.gc1, a.gc1, a.c1);
        b.conv2dBackwardWeight(g("conv1.weight"), g("conv1.bias"), a.gc1, input, AlexNet.CONV1);
        // ---- update
        for (var e : net.parameters().entrySet()) {
            b.sgdUpdate(e.getValue(), velocities.get(e.getKey()), grads.get(e.getKey()), sgd.learningRate(), sgd.momentum(), sgd.weightDecay());
        }
        return loss;
    }

    private void activate(Tensor t) {
        if (c.activation() == AlexNetConfig.Activation.TANH) b.tanh(t, t);
    }

    /** The gradient through the layer's non-linearity, from its output; in place. */
    private void activationBackward(Tensor dIn, Tensor dOut, Tensor out) {
        if (c.activation() == AlexNetConfig.Activation.TANH) b.tanhBackward(dIn, dOut, out);
        else b.reluBackward(dIn, dOut, out);
    }

    private Tensor p(String name) {
        return net.parameters().get(name);
    }

    private Tensor g(String name) {
        return grads.get(name);
    }

    private Acts actsFor(int n) {
        if (acts == null || acts.n != n) {
            if (acts != null) acts.close();
            acts = new Acts(b, c, n);
        }
        return acts;
    }

    @Override
    public void close() {
        if (acts != null) acts.close();
        acts = null;
        owned.close();
    }

    /** Activations of a training forward pass and the gradients with respect to them, for one batch size. */
    private static final class Acts implements AutoCloseable {
        final int n;
        final Tensor c1, n1, p1, c2, n2, p2, c3, c4, c5, p5, f6, d6, f7, d7, f8;
        final Tensor g8, g7, g6, gp5, gc5, gc4, gc3, gp2, gn2, gc2, gp1, gn1, gc1;
        private final TensorGroup group;

        Acts(Backend b, AlexNetConfig c, int n) {
            this.n = n;
            this.group = new TensorGroup(b);
            AlexNetConfig.Geometry geo = c.geometry();
            boolean lrn = c.lrn() != null;
            Shape s1 = Shape.of(n, 96, geo.conv1(), geo.conv1()), sp1 = Shape.of(n, 96, geo.pool1(), geo.pool1());
            Shape s2 = Shape.of(n, 256, geo.pool1(), geo.pool1()), sp2 = Shape.of(n, 256, geo.pool2(), geo.pool2());
            Shape s34 = Shape.of(n, 384, geo.pool2(), geo.pool2()), s5 = Shape.of(n, 256, geo.pool2(), geo.pool2());
            Shape sp5 = Shape.of(n, 256, geo.pool5(), geo.pool5()), sh = Shape.of(n, c.hidden()), so = Shape.of(n, c.classes());
            TensorGroup t = group;
            try {
                c1 = t.allocate(s1); n1 = t.allocateIf(lrn, s1); p1 = t.allocate(sp1);
                c2 = t.allocate(s2); n2 = t.allocateIf(lrn, s2); p2 = t.allocate(sp2);
                c3 = t.allocate(s34); c4 = t.allocate(s34); c5 = t.allocate(s5); p5 = t.allocate(sp5);
                f6 = t.allocate(sh); d6 = t.allocate(sh); f7 = t.allocate(sh); d7 = t.allocate(sh); f8 = t.allocate(so);
                g8 = t.allocate(so); g7 = t.allocate(sh); g6 = t.allocate(sh); gp5 = t.allocate(sp5); gc5 = t.allocate(s5);
                gc4 = t.allocate(s34); gc3 = t.allocate(s34); gp2 = t.allocate(sp2); gn2 = t.allocateIf(lrn, s2); gc2 = t.allocate(s2);
                gp1 = t.allocate(sp1); gn1 = t.allocateIf(lrn, s1); gc1 = t.allocate(s1);
            } catch (RuntimeException e) {
                group.close();
                throw e;
            }
        }

        @Override
        public void close() {
            group.close();
        }
    }
}
