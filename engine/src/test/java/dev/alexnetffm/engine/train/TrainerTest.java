package dev.alexnetffm.engine.train;

import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.HostTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The trainer on the CPU backend with a small network: checkpoints, curves, and resume = uninterrupted. */
class TrainerTest {
    static final AlexNetConfig TINY = AlexNetConfig.paper().withInput(3, 67).withClasses(4).withHidden(32);

    /** Class c images are noise plus a bright square at a class-specific place: learnable, cheap. */
    record Squares(int size) implements Dataset {
        public String name() { return "squares"; }
        public int classes() { return 4; }
        public int channels() { return 3; }
        public int imageSize() { return 67; }
        public int label(int i) { return i % 4; }
        public void image(int i, float[] out, int offset) {
            SplittableRandom r = new SplittableRandom(i);
            int c = label(i), x0 = (c % 2) * 33, y0 = (c / 2) * 33;
            for (int ch = 0; ch < 3; ch++) {
                for (int y = 0; y < 67; y++) {
                    for (int x = 0; x < 67; x++) {
                        boolean in = x >= x0 && x < x0 + 30 && y >= y0 && y < y0 + 30;
                        out[offset + (ch * 67 + y) * 67 + x] = (float) (r.nextGaussian() * 0.3 + (in ? 1.5 : 0));
                    }
                }
            }
        }
    }

    Trainer.Options options(Path dir, int epochs) {
        return new Trainer.Options(epochs, 16, Sgd.paper(), 7, 1, 3, 2, false, dir, AlexNet.Init.KAIMING);
    }

    @Test
    void aResumedRunEndsWithTheSameWeightsAsAnUninterruptedOne(@TempDir Path tmp) throws Exception {
        Dataset train = new Squares(48), val = new Squares(16);
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        CpuBackend cpu = new CpuBackend();
        Path straight = tmp.resolve("straight"), split = tmp.resolve("split");
        new Trainer(cpu, train, val, options(straight, 2), quiet).run(TINY);
        new Trainer(cpu, train, val, options(split, 1), quiet).run(TINY);
        Checkpoint.Loaded half = Checkpoint.load(split);
        assertEquals(1, half.state().epochsDone());
        assertEquals(3, half.state().step());
        Path killed = Files.writeString(split.resolve(".checkpoint.safetensors.5e0b7c.tmp"), "a checkpoint cut short");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Trainer.Result resumed = new Trainer(cpu, train, val, options(split, 2), new PrintStream(log, true)).resume();
        assertFalse(Files.exists(killed), "a killed run's temporary file is deleted when the run goes on");
        assertTrue(log.toString().contains("deleted 1 temporary file(s) a killed run left in " + split), log.toString());
        assertEquals(2, resumed.curves().epochs().size(), "the curves continue across the resume");

        Checkpoint.Loaded a = Checkpoint.load(straight), b = Checkpoint.load(split);
        assertEquals(a.state(), b.state());
        assertSameTensors(a.weights(), b.weights());
        assertSameTensors(a.velocities(), b.velocities());
        assertNotEquals(0f, a.velocities().get("fc8.weight").data()[0], "momentum was saved");
        assertEquals(Files.readString(straight.resolve("curves.csv")).lines().count(), Files.readString(split.resolve("curves.csv")).lines().count());
        assertTrue(Files.size(straight.resolve("curves.png")) > 1000);
        // the step log continues across the resume: one line per step of both epochs
        assertEquals(Files.readString(straight.resolve("steps.csv")).lines().count(), Files.readString(split.resolve("steps.csv")).lines().count());
        assertEquals(1 + a.state().step(), Files.readString(split.resolve("steps.csv")).lines().count());
    }

    static void assertSameTensors(Map<String, HostTensor> a, Map<String, HostTensor> b) {
        assertEquals(a.keySet(), b.keySet());
        for (String name : a.keySet()) assertArrayEquals(a.get(name).data(), b.get(name).data(), name + " differs");
    }

    /** Eight images, the same batch again and again: the loss must fall fast (no dropout, so nothing hides it). */
    @Test
    void stepsDriveTheLossDownOnAFixedBatch() throws Exception {
        CpuBackend cpu = new CpuBackend();
        AlexNetConfig config = TINY.withDropout(0f);
        Squares data = new Squares(8);
        float[] images = new float[8 * data.imageFloats()];
        int[] labels = new int[8];
        for (int i = 0; i < 8; i++) {
            data.image(i, images, i * data.imageFloats());
            labels[i] = data.label(i);
        }
        try (AlexNet net = AlexNet.initialize(cpu, config, 3, AlexNet.Init.KAIMING); TrainingStep step = new TrainingStep(net, 3);
             var x = cpu.fromArray(net.inputShape(8), images)) {
            float first = step.step(x, labels, Sgd.paper(), 0), last = first;
            for (int i = 1; i < 12; i++) last = step.step(x, labels, Sgd.paper(), i);
            assertTrue(last < 0.5f * first, "loss went from " + first + " to " + last);
            assertEquals(0, Metrics.topKWrong(step.lastLogits(), 8, labels, 1), "the batch is memorised");
        }
    }

