package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.data.InputEncoding;
import dev.alexnetffm.engine.data.Labels;
import dev.alexnetffm.engine.io.CaffeModel;
import dev.alexnetffm.engine.io.SafeTensors;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code alexnet import-caffe}: a network Caffe trained (such as the BVLC reference AlexNet, trained on ImageNet) as a
 * weights file of this engine, which {@code infer}, {@code eval}, {@code bench} and {@code Engine.loadModel} take.
 */
final class ImportCaffeCommand implements Main.Command {
    @Override
    public String summary() {
        return "a Caffe-trained AlexNet as a weights file: <file.caffemodel> --out <file.safetensors> [--labels file] [--image-size N]";
    }

    @Override
    public String help() {
        return """
                usage: alexnet import-caffe <file.caffemodel> --out <file.safetensors> [--labels file]
                  --out <file>                   the weights file to write (required); written whole or not at all
                  --labels <file>                class names, line i naming class i (ImageNet's synset_words.txt for the BVLC
                                                 model), stored with the weights for infer and eval
                  --image-size N                 the network's input size, as its deploy prototxt gives it (default: the
                                                 smallest that fits fc6's inputs: 227 for the BVLC model)
                The layers must be the paper's AlexNet: five convolutions (strides 4, 1, 1, 1, 1; groups 1, 2, 1, 2, 2),
                max pooling after conv1, conv2 and conv5, optional LRN between conv1/conv2 and their pooling, three inner
                products. Caffe's LRN (alpha divided by the window size, the window across all channels) is kept as such.
                The weights record that images are prepared as Caffe's ImageNet models expect: BGR, short side 256,
                centre crop 227, the ILSVRC 2012 mean (B 104.007, G 116.669, R 122.679) subtracted.
                """;
    }

    @Override
    public int run(String[] argv, PrintStream out) throws Exception {
        Args args = new Args("import-caffe", argv, Set.of("out", "labels", "image-size"), Set.of());
        if (args.operands().size() != 1) throw new Main.UsageException("give one .caffemodel file (and --out <file.safetensors>)");
        String target = args.string("out", null);
        if (target == null) throw new Main.UsageException("--out <file.safetensors> is required");
        Path source = Path.of(args.operands().getFirst());
        String labelsFile = args.string("labels", null);
        Labels labels = labelsFile == null ? Labels.none() : Labels.load(Path.of(labelsFile));
        AlexNet.Saved saved = CaffeModel.read(source, args.integer("image-size", 0, 11, 4096));
        AlexNetConfig c = saved.config();
        if (labelsFile != null && labels.size() != c.classes()) {
            throw new IllegalArgumentException(labelsFile + " names " + labels.size() + " classes; the network has " + c.classes());
        }
        Map<String, String> metadata = new LinkedHashMap<>(c.toMetadata());
        metadata.put(InputEncoding.METADATA_KEY, InputEncoding.CAFFE.key());
        Labels.toMetadata(labels.names()).ifPresent(names -> metadata.put(Labels.METADATA_KEY, names));
        SafeTensors.write(Path.of(target), saved.weights(), metadata);
        out.printf(Locale.ROOT, "import-caffe: %s: %d classes, %dx%dx%d inputs, %s, pooling %dx%d stride %d, %,d parameters%n", source,
                c.classes(), c.inChannels(), c.inputSize(), c.inputSize(),
                c.lrn() == null ? "no LRN" : "LRN size " + c.lrn().size() + " alpha " + c.lrn().alpha() + " (divided by the size) beta "
                        + c.lrn().beta() + " k " + c.lrn().k() + " across all channels",
                c.pool().window(), c.pool().window(), c.pool().stride(), AlexNet.parameterCount(c));
        out.println("written to " + target + " (images prepared as Caffe's: BGR, the ILSVRC 2012 mean subtracted)");
        return 0;
    }
}
