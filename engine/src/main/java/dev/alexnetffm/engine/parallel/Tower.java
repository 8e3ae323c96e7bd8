package dev.alexnetffm.engine.parallel;

import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.backend.ConvSpec;
import dev.alexnetffm.engine.backend.LrnSpec;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;
import dev.alexnetffm.engine.tensor.TensorGroup;
import dev.alexnetffm.engine.train.Sgd;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One of the paper's two towers on its lane: half of every layer's output channels (the first half for tower A,
 * the second for B), with its parameters, activations, gradients and momentum, and the ops of a forward and a
 * backward pass in the order its worker queues them.
 *
 * <p>Each parameter is split along its first dimension, so a tower's conv2, conv4 and conv5 are ungrouped
 * convolutions over its own channels, and its conv3 and fully connected layers read both towers' channels:
 * those inputs are joined from the tower's own half and the half that arrives from the other tower. Dropout is
 * applied to the joined fc6 and fc7 outputs, identically on both towers, so that its mask keeps the one-device
 * network's element indexing. In backward, a layer that read both towers' channels yields a partial gradient
 * for all of them; each tower sends the other its half and adds the half it receives to its own.
 */
final class Tower implements AutoCloseable {
    private static final ConvSpec CONV2 = new ConvSpec(1, 2, 1), CONV345 = new ConvSpec(1, 1, 1);

    final int index;
    private final String label;
    final Lane lane;
    private final Backend b;
    private final AlexNetConfig c;
    private final LrnSpec lrn;
    private final Map<String, Tensor> params = new LinkedHashMap<>();
    private final TensorGroup owned;
    private Map<String, Tensor> grads, velocities;
    /** Set for the duration of a traced step. */
    private Timeline trace;

    /** Tower {@code index} (0 = A, 1 = B) of {@code config}, its weights cut from the whole network's. */
    Tower(int index, Lane lane, AlexNetConfig config, Map<String, HostTensor> weights) {
        this.index = index;
        this.label = index == 0 ? "A" : "B";
        this.lane = lane;
        this.b = lane.backend();
        b.sliceLayers(2);  // every layer here is half of the network's: its sums ordered as for the whole layer
        this.c = config;
        this.lrn = config.lrn() == null ? null
                : new LrnSpec(config.lrn().size(), config.lrn().alpha(), config.lrn().beta(), config.lrn().k(), config.lrn().groups() / 2,
                config.lrn().alphaOverSize());
        this.owned = new TensorGroup(b);
        try {
            for (var e : weights.entrySet()) {
                HostTensor half = half(e.getValue(), index);
                Tensor t = owned.allocate(half.shape());
                b.copyFromHost(t, half.data());
                params.put(e.getKey(), t);
            }
        } catch (RuntimeException e) {
            owned.close();
            throw e;
        }
    }

    /** Rows [i * d0 / 2, (i + 1) * d0 / 2) of a parameter whose first dimension is d0: tower i's part. */
    static HostTensor half(HostTensor whole, int i) {
        Shape s = whole.shape();
        int[] dims = s.dims().clone();
        dims[0] /= 2;
        Shape h = Shape.of(dims);
        int n = h.intSize();
        return new HostTensor(h, Arrays.copyOfRange(whole.data(), i * n, (i + 1) * n));
    }

    Map<String, Tensor> parameters() {
        return params;
    }

    Map<String, Tensor> gradients() {
        return grads;
    }

    Map<String, Tensor> velocities() {
        return velocities;
    }

    /** Allocates the gradients and the velocities (zero). */
    void enableTraining() {
        if (grads != null) return;
        grads = new LinkedHashMap<>();
        velocities = new LinkedHashMap<>();
        for (var e : params.entrySet()) {
            grads.put(e.getKey(), owned.allocate(e.getValue().shape()));
            Tensor v = owned.allocate(e.getValue().shape());
            b.fill(v, 0f);
            velocities.put(e.getKey(), v);
        }
    }

    void trace(Timeline timeline) {
        this.trace = timeline;
    }

    // ---------------------------------------------------------------- forward

