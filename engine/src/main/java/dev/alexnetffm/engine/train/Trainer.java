package dev.alexnetffm.engine.train;

import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.backend.HostBuffer;
import dev.alexnetffm.engine.data.BatchLoader;
import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.data.Labels;
import dev.alexnetffm.engine.io.AtomicFile;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.HostTensor;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.function.LongFunction;

/**
 * The paper's training procedure: SGD with momentum and weight decay on shuffled batches, validation top-1 and
 * top-5 error after every epoch, the learning rate divided by 10 when the validation error stops improving, a
 * checkpoint and the training curves (CSV and PNG) written after every epoch, and a progress line while it runs.
 *
 * <p>Batches are decoded on background threads straight into the learner's host buffers ({@link Learner#allocateHost},
 * page-locked on a GPU); each step queues the upload from there behind the device's work, with no copy on the
 * training thread, and a loader thread refills a buffer only once its upload has finished.
 *
 * <p>Reproducible: initialisation, the epoch's shuffle (seeded by seed and epoch) and the dropout masks (seed,
 * layer, step) are functions of the seed, and every op is deterministic; so {@link #resume} of a killed run ends
 * with the same weights as the run that was never interrupted.
 */
public final class Trainer {
    /**
     * @param epochs          total epochs (a resumed run continues up to this number)
     * @param batchSize       128 in the paper
     * @param patience        epochs without improvement of the validation top-1 error before the rate is divided by 10
     * @param maxReductions   how many times the rate may be divided (the paper: three times)
     * @param loaderThreads   decoding threads
     * @param skipCorrupt     skip and count corrupt items instead of failing
     * @param init            how a fresh network's weights start
     */
    public record Options(int epochs, int batchSize, Sgd sgd, long seed, int patience, int maxReductions, int loaderThreads,
                          boolean skipCorrupt, Path runDir, AlexNet.Init init) {
        public Options {
            if (epochs < 1 || batchSize < 1 || patience < 1 || maxReductions < 0 || loaderThreads < 1) {
                throw new IllegalArgumentException("epochs, batch size, patience and loader threads must be >= 1");
            }
        }

        /**
         * The paper's recipe for {@code epochs} epochs, checkpoints and curves in {@code runDir} (null: none): batch
         * 128, {@link Sgd#paper()}, the rate divided by 10 after one epoch without improvement, at most three times,
         * the paper's initialisation, seed 42, a loader thread per core but one, stopping at a corrupt image.
         */
        public static Options paper(int epochs, Path runDir) {
            return new Options(epochs, 128, Sgd.paper(), 42, 1, 3, Math.max(1, Runtime.getRuntime().availableProcessors() - 1),
                    false, runDir, AlexNet.Init.PAPER);
        }

        public Options withBatchSize(int batchSize) {
            return new Options(epochs, batchSize, sgd, seed, patience, maxReductions, loaderThreads, skipCorrupt, runDir, init);
        }

        public Options withSgd(Sgd sgd) {
            return new Options(epochs, batchSize, sgd, seed, patience, maxReductions, loaderThreads, skipCorrupt, runDir, init);
        }

        public Options withSeed(long seed) {
            return new Options(epochs, batchSize, sgd, seed, patience, maxReductions, loaderThreads, skipCorrupt, runDir, init);
        }

        public Options withInit(AlexNet.Init init) {
            return new Options(epochs, batchSize, sgd, seed, patience, maxReductions, loaderThreads, skipCorrupt, runDir, init);
        }

        public Options withLoaderThreads(int loaderThreads) {
            return new Options(epochs, batchSize, sgd, seed, patience, maxReductions, loaderThreads, skipCorrupt, runDir, init);
        }

        public Options withSkipCorrupt(boolean skipCorrupt) {
            return new Options(epochs, batchSize, sgd, seed, patience, maxReductions, loaderThreads, skipCorrupt, runDir, init);
        }
    }

    /** The outcome: the final validation errors and every epoch's summary. */
    public record Result(double valTop1, double valTop5, Curves curves, StepLog steps, Path runDir) {}

    private final Learner.Factory learners;
    private final Dataset train;
    private final Dataset val;
    private final Options options;
    private final PrintStream log;

    /** A trainer on one backend (which the caller keeps owning). */
    public Trainer(Backend backend, Dataset train, Dataset val, Options options, PrintStream log) {
        this(Learner.on(backend), train, val, options, log);
    }

    /** A trainer whose network is made by {@code learners} (e.g. split over two devices). */
    public Trainer(Learner.Factory learners, Dataset train, Dataset val, Options options, PrintStream log) {
        if (train.classes() != val.classes() || train.imageFloats() != val.imageFloats()) {
            throw new IllegalArgumentException("training and validation data differ in classes or image size: " + train.name() + " vs " + val.name());
        }
        Labels.requireSame("the training data (" + train.name() + ")", train.classNames(), "the validation data (" + val.name() + ")",
                val.classNames());
        this.learners = learners;
        this.train = train;
        this.val = val;
        this.options = options;
        this.log = log;
    }

