package dev.alexnetffm.engine.parallel;

import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.backend.LrnSpec;
import dev.alexnetffm.engine.backend.PoolSpec;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.train.Sgd;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import org.junit.jupiter.api.io.TempDir;

import static dev.alexnetffm.engine.parallel.SplitEquality.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The two-tower split on two CPU backends (two logical devices) against the one-device network. */
class SplitAlexNetTest {
    /** The smallest input every layer fits (67x67), narrow fully connected layers: seconds on the CPU. */
    static final AlexNetConfig SMALL = AlexNetConfig.paper().withInput(3, 67).withHidden(64).withClasses(10);
    static final Supplier<Backend> CPU = CpuBackend::new;

    @Test
    void forwardLogitsAreTheOneDeviceBits() {
        for (AlexNetConfig c : List.of(SMALL, SMALL.withActivation(AlexNetConfig.Activation.TANH).withLrn(null),
                SMALL.withPool(new PoolSpec(2, 2)).withInput(3, 99))) {
            Map<String, HostTensor> w = AlexNet.initialWeights(c, 7, AlexNet.Init.KAIMING);
            float[][] l = logits(CPU, c, w, images(c, 3, 1), 3);
            assertBitwise("logits of " + c, l[0], l[1]);
        }
    }

    @Test
    void oneTrainingStepGivesTheSameLossAndGradients() {
        Map<String, HostTensor> w = AlexNet.initialWeights(SMALL, 11, AlexNet.Init.KAIMING);
        Outcome[] o = train(CPU, SMALL, w, 4, 1, 5);
        // The forward pass and the loss are computed the same way on both: the same bits.
        assertEquals(o[0].loss(), o[1].loss(), "loss");
        assertBitwise("training logits (with dropout)", o[0].logits(), o[1].logits());
        // fc8's gradients see the same logits' gradient and the same joined fc7: the same bits too.
        assertBitwise("fc8.weight gradient", o[0].gradients().get("fc8.weight").data(), o[1].gradients().get("fc8.weight").data());
        assertBitwise("fc8.bias gradient", o[0].gradients().get("fc8.bias").data(), o[1].gradients().get("fc8.bias").data());
        // Below fc8 every gradient passes through a sum of the two towers' partial sums.
        assertClose("gradients", o[0].gradients(), o[1].gradients(), MAX_RELATIVE);
        assertClose("weights after one step", o[0].weights(), o[1].weights(), MAX_RELATIVE);
    }

    @Test
    void threeStepsEndInTheSameWeights() {
        AlexNetConfig c = SMALL.withActivation(AlexNetConfig.Activation.TANH);
        Map<String, HostTensor> w = AlexNet.initialWeights(c, 3, AlexNet.Init.KAIMING);
        Outcome[] o = train(CPU, c, w, 2, 3, 9);
        assertSameWeights("weights after three steps", o[0].weights(), o[1].weights());
        // velocities accumulate gradients, so they carry the gradients' relative error (about 1e-6), each tensor within 1e-5
        assertClose("velocities after three steps", o[0].velocities(), o[1].velocities(), 10 * MAX_RELATIVE);
        assertEquals(o[0].loss(), o[1].loss(), 1e-6 * Math.abs(o[0].loss()), "third step's loss");
    }

    @Test
    void theCopiesAreThePlansInOrder() {
        Map<String, HostTensor> w = AlexNet.initialWeights(SMALL, 1);
        try (SplitAlexNet split = SplitAlexNet.create(new CpuBackend(), new CpuBackend(), SMALL, w)) {
            split.enableTraining(1);
            split.step(images(SMALL, 2, 1), labels(SMALL, 2, 1), Sgd.paper(), 0);
            assertFollowsPlan(split.plan(2, true), split.lastCopies());
            split.logits(images(SMALL, 3, 1), 3);
            assertFollowsPlan(split.plan(3, false), split.lastCopies());
        }
    }

