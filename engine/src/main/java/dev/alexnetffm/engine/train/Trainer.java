package dev.alexnetffm.engine.train;

import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.data.BatchLoader;
import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The paper's training procedure: SGD with momentum and weight decay on shuffled batches, validation top-1 and
 * top-5 error after every epoch, the learning rate divided by 10 when the validation error stops improving, a
 * checkpoint and the training curves (CSV and PNG) written after every epoch, and a progress line while it runs.
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
    }

    /** The outcome: the final validation errors and every epoch's summary. */
    public record Result(double valTop1, double valTop5, Curves curves, Path runDir) {}

    private final Backend backend;
    private final Dataset train;
    private final Dataset val;
    private final Options options;
    private final PrintStream log;

    public Trainer(Backend backend, Dataset train, Dataset val, Options options, PrintStream log) {
        if (train.classes() != val.classes() || train.imageFloats() != val.imageFloats()) {
            throw new IllegalArgumentException("training and validation data differ in classes or image size: " + train.name() + " vs " + val.name());
        }
        this.backend = backend;
        this.train = train;
        this.val = val;
        this.options = options;
        this.log = log;
    }

    /** Trains a freshly initialised network of {@code config} (whose classes and input must match the data). */
    public Result run(AlexNetConfig config) throws IOException, InterruptedException {
        checkFits(config);
        try (AlexNet net = AlexNet.initialize(backend, config, options.seed(), options.init()); TrainingStep training = new TrainingStep(net, options.seed())) {
            Checkpoint start = new Checkpoint(0, 0, options.sgd().learningRate(), Double.POSITIVE_INFINITY, 0, 0, options.seed());
            return loop(net, training, start, new Curves());
        }
    }

    /** Continues the run whose checkpoint is in {@code options.runDir()}, up to {@code options.epochs()}. */
    public Result resume() throws IOException, InterruptedException {
        Checkpoint.Loaded loaded = Checkpoint.load(options.runDir());
        checkFits(loaded.config());
        Path csv = options.runDir().resolve("curves.csv");
        Curves curves = Files.isRegularFile(csv) ? Curves.parse(Files.readString(csv)) : new Curves();
        try (AlexNet net = AlexNet.fromWeights(backend, loaded.config(), loaded.weights());
             TrainingStep training = new TrainingStep(net, loaded.state().seed())) {
            training.loadVelocities(loaded.velocities());
            log.printf("resuming %s after epoch %d (step %d, learning rate %s)%n", options.runDir(), loaded.state().epochsDone(),
                    loaded.state().step(), loaded.state().learningRate());
            return loop(net, training, loaded.state(), curves);
        }
    }

    private void checkFits(AlexNetConfig config) {
        if (config.classes() != train.classes() || config.inChannels() != train.channels() || config.inputSize() != train.imageSize()) {
            throw new IllegalArgumentException("the network (" + config.classes() + " classes, " + config.inChannels() + "x" + config.inputSize()
                    + "x" + config.inputSize() + ") does not fit the data " + train.name() + " (" + train.classes() + " classes, "
                    + train.channels() + "x" + train.imageSize() + "x" + train.imageSize() + ")");
        }
    }

    private Result loop(AlexNet net, TrainingStep training, Checkpoint state, Curves curves) throws IOException, InterruptedException {
        long seed = state.seed();
        float lr = state.learningRate();
        long step = state.step();
        double best = state.bestValTop1();
        int bad = state.badEpochs(), reductions = state.reductions();
        double[] lastVal = {Double.NaN, Double.NaN};
        for (int epoch = state.epochsDone() + 1; epoch <= options.epochs(); epoch++) {
            long t0 = System.nanoTime();
            train.startEpoch(epoch);
            int[] order = BatchLoader.shuffled(train.size(), seed * 1_000_003L + epoch);
            double lossSum = 0;
            long seen = 0, wrong = 0;
            Progress progress = new Progress(log, "epoch " + epoch + "/" + options.epochs());
            try (BatchLoader loader = new BatchLoader(train, options.batchSize(), order, true, options.loaderThreads(), 3, options.skipCorrupt());
                 Inputs inputs = new Inputs(backend, net.config())) {
                int batches = loader.batches();
                for (BatchLoader.Batch next; (next = loader.next()) != null; ) {
                    try (BatchLoader.Batch batch = next) {
                        if (batch.size == 0) continue;
                        Tensor x = inputs.upload(batch.images, batch.size);
                        float loss = training.step(x, java.util.Arrays.copyOf(batch.labels, batch.size), options.sgd().withLearningRate(lr), step++);
                        if (!Float.isFinite(loss)) {
                            throw new IllegalStateException("the loss became " + loss + " at step " + step + " (epoch " + epoch
                                    + "): training diverged; try a lower learning rate");
                        }
                        wrong += Metrics.topKWrong(training.lastLogits(), Math.min(batch.size, batch.labels.length), batch.labels, 1);
                        lossSum += (double) loss * batch.size;
                        seen += batch.size;
                        progress.update(batch.index + 1, batches, seen, lossSum / seen, System.nanoTime() - t0);
                    }
                }
                if (loader.skipped() > 0) log.printf("%nskipped %d corrupt items (first: %s)%n", loader.skipped(), loader.skippedItems().getFirst());
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            progress.finish();
            double[] v = evaluate(net, val, options.batchSize(), options.loaderThreads());
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
                new Checkpoint(epoch, step, lr, best, bad, reductions, seed).save(options.runDir(), net, training);
                curves.write(options.runDir().resolve("curves.csv"), options.runDir().resolve("curves.png"),
                        "AlexNet on " + train.name() + " (" + backend.name() + ")");
            }
        }
        if (Double.isNaN(lastVal[0])) lastVal = evaluate(net, val, options.batchSize(), options.loaderThreads());
        return new Result(lastVal[0], lastVal[1], curves, options.runDir());
    }

    /** Top-1 and top-5 error of {@code net} on {@code data} (inference: dropout off). */
    public static double[] evaluate(AlexNet net, Dataset data, int batchSize, int threads) throws IOException, InterruptedException {
        long seen = 0, wrong1 = 0, wrong5 = 0;
        try (BatchLoader loader = new BatchLoader(data, batchSize, BatchLoader.sequential(data.size()), false, threads, 2, false);
             Inputs inputs = new Inputs(net.backend(), net.config())) {
            for (BatchLoader.Batch next; (next = loader.next()) != null; ) {
                try (BatchLoader.Batch batch = next) {
                    float[] logits = net.forward(inputs.upload(batch.images, batch.size)).toArray();
                    wrong1 += Metrics.topKWrong(logits, batch.size, batch.labels, 1);
                    wrong5 += Metrics.topKWrong(logits, batch.size, batch.labels, Math.min(5, net.config().classes()));
                    seen += batch.size;
                }
            }
        }
        return new double[] {(double) wrong1 / seen, (double) wrong5 / seen};
    }

    /** The input tensor for each batch size, reused across batches. */
    private static final class Inputs implements AutoCloseable {
        private final Backend backend;
        private final AlexNetConfig config;
        private Tensor tensor;

        Inputs(Backend backend, AlexNetConfig config) {
            this.backend = backend;
            this.config = config;
        }

        Tensor upload(float[] images, int n) {
            if (tensor == null || tensor.shape().dim(0) != n) {
                if (tensor != null) tensor.close();
                tensor = backend.allocate(Shape.of(n, config.inChannels(), config.inputSize(), config.inputSize()));
            }
            backend.copyFromHost(tensor, images);
            return tensor;
        }

        @Override
        public void close() {
            if (tensor != null) tensor.close();
        }
    }
}