    /**
     * Queues the forward pass of this tower for the input already in {@code a.input}. With {@code dropout}, the
     * training pass. Tower A ends with the joined logits in {@code a.logits}.
     */
    void forward(Acts a, AlexNet.Dropout dropout) {
        boolean relu = c.activation() == AlexNetConfig.Activation.RELU;
        op("conv1", () -> b.conv2d(a.conv1, a.input, p("conv1.weight"), p("conv1.bias"), AlexNet.CONV1, relu));
        activate(a.conv1);
        if (lrn != null) op("norm1", () -> b.lrn(a.norm1, a.conv1, lrn));
        op("pool1", () -> b.maxPool(a.pool1, a.pool1Input(), c.pool()));
        op("conv2", () -> b.conv2d(a.conv2, a.pool1, p("conv2.weight"), p("conv2.bias"), CONV2, relu));
        activate(a.conv2);
        if (lrn != null) op("norm2", () -> b.lrn(a.norm2, a.conv2, lrn));
        op("pool2", () -> b.maxPool(a.pool2, a.pool2Input(), c.pool()));
        exchange(a, "pool2", a.pool2, a.pool2Joined);
        op("conv3", () -> b.conv2d(a.conv3, a.pool2Joined, p("conv3.weight"), p("conv3.bias"), CONV345, relu));
        activate(a.conv3);
        op("conv4", () -> b.conv2d(a.conv4, a.conv3, p("conv4.weight"), p("conv4.bias"), CONV345, relu));
        activate(a.conv4);
        op("conv5", () -> b.conv2d(a.conv5, a.conv4, p("conv5.weight"), p("conv5.bias"), CONV345, relu));
        activate(a.conv5);
        op("pool5", () -> b.maxPool(a.pool5, a.conv5, c.pool()));
        exchange(a, "pool5", a.pool5, a.pool5Joined);
        op("fc6", () -> b.linear(a.fc6, a.pool5Joined, p("fc6.weight"), p("fc6.bias"), relu));
        activate(a.fc6);
        exchange(a, "fc6", a.fc6, a.fc6Joined);
        if (dropout != null) {
            op("dropout6", () -> b.dropoutForward(a.drop6, a.fc6Joined, c.dropout(), dropout.seed(), AlexNet.DROPOUT6, dropout.step()));
        }
        op("fc7", () -> b.linear(a.fc7, a.fc7Input(), p("fc7.weight"), p("fc7.bias"), relu));
        activate(a.fc7);
        exchange(a, "fc7", a.fc7, a.fc7Joined);
        if (dropout != null) {
            op("dropout7", () -> b.dropoutForward(a.drop7, a.fc7Joined, c.dropout(), dropout.seed(), AlexNet.DROPOUT7, dropout.step()));
        }
        op("fc8", () -> b.linear(a.fc8, a.fc8Input(), p("fc8.weight"), p("fc8.bias"), false));
        // The logits' halves are gathered on tower A, which computes the softmax and the loss.
        Mailbox logits = a.box("logits[B]");
        if (index == 1) {
            send(logits, a.fc8);
        } else {
            int half = a.fc8.shape().dim(1);
            op("join logits", () -> b.copyChannels(a.logits, 0, a.fc8, 0, half));
            Tensor theirs = receive(logits);
            op("join logits", () -> b.copyChannels(a.logits, half, theirs, 0, half));
            logits.release();
        }
    }

    /**
     * Joins {@code tensor}'s two halves into {@code joined} on this tower: sends its own half, copies it into its
     * channels of {@code joined}, then copies the other tower's half in as it arrives.
     */
    private void exchange(Acts a, String tensor, Tensor own, Tensor joined) {
        int half = own.shape().dim(1);
        Mailbox out = a.box(tensor + "[" + label + "]"), in = a.box(tensor + "[" + other() + "]");
        send(out, own);
        op("join " + tensor, () -> b.copyChannels(joined, index * half, own, 0, half));
        Tensor theirs = receive(in);
        op("join " + tensor, () -> b.copyChannels(joined, (1 - index) * half, theirs, 0, half));
        in.release();
    }

    // ---------------------------------------------------------------- backward

