package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.backend.LrnSpec;
import dev.alexnetffm.engine.backend.PoolSpec;
import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.data.FashionMnist;
import dev.alexnetffm.engine.data.ImageFolder;
import dev.alexnetffm.engine.data.ImagePreprocessor;
import dev.alexnetffm.engine.data.InputEncoding;
import dev.alexnetffm.engine.data.Subset;
import dev.alexnetffm.engine.data.augment.Augmented;
import dev.alexnetffm.engine.data.augment.CentreCrop;
import dev.alexnetffm.engine.data.augment.PcaColour;
import dev.alexnetffm.engine.data.augment.RandomCropFlip;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.train.Sgd;
import dev.alexnetffm.engine.train.Trainer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;

/**
 * The options {@code train} and {@code experiment} share: the data (Fashion-MNIST or an image folder, sampled,
 * cropped and colour-augmented), the network's configuration and the trainer's settings.
 */
final class TrainingSetup {
    private TrainingSetup() {}

    /** Valued options read here. */
    static final Set<String> OPTIONS = Set.of("data", "data-dir", "val", "epochs", "batch", "lr", "momentum", "weight-decay", "patience",
            "seed", "subset", "val-subset", "image-size", "hidden", "threads", "device", "devices", "init", "activation", "lrn", "pool",
            "dropout", "augment", "pca");

    /** Switches read here. */
    static final Set<String> FLAGS = Set.of("skip-corrupt");

    /** The usage line of {@code --data-dir}, which every command reading Fashion-MNIST takes. */
    static final String DATA_DIR_HELP = """
              --data-dir <dir>               the folder of Fashion-MNIST's IDX files (default $FASHION_MNIST_DIR, else
                                             /usr/share/datasets/fashion-mnist)
            """;

    /** The usage lines of the options read here, for {@code train --help} and {@code experiment --help}. */
    static final String HELP = """
              --data fashion-mnist|<folder>  training data (default fashion-mnist); a folder has one sub-folder per class
                                             (`alexnet prepare` makes a copy that loads several times faster)
            """ + DATA_DIR_HELP + """
              --val <folder>                 validation images for a folder data set (Fashion-MNIST uses its test split)
              --epochs N                     total epochs (default 10)
              --batch N                      batch size (default 128)
              --lr X                         initial learning rate (default 0.01; divided by 10 when validation error stalls)
              --momentum X --weight-decay X  default 0.9 and 0.0005
              --patience N                   epochs without improvement before dividing the rate (default 1)
              --seed N                       initialisation, shuffling and dropout (default 42)
              --subset N --val-subset N      train/validate on a seeded sample of N images
              --image-size N                 the network's input size (default 227; smaller trains faster, e.g. 67)
              --hidden N                     width of fc6 and fc7 (default 4096)
              --init paper|kaiming           initial weights: the paper's N(0, 0.01^2) (default) or He et al.'s N(0, 2/fan_in)
              --activation relu|tanh         hidden non-linearity (default relu; tanh is the paper's Figure 1 baseline)
              --lrn paper|pytorch|none       LRN in the paper's form inside each tower (default), PyTorch's, or none
              --pool overlapping|2x2         max pooling 3x3 stride 2 (default) or 2x2 stride 2
              --dropout P                    dropout probability before fc7 and fc8 (default 0.5; 0 turns it off)
              --threads N                    image decoding threads (default: cores - 1)
              --skip-corrupt                 skip and count unreadable images instead of stopping
              --augment none|crop-flip       the paper's random crops with flips: images prepared at 256x256 (for a 227
                                             network; in proportion for smaller ones) and cropped; validation on the
                                             centre crop; default none
              --pca <file>                   with --augment: also PCA colour augmentation, eigenvectors from `alexnet pca`
            """ + EngineOptions.HELP + EngineOptions.DEVICES_HELP;

    /**
     * The training and validation sets as the options ask, and both before cropping ({@code trainBase}, {@code
     * valBase}: prepared for crops with {@code crop-flip}, else the same as {@code train} and {@code val}), for the
     * PCA colour statistics and for ten-crop testing.
     */
    record Data(Dataset train, Dataset val, Dataset trainBase, Dataset valBase, boolean crops) {}

    /** @param pca PCA colour augmentation on (with crops), whatever {@code --pca} says; null to follow the options */
    static Data data(Args args, PcaColour pca) throws IOException {
        return data(args, pca, InputEncoding.IMAGENET, args.integer("image-size", 227, 11, 1024));
    }

