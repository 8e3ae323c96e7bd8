package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.Engine;
import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.data.FashionMnist;
import dev.alexnetffm.engine.data.ImageFolder;
import dev.alexnetffm.engine.data.ImagePreprocessor;
import dev.alexnetffm.engine.data.Subset;
import dev.alexnetffm.engine.data.augment.RandomCropFlip;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.train.Checkpoint;
import dev.alexnetffm.engine.train.Evaluation;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

/** {@code alexnet eval}: top-1 and top-5 error of a checkpoint or weights file, centre crop and ten-crop. */
final class EvalCommand implements Main.Command {
    @Override
    public String summary() {
        return "top-1/top-5 error, centre crop and ten-crop: --weights <file|run dir> [--data fashion-mnist|<folder>]";
    }

    @Override
    public int run(String[] argv, PrintStream out) throws Exception {
        Args args = new Args("eval", argv, Set.of("weights", "data", "data-dir", "subset", "batch", "threads", "device"), Set.of());
        if (!args.operands().isEmpty()) throw new Main.UsageException("unexpected argument " + args.operands().getFirst());
        String weights = args.string("weights", null);
        if (weights == null) throw new Main.UsageException("--weights <file.safetensors or a train --run folder> is required");
        int batch = args.integer("batch", 16, 1, 1024);
        int threads = args.integer("threads", Math.max(1, Runtime.getRuntime().availableProcessors() - 1), 1, 256);
        String data = args.string("data", "fashion-mnist");
        int subset = args.integer("subset", 0, 0, Integer.MAX_VALUE);
        try (Engine engine = EngineOptions.open(args)) {
            Path w = Path.of(weights);
            AlexNet net;
            if (Files.isDirectory(w)) {
                Checkpoint.Loaded c = Checkpoint.load(w);
                net = AlexNet.fromWeights(engine.backend(), c.config(), c.weights());
            } else {
                net = AlexNet.load(engine.backend(), w, AlexNetConfig.paper());
            }
            try (net) {
                // the images are prepared at 256x256 for a 227x227 network (in proportion for smaller ones) and cropped
                int size = RandomCropFlip.preparedSize(net.config().inputSize());
                Dataset test = data.equals("fashion-mnist")
                        ? FashionMnist.test(args.string("data-dir", null) != null ? Path.of(args.string("data-dir", null)) : FashionMnist.defaultDir(), 3, size)
                        : ImageFolder.open(Path.of(data), ImagePreprocessor.builder().cropSize(size).build());
                if (subset > 0) test = new Subset(test, subset, 1);
                if (net.config().classes() != test.classes()) {
                    throw new IllegalArgumentException("the network has " + net.config().classes() + " classes, the data set " + test.classes());
                }
                out.printf(Locale.ROOT, "eval: %s on %s (%d images), %s%n", weights, test.name(), test.size(), engine.description());
                Evaluation.Result r = Evaluation.tenCrop(net, test, batch, threads);
                out.printf(Locale.ROOT, "centre crop: top-1 error %.2f%%, top-5 error %.2f%%%n", 100 * r.centreTop1(), 100 * r.centreTop5());
                out.printf(Locale.ROOT, "ten crops:   top-1 error %.2f%%, top-5 error %.2f%%%n", 100 * r.tenCropTop1(), 100 * r.tenCropTop5());
            }
        }
        return 0;
    }
}
