package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.Engine;
import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.data.FashionMnist;
import dev.alexnetffm.engine.data.ImageFolder;
import dev.alexnetffm.engine.data.ImagePreprocessor;
import dev.alexnetffm.engine.data.InputEncoding;
import dev.alexnetffm.engine.data.Labels;
import dev.alexnetffm.engine.data.Subset;
import dev.alexnetffm.engine.io.Json;
import dev.alexnetffm.engine.io.SafeTensors;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.parallel.SplitAlexNet;
import dev.alexnetffm.engine.train.Checkpoint;
import dev.alexnetffm.engine.train.Evaluation;
import dev.alexnetffm.engine.train.Trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * {@code alexnet eval}: top-1 and top-5 error of a checkpoint or weights file, centre crop and ten-crop, on one
 * device or split over two.
 */
final class EvalCommand implements Main.Command {
    @Override
    public String summary() {
        return "top-1/top-5 error, centre crop and ten-crop: --weights <file|run dir> [--data fashion-mnist|<folder>] [--devices A,B]";
    }

    @Override
    public String help() {
        return """
                usage: alexnet eval --weights <file|dir> [options]
                  --weights <file|dir>           required: a weights file (.safetensors) or a train --run folder (its checkpoint)
                  --data fashion-mnist|<folder>  the test images (default fashion-mnist, its test split); a folder has one
                                                 sub-folder per class, as for train
                """ + TrainingSetup.DATA_DIR_HELP + """
                  --subset N                     evaluate a seeded sample of N images (default: all of them)
                  --batch N                      images per forward pass, ten crops each (default 16)
                  --threads N                    image decoding threads (default: cores - 1)
                  --json                         print one JSON object instead: the errors (as fractions), per class too
                """ + EngineOptions.HELP + EngineOptions.DEVICES_HELP + """
                The images are prepared at 256x256 for a 227x227 network (in proportion for smaller ones); the centre
                crop and the ten crops (corners, centre and their mirror images, softmax averaged) are each scored, as the
                paper tests networks trained on crops. The whole image at the input size is scored too: how train
                validates a network trained without --augment crop-flip. Last, the ten-crop top-1 error of each class.
                """;
    }

    @Override
    public int run(String[] argv, PrintStream out) throws Exception {
        Args args = new Args("eval", argv, Set.of("weights", "data", "data-dir", "subset", "batch", "threads", "device", "devices"), Set.of("json"));
        boolean json = args.flag("json");
        if (!args.operands().isEmpty()) throw new Main.UsageException("unexpected argument " + args.operands().getFirst());
        String weights = args.string("weights", null);
        if (weights == null) throw new Main.UsageException("--weights <file.safetensors or a train --run folder> is required");
        int batch = args.integer("batch", 16, 1, 1024);
        int threads = args.integer("threads", Math.max(1, Runtime.getRuntime().availableProcessors() - 1), 1, 256);
        String data = args.string("data", "fashion-mnist");
        int subset = args.integer("subset", 0, 0, Integer.MAX_VALUE);
        EngineOptions.TwoDevices devices = EngineOptions.devices(args);
        Path w = Path.of(weights);
        AlexNet.Saved saved = Checkpoint.readWeights(w, AlexNetConfig.paper());
        AlexNetConfig config = saved.config();
        // a folder's images are prepared as the network's training images were (Fashion-MNIST's encoding, say)
        Map<String, String> meta = SafeTensors.readHeader(Checkpoint.weightsFile(w)).metadata();
        InputEncoding encoding = InputEncoding.fromMetadata(meta);
        Labels trainedNames = Labels.fromMetadata(meta);
        // the images are prepared at 256x256 for a 227x227 network (in proportion for smaller ones) and cropped
        Dataset test = open(args, data, encoding, config.inputSize(), ImagePreprocessor.shortSideFor(config.inputSize()), subset);
        // and, as train validates without --augment crop-flip, prepared at the input size itself
        Dataset whole = open(args, data, encoding, config.inputSize(), config.inputSize(), subset);
        if (config.classes() != test.classes()) {
            throw new IllegalArgumentException("the network has " + config.classes() + " classes, the data set " + test.classes());
        }
        Labels.requireSame("the network (" + weights + ")", trainedNames.names(), "the data set (" + test.name() + ")",
                test.classNames());
        try (Engine engine = devices == null ? EngineOptions.open(args) : null;
             AlexNet one = engine == null ? null : AlexNet.fromWeights(engine.backend(), config, saved.weights());
             SplitAlexNet two = devices == null ? null : SplitAlexNet.open(devices.a(), devices.b(), config, saved.weights())) {
            Evaluation.Probabilities net = one != null ? one::probabilities : two::probabilities;
            String where = engine != null ? engine.description() : two.description();
            if (!json) out.printf(Locale.ROOT, "eval: %s on %s (%d images), %s%n", weights, test.name(), test.size(), where);
            Evaluation.Result r = Evaluation.tenCrop(net, config, test, batch, threads);
            double[] e = one != null ? Trainer.evaluate(one, whole, batch * 10, threads) : Trainer.evaluate(two, whole, batch * 10, threads);
            // the classes as the network's training named them, else as the data set does, else by index
            Labels names = trainedNames.size() > 0 ? trainedNames : Labels.of(test.classNames());
            if (json) {
                out.println(json(weights, test, where, r, e, names));
                return 0;
            }
            out.printf(Locale.ROOT, "centre crop: top-1 error %.2f%%, top-5 error %.2f%%%n", 100 * r.centreTop1(), 100 * r.centreTop5());
            out.printf(Locale.ROOT, "ten crops:   top-1 error %.2f%%, top-5 error %.2f%%%n", 100 * r.tenCropTop1(), 100 * r.tenCropTop5());
            out.printf(Locale.ROOT, "whole image: top-1 error %.2f%%, top-5 error %.2f%% (%dx%d, no crop: what train reports without "
                    + "--augment crop-flip)%n", 100 * e[0], 100 * e[1], config.inputSize(), config.inputSize());
            int width = IntStream.range(0, config.classes()).map(c -> names.name(c).length()).max().orElse(1);
            out.println("ten crops, top-1 error per class:");
            for (int c = 0; c < config.classes(); c++) {
                if (r.classImages()[c] == 0) continue;
                out.printf(Locale.ROOT, "  %-" + width + "s  %6.2f%%  of %d%n", names.name(c), 100 * r.classTop1(c), r.classImages()[c]);
            }
        }
        return 0;
    }

