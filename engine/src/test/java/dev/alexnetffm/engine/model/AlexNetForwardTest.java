package dev.alexnetffm.engine.model;

import dev.alexnetffm.cuda.CudaDriver;
import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.backend.cuda.CudaBackend;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class AlexNetForwardTest {

    static float[] randomImages(AlexNet net, int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[net.inputShape(n).intSize()];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * 50);
        return x;
    }

    @Test
    void cpuForwardGivesFiniteDeterministicLogitsAndProbabilities() {
        try (AlexNet net = AlexNet.initialize(new CpuBackend(), AlexNetTest.SMALL, 5)) {
            float[] x = randomImages(net, 3, 11);
            float[] a = net.logits(x, 3), b = net.logits(x, 3);
            assertEquals(3 * 10, a.length);
            assertArrayEquals(a, b, "same input, same bits");
            for (float v : a) assertTrue(Float.isFinite(v));
            float[] p = net.probabilities(x, 3);
            for (int n = 0; n < 3; n++) {
                double sum = 0;
                for (int k = 0; k < 10; k++) {
                    assertTrue(p[n * 10 + k] >= 0);
                    sum += p[n * 10 + k];
                }
                assertEquals(1.0, sum, 1e-5);
            }
            // images are independent: the second image alone gives the second row
            float[] second = java.util.Arrays.copyOfRange(x, x.length / 3, 2 * x.length / 3);
            float[] alone = net.logits(second, 1);
            for (int k = 0; k < 10; k++) assertEquals(a[10 + k], alone[k], 1e-6f * Math.max(1, Math.abs(alone[k])));
        }
    }

    /** Alternating batch sizes (a classifier's full batches and its last) reuse their buffers: no allocation after the first of each. */
    @Test
    void alternatingBatchSizesKeepTheirBuffers() {
        java.util.concurrent.atomic.AtomicInteger allocations = new java.util.concurrent.atomic.AtomicInteger();
        CpuBackend cpu = new CpuBackend();
        dev.alexnetffm.engine.backend.Backend counting = (dev.alexnetffm.engine.backend.Backend) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {dev.alexnetffm.engine.backend.Backend.class}, (proxy, method, args) -> {
                    if (method.getName().equals("allocate")) allocations.incrementAndGet();
                    try {
                        return method.invoke(cpu, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        try (AlexNet net = AlexNet.initialize(counting, AlexNetTest.SMALL, 5)) {
            float[] two = randomImages(net, 2, 1), three = randomImages(net, 3, 2);
            float[] first2 = net.logits(two, 2), first3 = net.logits(three, 3);
            int made = allocations.get();
            for (int round = 0; round < 3; round++) {
                assertArrayEquals(first2, net.logits(two, 2));
                assertEquals(30, net.probabilities(three, 3).length);
                assertArrayEquals(first3, net.logits(three, 3));
            }
            assertEquals(made, allocations.get(), "no allocation once both sizes have their buffers");
            net.logits(randomImages(net, 1, 3), 1);  // a third size: made, the least recently used one let go
            assertTrue(allocations.get() > made);
            assertArrayEquals(first3, net.logits(three, 3));
        }
    }

    @Test
    void badInputShapesNameWhatWasExpected() {
        try (AlexNet net = AlexNet.initialize(new CpuBackend(), AlexNetTest.SMALL, 5)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> net.logits(new float[10], 1));
            assertTrue(e.getMessage().contains("(1, 3, 67, 67) needs 13467 floats, got 10"), e.getMessage());
        }
    }

    /**
     * The whole paper network, a batch of 2, GPU against the CPU reference: logits within 1e-4 relative; with conv3-5
     * as implicit GEMMs and by Winograd.
     */
    @ParameterizedTest(name = "winograd {0}")
    @ValueSource(booleans = {false, true})
    @Tag("gpu")
    void gpuForwardMatchesTheCpuReference(boolean winograd) {
        assumeTrue(CudaDriver.isAvailable(), () -> "no usable CUDA driver/GPU: " + CudaDriver.unavailableReason().orElse(""));
        var weights = AlexNet.initialWeights(AlexNetConfig.paper(), 2012);
        // larger weights than the paper's init so that signals do not vanish through eight layers
        weights.forEach((name, t) -> {
            if (name.endsWith(".weight")) {
                float scale = (float) Math.sqrt(2.0 / (t.shape().sizeFrom(1))) / 0.01f;
                float[] d = t.data();
                for (int i = 0; i < d.length; i++) d[i] *= scale;
            }
        });
        CudaBackend gpu = new CudaBackend(0);
        gpu.setWinograd(winograd);
        try (gpu; AlexNet onGpu = AlexNet.fromWeights(gpu, AlexNetConfig.paper(), weights);
             AlexNet onCpu = AlexNet.fromWeights(new CpuBackend(), AlexNetConfig.paper(), weights)) {
            float[] x = randomImages(onCpu, 2, 3);
            float[] expected = onCpu.logits(x, 2);
            float[] actual = onGpu.logits(x, 2);
            double num = 0, den = 0;
            for (int i = 0; i < expected.length; i++) {
                assertFalse(Float.isNaN(actual[i]), "logit " + i + " is NaN");
                num += (actual[i] - expected[i]) * (double) (actual[i] - expected[i]);
                den += expected[i] * (double) expected[i];
            }
            assertTrue(den > 0, "logits are all zero: the test would prove nothing");
            assertTrue(Math.sqrt(num / den) < 1e-4, "relative L2 error " + Math.sqrt(num / den));
        }
    }
}
