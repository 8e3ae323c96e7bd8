package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.Engine;
import dev.alexnetffm.engine.backend.Profiler;
import dev.alexnetffm.engine.backend.cuda.CudaBackend;
import dev.alexnetffm.engine.io.AtomicFile;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.model.ForwardGraph;
import dev.alexnetffm.engine.parallel.ExchangePlan;
import dev.alexnetffm.engine.parallel.SplitAlexNet;
import dev.alexnetffm.engine.parallel.Timeline;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Tensor;
import dev.alexnetffm.engine.train.Checkpoint;
import dev.alexnetffm.engine.train.Sgd;
import dev.alexnetffm.engine.train.TrainingStep;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * {@code alexnet bench}: time per batch of the forward pass (or, with {@code --train}, of a training step) at one
 * batch size, on one device or split over two; every iteration starts from the batch in host memory, so the
 * one- and two-device figures include the same uploads.
 */
final class BenchCommand implements Main.Command {
    @Override
    public String summary() {
        return "throughput: --batch N [--train | --graph] [--iterations K] [--weights file] [--device ... [--profile] | --devices A,B [--trace f]]";
    }

    @Override
    public String help() {
        return """
                usage: alexnet bench [options]
                  --batch N                      images per batch (default 128)
                  --train                        time a training step (forward, backward, SGD) instead of the forward pass
                  --graph                        on one device: the forward pass recorded once and replayed (a CUDA graph on
                                                 a GPU: one launch per batch instead of one per kernel)
                  --iterations K                 timed calls, of which the median is reported (default 50; 2 on the CPU)
                  --warmup K                     untimed calls first (default 5; 1 on the CPU)
                  --weights <file|dir>           the network to run: a weights file or a train --run folder (default: the
                                                 paper's network, freshly initialised)
                """ + EngineOptions.HELP + EngineOptions.DEVICES_HELP + """
                  --profile                      on one device: one more call with every op timed (device time on a GPU),
                                                 printed as a table: calls, ms, share, GFLOP/s, GB/s per op
                  --profile-json <file>          --profile, also written as JSON (per op, and per layer forward/backward)
                  --trace <file.json>            with --devices: one more call's timeline on both devices, as Chrome trace
                                                 JSON (chrome://tracing or ui.perfetto.dev)
                Every call starts from the same batch in host memory and ends with its work finished.
                """;
    }

    /** One timed call: a forward pass or a training step on the same host batch. */
    private interface Call {
        void run(long iteration);
    }

