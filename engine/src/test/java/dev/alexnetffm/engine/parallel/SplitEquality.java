package dev.alexnetffm.engine.parallel;

import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.train.Sgd;
import dev.alexnetffm.engine.train.TrainingStep;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The checks shared by the CPU and GPU tests of the split: a two-tower run against the one-device network on
 * the same kind of backend, with the same weights, data, seed and steps.
 */
public final class SplitEquality {
    private SplitEquality() {}

    /** Relative L2 error allowed where the split sums two partial sums instead of one. */
    static final double MAX_RELATIVE = 1e-6;

    static float[] images(AlexNetConfig c, int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n * c.inChannels() * c.inputSize() * c.inputSize()];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    static int[] labels(AlexNetConfig c, int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed ^ 0x5EED);
        int[] y = new int[n];
        for (int i = 0; i < n; i++) y[i] = r.nextInt(c.classes());
        return y;
    }

    /** Logits of the one-device network and of the split, for the same batch. */
    static float[][] logits(Supplier<Backend> backends, AlexNetConfig c, Map<String, HostTensor> w, float[] x, int n) {
        float[] one;
        try (Backend b = backends.get(); AlexNet net = AlexNet.fromWeights(b, c, w)) {
            one = net.logits(x, n);
        }
        try (SplitAlexNet split = SplitAlexNet.create(backends.get(), backends.get(), c, w)) {
            return new float[][] {one, split.logits(x, n)};
        }
    }

    /** What a run of {@code steps} training steps ends with: the last loss, logits, gradients, weights and velocities. */
    record Outcome(float loss, float[] logits, Map<String, HostTensor> gradients, Map<String, HostTensor> weights,
                   Map<String, HostTensor> velocities) {}

    static Outcome[] train(Supplier<Backend> backends, AlexNetConfig c, Map<String, HostTensor> w, int n, int steps, long seed) {
        Sgd sgd = Sgd.paper();
        Outcome one, two;
        try (Backend b = backends.get(); AlexNet net = AlexNet.fromWeights(b, c, w); TrainingStep t = new TrainingStep(net, seed)) {
            float loss = 0;
            for (int s = 0; s < steps; s++) {
                try (var x = b.fromArray(net.inputShape(n), images(c, n, seed + s))) {
                    loss = t.step(x, labels(c, n, seed + s), sgd, s);
                }
            }
            one = new Outcome(loss, t.lastLogits(), HostTensor.copiesOf(t.gradients()), net.weights(), t.velocitiesToHost());
        }
        try (SplitAlexNet split = SplitAlexNet.create(backends.get(), backends.get(), c, w)) {
            split.enableTraining(seed);
            float loss = 0;
            for (int s = 0; s < steps; s++) loss = split.step(images(c, n, seed + s), labels(c, n, seed + s), sgd, s);
            two = new Outcome(loss, split.lastLogits(), split.gradients(), split.weights(), split.velocities());
        }
        return new Outcome[] {one, two};
    }

    /**
     * The same weights after N steps: the relative L2 error of all parameters together within
     * {@link #MAX_RELATIVE}, and of each tensor within 10x that. (On the CPU after three steps, weight matrices
     * differ by about 3e-8 relative; biases that started at zero are the sum of a few steps' bias gradients,
     * whose heavy cancellation leaves them about 1.5e-6 apart.)
     */
    static void assertSameWeights(String what, Map<String, HostTensor> expected, Map<String, HostTensor> actual) {
        assertClose(what, expected, actual, 10 * MAX_RELATIVE);
        assertJoint(what, expected, actual);
    }

    /** All tensors together within {@link #MAX_RELATIVE} (relative L2). */
    private static void assertJoint(String what, Map<String, HostTensor> expected, Map<String, HostTensor> actual) {
        double num = 0, den = 0;
        for (var e : expected.entrySet()) {
            float[] x = e.getValue().data(), y = actual.get(e.getKey()).data();
            for (int i = 0; i < x.length; i++) {
                double d = (double) y[i] - x[i];
                num += d * d;
                den += (double) x[i] * x[i];
            }
        }
        double joint = Math.sqrt(num / den);
        if (!(joint <= MAX_RELATIVE)) fail(what + ": relative L2 error over all tensors " + joint + " exceeds " + MAX_RELATIVE);
    }

    /**
     * The same weights after steps whose forward passes differed in the last bits (the paper's network): all
     * parameters together within {@link #MAX_RELATIVE}, each weight matrix within 10x that, each bias within 1e-3
     * (a bias that starts at zero is the sum of a few updates, which carry the gradients that near-tied max-pooling
     * windows re-route; an update lost or doubled is off by far more).
     */
    static void assertSameWeightsAfterSteps(String what, Map<String, HostTensor> expected, Map<String, HostTensor> actual) {
        Map<String, HostTensor> matrices = new java.util.TreeMap<>(), biases = new java.util.TreeMap<>();
        expected.forEach((name, t) -> (name.endsWith(".bias") ? biases : matrices).put(name, t));
        assertClose(what, matrices, filter(actual, matrices), 10 * MAX_RELATIVE);
        assertClose(what, biases, filter(actual, biases), 1e-3);
        assertJoint(what, expected, actual);
    }

    private static Map<String, HostTensor> filter(Map<String, HostTensor> all, Map<String, HostTensor> names) {
        Map<String, HostTensor> out = new java.util.TreeMap<>();
        names.keySet().forEach(n -> out.put(n, all.get(n)));
        return out;
    }

    /** Relative L2 error of {@code actual} against {@code expected}. */
    public static double relativeL2(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, "length");
        double num = 0, den = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = (double) actual[i] - expected[i];
            num += d * d;
            den += (double) expected[i] * expected[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    static void assertBitwise(String what, float[] expected, float[] actual) {
        assertArrayEquals(expected, actual, what + ": expected the same bits as one device");
    }

    /** Each tensor within {@link #MAX_RELATIVE} (relative L2); lists every one that is not. */
    static void assertClose(String what, Map<String, HostTensor> expected, Map<String, HostTensor> actual, double maxRelative) {
        assertEquals(expected.keySet(), actual.keySet(), what + " names");
        List<String> bad = new ArrayList<>();
        for (var e : expected.entrySet()) {
            HostTensor a = actual.get(e.getKey());
            assertEquals(e.getValue().shape(), a.shape(), what + " " + e.getKey());
            double err = relativeL2(e.getValue().data(), a.data());
            if (!(err <= maxRelative)) bad.add(e.getKey() + " relative L2 " + err);
        }
        if (!bad.isEmpty()) fail(what + " differ from one device beyond " + maxRelative + ": " + bad);
    }
}
