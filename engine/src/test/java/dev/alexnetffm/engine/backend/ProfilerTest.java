package dev.alexnetffm.engine.backend;

import dev.alexnetffm.cuda.CudaDriver;
import dev.alexnetffm.engine.backend.cuda.CudaBackend;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;
import dev.alexnetffm.engine.train.Sgd;
import dev.alexnetffm.engine.train.TrainingStep;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The op profiler: it changes no result, sees every op of a recording and nothing outside it, and counts work right. */
class ProfilerTest {
    static final AlexNetConfig NET = AlexNetConfig.paper().withInput(3, 67).withClasses(4).withHidden(32);
    static final int BATCH = 2;

    static float[] images() {
        SplittableRandom r = new SplittableRandom(7);
        float[] x = new float[BATCH * 3 * 67 * 67];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        return x;
    }

    /** One training step's loss, logits and weights on {@code b}, built on what {@code wrap} makes of it. */
    record Step(float loss, float[] logits, Map<String, HostTensor> weights) {}

    static Step trainStep(Backend b, Function<Backend, Backend> wrap, Profiler profiler) {
        Map<String, HostTensor> w = AlexNet.initialWeights(NET, 3, AlexNet.Init.KAIMING);
        try (AlexNet net = AlexNet.fromWeights(wrap.apply(b), NET, w); TrainingStep step = new TrainingStep(net, 5)) {
            Tensor x = net.upload(images(), BATCH);
            float[] loss = new float[1];
            Runnable work = () -> loss[0] = step.step(x, new int[] {1, 3}, Sgd.paper(), 0);
            if (profiler != null) profiler.record(work);
            else work.run();
            return new Step(loss[0], step.lastLogits(), net.weights());
        }
    }

    static void assertSameBits(Step expected, Step actual) {
        assertEquals(Float.floatToRawIntBits(expected.loss()), Float.floatToRawIntBits(actual.loss()), "loss");
        assertArrayEquals(expected.logits(), actual.logits(), "logits");
        for (var e : expected.weights().entrySet()) assertArrayEquals(e.getValue().data(), actual.weights().get(e.getKey()).data(), e.getKey());
    }

    @Test
    void aProfiledTrainingStepIsTheSameStepAndEveryOpIsCounted() {
        CpuBackend cpu = new CpuBackend();
        Step plain = trainStep(cpu, b -> b, null);
        try (Profiler profiler = Profiler.of(cpu)) {
            Step profiled = trainStep(cpu, b -> profiler.backend(), profiler);
            assertSameBits(plain, profiled);

            List<Profiler.Op> ops = profiler.ops();
            List<String> names = ops.stream().map(Profiler.Op::name).toList();
            // 67x67 input: conv1 -> 15x15, pool -> 7x7, conv2 5x5 pad 2 -> 7x7, pool -> 3x3, conv3-5 -> 3x3, pool5 -> 1x1
            for (String layer : List.of("96x3x11x11/4", "256x48x5x5/1 g2", "384x256x3x3/1", "384x192x3x3/1 g2", "256x192x3x3/1 g2")) {
                assertTrue(names.contains("conv2d " + layer), layer + ": " + names);
                assertTrue(names.contains("conv2dBackwardWeight " + layer), layer + ": " + names);
                assertEquals(!layer.startsWith("96x3x"), names.contains("conv2dBackwardData " + layer), layer + ": " + names);  // not conv1's
            }
            for (String layer : List.of("32x256", "32x32", "4x32")) {
                for (String op : List.of("linear ", "linearBackwardData ", "linearBackwardWeight ")) assertTrue(names.contains(op + layer), op + layer + ": " + names);
            }
            assertTrue(names.contains("maxPool 2x96x7x7"), names.toString());
            assertTrue(names.contains("lrnBackward 2x96x15x15"), names.toString());
            assertTrue(names.stream().anyMatch(n -> n.startsWith("sgdUpdate")), names.toString());
            assertTrue(names.stream().anyMatch(n -> n.startsWith("softmaxCrossEntropy")), names.toString());

            // 16 parameter tensors, each updated once; conv1's forward once; the total is the sum of the rows
            assertEquals(16, ops.stream().filter(o -> o.name().startsWith("sgdUpdate")).mapToInt(Profiler.Op::calls).sum());
            Profiler.Op conv1 = ops.get(names.indexOf("conv2d 96x3x11x11/4"));
            assertEquals(1, conv1.calls());
            assertEquals(2.0 * (2 * 96 * 15 * 15) * (3 * 11 * 11) / 1e9, conv1.gflop(), 1e-15);
            assertEquals(4.0 * (2 * 3 * 67 * 67 + 96 * 3 * 11 * 11 + 96 + 2 * 96 * 15 * 15) / 1e6, conv1.megabytes(), 1e-12);
            Profiler.Op fc8 = ops.get(names.indexOf("linear 4x32"));
            assertEquals(2.0 * 2 * 4 * 32 / 1e9, fc8.gflop(), 1e-18);
            Profiler.Op fc8Weight = ops.get(names.indexOf("linearBackwardWeight 4x32"));
            assertEquals(2.0 * 2 * 4 * 32 / 1e9, fc8Weight.gflop(), 1e-18);
            assertEquals(ops.stream().mapToDouble(Profiler.Op::millis).sum(), profiler.totalMillis(), 1e-9);
            assertTrue(profiler.totalMillis() > 0);

            String table = profiler.table("training step, batch 2");
            assertTrue(table.startsWith("profile: training step, batch 2 on cpu, "), table);
            for (Profiler.Op o : ops) assertTrue(table.contains(o.name()), o.name() + " missing from\n" + table);
        }
    }

