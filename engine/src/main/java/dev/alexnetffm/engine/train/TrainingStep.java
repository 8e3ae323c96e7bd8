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
        return acts.forward.fc8.toArray();
    }

    /**
     * Host copies of the last step's forward activations (with dropout, as trained), by layer name: see
     * {@link AlexNet.Activations#byName()}. For inspecting what the network computed.
     */
    public Map<String, HostTensor> lastActivations() {
        if (acts == null) throw new IllegalStateException("no step has run yet");
        return HostTensor.copiesOf(acts.forward.byName());
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
        return HostTensor.copiesOf(velocities);
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
        Acts acts = actsFor(n);
        AlexNet.Activations a = acts.forward;
        AlexNet.Activations d = acts.gradients;
        net.forward(input, a, new AlexNet.Dropout(seed, step));
        // ---- loss
        float loss = b.softmaxCrossEntropy(d.fc8, a.fc8, labels);
        // ---- backward (d.X is the gradient with respect to activation X, of X's shape)
        b.linearBackwardWeight(g("fc8.weight"), g("fc8.bias"), d.fc8, a.drop7);
        b.linearBackwardData(d.fc7, d.fc8, p("fc8.weight"));
        b.dropoutBackward(d.fc7, d.fc7, c.dropout(), seed, AlexNet.DROPOUT7, step);
        activationBackward(d.fc7, d.fc7, a.fc7);
        b.linearBackwardWeight(g("fc7.weight"), g("fc7.bias"), d.fc7, a.drop6);
        b.linearBackwardData(d.fc6, d.fc7, p("fc7.weight"));
        b.dropoutBackward(d.fc6, d.fc6, c.dropout(), seed, AlexNet.DROPOUT6, step);
        activationBackward(d.fc6, d.fc6, a.fc6);
        b.linearBackwardWeight(g("fc6.weight"), g("fc6.bias"), d.fc6, a.pool5);
        b.linearBackwardData(d.pool5, d.fc6, p("fc6.weight"));
        // ---- the convolutional layers: a ReLU's gradient is applied by the op that produces the gradient of its
        // ---- output (relu = true below), a tanh's by a pass of its own
        boolean relu = c.activation() == AlexNetConfig.Activation.RELU;
        b.maxPoolBackward(d.conv5, d.pool5, a.conv5, c.pool(), relu);
        tanhBackward(d.conv5, a.conv5);
        b.conv2dBackwardWeight(g("conv5.weight"), g("conv5.bias"), d.conv5, a.conv4, AlexNet.CONV45);
        b.conv2dBackwardData(d.conv4, d.conv5, p("conv5.weight"), AlexNet.CONV45, relu ? a.conv4 : null);
        tanhBackward(d.conv4, a.conv4);
        b.conv2dBackwardWeight(g("conv4.weight"), g("conv4.bias"), d.conv4, a.conv3, AlexNet.CONV45);
        b.conv2dBackwardData(d.conv3, d.conv4, p("conv4.weight"), AlexNet.CONV45, relu ? a.conv3 : null);
        tanhBackward(d.conv3, a.conv3);
        b.conv2dBackwardWeight(g("conv3.weight"), g("conv3.bias"), d.conv3, a.pool2, AlexNet.CONV3);
        b.conv2dBackwardData(d.pool2, d.conv3, p("conv3.weight"), AlexNet.CONV3);
        if (c.lrn() != null) {
            b.maxPoolBackward(d.norm2, d.pool2, a.norm2, c.pool());
            b.lrnBackward(d.conv2, d.norm2, a.conv2, a.norm2, c.lrn(), relu);
        } else {
            b.maxPoolBackward(d.conv2, d.pool2, a.conv2, c.pool(), relu);
        }
        tanhBackward(d.conv2, a.conv2);
        b.conv2dBackwardWeight(g("conv2.weight"), g("conv2.bias"), d.conv2, a.pool1, AlexNet.CONV2);
        b.conv2dBackwardData(d.pool1, d.conv2, p("conv2.weight"), AlexNet.CONV2);
        if (c.lrn() != null) {
            b.maxPoolBackward(d.norm1, d.pool1, a.norm1, c.pool());
            b.lrnBackward(d.conv1, d.norm1, a.conv1, a.norm1, c.lrn(), relu);
        } else {
            b.maxPoolBackward(d.conv1, d.pool1, a.conv1, c.pool(), relu);
        }
        tanhBackward(d.conv1, a.conv1);
        b.conv2dBackwardWeight(g("conv1.weight"), g("conv1.bias"), d.conv1, input, AlexNet.CONV1);
        // ---- update
        for (var e : net.parameters().entrySet()) {
            b.sgdUpdate(e.getValue(), velocities.get(e.getKey()), grads.get(e.getKey()), sgd.learningRate(), sgd.momentum(), sgd.weightDecay());
        }
        return loss;
    }

    /** The gradient through the layer's non-linearity, from its output; in place. */
    private void activationBackward(Tensor dIn, Tensor dOut, Tensor out) {
        if (c.activation() == AlexNetConfig.Activation.TANH) b.tanhBackward(dIn, dOut, out);
        else b.reluBackward(dIn, dOut, out);
    }

    /** A convolutional layer's tanh gradient, in place; with ReLU nothing (the op that produced d applied it). */
    private void tanhBackward(Tensor d, Tensor out) {
        if (c.activation() == AlexNetConfig.Activation.TANH) b.tanhBackward(d, d, out);
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

    /**
     * For one batch size: the training forward pass's activations, and the gradients with respect to them, held in a
     * second set of the same shapes (gradients.conv5 is the gradient with respect to forward.conv5).
     */
    private static final class Acts implements AutoCloseable {
        final int n;
        final AlexNet.Activations forward;
        final AlexNet.Activations gradients;

        Acts(Backend b, AlexNetConfig c, int n) {
            this.n = n;
            this.forward = new AlexNet.Activations(b, c, n, true);
            try {
                this.gradients = new AlexNet.Activations(b, c, n, false);
            } catch (RuntimeException e) {
                forward.close();
                throw e;
            }
        }

        @Override
        public void close() {
            forward.close();
            gradients.close();
        }
    }
}
