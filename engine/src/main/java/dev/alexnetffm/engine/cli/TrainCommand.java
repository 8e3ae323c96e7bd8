package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.Engine;
import dev.alexnetffm.engine.parallel.SplitAlexNet;
import dev.alexnetffm.engine.train.Learner;
import dev.alexnetffm.engine.train.Trainer;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * {@code alexnet train}: the paper's training procedure on Fashion-MNIST or an image folder, with checkpoints,
 * curves and {@code --resume}.
 */
final class TrainCommand implements Main.Command {
    @Override
    public String summary() {
        return "train: --data fashion-mnist|<folder> [--val <folder>] --run <dir> [--epochs 10] [--resume] (see train --help)";
    }

    @Override
    public String help() {
        return """
                usage: alexnet train --run <dir> [options]
                  --run <dir>                    where checkpoints and curves go (required)
                  --resume                       continue the run in --run from its last checkpoint
                """ + TrainingSetup.HELP;
    }

    @Override
    public int run(String[] argv, PrintStream out) throws Exception {
        Set<String> valued = new HashSet<>(TrainingSetup.OPTIONS), flags = new HashSet<>(TrainingSetup.FLAGS);
        valued.add("run");
        flags.add("resume");
        Args args = new Args("train", argv, valued, flags);
        if (!args.operands().isEmpty()) throw new Main.UsageException("unexpected argument " + args.operands().getFirst() + " (see train --help)");
        String run = args.string("run", null);
        if (run == null) throw new Main.UsageException("--run <dir> is required: checkpoints and curves are written there");
        TrainingSetup.Data data = TrainingSetup.data(args, null);
        Trainer.Options options = TrainingSetup.options(args, Path.of(run), data.train());
        EngineOptions.TwoDevices devices = EngineOptions.devices(args);
        try (Engine engine = devices == null ? EngineOptions.open(args) : null) {
            Learner.Factory learners = engine != null ? Learner.on(engine.backend()) : SplitAlexNet.learners(devices.a(), devices.b());
            String where = engine != null ? engine.description() : "two devices (" + devices.spec() + ", one tower each)";
            out.printf(Locale.ROOT, "train: %s on %s (%d images), validating on %s (%d), batch %d, %s%n", where, data.train().name(),
                    data.train().size(), data.val().name(), data.val().size(), options.batchSize(), options.sgd());
            Trainer trainer = new Trainer(learners, data.train(), data.val(), options, out);
            Trainer.Result result = args.flag("resume") ? trainer.resume() : trainer.run(TrainingSetup.config(args, data.train()));
            out.printf(Locale.ROOT, "done: validation top-1 error %.2f%% (accuracy %.2f%%), top-5 error %.2f%%; curves and checkpoint in %s%n",
                    100 * result.valTop1(), 100 * (1 - result.valTop1()), 100 * result.valTop5(), result.runDir());
        }
        return 0;
    }
}
