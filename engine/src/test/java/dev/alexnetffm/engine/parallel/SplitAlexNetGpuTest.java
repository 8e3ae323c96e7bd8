package dev.alexnetffm.engine.parallel;

import dev.alexnetffm.cuda.CudaDriver;
import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.backend.cuda.CudaBackend;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.train.Sgd;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;
import java.util.function.Supplier;

import static dev.alexnetffm.engine.parallel.SplitEquality.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The split on a GPU: two logical devices (two streams of GPU 0, each with its own worker) against the one-device
 * network on the same GPU; and, where there are two GPUs, real peer copies.
 */
@Tag("gpu")
class SplitAlexNetGpuTest {
    static final Supplier<Backend> GPU0 = () -> new CudaBackend(0);

    @BeforeEach
    void needsGpu() {
        assumeTrue(CudaDriver.isAvailable(), "no CUDA driver or GPU");
    }

    @Test
    void forwardLogitsMatchOneDevice() {
        for (AlexNetConfig c : new AlexNetConfig[] {SplitAlexNetTest.SMALL, AlexNetConfig.paper()}) {
            Map<String, HostTensor> w = AlexNet.initialWeights(c, 5, AlexNet.Init.KAIMING);
            float[][] l = logits(GPU0, c, w, images(c, 9, 2), 9);
            double err = relativeL2(l[0], l[1]);
            System.out.printf("split forward %s: relative L2 %.3g, bitwise %s%n", c.inputSize(), err, Arrays.equals(l[0], l[1]));
            assertTrue(err <= MAX_RELATIVE, "logits relative L2 " + err);
        }
    }

    @Test
    void trainingStepsMatchOneDevice() {
        Map<String, HostTensor> w = AlexNet.initialWeights(SplitAlexNetTest.SMALL, 11, AlexNet.Init.KAIMING);
        Outcome[] one = train(GPU0, SplitAlexNetTest.SMALL, w, 16, 1, 5);
        assertEquals(one[0].loss(), one[1].loss(), 1e-6 * Math.abs(one[0].loss()), "loss");
        assertClose("gradients", one[0].gradients(), one[1].gradients(), MAX_RELATIVE);
        Outcome[] three = train(GPU0, SplitAlexNetTest.SMALL, w, 16, 3, 5);
        assertSameWeights("weights after three steps", three[0].weights(), three[1].weights());
    }

    @Test
    void thePapersNetworkTrainsTheSameAtBatch32() {
        AlexNetConfig c = AlexNetConfig.paper();
        Map<String, HostTensor> w = AlexNet.initialWeights(c, 1);
        Outcome[] o = train(GPU0, c, w, 32, 2, 3);
        assertClose("gradients", o[0].gradients(), o[1].gradients(), MAX_RELATIVE);
        assertSameWeights("weights after two steps", o[0].weights(), o[1].weights());
    }

    @Test
    void copiesFollowThePlanAndTheTimelineSeesBothStreams() {
        AlexNetConfig c = AlexNetConfig.paper();
        try (SplitAlexNet split = SplitAlexNet.create(new CudaBackend(0), new CudaBackend(0), c, AlexNet.initialWeights(c, 1))) {
            split.enableTraining(1);
            split.step(images(c, 16, 1), labels(c, 16, 1), Sgd.paper(), 0);
            SplitAlexNetTest.assertFollowsPlan(split.plan(16, true), split.lastCopies());
            split.traceNextCall();
            split.step(images(c, 16, 2), labels(c, 16, 2), Sgd.paper(), 1);
            Timeline t = split.lastTimeline();
            for (int lane = 0; lane < 2; lane++) {
                for (Timeline.Kind k : Timeline.Kind.values()) {
                    int l = lane;
                    assertTrue(t.spans().stream().anyMatch(s -> s.lane() == l && s.kind() == k), "lane " + lane + " has no " + k + " span");
                }
                System.out.printf("lane %d: ops %.0f us, copies %.0f us, waits %.0f us%n", lane, t.total(lane, Timeline.Kind.OP),
                        t.total(lane, Timeline.Kind.COPY), t.total(lane, Timeline.Kind.WAIT));
            }
        }
    }

    @Test
    void twoGpusUsePeerCopies() {
        assumeTrue(CudaDriver.deviceCount() >= 2, "one GPU: the two-GPU path needs two");
        AlexNetConfig c = SplitAlexNetTest.SMALL;
        Map<String, HostTensor> w = AlexNet.initialWeights(c, 5, AlexNet.Init.KAIMING);
        float[] one;
        try (Backend b = new CudaBackend(0); AlexNet net = AlexNet.fromWeights(b, c, w)) {
            one = net.logits(images(c, 4, 3), 4);
        }
        try (SplitAlexNet split = SplitAlexNet.create(new CudaBackend(0), new CudaBackend(1), c, w)) {
            assertTrue(relativeL2(one, split.logits(images(c, 4, 3), 4)) <= MAX_RELATIVE);
        }
    }
}