    /** The tanh network (the paper's Figure 1 baseline) trains through the same step. */
    @Test
    void tanhNetworksTrainToo() throws Exception {
        CpuBackend cpu = new CpuBackend();
        AlexNetConfig config = TINY.withActivation(AlexNetConfig.Activation.TANH).withDropout(0f);
        Squares data = new Squares(4);
        float[] images = new float[4 * data.imageFloats()];
        int[] labels = new int[4];
        for (int i = 0; i < 4; i++) {
            data.image(i, images, i * data.imageFloats());
            labels[i] = data.label(i);
        }
        try (AlexNet net = AlexNet.initialize(cpu, config, 3, AlexNet.Init.KAIMING); TrainingStep step = new TrainingStep(net, 3);
             var x = cpu.fromArray(net.inputShape(4), images)) {
            float first = step.step(x, labels, Sgd.paper(), 0), last = first;
            for (int i = 1; i < 6; i++) last = step.step(x, labels, Sgd.paper(), i);
            assertTrue(Float.isFinite(last) && last < first, "loss went from " + first + " to " + last);
        }
    }

    /** A data set whose images take {@code millis} each to load, as a slow decoder's would. */
    record SlowSquares(int size, long millis) implements Dataset {
        public String name() { return "slow squares"; }
        public int classes() { return 4; }
        public int channels() { return 3; }
        public int imageSize() { return 67; }
        public int label(int i) { return i % 4; }
        public void image(int i, float[] out, int offset) throws IOException {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
            new Squares(size).image(i, out, offset);
        }
    }

    /** An epoch that waits on its loader threads says so, and what would help; one that does not, says nothing. */
    @Test
    void anEpochStarvedOfImagesSaysSo() throws Exception {
        CpuBackend cpu = new CpuBackend();
        Trainer.Options one = new Trainer.Options(1, 2, Sgd.paper(), 7, 1, 3, 1, false, null, AlexNet.Init.KAIMING);
        ByteArrayOutputStream slow = new ByteArrayOutputStream();
        // the first batch alone keeps the training thread waiting 1.4 s, at least a fifth of the epoch however slow the steps
        new Trainer(cpu, new SlowSquares(6, 700), new Squares(4), one, new PrintStream(slow, true)).run(TINY);
        assertTrue(slow.toString().contains("epoch 1: the training thread waited ")
                && slow.toString().contains("for images from 1 loader thread: more loader threads (train --threads) or images"
                + " prepared at their final size (alexnet prepare)"), slow.toString());
        ByteArrayOutputStream fast = new ByteArrayOutputStream();
        new Trainer(cpu, new Squares(6), new Squares(4), one, new PrintStream(fast, true)).run(TINY);
        assertFalse(fast.toString().contains("waited"), fast.toString());

        assertNull(Trainer.dataWait(0.99, 2, 3), "under a second");
        assertNull(Trainer.dataWait(5, 60, 3), "under a tenth");
        assertEquals("the training thread waited 6.0 s of 60.0 s (10%) for images from 3 loader threads: more loader threads"
                + " (train --threads) or images prepared at their final size (alexnet prepare) would keep the device busier",
                Trainer.dataWait(6, 60, 3));
    }

    @Test
    void badInputsAreClearErrors(@TempDir Path tmp) throws IOException {
        CpuBackend cpu = new CpuBackend();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Trainer(cpu, new Squares(32), new Squares(8), options(tmp, 1), System.out).run(TINY.withClasses(10)));
        assertTrue(e.getMessage().contains("does not fit the data squares"), e.getMessage());
        java.nio.file.NoSuchFileException missing = assertThrows(java.nio.file.NoSuchFileException.class,
                () -> new Trainer(cpu, new Squares(32), new Squares(8), options(tmp.resolve("none"), 1), System.out).resume());
        assertTrue(missing.getMessage().contains("checkpoint"), missing.getMessage());
        // a weights file is not a checkpoint
        Files.createDirectories(tmp.resolve("w"));
        try (AlexNet net = AlexNet.initialize(cpu, TINY, 1)) {
            net.save(tmp.resolve("w").resolve(Checkpoint.WEIGHTS));
        }
        IOException notCheckpoint = assertThrows(IOException.class, () -> Checkpoint.load(tmp.resolve("w")));
        assertTrue(notCheckpoint.getMessage().contains("not a training checkpoint"), notCheckpoint.getMessage());
    }

    @Test
    void thePapersOptionsAndEachWitherChangingOneSetting(@TempDir Path dir) {
        Trainer.Options paper = Trainer.Options.paper(90, dir);
        assertEquals(new Trainer.Options(90, 128, Sgd.paper(), 42, 1, 3, paper.loaderThreads(), false, dir, AlexNet.Init.PAPER), paper);
        assertTrue(paper.loaderThreads() >= 1);
        Sgd sgd = Sgd.paper().withLearningRate(0.1f);
        Trainer.Options all = paper.withBatchSize(32).withSgd(sgd).withSeed(7).withInit(AlexNet.Init.KAIMING).withLoaderThreads(3)
                .withSkipCorrupt(true);
        assertEquals(new Trainer.Options(90, 32, sgd, 7, 1, 3, 3, true, dir, AlexNet.Init.KAIMING), all);
    }
}
