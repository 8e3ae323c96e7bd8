package dev.alexnetffm.engine.model;

import dev.alexnetffm.cuda.CudaDriver;
import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.backend.cuda.CudaBackend;
import dev.alexnetffm.engine.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ForwardGraphTest {
    /** The graph gives the network's own bits for fresh batches, and follows its parameters when they change. */
    private static void replaysGiveTheNetworksBits(Backend backend, AlexNetConfig config, int... batches) {
        try (AlexNet net = AlexNet.initialize(backend, config, 3)) {
            for (int n : batches) {
                try (ForwardGraph graph = ForwardGraph.record(net, n)) {
                    assertEquals(n, graph.batch());
                    for (int round = 0; round < 3; round++) {
                        float[] x = AlexNetForwardTest.randomImages(net, n, 40 + 10L * n + round);
                        assertArrayEquals(net.logits(x, n), graph.logits(x), "batch " + n + ", round " + round + ": logits");
                        assertArrayEquals(net.probabilities(x, n), graph.probabilities(x), "batch " + n + ": probabilities");
                    }
                    // new parameters (as training writes them): the next replay reads them
                    Tensor fc8 = net.parameters().get("fc8.weight");
                    float[] w = fc8.toArray();
                    for (int i = 0; i < w.length; i++) w[i] *= -2;
                    backend.copyFromHost(fc8, w);
                    float[] x = AlexNetForwardTest.randomImages(net, n, 99);
                    assertArrayEquals(net.logits(x, n), graph.logits(x), "batch " + n + ": after the parameters changed");
                }
            }
        }
    }

    @Test
    void cpuReplaysGiveTheNetworksBits() {
        replaysGiveTheNetworksBits(new CpuBackend(), AlexNetTest.SMALL, 1, 3);
    }

    @Test
    void badUseIsAClearError() {
        try (AlexNet net = AlexNet.initialize(new CpuBackend(), AlexNetTest.SMALL, 3)) {
            assertThrows(IllegalArgumentException.class, () -> ForwardGraph.record(net, 0));
            ForwardGraph graph = ForwardGraph.record(net, 2);
            IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class, () -> graph.logits(new float[7]));
            assertTrue(wrong.getMessage().contains("26934 floats, got 7"), wrong.getMessage());
            graph.close();
            graph.close();  // harmless
            IllegalStateException closed = assertThrows(IllegalStateException.class, graph::run);
            assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
            ForwardGraph again = ForwardGraph.record(net, 1);
            net.close();
            float[] x = new float[net.inputShape(1).intSize()];
            IllegalStateException netClosed = assertThrows(IllegalStateException.class, () -> again.logits(x));
            assertTrue(netClosed.getMessage().contains("AlexNet is closed"), netClosed.getMessage());
            again.close();
        }
    }

    /**
     * The paper's network as CUDA graphs at batch 1 (every convolution splits its reduction into the backend's
     * scratch memory) and 2; then the scratch memory grows under a live graph (batch 8 splits into more), which must
     * keep the memory its kernels point into; and what cannot be recorded fails clearly, leaving the backend usable.
     */
    @Test
    @Tag("gpu")
    void gpuGraphsGiveTheNetworksBits() {
        assumeTrue(CudaDriver.isAvailable(), () -> "no usable CUDA driver/GPU: " + CudaDriver.unavailableReason().orElse(""));
        try (CudaBackend gpu = new CudaBackend(0)) {
            replaysGiveTheNetworksBits(gpu, AlexNetConfig.paper(), 1, 2);
            try (AlexNet net = AlexNet.initialize(gpu, AlexNetConfig.paper(), 4);
                 ForwardGraph graph = ForwardGraph.record(net, 1)) {
                float[] one = AlexNetForwardTest.randomImages(net, 1, 5);
                float[] expected = graph.logits(one);
                net.logits(AlexNetForwardTest.randomImages(net, 8, 6), 8);  // grows the scratch memory
                assertArrayEquals(expected, graph.logits(one), "after the scratch memory grew");
                assertArrayEquals(expected, net.logits(one, 1));

                Tensor t = gpu.allocate(net.inputShape(1));
                IllegalStateException copy = assertThrows(IllegalStateException.class,
                        () -> gpu.record(() -> gpu.copyFromHost(t, one)));
                assertTrue(copy.getMessage().contains("a copy from the host cannot be recorded"), copy.getMessage());
                assertArrayEquals(expected, graph.logits(one), "the backend works after a failed recording");
                t.close();
            }
        }
    }
}