    /**
     * The results as one JSON object on one line: {@code {"weights", "data", "images", "device", "centre_crop":
     * {"top1", "top5"}, "ten_crops": {...}, "whole_image": {...}, "classes": [{"class", "label", "images",
     * "ten_crop_top1"}, ...]}}; errors as fractions, classes without images left out.
     */
    private static String json(String weights, Dataset test, String where, Evaluation.Result r, double[] whole, Labels names) {
        StringBuilder s = new StringBuilder("{\"weights\": ").append(Json.quote(weights))
                .append(", \"data\": ").append(Json.quote(test.name()))
                .append(", \"images\": ").append(test.size())
                .append(", \"device\": ").append(Json.quote(where))
                .append(", \"centre_crop\": ").append(pair(r.centreTop1(), r.centreTop5()))
                .append(", \"ten_crops\": ").append(pair(r.tenCropTop1(), r.tenCropTop5()))
                .append(", \"whole_image\": ").append(pair(whole[0], whole[1]))
                .append(", \"classes\": [");
        String sep = "";
        for (int c = 0; c < r.classImages().length; c++) {
            if (r.classImages()[c] == 0) continue;
            s.append(sep).append("{\"class\": ").append(c);
            if (names.hasName(c)) s.append(", \"label\": ").append(Json.quote(names.name(c)));
            s.append(", \"images\": ").append(r.classImages()[c]).append(", \"ten_crop_top1\": ").append(r.classTop1(c)).append('}');
            sep = ", ";
        }
        return s.append("]}").toString();
    }

    private static String pair(double top1, double top5) {
        return "{\"top1\": " + top1 + ", \"top5\": " + top5 + "}";
    }

    /**
     * The test images prepared at {@code size} x {@code size} for a network of {@code inputSize} inputs (a folder's
     * images as {@code encoding} says); with {@code subset} > 0 the same seeded sample at any size.
     */
    private static Dataset open(Args args, String data, InputEncoding encoding, int inputSize, int size, int subset) throws IOException {
        Dataset d = data.equals("fashion-mnist")
                ? FashionMnist.test(TrainingSetup.fashionMnistDir(args), 3, size)
                : ImageFolder.open(Path.of(data), encoding.preprocessor(inputSize, size));
        return subset > 0 ? new Subset(d, subset, 1) : d;
    }
}
