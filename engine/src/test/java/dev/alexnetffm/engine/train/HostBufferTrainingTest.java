package dev.alexnetffm.engine.train;

import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.backend.HostBuffer;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.parallel.SplitAlexNet;
import dev.alexnetffm.engine.tensor.HostTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.alexnetffm.engine.train.TrainerTest.TINY;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Batches in host buffers: a learner's step and logits from a {@link HostBuffer} are the same bits as from an
 * array, on one device and split over two; and the trainer feeds its learner host buffers.
 */
class HostBufferTrainingTest {
    final TrainerTest.Squares data = new TrainerTest.Squares(8);
    final Map<String, HostTensor> weights = AlexNet.initialWeights(TINY, 3, AlexNet.Init.KAIMING);

    @Test
    void oneDeviceStepsAndLogitsFromAHostBufferMatchArrays() throws Exception {
        sameAsArrays(Learner.on(new CpuBackend()));
    }

    @Test
    void splitStepsAndLogitsFromAHostBufferMatchArrays() throws Exception {
        sameAsArrays(SplitAlexNet.learners(CpuBackend::new, CpuBackend::new));
    }

    private void sameAsArrays(Learner.Factory learners) throws Exception {
        int n = 6, floats = data.imageFloats();
        float[] images = new float[8 * floats]; // a larger buffer than the batch: only the first n images count
        int[] labels = new int[n];
        for (int i = 0; i < 8; i++) data.image(i, images, i * floats);
        for (int i = 0; i < n; i++) labels[i] = data.label(i);
        try (Learner arrays = learners.create(TINY, weights, 5); Learner buffers = learners.create(TINY, weights, 5);
             HostBuffer host = buffers.allocateHost(images.length)) {
            MemorySegment.copy(images, 0, host.segment(), ValueLayout.JAVA_FLOAT, 0, images.length);
            for (int step = 0; step < 3; step++) {
                float want = arrays.step(images, labels, Sgd.paper(), step);
                float got = buffers.step(host, labels, Sgd.paper(), step);
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got), "loss of step " + step);
                assertArrayEquals(arrays.lastLogits(), buffers.lastLogits());
            }
            TrainerTest.assertSameTensors(arrays.weights(), buffers.weights());
            TrainerTest.assertSameTensors(arrays.velocities(), buffers.velocities());
            assertArrayEquals(arrays.logits(images, 5), buffers.logits(host, 5));
            host.awaitReusable();
        }
    }

    /** A learner that counts which upload path its batches took. */
    static final class Counting implements Learner {
        final Learner inner;
        final AtomicInteger hostSteps = new AtomicInteger(), arraySteps = new AtomicInteger(), hostLogits = new AtomicInteger(), arrayLogits = new AtomicInteger();
        final List<HostBuffer> allocated = new ArrayList<>();

        Counting(Learner inner) {
            this.inner = inner;
        }

        public dev.alexnetffm.engine.model.AlexNetConfig config() { return inner.config(); }
        public String description() { return inner.description(); }
        public float step(float[] images, int[] labels, Sgd sgd, long step) { arraySteps.incrementAndGet(); return inner.step(images, labels, sgd, step); }
        public float step(HostBuffer images, int[] labels, Sgd sgd, long step) { hostSteps.incrementAndGet(); return inner.step(images, labels, sgd, step); }
        public float[] lastLogits() { return inner.lastLogits(); }
        public float[] logits(float[] images, int n) { arrayLogits.incrementAndGet(); return inner.logits(images, n); }
        public float[] logits(HostBuffer images, int n) { hostLogits.incrementAndGet(); return inner.logits(images, n); }
        public synchronized HostBuffer allocateHost(long floats) {
            HostBuffer h = inner.allocateHost(floats);
            allocated.add(h);
            return h;
        }
        public Map<String, HostTensor> weights() { return inner.weights(); }
        public Map<String, HostTensor> velocities() { return inner.velocities(); }
        public void loadVelocities(Map<String, HostTensor> velocities) { inner.loadVelocities(velocities); }
        public void close() { inner.close(); }
    }

    @Test
    void theTrainerDecodesIntoTheLearnersHostBuffersAndFreesThem(@TempDir Path tmp) throws Exception {
        List<Counting> made = new ArrayList<>();
        Learner.Factory oneDevice = Learner.on(new CpuBackend());
        Learner.Factory counting = (config, w, seed) -> {
            Counting c = new Counting(oneDevice.create(config, w, seed));
            made.add(c);
            return c;
        };
        Trainer.Options options = new TrainerTest().options(tmp.resolve("run"), 2);
        new Trainer(counting, new TrainerTest.Squares(48), new TrainerTest.Squares(10), options, new PrintStream(new ByteArrayOutputStream()))
                .run(TINY);
        Counting c = made.getFirst();
        assertEquals(6, c.hostSteps.get(), "48 images in batches of 16, two epochs");
        assertEquals(0, c.arraySteps.get());
        assertEquals(2 * 1, c.hostLogits.get(), "validation: 10 images, one batch per epoch");
        assertEquals(0, c.arrayLogits.get());
        assertEquals(2 * 4 + 2 * 3, c.allocated.size(), "per epoch: 4 training buffers (prefetch 3), 3 validation buffers (prefetch 2)");
        for (HostBuffer h : c.allocated) assertThrows(IllegalStateException.class, () -> h.segment().get(ValueLayout.JAVA_FLOAT, 0), "freed");
    }
}