    /** Trains a freshly initialised network of {@code config} (whose classes and input must match the data). */
    public Result run(AlexNetConfig config) throws IOException, InterruptedException {
        return run(config, AlexNet.initialWeights(config, options.seed(), options.init()));
    }

    /**
     * Trains the network of {@code config} from {@code weights} (fine-tuning: a trained network's weights, say, with a
     * fresh fc8 for the data's classes), momentum starting at zero.
     */
    public Result run(AlexNetConfig config, Map<String, HostTensor> weights) throws IOException, InterruptedException {
        checkFits(config);
        AlexNet.requireWeights(config, weights);
        try (Learner learner = learners.create(config, weights, options.seed())) {
            Checkpoint start = new Checkpoint(0, 0, options.sgd().learningRate(), Double.POSITIVE_INFINITY, 0, 0, options.seed());
            return loop(learner, start, new Curves(), new StepLog());
        }
    }

    /** Continues the run whose checkpoint is in {@code options.runDir()}, up to {@code options.epochs()}. */
    public Result resume() throws IOException, InterruptedException {
        Checkpoint.Loaded loaded = Checkpoint.load(options.runDir());
        checkFits(loaded.config());
        Labels.requireSame("the checkpoint in " + options.runDir(), loaded.classNames(), "the training data (" + train.name() + ")",
                train.classNames());
        Path csv = options.runDir().resolve("curves.csv");
        Curves curves = Files.isRegularFile(csv) ? Curves.parse(Files.readString(csv)) : new Curves();
        Path stepsCsv = options.runDir().resolve("steps.csv");
        StepLog steps = Files.isRegularFile(stepsCsv) ? StepLog.parse(Files.readString(stepsCsv)) : new StepLog();
        try (Learner learner = learners.create(loaded.config(), loaded.weights(), loaded.state().seed())) {
            learner.loadVelocities(loaded.velocities());
            log.printf("resuming %s after epoch %d (step %d, learning rate %s)%n", options.runDir(), loaded.state().epochsDone(),
                    loaded.state().step(), loaded.state().learningRate());
            return loop(learner, loaded.state(), curves, steps);
        }
    }

    private void checkFits(AlexNetConfig config) {
        if (config.classes() != train.classes() || config.inChannels() != train.channels() || config.inputSize() != train.imageSize()) {
            throw new IllegalArgumentException("the network (" + config.classes() + " classes, " + config.inChannels() + "x" + config.inputSize()
                    + "x" + config.inputSize() + ") does not fit the data " + train.name() + " (" + train.classes() + " classes, "
                    + train.channels() + "x" + train.imageSize() + "x" + train.imageSize() + ")");
        }
    }