    /**
     * Queues the backward pass and the SGD update after {@link #forward} with dropout. Tower A computes the loss
     * (which waits for its forward pass, the loss being a host value) and returns it; tower B returns NaN.
     */
    float backward(Acts a, Tensor input, int[] labels, Sgd sgd, long seed, long step) {
        Acts d = a.gradients;
        // ---- loss (tower A) and the logits' gradient, whose halves go to their towers
        Mailbox dLogits = a.box("dLogits[B]");
        Tensor dFc8;
        float loss = Float.NaN;
        if (index == 0) {
            loss = b.softmaxCrossEntropy(a.dLogits, a.logits, labels);
            int half = d.fc8.shape().dim(1);
            op("split dLogits", () -> {
                b.copyChannels(d.fc8, 0, a.dLogits, 0, half);
                b.copyChannels(a.outbox("dLogits[B]", d.fc8.shape()), 0, a.dLogits, half, half);
            });
            send(dLogits, a.outbox("dLogits[B]", d.fc8.shape()));
            dFc8 = d.fc8;
        } else {
            dFc8 = receive(dLogits);
        }
        // ---- fc8, fc7, fc6: each partial input gradient is masked by dropout and the activation on the joined
        // ---- tensor (the same masks on both towers), then exchanged and summed per half
        op("fc8 dW", () -> b.linearBackwardWeight(g("fc8.weight"), g("fc8.bias"), dFc8, a.fc8Input()));
        op("fc8 dX", () -> b.linearBackwardData(d.fc7Joined, dFc8, p("fc8.weight")));
        if (index == 1) dLogits.release();
        op("dropout7 dX", () -> b.dropoutBackward(d.fc7Joined, d.fc7Joined, c.dropout(), seed, AlexNet.DROPOUT7, step));
        activationBackward("fc7", d.fc7Joined, a.fc7Joined);
        exchangeBack(a, "fc7", d.fc7Joined, d.fc7);

        op("fc7 dW", () -> b.linearBackwardWeight(g("fc7.weight"), g("fc7.bias"), d.fc7, a.fc7Input()));
        op("fc7 dX", () -> b.linearBackwardData(d.fc6Joined, d.fc7, p("fc7.weight")));
        op("dropout6 dX", () -> b.dropoutBackward(d.fc6Joined, d.fc6Joined, c.dropout(), seed, AlexNet.DROPOUT6, step));
        activationBackward("fc6", d.fc6Joined, a.fc6Joined);
        exchangeBack(a, "fc6", d.fc6Joined, d.fc6);

        op("fc6 dW", () -> b.linearBackwardWeight(g("fc6.weight"), g("fc6.bias"), d.fc6, a.pool5Joined));
        op("fc6 dX", () -> b.linearBackwardData(d.pool5Joined, d.fc6, p("fc6.weight")));
        exchangeBack(a, "pool5", d.pool5Joined, d.pool5);
        // ---- the convolutional layers
        // (a ReLU's gradient is applied by the op that produces the gradient of its output, a tanh's by its own pass)
        boolean relu = c.activation() == AlexNetConfig.Activation.RELU;
        op("pool5 dX", () -> b.maxPoolBackward(d.conv5, d.pool5, a.conv5, c.pool(), relu));
        tanhBackward("conv5", d.conv5, a.conv5);
        op("conv5 dW", () -> b.conv2dBackwardWeight(g("conv5.weight"), g("conv5.bias"), d.conv5, a.conv4, CONV345));
        op("conv5 dX", () -> b.conv2dBackwardData(d.conv4, d.conv5, p("conv5.weight"), CONV345, relu ? a.conv4 : null));
        tanhBackward("conv4", d.conv4, a.conv4);
        op("conv4 dW", () -> b.conv2dBackwardWeight(g("conv4.weight"), g("conv4.bias"), d.conv4, a.conv3, CONV345));
        op("conv4 dX", () -> b.conv2dBackwardData(d.conv3, d.conv4, p("conv4.weight"), CONV345, relu ? a.conv3 : null));
        tanhBackward("conv3", d.conv3, a.conv3);
        op("conv3 dW", () -> b.conv2dBackwardWeight(g("conv3.weight"), g("conv3.bias"), d.conv3, a.pool2Joined, CONV345));
        op("conv3 dX", () -> b.conv2dBackwardData(d.pool2Joined, d.conv3, p("conv3.weight"), CONV345));
        exchangeBack(a, "pool2", d.pool2Joined, d.pool2);
        if (lrn != null) {
            op("pool2 dX", () -> b.maxPoolBackward(d.norm2, d.pool2, a.norm2, c.pool()));
            op("norm2 dX", () -> b.lrnBackward(d.conv2, d.norm2, a.conv2, a.norm2, lrn, relu));
        } else {
            op("pool2 dX", () -> b.maxPoolBackward(d.conv2, d.pool2, a.conv2, c.pool(), relu));
        }
        tanhBackward("conv2", d.conv2, a.conv2);
        op("conv2 dW", () -> b.conv2dBackwardWeight(g("conv2.weight"), g("conv2.bias"), d.conv2, a.pool1, CONV2));
        op("conv2 dX", () -> b.conv2dBackwardData(d.pool1, d.conv2, p("conv2.weight"), CONV2));
        if (lrn != null) {
            op("pool1 dX", () -> b.maxPoolBackward(d.norm1, d.pool1, a.norm1, c.pool()));
            op("norm1 dX", () -> b.lrnBackward(d.conv1, d.norm1, a.conv1, a.norm1, lrn, relu));
        } else {
            op("pool1 dX", () -> b.maxPoolBackward(d.conv1, d.pool1, a.conv1, c.pool(), relu));
        }
        tanhBackward("conv1", d.conv1, a.conv1);
        op("conv1 dW", () -> b.conv2dBackwardWeight(g("conv1.weight"), g("conv1.bias"), d.conv1, input, AlexNet.CONV1));
        // ---- update this tower's parameters
        op("sgd", () -> {
            for (var e : params.entrySet()) {
                b.sgdUpdate(e.getValue(), velocities.get(e.getKey()), grads.get(e.getKey()), sgd.learningRate(), sgd.momentum(),
                        sgd.weightDecay());
            }
        });
        return loss;
    }

