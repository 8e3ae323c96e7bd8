package dev.alexnetffm.engine.train;

import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.parallel.SplitAlexNet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;

import static dev.alexnetffm.engine.train.TrainerTest.TINY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The trainer with the network split over two (CPU) devices: checkpoints do not depend on the placement. */
class SplitTrainingTest {
    final Dataset train = new TrainerTest.Squares(48), val = new TrainerTest.Squares(16);
    final PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
    final Learner.Factory twoDevices = SplitAlexNet.learners(CpuBackend::new, CpuBackend::new);

    Trainer.Options options(Path dir, int epochs) {
        return new TrainerTest().options(dir, epochs);
    }

    @Test
    void aSplitRunResumesToTheSameWeights(@TempDir Path tmp) throws Exception {
        Path straight = tmp.resolve("straight"), split = tmp.resolve("split");
        new Trainer(twoDevices, train, val, options(straight, 2), quiet).run(TINY);
        new Trainer(twoDevices, train, val, options(split, 1), quiet).run(TINY);
        new Trainer(twoDevices, train, val, options(split, 2), quiet).resume();
        Checkpoint.Loaded a = Checkpoint.load(straight), b = Checkpoint.load(split);
        assertEquals(a.state(), b.state());
        TrainerTest.assertSameTensors(a.weights(), b.weights());
        TrainerTest.assertSameTensors(a.velocities(), b.velocities());
    }

    @Test
    void aOneDeviceCheckpointContinuesOnTwoDevices(@TempDir Path tmp) throws Exception {
        Path one = tmp.resolve("one"), moved = tmp.resolve("moved");
        CpuBackend cpu = new CpuBackend();
        new Trainer(cpu, train, val, options(one, 2), quiet).run(TINY);
        new Trainer(cpu, train, val, options(moved, 1), quiet).run(TINY);
        Trainer.Result r = new Trainer(twoDevices, train, val, options(moved, 2), quiet).resume();
        assertEquals(2, r.curves().epochs().size());
        Checkpoint.Loaded a = Checkpoint.load(one), b = Checkpoint.load(moved);
        assertEquals(a.state().step(), b.state().step());
        // the second epoch ran split: the same weights to float32 rounding of the towers' partial sums
        for (String name : a.weights().keySet()) {
            float[] x = a.weights().get(name).data(), y = b.weights().get(name).data();
            double num = 0, den = 0;
            for (int i = 0; i < x.length; i++) {
                num += ((double) x[i] - y[i]) * ((double) x[i] - y[i]);
                den += (double) x[i] * x[i];
            }
            assertTrue(Math.sqrt(num / Math.max(den, 1e-30)) < 1e-5, name + " drifted: " + Math.sqrt(num / den));
        }
    }
}