    /** Each device issued its copies in the plan's order, and every copy of the plan happened once. */
    static void assertFollowsPlan(ExchangePlan plan, List<ExchangePlan.Copy> sent) {
        for (ExchangePlan.Direction d : ExchangePlan.Direction.values()) {
            assertEquals(plan.copies().stream().filter(c -> c.direction() == d).toList(), sent.stream().filter(c -> c.direction() == d).toList(),
                    "copies " + d);
        }
        assertEquals(plan.bytes(), sent.stream().mapToLong(ExchangePlan.Copy::bytes).sum());
    }

    @Test
    void theTimelineHasBothDevicesOpsCopiesAndWaits(@TempDir Path dir) throws Exception {
        Map<String, HostTensor> w = AlexNet.initialWeights(SMALL, 1);
        try (SplitAlexNet split = SplitAlexNet.create(new CpuBackend(), new CpuBackend(), SMALL, w)) {
            split.enableTraining(1);
            split.traceNextCall();
            split.step(images(SMALL, 2, 1), labels(SMALL, 2, 1), Sgd.paper(), 0);
            Timeline t = split.lastTimeline();
            for (int lane = 0; lane < 2; lane++) {
                for (Timeline.Kind k : Timeline.Kind.values()) {
                    int l = lane;
                    assertTrue(t.spans().stream().anyMatch(s -> s.lane() == l && s.kind() == k), "lane " + lane + " has no " + k + " span");
                }
            }
            assertTrue(t.spans().stream().anyMatch(s -> s.name().equals("conv1")), "conv1 span");
            assertTrue(t.spans().stream().allMatch(s -> s.startMicros() >= 0 && s.durationMicros() >= 0));
            Path file = dir.resolve("trace.json");
            t.write(file);
            String json = Files.readString(file);
            assertTrue(json.startsWith("{\"displayTimeUnit\""), json.substring(0, 40));
            assertEquals(t.spans().size(), json.split("\"ph\": \"X\"", -1).length - 1, "one complete event per span");
            // the next call is not traced
            split.step(images(SMALL, 2, 2), labels(SMALL, 2, 2), Sgd.paper(), 1);
            assertTrue(split.lastTimeline() == t);
        }
    }

    @Test
    void configurationsTheSplitCannotRunAreRejected() {
        AlexNetConfig pytorchLrn = SMALL.withLrn(LrnSpec.pytorch(5, 1e-4f, 0.75f, 2f));
        var e = assertThrows(IllegalArgumentException.class,
                () -> SplitAlexNet.create(new CpuBackend(), new CpuBackend(), pytorchLrn, AlexNet.initialWeights(pytorchLrn, 1)));
        assertTrue(e.getMessage().contains("LRN window kept inside each tower"), e.getMessage());
        AlexNetConfig odd = SMALL.withClasses(7);
        e = assertThrows(IllegalArgumentException.class, () -> SplitAlexNet.create(new CpuBackend(), new CpuBackend(), odd, AlexNet.initialWeights(odd, 1)));
        assertTrue(e.getMessage().contains("classes must be even"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> SplitAlexNet.create(new CpuBackend(), new CpuBackend(), SMALL, AlexNet.initialWeights(SMALL.withHidden(32), 1)));
        assertTrue(e.getMessage().contains("fc6.weight has shape"), e.getMessage());
    }

    @Test
    void aFailureOnOneDeviceStopsTheOtherAndNamesTheCause() {
        Map<String, HostTensor> w = AlexNet.initialWeights(SMALL, 1);
        try (SplitAlexNet split = SplitAlexNet.create(new CpuBackend(), new CpuBackend(), SMALL, w)) {
            split.enableTraining(1);
            int[] bad = {0, 10};  // class 10 of 10: tower A's loss rejects it while tower B waits for the logits' gradient
            var e = assertThrows(IllegalArgumentException.class, () -> split.step(images(SMALL, 2, 1), bad, Sgd.paper(), 0));
            assertTrue(e.getMessage().contains("10"), e.getMessage());
            // and the network still works afterwards
            float loss = split.step(images(SMALL, 2, 1), labels(SMALL, 2, 1), Sgd.paper(), 0);
            assertTrue(Float.isFinite(loss));
            var wrong = assertThrows(IllegalArgumentException.class, () -> split.logits(new float[5], 1));
            assertTrue(wrong.getMessage().contains("needs"), wrong.getMessage());
        }
    }
}