    /**
     * {@code partial} is this tower's gradient with respect to a joined tensor (both towers' channels). Sends the
     * other tower its channels of it, and writes into {@code own} the gradient with respect to this tower's half:
     * its own channels of {@code partial} plus the other tower's partial for them.
     */
    private void exchangeBack(Acts a, String tensor, Tensor partial, Tensor own) {
        int half = own.shape().dim(1);
        Mailbox out = a.box("d" + tensor + "[" + other() + "]"), in = a.box("d" + tensor + "[" + label + "]");
        Tensor outgoing = a.outbox(out.name(), own.shape());
        op("split d" + tensor, () -> b.copyChannels(outgoing, 0, partial, (1 - index) * half, half));
        send(out, outgoing);
        Tensor mine = a.outbox("own d" + tensor, own.shape());
        op("split d" + tensor, () -> b.copyChannels(mine, 0, partial, index * half, half));
        Tensor theirs = receive(in);
        op("sum d" + tensor, () -> b.add(own, mine, theirs)); // IEEE addition is commutative: the same bits on both towers' order
        in.release();
    }

    private void activationBackward(String layer, Tensor d, Tensor out) {
        if (c.activation() == AlexNetConfig.Activation.TANH) op(layer + " tanh dX", () -> b.tanhBackward(d, d, out));
        else op(layer + " relu dX", () -> b.reluBackward(d, d, out));
    }

    /** A convolutional layer's tanh gradient, in place; with ReLU nothing (the op that produced d applied it). */
    private void tanhBackward(String layer, Tensor d, Tensor out) {
        if (c.activation() == AlexNetConfig.Activation.TANH) op(layer + " tanh dX", () -> b.tanhBackward(d, d, out));
    }

    private void activate(Tensor t) {
        if (c.activation() == AlexNetConfig.Activation.TANH) op("tanh", () -> b.tanh(t, t));
    }

    // ---------------------------------------------------------------- transport and tracing

    private void send(Mailbox box, Tensor src) {
        if (trace == null) {
            box.send(src);
            return;
        }
        Timeline.Stamp start = lane.stamp();
        box.send(src);
        trace.add(index, "send " + box.name() + " (" + box.shape().bytes() / 1024 + " KiB)", Timeline.Kind.COPY, start, lane);
    }

    private Tensor receive(Mailbox box) {
        if (trace == null) return box.receive();
        Timeline.Stamp start = lane.stamp();
        Tensor t = box.receive();
        trace.add(index, "wait for " + box.name(), Timeline.Kind.WAIT, start, lane);
        return t;
    }

    private void op(String name, Runnable r) {
        if (trace == null) {
            r.run();
            return;
        }
        Timeline.Stamp start = lane.stamp();
        r.run();
        trace.add(index, name, Timeline.Kind.OP, start, lane);
    }

    private String other() {
        return index == 0 ? "B" : "A";
    }

    private Tensor p(String name) {
        return params.get(name);
    }

    private Tensor g(String name) {
        return grads.get(name);
    }

    @Override
    public void close() {
        owned.close();
    }