    /**
     * {@link #data(Args, PcaColour)} with an image folder's images prepared as {@code folders} encodes them (a network
     * being fine-tuned, or resumed, expects its own) for a network of {@code imageSize} inputs.
     */
    static Data data(Args args, PcaColour pca, InputEncoding folders, int imageSize) throws IOException {
        long seed = seed(args);
        String augment = args.string("augment", "none");
        if (!augment.equals("none") && !augment.equals("crop-flip")) throw new Main.UsageException("--augment must be none or crop-flip");
        boolean crops = augment.equals("crop-flip");
        if (args.string("pca", null) != null && !crops) throw new Main.UsageException("--pca needs --augment crop-flip");
        RandomCropFlip crop = RandomCropFlip.forInput(3, imageSize);
        int prepared = crops ? crop.inSize() : imageSize;
        String data = args.string("data", "fashion-mnist");
        Dataset train, val;
        if (data.equals("fashion-mnist")) {
            Path dir = fashionMnistDir(args);
            train = FashionMnist.train(dir, 3, prepared);
            val = FashionMnist.test(dir, 3, prepared);
        } else {
            if (args.string("val", null) == null) throw new Main.UsageException("an image folder needs --val <folder> with the same class sub-folders");
            ImagePreprocessor preprocessor = folders.preprocessor(imageSize, prepared);
            train = ImageFolder.open(Path.of(data), preprocessor, folders);
            val = ImageFolder.open(Path.of(args.string("val", null)), preprocessor, folders);
        }
        int subset = args.integer("subset", 0, 0, Integer.MAX_VALUE), valSubset = args.integer("val-subset", 0, 0, Integer.MAX_VALUE);
        if (subset > 0) train = new Subset(train, subset, seed);
        if (valSubset > 0) val = new Subset(val, valSubset, seed + 1);
        Dataset trainBase = train, valBase = val;
        if (crops) {
            if (pca == null && args.string("pca", null) != null) pca = PcaColour.load(Path.of(args.string("pca", null)));
            train = new Augmented(train, crop, pca, seed);
            val = new CentreCrop(val, crop);
        }
        return new Data(train, val, trainBase, valBase, crops);
    }

    /** The folder of Fashion-MNIST's IDX files: {@code --data-dir}, else {@link FashionMnist#defaultDir()}. */
    static Path fashionMnistDir(Args args) {
        String dir = args.string("data-dir", null);
        return dir != null ? Path.of(dir) : FashionMnist.defaultDir();
    }

    static long seed(Args args) {
        return args.integer("seed", 42, Integer.MIN_VALUE, Integer.MAX_VALUE);
    }

    /** The network the options describe, for {@code train}'s data. */
    static AlexNetConfig config(Args args, Dataset train) {
        return AlexNetConfig.paper().withClasses(train.classes()).withInput(train.channels(), train.imageSize())
                .withHidden(args.integer("hidden", 4096, 2, 65536))
                .withActivation(switch (args.string("activation", "relu")) {
                    case "relu" -> AlexNetConfig.Activation.RELU;
                    case "tanh" -> AlexNetConfig.Activation.TANH;
                    default -> throw new Main.UsageException("--activation must be relu or tanh");
                })
                .withLrn(switch (args.string("lrn", "paper")) {
                    case "paper" -> LrnSpec.paper();
                    case "pytorch" -> LrnSpec.pytorch(5, 1e-4f, 0.75f, 2f);
                    case "none" -> null;
                    default -> throw new Main.UsageException("--lrn must be paper, pytorch or none");
                })
                .withPool(switch (args.string("pool", "overlapping")) {
                    case "overlapping" -> PoolSpec.overlapping();
                    case "2x2" -> new PoolSpec(2, 2);
                    default -> throw new Main.UsageException("--pool must be overlapping or 2x2");
                })
                .withDropout((float) args.number("dropout", 0.5, 0, 0.99));
    }

    /** The trainer's settings; checkpoints and curves go to {@code runDir}. */
    static Trainer.Options options(Args args, Path runDir, Dataset train) {
        int batch = args.integer("batch", 128, 1, 4096);
        if (train.size() < batch) {
            throw new Main.UsageException("the training set (" + train.size() + " images) is smaller than one batch (" + batch + "): use a smaller --batch");
        }
        Sgd sgd = new Sgd((float) args.number("lr", 0.01, 0, 10), (float) args.number("momentum", 0.9, 0, 1),
                (float) args.number("weight-decay", 0.0005, 0, 1));
        int threads = args.integer("threads", Math.max(1, Runtime.getRuntime().availableProcessors() - 1), 1, 256);
        return new Trainer.Options(args.integer("epochs", 10, 1, 100_000), batch, sgd, seed(args), args.integer("patience", 1, 1, 1000), 3, threads,
                args.flag("skip-corrupt"), runDir, init(args.string("init", "paper")));
    }

    private static AlexNet.Init init(String name) {
        return switch (name) {
            case "paper" -> AlexNet.Init.PAPER;
            case "kaiming", "he" -> AlexNet.Init.KAIMING;
            default -> throw new Main.UsageException("--init must be paper or kaiming, got '" + name + "'");
        };
    }
}
