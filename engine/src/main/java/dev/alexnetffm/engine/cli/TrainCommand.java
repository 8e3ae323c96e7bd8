package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.Engine;
import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.data.InputEncoding;
import dev.alexnetffm.engine.io.SafeTensors;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.parallel.SplitAlexNet;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.train.Checkpoint;
import dev.alexnetffm.engine.train.Learner;
import dev.alexnetffm.engine.train.Trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
                  --init-from <file|dir>         fine-tune: start from a trained network's weights (a weights file, e.g. from
                                                 import-caffe, or a run folder) instead of fresh ones; its architecture and
                                                 input encoding are kept (no --image-size, --hidden, --lrn, --pool, --activation),
                                                 and fc8 starts afresh (as --init says) where the data has other classes
                """ + TrainingSetup.HELP;
    }

    @Override
    public int run(String[] argv, PrintStream out) throws Exception {
        Set<String> valued = new HashSet<>(TrainingSetup.OPTIONS), flags = new HashSet<>(TrainingSetup.FLAGS);
        valued.add("run");
        flags.add("resume");
        valued.add("init-from");
        Args args = new Args("train", argv, valued, flags);
        if (!args.operands().isEmpty()) throw new Main.UsageException("unexpected argument " + args.operands().getFirst() + " (see train --help)");
        String run = args.string("run", null);
        if (run == null) throw new Main.UsageException("--run <dir> is required: checkpoints and curves are written there");
        String initFrom = args.string("init-from", null);
        if (initFrom != null && args.flag("resume")) throw new Main.UsageException("--init-from starts a run; --resume continues one: not both");
        Pretrained pretrained = initFrom == null ? null : Pretrained.read(args, Path.of(initFrom));
        // an image folder's images are prepared as the network expects them (a pretrained or resumed one: its own way),
        // at its input size (a resumed run's unless --image-size says otherwise)
        Map<String, String> resumed = args.flag("resume") ? SafeTensors.readHeader(Checkpoint.weightsFile(Path.of(run))).metadata() : null;
        InputEncoding folders = pretrained != null ? pretrained.encoding()
                : resumed != null ? InputEncoding.fromMetadata(resumed) : InputEncoding.IMAGENET;
        int imageSize = pretrained != null ? pretrained.saved().config().inputSize()
                : args.integer("image-size", resumed != null ? AlexNetConfig.fromMetadata(resumed, AlexNetConfig.paper()).inputSize() : 227, 11, 1024);
        TrainingSetup.Data data = TrainingSetup.data(args, null, folders, imageSize);
        Trainer.Options options = TrainingSetup.options(args, Path.of(run), data.train());
        EngineOptions.TwoDevices devices = EngineOptions.devices(args);
        try (Engine engine = devices == null ? EngineOptions.open(args) : null) {
            Learner.Factory learners = engine != null ? Learner.on(engine.backend()) : SplitAlexNet.learners(devices.a(), devices.b());
            String where = engine != null ? engine.description() : "two devices (" + devices.spec() + ", one tower each)";
            out.printf(Locale.ROOT, "train: %s on %s (%d images), validating on %s (%d), batch %d, %s%n", where, data.train().name(),
                    data.train().size(), data.val().name(), data.val().size(), options.batchSize(), options.sgd());
            if (folders != InputEncoding.IMAGENET && !args.string("data", "fashion-mnist").equals("fashion-mnist")) {
                out.println("images prepared with the " + folders.key() + " encoding, as the network expects them");
            }
            Trainer trainer = new Trainer(learners, data.train(), data.val(), options, out);
            Trainer.Result result;
            if (args.flag("resume")) {
                result = trainer.resume();
            } else if (pretrained != null) {
                AlexNet.Saved start = pretrained.forData(data.train(), options, (float) args.number("dropout", 0.5, 0, 0.99), out);
                result = trainer.run(start.config(), start.weights());
            } else {
                result = trainer.run(TrainingSetup.config(args, data.train()));
            }
            out.printf(Locale.ROOT, "done: validation top-1 error %.2f%% (accuracy %.2f%%), top-5 error %.2f%%; curves and checkpoint in %s%n",
                    100 * result.valTop1(), 100 * (1 - result.valTop1()), 100 * result.valTop5(), result.runDir());
        }
        return 0;
    }

    /** The network --init-from names: its weights, configuration and input encoding. */
    private record Pretrained(Path file, AlexNet.Saved saved, InputEncoding encoding) {
        /** The options that would change the architecture: the network's own decides it. */
        private static final List<String> ARCHITECTURE = List.of("image-size", "hidden", "lrn", "pool", "activation");

        static Pretrained read(Args args, Path file) throws IOException {
            for (String option : ARCHITECTURE) {
                if (args.string(option, null) != null) {
                    throw new Main.UsageException("--" + option + " does not go with --init-from: the network's architecture is the one in " + file);
                }
            }
            Map<String, String> metadata = SafeTensors.readHeader(Checkpoint.weightsFile(file)).metadata();
            return new Pretrained(file, Checkpoint.readWeights(file, AlexNetConfig.paper()), InputEncoding.fromMetadata(metadata));
        }

        /**
         * The network to train on {@code train}: these weights, with the data's classes (a fresh fc8, initialised as
         * --init says from the run's seed, where the count differs) and the run's dropout.
         */
        AlexNet.Saved forData(Dataset train, Trainer.Options options, float dropout, PrintStream out) {
            AlexNetConfig c = saved.config();
            if (c.inChannels() != train.channels()) {
                throw new IllegalArgumentException(file + " takes " + c.inChannels() + "-channel inputs; the data has " + train.channels());
            }
            AlexNetConfig config = c.withClasses(train.classes()).withDropout(dropout);
            Map<String, HostTensor> weights = new LinkedHashMap<>(saved.weights());
            if (train.classes() != c.classes()) {
                Map<String, HostTensor> fresh = AlexNet.initialWeights(config, options.seed(), options.init());
                weights.put("fc8.weight", fresh.get("fc8.weight"));
                weights.put("fc8.bias", fresh.get("fc8.bias"));
                out.printf(Locale.ROOT, "fine-tuning %s: fc8 starts afresh for %d classes (it had %d)%n", file, train.classes(), c.classes());
            } else {
                out.printf(Locale.ROOT, "fine-tuning %s: every layer from it%n", file);
            }
            return new AlexNet.Saved(config, weights);
        }
    }
}
