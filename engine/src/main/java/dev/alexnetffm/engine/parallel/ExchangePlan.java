package dev.alexnetffm.engine.parallel;

import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.Shape;

import java.util.ArrayList;
import java.util.List;

/**
 * What the paper's two-GPU split must move in one training step, in order: the schedule's contract with its
 * transport, and what a test can check without two GPUs.
 *
 * <p>Tower A (device 0) owns the first half of every layer's channels, tower B (device 1) the second. Layers that
 * see both towers need the other tower's half of their input first: pool2 before conv3, pool5 before fc6, fc6's
 * output before fc7, and fc7's output before fc8 (dropout is applied after the exchange, to the joined tensor and
 * identically on both towers, so that its mask keeps the one-device network's element indexing). Each such point is two copies,
 * one each way. fc8's two halves of the logits are then gathered on device 0 for the softmax and the loss, and the
 * logits' gradient halves sent back. Backward mirrors every forward exchange in reverse order: the gradient with
 * respect to a received half goes back to its owner, which adds it to its own.
 */
public final class ExchangePlan {
    /** Which way a copy goes. */
    public enum Direction { A_TO_B, B_TO_A }

    /** Forward copies of activations, or backward copies of gradients. */
    public enum Pass { FORWARD, BACKWARD }

    /**
     * One copy: {@code what} names the tensor half (e.g. "pool2[A]"), {@code shape} its shape, in the order the
     * schedule issues it.
     */
    public record Copy(Pass pass, String before, String what, Direction direction, Shape shape) {
        public long bytes() {
            return shape.bytes();
        }
    }

    private final List<Copy> copies;

    private ExchangePlan(List<Copy> copies) {
        this.copies = List.copyOf(copies);
    }

    /** The plan for one training step of {@code config} at batch {@code n}. */
    public static ExchangePlan trainingStep(AlexNetConfig config, int n) {
        List<Copy> forward = forwardCopies(config, n);
        List<Copy> all = new ArrayList<>(forward);
        int half = config.classes() / 2;
        if (config.classes() % 2 != 0) throw new IllegalArgumentException("two towers need an even number of classes, got " + config.classes());
        all.add(new Copy(Pass.FORWARD, "loss", "logits[B]", Direction.B_TO_A, Shape.of(n, half)));
        all.add(new Copy(Pass.BACKWARD, "fc8", "dLogits[B]", Direction.A_TO_B, Shape.of(n, half)));
        for (int i = forward.size() - 1; i >= 0; i--) {
            Copy f = forward.get(i);
            Direction back = f.direction() == Direction.A_TO_B ? Direction.B_TO_A : Direction.A_TO_B;
            all.add(new Copy(Pass.BACKWARD, f.before(), "d" + f.what(), back, f.shape()));
        }
        return new ExchangePlan(all);
    }

    /** The plan for inference: the forward exchanges and the logits gathered on device 0. */
    public static ExchangePlan inference(AlexNetConfig config, int n) {
        List<Copy> all = new ArrayList<>(forwardCopies(config, n));
        all.add(new Copy(Pass.FORWARD, "softmax", "logits[B]", Direction.B_TO_A, Shape.of(n, config.classes() / 2)));
        return new ExchangePlan(all);
    }

    private static List<Copy> forwardCopies(AlexNetConfig c, int n) {
        AlexNetConfig.Geometry g = c.geometry();
        List<Copy> list = new ArrayList<>();
        exchange(list, "conv3", "pool2", Shape.of(n, 128, g.pool2(), g.pool2()));
        exchange(list, "fc6", "pool5", Shape.of(n, 128, g.pool5(), g.pool5()));
        exchange(list, "fc7", "fc6", Shape.of(n, c.hidden() / 2));
        exchange(list, "fc8", "fc7", Shape.of(n, c.hidden() / 2));
        return list;
    }

    private static void exchange(List<Copy> list, String before, String tensor, Shape half) {
        list.add(new Copy(Pass.FORWARD, before, tensor + "[A]", Direction.A_TO_B, half));
        list.add(new Copy(Pass.FORWARD, before, tensor + "[B]", Direction.B_TO_A, half));
    }

    public List<Copy> copies() {
        return copies;
    }

    /** Bytes crossing between the devices in one step, both directions. */
    public long bytes() {
        return copies.stream().mapToLong(Copy::bytes).sum();
    }

    public long bytes(Pass pass) {
        return copies.stream().filter(c -> c.pass() == pass).mapToLong(Copy::bytes).sum();
    }
}