    @Override
    public int run(String[] argv, PrintStream out) throws Exception {
        Args args = new Args("bench", argv, Set.of("batch", "iterations", "warmup", "weights", "device", "devices", "trace", "profile-json"), Set.of("train", "profile", "graph"));
        if (!args.operands().isEmpty()) throw new Main.UsageException("unexpected argument " + args.operands().getFirst());
        int batch = args.integer("batch", 128, 1, 4096);
        boolean train = args.flag("train");
        String trace = args.string("trace", null);
        EngineOptions.TwoDevices devices = EngineOptions.devices(args);
        String profileJson = args.string("profile-json", null);
        boolean profile = args.flag("profile") || profileJson != null;
        if (trace != null && devices == null) throw new Main.UsageException("--trace records the two devices' timeline: it needs --devices");
        if (profile && devices != null) throw new Main.UsageException("--profile times one device's ops; for the split, --trace records both devices' timeline");
        boolean graph = args.flag("graph");
        if (graph && (train || devices != null || profile)) {
            throw new Main.UsageException("--graph records one device's forward pass: without --train, --devices or --profile");
        }
        String weightsFile = args.string("weights", null);
        AlexNetConfig config;
        Map<String, HostTensor> weights;
        if (weightsFile == null) {
            config = AlexNetConfig.paper();
            weights = AlexNet.initialWeights(config, 42);
        } else {
            AlexNet.Saved saved = Checkpoint.readWeights(Path.of(weightsFile), AlexNetConfig.paper());
            config = saved.config();
            weights = saved.weights();
        }
        SplittableRandom random = new SplittableRandom(1);
        float[] x = new float[batch * config.inChannels() * config.inputSize() * config.inputSize()];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
        int[] labels = random.ints(batch, 0, config.classes()).toArray();
        Sgd sgd = Sgd.paper();
        String what = train ? "training step (forward, backward, SGD)" : graph ? "forward, recorded and replayed" : "forward";

        if (devices == null) {
            try (Engine engine = EngineOptions.open(args); Profiler profiler = profile ? Profiler.of(engine.backend()) : null;
                 AlexNet net = AlexNet.fromWeights(profile ? profiler.backend() : engine.backend(), config, weights);
                 TrainingStep step = train ? new TrainingStep(net, 42) : null;
                 ForwardGraph recorded = graph ? ForwardGraph.record(net, batch) : null) {
                boolean winograd = engine.backend() instanceof CudaBackend cuda && cuda.winograd();
                header(out, engine.description() + (winograd ? ", 3x3 convolutions by Winograd F(2x2, 3x3)" : ""), batch, what, config);
                if (profile) {
                    profiler.label(net.parameters());
                    if (train) profiler.label(step.gradients());
                }
                Call call = i -> {
                    if (recorded != null) {
                        recorded.logits(x);
                        return;
                    }
                    Tensor input = net.upload(x, batch);
                    if (train) {
                        step.step(input, labels, sgd, i);
                        engine.backend().synchronize();
                    } else {
                        net.forward(input).toArray();
                    }
                };
                long done = time(out, args, engine.backend().name().equals("cpu"), batch, call);
                if (profile) {
                    String title = what + ", batch " + batch;
                    out.print(profiler.record(() -> call.run(done)).table(title));
                    if (profileJson != null) {
                        AtomicFile.writeString(Path.of(profileJson), profiler.toJson(title));
                        out.println("profile as JSON: " + profileJson);
                    }
                    if (engine.backend() instanceof CudaBackend cuda && !cuda.convRowTiles().isEmpty()) {
                        out.println("convolution row tiles chosen by timing (output channels per block; r128: the entry held to 128 registers):");
                        cuda.convRowTiles().forEach((shape, tile) -> out.printf(Locale.ROOT, "  %-8s  %s%n", tile, shape));
                    }
                }
            }
            return 0;
        }
        try (SplitAlexNet split = SplitAlexNet.open(devices.a(), devices.b(), config, weights)) {
            if (train) split.enableTraining(42);
            header(out, split.description(), batch, what, config);
            ExchangePlan plan = split.plan(batch, train);
            out.printf(Locale.ROOT, "exchanged per %s: %,d bytes (forward %,d, backward %,d) in %d copies%n", train ? "step" : "batch",
                    plan.bytes(), plan.bytes(ExchangePlan.Pass.FORWARD), plan.bytes(ExchangePlan.Pass.BACKWARD), plan.copies().size());
            Call call = i -> {
                if (train) {
                    split.step(x, labels, sgd, i);
                    split.synchronize();
                } else {
                    split.logits(x, batch);
                }
            };
            long done = time(out, args, devices.spec().startsWith("cpu"), batch, call);
            List<ExchangePlan.Copy> moved = split.lastCopies();
            long movedBytes = moved.stream().mapToLong(ExchangePlan.Copy::bytes).sum();
            out.printf(Locale.ROOT, "moved by the transport in the last call: %,d bytes in %d copies (%s the plan)%n", movedBytes, moved.size(),
                    moved.size() == plan.copies().size() && movedBytes == plan.bytes() ? "as" : "NOT as");
            if (trace != null) {
                split.traceNextCall();
                call.run(done);
                Timeline t = split.lastTimeline();
                t.write(Path.of(trace));
                for (int lane = 0; lane < 2; lane++) {
                    out.printf(Locale.ROOT, "tower %s: ops %.3f ms, copies %.3f ms, waiting %.3f ms%n", lane == 0 ? "A" : "B",
                            t.total(lane, Timeline.Kind.OP) / 1e3, t.total(lane, Timeline.Kind.COPY) / 1e3, t.total(lane, Timeline.Kind.WAIT) / 1e3);
                }
                out.println("timeline (Chrome trace JSON, open in chrome://tracing or ui.perfetto.dev): " + trace);
            }
        }
        return 0;
    }

    private static void header(PrintStream out, String where, int batch, String what, AlexNetConfig config) {
        out.printf(Locale.ROOT, "bench: %s, %s, batch %d, %,d parameters%n", where, what, batch, AlexNet.parameterCount(config));
    }

    /** Warms up, then times each call to completion; prints the median. Returns the number of calls made. */
    private static long time(PrintStream out, Args args, boolean cpu, int batch, Call call) {
        int iterations = args.integer("iterations", cpu ? 2 : 50, 1, 1_000_000);
        int warmup = args.integer("warmup", cpu ? 1 : 5, 0, 1_000_000);
        long calls = 0;
        for (int i = 0; i < warmup; i++) call.run(calls++);
        double[] ms = new double[iterations];
        for (int i = 0; i < iterations; i++) {
            long t0 = System.nanoTime();
            call.run(calls++);  // every call ends with its work finished (logits read back, or a synchronize)
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        double median = ms[iterations / 2];
        out.printf(Locale.ROOT, "median %.3f ms per batch (min %.3f, max %.3f over %d), %.1f images/s%n",
                median, ms[0], ms[iterations - 1], iterations, batch / (median / 1e3));
        return calls;
    }
}