    /** fc6 reads pool5's (N, 256, 6, 6) as (N, 9216): its products are counted over all 9216 inputs. */
    @Test
    void linearAfterAConvolutionCountsEveryInput() {
        Object[] fc6 = {HostTensor.zeros(Shape.of(2, 5)), HostTensor.zeros(Shape.of(2, 8, 3, 3)), HostTensor.zeros(Shape.of(5, 72)),
                HostTensor.zeros(Shape.of(5)), true};
        assertEquals(2.0 * 2 * 5 * 72 / 1e9, Profiler.gflop("linear", fc6), 1e-18);
        Object[] backwardData = {HostTensor.zeros(Shape.of(2, 8, 3, 3)), HostTensor.zeros(Shape.of(2, 5)), HostTensor.zeros(Shape.of(5, 72))};
        assertEquals(2.0 * 2 * 5 * 72 / 1e9, Profiler.gflop("linearBackwardData", backwardData), 1e-18);
    }

    @Test
    void labelledParametersNameTheirLayersOps() {
        CpuBackend cpu = new CpuBackend();
        Map<String, HostTensor> w = AlexNet.initialWeights(NET, 3, AlexNet.Init.KAIMING);
        try (Profiler profiler = Profiler.of(cpu); AlexNet net = AlexNet.fromWeights(profiler.backend(), NET, w);
             TrainingStep step = new TrainingStep(net, 5)) {
            Tensor x = net.upload(images(), BATCH);
            step.step(x, new int[] {0, 2}, Sgd.paper(), 0);  // makes the gradients
            profiler.label(net.parameters()).label(step.gradients());
            profiler.record(() -> step.step(x, new int[] {0, 2}, Sgd.paper(), 1));
            List<String> names = profiler.ops().stream().map(Profiler.Op::name).toList();
            for (String layer : List.of("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")) {
                assertTrue(names.contains(layer), layer + ": " + names);
                assertTrue(names.contains(layer + " dW"), layer + ": " + names);
                assertEquals(!layer.equals("conv1"), names.contains(layer + " dX"), layer + ": " + names);
                assertTrue(names.contains("sgdUpdate " + layer + ".weight") && names.contains("sgdUpdate " + layer + ".bias"), layer + ": " + names);
            }
            assertTrue(names.contains("lrn 2x96x15x15"), names.toString());  // unlabelled: by shape
            Profiler.Op conv2 = profiler.ops().get(names.indexOf("conv2"));
            assertEquals(2.0 * (2 * 256 * 7 * 7) * (48 * 5 * 5) / 1e9, conv2.gflop(), 1e-15);

            // As JSON: every op, and per layer the forward time and the backward time (dX + dW), as tables.py reads them
            String json = profiler.toJson("training step \"tiny\"");
            assertTrue(json.contains("\"title\": \"training step \\\"tiny\\\"\""), json);
            for (Profiler.Op o : profiler.ops()) assertTrue(json.contains("{\"name\": \"" + o.name() + "\", \"calls\": " + o.calls()), o.name());
            double conv2Backward = profiler.ops().get(names.indexOf("conv2 dX")).millis() + profiler.ops().get(names.indexOf("conv2 dW")).millis();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"layers_bwd_ms\": \\{[^}]*\"conv2\": ([0-9.]+)").matcher(json);
            assertTrue(m.find(), json);
            assertEquals(conv2Backward, Double.parseDouble(m.group(1)), 1e-5);
            assertTrue(json.matches("(?s).*\"layers_ms\": \\{\"conv1\": [0-9.]+, \"conv2\": .*"), json);
            assertFalse(json.matches("(?s).*\"layers_bwd_ms\": \\{[^}]*\"conv1 dW\".*"), "layer names, not op names: " + json);
        }
    }

    @Test
    void onlyWhatRunsInsideRecordIsTimedAndErrorsComeThroughUnwrapped() {
        CpuBackend cpu = new CpuBackend();
        try (Profiler profiler = Profiler.of(cpu); Tensor a = profiler.backend().allocate(Shape.of(4, 5));
             Tensor b = profiler.backend().allocate(Shape.of(4, 5)); Tensor wrong = profiler.backend().allocate(Shape.of(3))) {
            profiler.backend().fill(a, -1f);  // outside a recording: not counted
            profiler.record(() -> {
                profiler.backend().fill(a, 2f);
                profiler.backend().relu(b, a);
                profiler.backend().relu(b, a);
            });
            assertEquals(List.of("fill 4x5", "relu 4x5"), profiler.ops().stream().map(Profiler.Op::name).toList());
            assertEquals(List.of(1, 2), profiler.ops().stream().map(Profiler.Op::calls).toList());
            assertArrayEquals(new float[] {2, 2, 2, 2}, java.util.Arrays.copyOf(b.toArray(), 4));
            // the backend's own exception, not an UndeclaredThrowableException
            assertThrows(IllegalArgumentException.class, () -> profiler.record(() -> profiler.backend().relu(wrong, a)));
            assertThrows(IllegalArgumentException.class, () -> Profiler.of(profiler.backend()));
            assertThrows(IllegalStateException.class, () -> profiler.record(() -> profiler.record(() -> {})));
        }
    }

    /** On a GPU the times are the device's (timing events on the stream), and the results the unprofiled bits. */
    @Test
    @Tag("gpu")
    void onTheGpuEveryOpIsTimedByEventsAndNothingChanges() {
        assumeTrue(CudaDriver.isAvailable(), () -> "no usable CUDA driver/GPU: " + CudaDriver.unavailableReason().orElse(""));
        try (CudaBackend gpu = new CudaBackend(0)) {
            Step plain = trainStep(gpu, b -> b, null);
            try (Profiler profiler = Profiler.of(gpu)) {
                for (int round = 0; round < 2; round++) {  // the second recording reuses the first one's events
                    Step profiled = trainStep(gpu, b -> profiler.backend(), profiler);
                    assertSameBits(plain, profiled);
                    assertTrue(profiler.ops().size() > 20, profiler.ops().toString());
                    for (Profiler.Op o : profiler.ops()) assertTrue(o.millis() >= 0 && Double.isFinite(o.millis()), o.toString());
                    assertTrue(profiler.totalMillis() > 0);
                    System.out.print(profiler.table("training step, batch " + BATCH));
                }
            }
        }
    }
}
