package dev.alexnetffm.engine.model;

import dev.alexnetffm.cuda.CudaDriver;
import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.backend.cuda.CudaBackend;
import dev.alexnetffm.engine.parallel.SplitAlexNet;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Networks embedded in a multi-threaded program (a server's request threads): calls from several threads at once
 * give each caller exactly the bits a call alone gives. The batch sizes differ between threads, so a call that ran
 * on another thread's input or activations, or on activations reallocated under it, would show.
 */
class AlexNetConcurrencyTest {
    private static final int THREADS = 4, ROUNDS = 6;
    private static final int[] BATCHES = {1, 2, 3, 1};

    /** A job for thread t: its batch and what the call returns, which must equal what it returned alone. */
    private record Job(float[] images, int n, BiFunction<float[], Integer, float[]> call, float[] alone) {}

    private static Job job(AlexNet net, int t, BiFunction<float[], Integer, float[]> call) {
        int n = BATCHES[t % BATCHES.length];
        float[] images = AlexNetForwardTest.randomImages(net, n, 100 + t);
        return new Job(images, n, call, call.apply(images, n));
    }

    /** Runs every job ROUNDS times on its own thread, all threads released together, and compares bit for bit. */
    private static void runTogether(List<Job> jobs) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(jobs.size());
        try {
            CyclicBarrier start = new CyclicBarrier(jobs.size());
            List<Future<?>> results = new ArrayList<>();
            for (int t = 0; t < jobs.size(); t++) {
                Job job = jobs.get(t);
                int thread = t;
                results.add(pool.submit((Callable<Void>) () -> {
                    for (int round = 0; round < ROUNDS; round++) {
                        start.await();
                        assertArrayEquals(job.alone(), job.call().apply(job.images(), job.n()),
                                "thread " + thread + " (batch " + job.n() + "), round " + round + ": not the bits of the call alone");
                    }
                    return null;
                }));
            }
            for (Future<?> f : results) {
                try {
                    f.get(3, TimeUnit.MINUTES);  // a deadlock fails the test instead of hanging the build
                } catch (TimeoutException e) {
                    fail("the calls did not finish within 3 minutes: deadlocked?");
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static List<Job> mixedCalls(AlexNet net) {
        List<Job> jobs = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            jobs.add(switch (t % 3) {
                case 0 -> job(net, t, net::logits);
                case 1 -> job(net, t, net::probabilities);
                default -> job(net, t, (images, n) -> {  // from off-heap memory
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment segment = arena.allocate(ValueLayout.JAVA_FLOAT, images.length);
                        MemorySegment.copy(images, 0, segment, ValueLayout.JAVA_FLOAT, 0, images.length);
                        return net.logits(segment, n);
                    }
                });
            });
        }
        return jobs;
    }

    @Test
    void oneNetworkCalledFromSeveralThreadsAtOnce() throws Exception {
        try (AlexNet net = AlexNet.initialize(new CpuBackend(), AlexNetTest.SMALL, 5)) {
            runTogether(mixedCalls(net));
        }
    }

    @Test
    void splitNetworkCalledFromSeveralThreadsAtOnce() throws Exception {
        try (SplitAlexNet split = SplitAlexNet.create(new CpuBackend(), new CpuBackend(), AlexNetTest.SMALL,
                AlexNet.initialWeights(AlexNetTest.SMALL, 5));
             AlexNet shape = AlexNet.initialize(new CpuBackend(), AlexNetTest.SMALL, 5)) {
            List<Job> jobs = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) jobs.add(job(shape, t, t % 2 == 0 ? split::logits : split::probabilities));
            runTogether(jobs);
        }
    }

    @Test
    void aClosedNetworkSaysSo() {
        AlexNet net = AlexNet.initialize(new CpuBackend(), AlexNetTest.SMALL, 5);
        float[] images = AlexNetForwardTest.randomImages(net, 1, 1);
        net.close();
        net.close();  // harmless
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> net.logits(images, 1));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertThrows(IllegalStateException.class, net::weights);
    }

    /**
     * Two networks on one GPU backend, each called from two threads: batch 1 makes the convolutions split their
     * reductions and batch 16 splits fc7's, both into the backend's one scratch buffer, so ops of different threads
     * that interleaved inside an op would add up another call's partial sums.
     */
    @Test
    @Tag("gpu")
    void networksSharingOneGpuCalledFromSeveralThreadsAtOnce() throws Exception {
        assumeTrue(CudaDriver.isAvailable(), () -> "no usable CUDA driver/GPU: " + CudaDriver.unavailableReason().orElse(""));
        AlexNetConfig config = AlexNetTest.SMALL.withHidden(1024);
        try (Backend gpu = new CudaBackend(0);
             AlexNet first = AlexNet.initialize(gpu, config, 5);
             AlexNet second = AlexNet.initialize(gpu, config, 6)) {
            List<Job> jobs = new ArrayList<>();
            int[] batches = {1, 16, 1, 16};
            for (int t = 0; t < batches.length; t++) {
                AlexNet net = t < 2 ? first : second;
                int n = batches[t];
                float[] images = AlexNetForwardTest.randomImages(net, n, 200 + t);
                BiFunction<float[], Integer, float[]> call = t % 2 == 0 ? net::logits : net::probabilities;
                jobs.add(new Job(images, n, call, call.apply(images, n)));
            }
            runTogether(jobs);
        }
    }
}
