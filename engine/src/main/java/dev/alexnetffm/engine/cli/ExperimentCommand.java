package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.Engine;
import dev.alexnetffm.engine.backend.LrnSpec;
import dev.alexnetffm.engine.backend.PoolSpec;
import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.io.AtomicFile;
import dev.alexnetffm.engine.data.augment.PcaColour;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.parallel.SplitAlexNet;
import dev.alexnetffm.engine.train.Checkpoint;
import dev.alexnetffm.engine.train.Comparison;
import dev.alexnetffm.engine.train.Curves;
import dev.alexnetffm.engine.train.Evaluation;
import dev.alexnetffm.engine.train.Learner;
import dev.alexnetffm.engine.train.Trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * {@code alexnet experiment NAME}: one of the paper's claims as a controlled comparison. Every arm trains from the
 * same seed on the same data with the same settings except the one the claim is about; the results (a table in
 * README.md, results.csv, each arm's curves and a comparison chart) go to {@code --out}, the checkpoints to
 * {@code --runs}.
 */
final class ExperimentCommand implements Main.Command {
    /**
     * An experiment: the paper's claim it tests, the train option it sets itself (null when it varies the data or
     * the test instead), whether it trains on random crops, and its arms.
     */
    private record Design(String name, String title, String claim, String varies, boolean crops, List<Arm> arms) {}

    /** One arm: a name, a change to the network, and whether PCA colour augmentation is on. */
    private record Arm(String name, UnaryOperator<AlexNetConfig> config, boolean pca) {}

    private static final Map<String, Design> DESIGNS = new LinkedHashMap<>();

    static {
        add(new Design("relu-tanh", "ReLU against tanh",
                "Figure 1: a four-layer CNN with ReLUs reaches 25% training error on CIFAR-10 six times faster than with tanh.",
                "activation", false,
                List.of(new Arm("relu", c -> c.withActivation(AlexNetConfig.Activation.RELU), false),
                        new Arm("tanh", c -> c.withActivation(AlexNetConfig.Activation.TANH), false))));
        add(new Design("lrn", "Local response normalisation on against off",
                "Section 3.3: response normalisation reduces the top-1 and top-5 error rates by 1.4% and 1.2%.",
                "lrn", false,
                List.of(new Arm("lrn", c -> c.withLrn(LrnSpec.paper()), false), new Arm("no-lrn", c -> c.withLrn(null), false))));
        add(new Design("pooling", "Overlapping pooling against non-overlapping",
                "Section 3.4: overlapping pooling (3x3, stride 2) reduces the top-1 and top-5 error rates by 0.4% and 0.3% "
                        + "against 2x2 stride 2, which gives outputs of the same size.",
                "pool", false,
                List.of(new Arm("overlapping-3x3", c -> c.withPool(PoolSpec.overlapping()), false),
                        new Arm("non-overlapping-2x2", c -> c.withPool(new PoolSpec(2, 2)), false))));
        add(new Design("dropout", "Dropout on against off",
                "Section 4.2: without dropout the network exhibits substantial overfitting; dropout roughly doubles the "
                        + "iterations needed to converge.",
                "dropout", false,
                List.of(new Arm("dropout-0.5", c -> c.withDropout(0.5f), false), new Arm("no-dropout", c -> c.withDropout(0f), false))));
        add(new Design("pca", "PCA colour augmentation on against off",
                "Section 4.1: altering the intensities of the RGB channels along their principal components reduces the "
                        + "top-1 error rate by over 1%.",
                null, true,
                List.of(new Arm("crop-flip+pca", c -> c, true), new Arm("crop-flip", c -> c, false))));
        add(new Design("ten-crop", "Ten-crop testing against the centre crop",
                "Section 4.1: at test time the network averages its softmax over ten 224x224 patches (four corners, centre, "
                        + "and their reflections).",
                null, true,
                List.of(new Arm("crop-flip", c -> c, false))));
    }

    private static void add(Design d) {
        DESIGNS.put(d.name(), d);
    }

    @Override
    public String summary() {
        return "the paper's claims, one command each: " + String.join("|", DESIGNS.keySet()) + " --out <dir> [train options]";
    }

    @Override
    public String help() {
        return """
                usage: alexnet experiment relu-tanh|lrn|pooling|dropout|pca|ten-crop [options]
                  --out <dir>                    where the results go (default results/<experiment>): README.md with the
                                                 table, results.csv, comparison.png, each arm's curves
                  --runs <dir>                   where each arm's checkpoints go (default runs/experiments/<experiment>)
                  --target X                     training top-1 error the epochs are counted to (default 0.25)
                Every arm trains with the options below, from the same seed, changing only what the experiment is about
                (pca and ten-crop train with --augment crop-flip; pca fits the colour statistics itself unless --pca is given):
                """ + TrainingSetup.HELP;
    }

    @Override
    public int run(String[] argv, PrintStream out) throws Exception {
        if (argv.length == 0) {
            out.print(help());
            return 2;
        }
        Set<String> valued = new HashSet<>(TrainingSetup.OPTIONS), flags = new HashSet<>(TrainingSetup.FLAGS);
        valued.addAll(Set.of("out", "runs", "target"));
        Args args = new Args("experiment", argv, valued, flags);
        if (args.operands().size() != 1) throw new Main.UsageException("name one experiment: " + String.join(", ", DESIGNS.keySet()));
        Design design = DESIGNS.get(args.operands().getFirst());
        if (design == null) {
            throw new Main.UsageException("no experiment '" + args.operands().getFirst() + "'; there are " + String.join(", ", DESIGNS.keySet()));
        }
        boolean crops = design.crops();
        if (crops && args.string("augment", "crop-flip").equals("none")) {
            throw new Main.UsageException("the " + design.name() + " experiment trains with --augment crop-flip");
        }
        if (design.varies() != null && args.string(design.varies(), null) != null) {
            throw new Main.UsageException("--" + design.varies() + " is what the " + design.name() + " experiment varies");
        }
        if (crops) args = args.with("augment", "crop-flip");
        Path outDir = Path.of(args.string("out", "results/" + design.name()));
        Path runs = Path.of(args.string("runs", "runs/experiments/" + design.name()));
        double target = args.number("target", 0.25, 0, 1);
        EngineOptions.TwoDevices devices = EngineOptions.devices(args);

        // PCA statistics, fitted once on the training images (before cropping) unless given
        PcaColour pca = null;
        if (design.name().equals("pca")) {
            if (args.string("pca", null) != null) {
                pca = PcaColour.load(Path.of(args.string("pca", null)));
            } else { // fitted on the training images as prepared for cropping
                pca = PcaColour.fit(TrainingSetup.data(args.with("augment", "crop-flip"), null).trainBase(), 10_000);
            }
            out.println("pca: " + pca);
        }

        List<Row> rows = new ArrayList<>();
        Map<String, Trainer.Result> results = new LinkedHashMap<>();
        int window = 0;
        String where;
        try (Engine engine = devices == null ? EngineOptions.open(args) : null) {
            Learner.Factory learners = engine != null ? Learner.on(engine.backend()) : SplitAlexNet.learners(devices.a(), devices.b());
            where = engine == null ? "two devices (" + devices.spec() + ")"
                    : engine.description().equals("cpu") ? "the CPU backend (" + Runtime.getRuntime().availableProcessors() + " cores)"
                    : engine.description();
            for (Arm arm : design.arms()) {
                Args armArgs = design.name().equals("pca") && !arm.pca() ? args.without("pca") : args;
                TrainingSetup.Data data = TrainingSetup.data(armArgs, arm.pca() ? pca : null);
                AlexNetConfig config = arm.config().apply(TrainingSetup.config(args, data.train()));
                Path runDir = runs.resolve(arm.name());
                Trainer.Options options = TrainingSetup.options(args, runDir, data.train());
                out.printf(Locale.ROOT, "experiment %s, arm %s: %s on %s (%d images), %d epochs%n", design.name(), arm.name(), where,
                        data.train().name(), data.train().size(), options.epochs());
                long t0 = System.nanoTime();
                Trainer.Result result = new Trainer(learners, data.train(), data.val(), options, out).run(config);
                double seconds = (System.nanoTime() - t0) / 1e9;
                results.put(arm.name(), result);
                window = window(data.train().size(), options.batchSize());
                result.curves().write(outDir.resolve(arm.name() + "-curves.csv"), outDir.resolve(arm.name() + "-curves.png"),
                        design.title() + ": " + arm.name());
                result.steps().write(outDir.resolve(arm.name() + "-steps.csv"));
                rows.add(new Row(arm.name(), result.valTop1(), result.valTop5(), best(result.curves()), result, seconds));
                if (design.name().equals("ten-crop")) {
                    Evaluation.Result e = tenCrop(engine, devices, runDir, data.valBase(), options);
                    rows.clear();
                    rows.add(new Row("centre crop", e.centreTop1(), e.centreTop5(), Double.NaN, result, seconds));
                    rows.add(new Row("ten crops", e.tenCropTop1(), e.tenCropTop5(), Double.NaN, result, seconds));
                }
            }
        }
        Comparison.write(outDir.resolve("comparison.png"), design.title() + " (" + where + ")", results, window,
                design.name().equals("relu-tanh") ? target : 0);
        String report = report(design, rows, target, window, where, argv);
        AtomicFile.writeString(outDir.resolve("README.md"), report);
        AtomicFile.writeString(outDir.resolve("results.csv"), csv(rows, target, window));
        out.print(report);
        out.println("results in " + outDir);
        return 0;
    }

    private record Row(String name, double valTop1, double valTop5, double bestValTop1, Trainer.Result result, double seconds) {}

    /** The training error is averaged over the last tenth of an epoch's images (at least one batch). */
    private static int window(int trainImages, int batch) {
        return Math.max(batch, trainImages / 10);
    }

    private static double best(Curves c) {
        return c.epochs().stream().mapToDouble(Curves.Epoch::valTop1).min().orElse(Double.NaN);
    }

    /** Centre crop and ten crops of the arm's final checkpoint on the validation images before cropping. */
    private static Evaluation.Result tenCrop(Engine engine, EngineOptions.TwoDevices devices, Path runDir, Dataset base, Trainer.Options options)
            throws IOException, InterruptedException {
        Checkpoint.Loaded c = Checkpoint.load(runDir);
        int batch = Math.max(1, options.batchSize() / 10);
        if (engine != null) {
            try (AlexNet net = AlexNet.fromWeights(engine.backend(), c.config(), c.weights())) {
                return Evaluation.tenCrop(net, base, batch, options.loaderThreads());
            }
        }
        try (SplitAlexNet net = SplitAlexNet.open(devices.a(), devices.b(), c.config(), c.weights())) {
            return Evaluation.tenCrop(net::probabilities, c.config(), base, batch, options.loaderThreads());
        }
    }

    private static String report(Design d, List<Row> rows, double target, int window, String where, String[] argv) {
        StringBuilder b = new StringBuilder();
        b.append("# ").append(d.title()).append("\n\n");
        b.append("The paper: ").append(d.claim()).append("\n\n");
        b.append("Measured ").append(LocalDate.now(ZoneOffset.UTC)).append(" on ").append(where).append(", with:\n\n```bash\n./alexnet experiment ")
                .append(String.join(" ", argv)).append("\n```\n\n");
        b.append(String.format(Locale.ROOT, "| arm | val top-1 error | val top-5 error | best val top-1 | epochs to %.0f%% train error | training time to it | s per epoch | images/s |%n",
                100 * target));
        b.append("|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            List<Curves.Epoch> e = r.result().curves().epochs();
            double to = r.result().steps().epochsTo(target, window), secondsTo = r.result().steps().secondsTo(target, window);
            double perEpoch = e.stream().mapToDouble(Curves.Epoch::seconds).average().orElse(Double.NaN);
            double rate = e.stream().mapToDouble(Curves.Epoch::imagesPerSecond).average().orElse(Double.NaN);
            b.append(String.format(Locale.ROOT, "| %s | %.2f%% | %.2f%% | %s | %s | %s | %.1f | %.1f |%n", r.name(), 100 * r.valTop1(), 100 * r.valTop5(),
                    Double.isNaN(r.bestValTop1()) ? "" : String.format(Locale.ROOT, "%.2f%%", 100 * r.bestValTop1()),
                    Double.isNaN(to) ? "not reached in " + e.size() : String.format(Locale.ROOT, "%.2f", to),
                    Double.isNaN(secondsTo) ? "" : String.format(Locale.ROOT, "%.0f s", secondsTo), perEpoch, rate));
        }
        if (rows.size() == 2) {
            Row a = rows.get(0), c = rows.get(1);
            b.append(String.format(Locale.ROOT, "%n%s against %s: top-1 error %+.2f points, top-5 error %+.2f points.", a.name(), c.name(),
                    100 * (a.valTop1() - c.valTop1()), 100 * (a.valTop5() - c.valTop5())));
            double ea = a.result().steps().epochsTo(target, window), ec = c.result().steps().epochsTo(target, window);
            if (d.name().equals("relu-tanh")) {
                if (!Double.isNaN(ea) && !Double.isNaN(ec)) {
                    b.append(String.format(Locale.ROOT, " %s reached %.0f%% training error after %.2f epochs, %s after %.2f (%.1fx).", a.name(),
                            100 * target, ea, c.name(), ec, ec / ea));
                } else {
                    b.append(String.format(Locale.ROOT, " %.0f%% training error: %s %s, %s %s.", 100 * target, a.name(),
                            Double.isNaN(ea) ? "not reached" : String.format(Locale.ROOT, "after %.2f epochs", ea), c.name(),
                            Double.isNaN(ec) ? "not reached" : String.format(Locale.ROOT, "after %.2f epochs", ec)));
                }
            }
            b.append('\n');
        }
        b.append(String.format(Locale.ROOT, "%nThe training error is the top-1 error on the last %d training images (a tenth of an epoch, at least one "
                + "batch), as trained (with dropout and augmentation), at every step; validation errors are measured after each epoch. "
                + "`comparison.png` draws both; `<arm>-curves.*` and `<arm>-steps.csv` are each run's own records.%n", window));
        return b.toString();
    }

    private static String csv(List<Row> rows, double target, int window) {
        StringBuilder b = new StringBuilder("arm,val_top1_error,val_top5_error,best_val_top1_error,epochs_to_target,target,window_images,seconds\n");
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "%s,%.6f,%.6f,%.6f,%.4f,%.3f,%d,%.1f%n", r.name(), r.valTop1(), r.valTop5(), r.bestValTop1(),
                    r.result().steps().epochsTo(target, window), target, window, r.seconds()));
        }
        return b.toString();
    }
}
