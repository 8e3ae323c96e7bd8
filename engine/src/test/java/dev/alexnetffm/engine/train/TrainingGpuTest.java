package dev.alexnetffm.engine.train;

import dev.alexnetffm.cuda.CudaDriver;
import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.backend.cuda.CudaBackend;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.HostTensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.alexnetffm.engine.parallel.SplitEquality.relativeL2;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Training on the GPU as a whole (the kernels one by one are CudaBackwardOpsTest's): training steps against the
 * CPU reference, the same bits from the same seed on every run, and a resumed run equal to an uninterrupted one.
 */
@Tag("gpu")
class TrainingGpuTest {
    static final AlexNetConfig NET = TrainerTest.TINY;
    static final int BATCH = 8;

    @BeforeEach
    void needsGpu() {
        assumeTrue(CudaDriver.isAvailable(), () -> "no usable CUDA driver/GPU: " + CudaDriver.unavailableReason().orElse(""));
    }

    /** What {@code steps} training steps from the Kaiming-initialised weights end with on one backend. */
    record Run(float loss, float[] logits, Map<String, HostTensor> gradients, Map<String, HostTensor> weights,
               Map<String, HostTensor> velocities) {}

    static Run train(Backend b, int steps) {
        TrainerTest.Squares data = new TrainerTest.Squares(BATCH * steps);
        Map<String, HostTensor> w = AlexNet.initialWeights(NET, 3, AlexNet.Init.KAIMING);
        try (b; AlexNet net = AlexNet.fromWeights(b, NET, w); TrainingStep t = new TrainingStep(net, 5)) {
            float loss = 0;
            for (int s = 0; s < steps; s++) {
                float[] images = new float[BATCH * data.imageFloats()];
                int[] labels = new int[BATCH];
                for (int i = 0; i < BATCH; i++) {
                    data.image(s * BATCH + i, images, i * data.imageFloats());
                    labels[i] = data.label(s * BATCH + i);
                }
                try (var x = b.fromArray(net.inputShape(BATCH), images)) {
                    loss = t.step(x, labels, Sgd.paper(), s);
                }
            }
            return new Run(loss, t.lastLogits(), HostTensor.copiesOf(t.gradients()), net.weights(), t.velocitiesToHost());
        }
    }

    static CudaBackend cuda(boolean winograd) {
        CudaBackend b = new CudaBackend(0);
        b.setWinograd(winograd);
        return b;
    }

    static void assertClose(String what, Map<String, HostTensor> expected, Map<String, HostTensor> actual, double max) {
        List<String> bad = new ArrayList<>();
        StringBuilder all = new StringBuilder();
        for (var e : expected.entrySet()) {
            double err = relativeL2(e.getValue().data(), actual.get(e.getKey()).data());
            all.append(String.format(" %s %.2g", e.getKey(), err));
            if (!(err <= max)) bad.add(e.getKey() + " " + err);
        }
        System.out.println(what + " (relative L2):" + all);
        assertTrue(bad.isEmpty(), what + " beyond " + max + ": " + bad);
    }

    /**
     * One step with dropout (whose Philox masks are the CPU's bit for bit), from the same weights on both backends:
     * the forward passes differ only in the order of float roundings (the GPU fuses multiply-adds and tiles its
     * sums), so the loss and logits agree to about 1e-7 and every gradient to float32 rounding of its sums (the
     * kernels on the CPU, scripts/emulated-gpu-tests, measure at most 8.4e-7; the bound is 1e-5). With conv3-5 and
     * their gradients as implicit GEMMs and by Winograd.
     */
    @ParameterizedTest(name = "winograd {0}")
    @ValueSource(booleans = {false, true})
    void aTrainingStepMatchesTheCpuReference(boolean winograd) {
        Run cpu = train(new CpuBackend(), 1), gpu = train(cuda(winograd), 1);
        assertEquals(cpu.loss(), gpu.loss(), 1e-5 * Math.abs(cpu.loss()), "loss");
        assertTrue(relativeL2(cpu.logits(), gpu.logits()) <= 1e-5, "logits relative L2 " + relativeL2(cpu.logits(), gpu.logits()));
        assertClose("gradients, GPU against CPU", cpu.gradients(), gpu.gradients(), 1e-5);
        assertClose("weights after the step, GPU against CPU", cpu.weights(), gpu.weights(), 1e-5);
    }

    /** Every reduction runs in a fixed order (no atomics): three steps twice give the same bits, GEMM or Winograd. */
    @ParameterizedTest(name = "winograd {0}")
    @ValueSource(booleans = {false, true})
    void theSameSeedGivesTheSameBits(boolean winograd) {
        Run a = train(cuda(winograd), 3), b = train(cuda(winograd), 3);
        assertEquals(Float.floatToIntBits(a.loss()), Float.floatToIntBits(b.loss()), "loss");
        assertArrayEquals(a.logits(), b.logits(), "logits");
        TrainerTest.assertSameTensors(a.gradients(), b.gradients());
        TrainerTest.assertSameTensors(a.weights(), b.weights());
        TrainerTest.assertSameTensors(a.velocities(), b.velocities());
    }

    /** The trainer on the GPU (pinned batch uploads, checkpoints): a resumed run ends with the uninterrupted run's bits. */
    @Test
    void aResumedRunEndsWithTheSameWeightsAsAnUninterruptedOne(@TempDir Path tmp) throws Exception {
        TrainerTest t = new TrainerTest();
        TrainerTest.Squares train = new TrainerTest.Squares(48), val = new TrainerTest.Squares(16);
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        Path straight = tmp.resolve("straight"), split = tmp.resolve("split");
        try (CudaBackend gpu = new CudaBackend(0)) {
            new Trainer(gpu, train, val, t.options(straight, 2), quiet).run(NET);
            new Trainer(gpu, train, val, t.options(split, 1), quiet).run(NET);
            new Trainer(gpu, train, val, t.options(split, 2), quiet).resume();
        }
        Checkpoint.Loaded a = Checkpoint.load(straight), b = Checkpoint.load(split);
        assertEquals(a.state(), b.state());
        TrainerTest.assertSameTensors(a.weights(), b.weights());
        TrainerTest.assertSameTensors(a.velocities(), b.velocities());
    }
}
