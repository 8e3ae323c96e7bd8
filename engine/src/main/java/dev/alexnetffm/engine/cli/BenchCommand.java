package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.Engine;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.Tensor;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.SplittableRandom;

/** {@code alexnet bench}: forward throughput of the network at one batch size. */
final class BenchCommand implements Main.Command {
    @Override
    public String summary() {
        return "forward throughput: --batch N [--iterations K] [--weights file] [--device ...]";
    }

    @Override
    public int run(String[] argv, PrintStream out) throws Exception {
        Args args = new Args("bench", argv, Set.of("batch", "iterations", "warmup", "weights", "device"), Set.of());
        if (!args.operands().isEmpty()) throw new Main.UsageException("unexpected argument " + args.operands().getFirst());
        int batch = args.integer("batch", 128, 1, 4096);
        try (Engine engine = EngineOptions.open(args)) {
            boolean cpu = engine.backend().name().equals("cpu");
            int iterations = args.integer("iterations", cpu ? 2 : 50, 1, 1_000_000);
            int warmup = args.integer("warmup", cpu ? 1 : 5, 0, 1_000_000);
            String weights = args.string("weights", null);
            AlexNet net = weights == null ? engine.newModel(AlexNetConfig.paper(), 42) : engine.loadModel(Path.of(weights));
            SplittableRandom random = new SplittableRandom(1);
            float[] x = new float[net.inputShape(batch).intSize()];
            for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
            out.printf("bench: %s, batch %d, %s parameters%n", engine.description(), batch, String.format(java.util.Locale.ROOT, "%,d", AlexNet.parameterCount(net.config())));
            try (Tensor input = engine.backend().fromArray(net.inputShape(batch), x)) {
                for (int i = 0; i < warmup; i++) net.forward(input);
                engine.backend().synchronize();
                double[] ms = new double[iterations];
                for (int i = 0; i < iterations; i++) {
                    long t0 = System.nanoTime();
                    net.forward(input);
                    engine.backend().synchronize();
                    ms[i] = (System.nanoTime() - t0) / 1e6;
                }
                Arrays.sort(ms);
                double median = ms[iterations / 2];
                out.printf("forward: median %.3f ms per batch (min %.3f, max %.3f over %d), %.1f images/s%n",
                        median, ms[0], ms[iterations - 1], iterations, batch / (median / 1e3));
            }
        }
        return 0;
    }
}