    private Result loop(Learner learner, Checkpoint state, Curves curves, StepLog steps) throws IOException, InterruptedException {
        if (options.runDir() != null) {
            int leftovers = AtomicFile.deleteLeftovers(options.runDir(), false);  // a checkpoint's are hundreds of MB
            if (leftovers > 0) log.printf("deleted %d temporary file(s) a killed run left in %s%n", leftovers, options.runDir());
        }
        long seed = state.seed();
        float lr = state.learningRate();
        long step = state.step();
        double best = state.bestValTop1();
        int bad = state.badEpochs(), reductions = state.reductions();
        double[] lastVal = {Double.NaN, Double.NaN};
        double trainSeconds = steps.last() == null ? 0 : steps.last().seconds();
        for (int epoch = state.epochsDone() + 1; epoch <= options.epochs(); epoch++) {
            long t0 = System.nanoTime();
            train.startEpoch(epoch);
            int[] order = BatchLoader.shuffled(train.size(), seed * 1_000_003L + epoch);
            double lossSum = 0;
            long seen = 0, wrong = 0, waited = 0;
            Progress progress = new Progress(log, "epoch " + epoch + "/" + options.epochs());
            try (BatchLoader loader = new BatchLoader(train, options.batchSize(), order, true, options.loaderThreads(), 3, options.skipCorrupt(),
                    learner::allocateHost)) {
                int batches = loader.batches();
                while (true) {
                    long waitStart = System.nanoTime();
                    BatchLoader.Batch next = loader.next();
                    waited += System.nanoTime() - waitStart;
                    if (next == null) break;
                    try (BatchLoader.Batch batch = next) {
                        if (batch.size == 0) continue;
                        float loss = learner.step(batch.host, java.util.Arrays.copyOf(batch.labels, batch.size), options.sgd().withLearningRate(lr), step++);
                        if (!Float.isFinite(loss)) {
                            throw new IllegalStateException("the loss became " + loss + " at step " + step + " (epoch " + epoch
                                    + "): training diverged; try a lower learning rate");
                        }
                        int mistakes = Metrics.topKWrong(learner.lastLogits(), Math.min(batch.size, batch.labels.length), batch.labels, 1);
                        wrong += mistakes;
                        lossSum += (double) loss * batch.size;
                        steps.add(new StepLog.Step(step, epoch - 1 + (batch.index + 1.0) / batches, loss, batch.size, mistakes,
                                trainSeconds + (System.nanoTime() - t0) / 1e9));
                        seen += batch.size;
                        progress.update(batch.index + 1, batches, seen, lossSum / seen, System.nanoTime() - t0);
                    }
                }
                if (loader.skipped() > 0) log.printf("%nskipped %d corrupt items (first: %s)%n", loader.skipped(), loader.skippedItems().getFirst());
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            trainSeconds += seconds;
            progress.finish();
            String starved = dataWait(waited / 1e9, seconds, options.loaderThreads());
            if (starved != null) log.println("epoch " + epoch + ": " + starved);
            double[] v = evaluate(learner, val, options.batchSize(), options.loaderThreads());
            lastVal = v;
            curves.add(new Curves.Epoch(epoch, lossSum / Math.max(1, seen), (double) wrong / Math.max(1, seen), v[0], v[1], lr, seconds, seen / seconds));
            log.printf(Locale.ROOT, "epoch %d: loss %.4f, train top-1 error %.2f%%, val top-1 error %.2f%%, top-5 %.2f%%, lr %.2g, %.0f s (%.0f images/s)%n",
                    epoch, lossSum / Math.max(1, seen), 100.0 * wrong / Math.max(1, seen), 100 * v[0], 100 * v[1], lr, seconds, seen / seconds);
            if (v[0] < best) {
                best = v[0];
                bad = 0;
            } else if (++bad >= options.patience() && reductions < options.maxReductions()) {
                lr /= 10;
                reductions++;
                bad = 0;
                log.printf(Locale.ROOT, "validation error stopped improving: learning rate now %.2g%n", lr);
            }
            if (options.runDir() != null) {
                new Checkpoint(epoch, step, lr, best, bad, reductions, seed).save(options.runDir(), learner, train);
                curves.write(options.runDir().resolve("curves.csv"), options.runDir().resolve("curves.png"),
                        "AlexNet on " + train.name() + " (" + learner.description() + ")");
                steps.write(options.runDir().resolve("steps.csv"));
            }
        }
        if (Double.isNaN(lastVal[0])) lastVal = evaluate(learner, val, options.batchSize(), options.loaderThreads());
        return new Result(lastVal[0], lastVal[1], curves, steps, options.runDir());
    }

    /**
     * Says how long the training thread waited for decoded images in an epoch, and what would help, when that was at
     * least a tenth of the epoch and a second: the device sat idle for about as long. Else null.
     */
    static String dataWait(double waitedSeconds, double epochSeconds, int loaderThreads) {
        if (waitedSeconds < 1 || waitedSeconds < 0.1 * epochSeconds) return null;
        return String.format(Locale.ROOT, "the training thread waited %.1f s of %.1f s (%.0f%%) for images from %d loader thread%s: more"
                        + " loader threads (train --threads) or images prepared at their final size (alexnet prepare) would keep the"
                        + " device busier", waitedSeconds, epochSeconds, 100 * waitedSeconds / epochSeconds, loaderThreads,
                loaderThreads == 1 ? "" : "s");
    }

    /** Top-1 and top-5 error of {@code net} on {@code data} (inference: dropout off). */
    public static double[] evaluate(AlexNet net, Dataset data, int batchSize, int threads) throws IOException, InterruptedException {
        return evaluate((images, n) -> net.forward(net.upload(images, n)).toArray(), net.config(), data, batchSize, threads);
    }

    /** Inference logits (N, classes) for the first N images of a host batch. */
    @FunctionalInterface
    public interface Logits {
        float[] of(float[] images, int n);
    }

    /** Top-1 and top-5 error of the network behind {@code logits} on {@code data}. */
    public static double[] evaluate(Logits logits, AlexNetConfig config, Dataset data, int batchSize, int threads)
            throws IOException, InterruptedException {
        return evaluate(config, data, batchSize, threads, null, batch -> logits.of(batch.images, batch.size));
    }

    /** Top-1 and top-5 error of a learner on {@code data}, its batches decoded into its host buffers. */
    public static double[] evaluate(Learner learner, Dataset data, int batchSize, int threads) throws IOException, InterruptedException {
        return evaluate(learner.config(), data, batchSize, threads, learner::allocateHost, batch -> learner.logits(batch.host, batch.size));
    }

    private static double[] evaluate(AlexNetConfig config, Dataset data, int batchSize, int threads, LongFunction<HostBuffer> hostBuffers,
                                     Function<BatchLoader.Batch, float[]> logits) throws IOException, InterruptedException {
        long seen = 0, wrong1 = 0, wrong5 = 0;
        try (BatchLoader loader = new BatchLoader(data, batchSize, BatchLoader.sequential(data.size()), false, threads, 2, false, hostBuffers)) {
            for (BatchLoader.Batch next; (next = loader.next()) != null; ) {
                try (BatchLoader.Batch batch = next) {
                    float[] out = logits.apply(batch);
                    wrong1 += Metrics.topKWrong(out, batch.size, batch.labels, 1);
                    wrong5 += Metrics.topKWrong(out, batch.size, batch.labels, Math.min(5, config.classes()));
                    seen += batch.size;
                }
            }
        }
        return new double[] {(double) wrong1 / seen, (double) wrong5 / seen};
    }
}