    // ---------------------------------------------------------------- per-batch tensors

    /**
     * A tower's tensors for one batch size: the input, its halves of every activation, the joined tensors, and
     * (for training) a second set of the same shapes holding the gradients, plus the mailboxes it receives in and
     * the buffers it sends from.
     */
    static final class Acts implements AutoCloseable {
        final int n;
        final Tensor input, conv1, norm1, pool1, conv2, norm2, pool2, pool2Joined, conv3, conv4, conv5, pool5, pool5Joined, fc6,
                fc6Joined, drop6, fc7, fc7Joined, drop7, fc8, logits, dLogits;
        /** The gradients with respect to this set's tensors (training only), else null. */
        final Acts gradients;
        private final TensorGroup group;
        private final Map<String, Mailbox> boxes;
        private final Map<String, Tensor> outboxes = new HashMap<>();

        /**
         * @param boxes the mailboxes of both towers' copies by name (shared between the two towers' Acts)
         * @param withInput false for the gradient set (the input's gradient is never needed)
         */
        Acts(Tower t, int n, boolean training, Map<String, Mailbox> boxes, boolean withInput) {
            this.n = n;
            this.boxes = boxes;
            this.group = new TensorGroup(t.b);
            AlexNetConfig c = t.c;
            AlexNetConfig.Geometry g = c.geometry();
            boolean lrn = c.lrn() != null, a = t.index == 0;
            int h = c.hidden();
            try {
                input = group.allocateIf(withInput, Shape.of(n, c.inChannels(), c.inputSize(), c.inputSize()));
                conv1 = group.allocate(Shape.of(n, 48, g.conv1(), g.conv1()));
                norm1 = group.allocateIf(lrn, conv1.shape());
                pool1 = group.allocate(Shape.of(n, 48, g.pool1(), g.pool1()));
                conv2 = group.allocate(Shape.of(n, 128, g.pool1(), g.pool1()));
                norm2 = group.allocateIf(lrn, conv2.shape());
                pool2 = group.allocate(Shape.of(n, 128, g.pool2(), g.pool2()));
                pool2Joined = group.allocate(Shape.of(n, 256, g.pool2(), g.pool2()));
                conv3 = group.allocate(Shape.of(n, 192, g.pool2(), g.pool2()));
                conv4 = group.allocate(Shape.of(n, 192, g.pool2(), g.pool2()));
                conv5 = group.allocate(Shape.of(n, 128, g.pool2(), g.pool2()));
                pool5 = group.allocate(Shape.of(n, 128, g.pool5(), g.pool5()));
                pool5Joined = group.allocate(Shape.of(n, 256, g.pool5(), g.pool5()));
                fc6 = group.allocate(Shape.of(n, h / 2));
                fc6Joined = group.allocate(Shape.of(n, h));
                drop6 = group.allocateIf(training && withInput, Shape.of(n, h));
                fc7 = group.allocate(Shape.of(n, h / 2));
                fc7Joined = group.allocate(Shape.of(n, h));
                drop7 = group.allocateIf(training && withInput, Shape.of(n, h));
                fc8 = group.allocate(Shape.of(n, c.classes() / 2));
                logits = group.allocateIf(a && withInput, Shape.of(n, c.classes()));
                dLogits = group.allocateIf(a && training && withInput, Shape.of(n, c.classes()));
                gradients = training && withInput ? new Acts(t, n, true, boxes, false) : null;
            } catch (RuntimeException e) {
                group.close();
                throw e;
            }
        }

        Tensor pool1Input() {
            return norm1 != null ? norm1 : conv1;
        }

        Tensor pool2Input() {
            return norm2 != null ? norm2 : conv2;
        }

        Tensor fc7Input() {
            return drop6 != null ? drop6 : fc6Joined;
        }

        Tensor fc8Input() {
            return drop7 != null ? drop7 : fc7Joined;
        }

        Mailbox box(String name) {
            Mailbox m = boxes.get(name);
            if (m == null) throw new IllegalStateException("no mailbox " + name + " in the exchange plan");
            return m;
        }

        /** A buffer on this tower named {@code name}, of {@code shape}, made on first use and kept. */
        Tensor outbox(String name, Shape shape) {
            return outboxes.computeIfAbsent(name, k -> group.allocate(shape));
        }

        @Override
        public void close() {
            if (gradients != null) gradients.close();
            group.close();
        }
    }
}
