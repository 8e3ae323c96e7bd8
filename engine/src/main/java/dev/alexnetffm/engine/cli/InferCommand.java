package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.Classifier;
import dev.alexnetffm.engine.Engine;
import dev.alexnetffm.engine.data.ImageFolder;
import dev.alexnetffm.engine.data.ImagePreprocessor;
import dev.alexnetffm.engine.data.InputEncoding;
import dev.alexnetffm.engine.data.Labels;
import dev.alexnetffm.engine.io.Json;
import dev.alexnetffm.engine.io.SafeTensors;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.parallel.SplitAlexNet;
import dev.alexnetffm.engine.train.Checkpoint;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code alexnet infer}: the top classes of JPEG/PNG images. Each image is prepared as the network's training images
 * were ({@link InputEncoding}, from the weights' metadata: the paper's centre crop minus the ImageNet mean, in
 * proportion for smaller inputs, or Fashion-MNIST's grey normalised image); the network's softmax gives the
 * probabilities, named as the labels file or the weights' metadata names the classes.
 */
final class InferCommand implements Main.Command {
    @Override
    public String summary() {
        return "top-5 classes of images: --weights file|dir [--labels file] [--top K] [--ten-crop] [--json] [--device ...] image...";
    }

    @Override
    public String help() {
        return """
                usage: alexnet infer --weights <file|dir> [options] image|folder...
                  --weights <file|dir>           the network: a weights file (.safetensors) or a train --run folder (its
                                                 checkpoint); required unless --untrained
                  --untrained                    run freshly initialised weights (seed 42) instead; the classes mean nothing
                  --labels <file>                class names, line i naming class i (default: the names the weights were
                                                 trained with, as train records them, else the classes' indices)
                  --top K                        classes printed per image, most probable first (default 5)
                  --ten-crop                     average the softmax over the ten 227x227 crops (corners, centre, mirrored)
                                                 of the image at 256x256 (default: the centre crop alone)
                  --json                         one JSON object per image and line: file, top classes, probabilities
                  --batch N                      images per forward pass (default 32)
                """ + EngineOptions.HELP + EngineOptions.DEVICES_HELP + """
                A folder stands for the JPEG and PNG files in it and its sub-folders, in order of their paths.
                Each image (JPEG or PNG) is prepared as the network's training images were: for an image folder (and
                the paper), the short side resized to 256, the centre 227x227 cropped and the ImageNet mean subtracted
                (in proportion for smaller inputs: 76 and 67 for --image-size 67); for Fashion-MNIST, the whole image
                resized to the input, grey, normalised as the data set is.
                """;
    }

    @Override
    public int run(String[] argv, PrintStream out) throws Exception {
        Args args = new Args("infer", argv, Set.of("weights", "labels", "top", "batch", "device", "devices"), Set.of("untrained", "ten-crop", "json"));
        List<Path> images = new ArrayList<>();
        for (String operand : args.operands()) {  // a folder stands for its images, sorted, sub-folders included
            Path p = Path.of(operand);
            if (!Files.isDirectory(p)) {
                images.add(p);
                continue;
            }
            List<Path> inside = ImageFolder.imagesIn(p);
            if (inside.isEmpty()) throw new java.io.IOException(p + " is a folder without .jpg, .jpeg or .png files");
            images.addAll(inside);
        }
        if (images.isEmpty()) throw new Main.UsageException("give one or more image files (JPEG or PNG) or folders of them");
        String weights = args.string("weights", null);
        if (weights == null && !args.flag("untrained")) {
            throw new Main.UsageException("--weights <file.safetensors> is required (or --untrained, to run freshly initialised weights)");
        }
        int batch = args.integer("batch", 32, 1, 4096);
        String labelsFile = args.string("labels", null);
        boolean tenCrop = args.flag("ten-crop");
        boolean json = args.flag("json");
        EngineOptions.TwoDevices devices = EngineOptions.devices(args);
        // the network's input, encoding and class names from the weights file's header (its metadata), then the first
        // batch decoded before the weights are read, so that a bad image fails fast
        Map<String, String> meta = weights == null ? Map.of()
                : SafeTensors.readHeader(Checkpoint.weightsFile(Path.of(weights))).metadata();
        AlexNetConfig config = AlexNetConfig.fromMetadata(meta, AlexNetConfig.paper());
        InputEncoding encoding = InputEncoding.fromMetadata(meta);
        Labels labels = labelsFile != null ? Labels.load(Path.of(labelsFile)) : Labels.fromMetadata(meta);
        if (config.inChannels() != 3) {
            throw new IllegalArgumentException("infer reads RGB images, but the weights are for " + config.inChannels()
                    + "-channel inputs");
        }
        // ten-crop: prepare 256x256 (for 227) and average the softmax of its ten 227x227 crops
        ImagePreprocessor preprocessor = Classifier.preprocessor(config, encoding, tenCrop);
        float[] first = preprocessor.loadBatch(images.subList(0, Math.min(batch, images.size())));
        AlexNet.Saved saved = weights == null ? new AlexNet.Saved(config, AlexNet.initialWeights(config, 42))
                : Checkpoint.readWeights(Path.of(weights), AlexNetConfig.paper());
        try (Engine engine = devices == null ? EngineOptions.open(args) : null;
             AlexNet one = engine == null ? null : AlexNet.fromWeights(engine.backend(), saved.config(), saved.weights());
             SplitAlexNet two = devices == null ? null : SplitAlexNet.open(devices.a(), devices.b(), saved.config(), saved.weights())) {
            Classifier classifier = new Classifier(one != null ? one::probabilities : two::probabilities, saved.config(), encoding,
                    labels, tenCrop);
            int top = args.integer("top", 5, 1, saved.config().classes());
            if (weights == null && !json) out.println("(untrained weights: the classes below mean nothing)");
            for (int start = 0; start < images.size(); start += batch) {
                List<Path> chunk = images.subList(start, Math.min(images.size(), start + batch));
                float[] pixels = start == 0 ? first : preprocessor.loadBatch(chunk);
                float[] probabilities = classifier.probabilities(pixels, chunk.size());
                for (int i = 0; i < chunk.size(); i++) {
                    List<Classifier.Prediction> best = classifier.ranked(probabilities, i, top);
                    if (json) {
                        out.println(jsonLine(chunk.get(i), best));
                        continue;
                    }
                    out.println(chunk.get(i));
                    for (Classifier.Prediction p : best) out.println("  " + p);
                }
            }
        }
        return 0;
    }

    /**
     * One image's result as a JSON object on one line: {@code {"file": ..., "top": [{"class": index, "label": name,
     * "probability": p}, ...]}}, most probable first; "label" only where the labels name the class.
     */
    static String jsonLine(Path file, List<Classifier.Prediction> best) {
        StringBuilder s = new StringBuilder("{\"file\": ").append(Json.quote(file.toString())).append(", \"top\": [");
        for (int i = 0; i < best.size(); i++) {
            Classifier.Prediction p = best.get(i);
            s.append(i == 0 ? "" : ", ").append("{\"class\": ").append(p.index());
            if (p.label() != null) s.append(", \"label\": ").append(Json.quote(p.label()));
            // NaN only from broken weights: JSON has no NaN, so null
            s.append(", \"probability\": ").append(Float.isFinite(p.probability()) ? Float.toString(p.probability()) : "null").append('}');
        }
        return s.append("]}").toString();
    }
}
