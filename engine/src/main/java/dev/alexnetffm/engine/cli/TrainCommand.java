package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.Engine;
import dev.alexnetffm.engine.backend.LrnSpec;
import dev.alexnetffm.engine.backend.PoolSpec;
import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.data.FashionMnist;
import dev.alexnetffm.engine.data.ImageFolder;
import dev.alexnetffm.engine.data.ImagePreprocessor;
import dev.alexnetffm.engine.data.Subset;
import dev.alexnetffm.engine.data.augment.Augmented;
import dev.alexnetffm.engine.data.augment.CentreCrop;
import dev.alexnetffm.engine.data.augment.PcaColour;
import dev.alexnetffm.engine.data.augment.RandomCropFlip;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.parallel.SplitAlexNet;
import dev.alexnetffm.engine.train.Learner;
import dev.alexnetffm.engine.train.Sgd;
import dev.alexnetffm.engine.train.Trainer;

import java.io.PrintStream;
import java.nio.file.Path;
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

    static final String HELP = """
            usage: alexnet train --run <dir> [options]
              --data fashion-mnist|<folder>  training data (default fashion-mnist); a folder has one sub-folder per class
              --data-dir <dir>               Fashion-MNIST's IDX files (default $FASHION_MNIST_DIR or /usr/share/datasets/fashion-mnist)
              --val <folder>                 validation images for a folder data set (Fashion-MNIST uses its test split)
              --run <dir>                    where checkpoints and curves go (required)
              --resume                       continue the run in --run from its last checkpoint
              --epochs N                     total epochs (default 10)
              --batch N                      batch size (default 128)
              --lr X                         initial learning rate (default 0.01; divided by 10 when validation error stalls)
              --momentum X --weight-decay X  default 0.9 and 0.0005
              --patience N                   epochs without improvement before dividing the rate (default 1)
              --seed N                       initialisation, shuffling and dropout (default 42)
              --subset N --val-subset N      train/validate on a seeded sample of N images
              --image-size N                 input size for Fashion-MNIST (default 227; smaller trains faster, e.g. 67)
              --hidden N                     width of fc6 and fc7 (default 4096)
              --init paper|kaiming           initial weights: the paper's N(0, 0.01^2) (default) or He et al.'s N(0, 2/fan_in)
              --activation relu|tanh         hidden non-linearity (default relu; tanh is the paper's Figure 1 baseline)
              --lrn paper|pytorch|none       LRN in the paper's form inside each tower (default), PyTorch's, or none
              --pool overlapping|2x2         max pooling 3x3 stride 2 (default) or 2x2 stride 2
              --dropout P                    dropout probability before fc7 and fc8 (default 0.5; 0 turns it off)
              --threads N                    image decoding threads (default: cores - 1)
              --skip-corrupt                 skip and count unreadable images instead of stopping
              --augment none|crop-flip       the paper's random 227x227 crops of 256x256 images with flips (validation: the
                                             centre crop); default none
              --pca <file>                   with --augment: also PCA colour augmentation, eigenvectors from `alexnet pca`
            """ + "  " + EngineOptions.HELP + "\n  " + EngineOptions.DEVICES_HELP + "\n";

    @Override
    public int run(String[] argv, PrintStream out) throws Exception {
        if (argv.length == 1 && (argv[0].equals("--help") || argv[0].equals("-h"))) {
            out.print(HELP);
            return 0;
        }
        Args args = new Args("train", argv, Set.of("data", "data-dir", "val", "run", "epochs", "batch", "lr", "momentum", "weight-decay",
                "patience", "seed", "subset", "val-subset", "image-size", "hidden", "threads", "device", "init", "activation", "lrn",
                "pool", "dropout", "augment", "pca", "devices"), Set.of("resume", "skip-corrupt"));
        if (!args.operands().isEmpty()) throw new Main.UsageException("unexpected argument " + args.operands().getFirst() + " (see train --help)");
        String run = args.string("run", null);
        if (run == null) throw new Main.UsageException("--run <dir> is required: checkpoints and curves are written there");
        int epochs = args.integer("epochs", 10, 1, 100_000);
        int batch = args.integer("batch", 128, 1, 4096);
        long seed = args.integer("seed", 42, Integer.MIN_VALUE, Integer.MAX_VALUE);
        int threads = args.integer("threads", Math.max(1, Runtime.getRuntime().availableProcessors() - 1), 1, 256);
        Sgd sgd = new Sgd(floatOption(args, "lr", 0.01f), floatOption(args, "momentum", 0.9f), floatOption(args, "weight-decay", 0.0005f));
        int imageSize = args.integer("image-size", 227, 11, 1024);

        String data = args.string("data", "fashion-mnist");
        String augment = args.string("augment", "none");
        if (!augment.equals("none") && !augment.equals("crop-flip")) throw new Main.UsageException("--augment must be none or crop-flip");
        boolean crops = augment.equals("crop-flip");
        if (args.string("pca", null) != null && !crops) throw new Main.UsageException("--pca needs --augment crop-flip");
        RandomCropFlip crop = RandomCropFlip.paper();
        // with crops, images are prepared at 256x256 and cropped to 227 (random for training, centre for validation)
        int prepared = crops ? crop.inSize() : imageSize;
        if (crops && imageSize != crop.outSize()) throw new Main.UsageException("--augment crop-flip works at --image-size " + crop.outSize());
        Dataset train, val;
        if (data.equals("fashion-mnist")) {
            Path dir = args.string("data-dir", null) != null ? Path.of(args.string("data-dir", null)) : FashionMnist.defaultDir();
            train = FashionMnist.train(dir, 3, prepared);
            val = FashionMnist.test(dir, 3, prepared);
        } else {
            if (args.string("val", null) == null) throw new Main.UsageException("an image folder needs --val <folder> with the same class sub-folders");
            ImagePreprocessor preprocessor = ImagePreprocessor.builder().cropSize(prepared).build();
            train = ImageFolder.open(Path.of(data), preprocessor);
            val = ImageFolder.open(Path.of(args.string("val", null)), preprocessor);
        }
        if (crops) {
            PcaColour pca = args.string("pca", null) == null ? null : PcaColour.load(Path.of(args.string("pca", null)));
            train = new Augmented(train, crop, pca, seed);
            val = new CentreCrop(val, crop);
        }
        int subset = args.integer("subset", 0, 0, Integer.MAX_VALUE), valSubset = args.integer("val-subset", 0, 0, Integer.MAX_VALUE);
        if (subset > 0) train = new Subset(train, subset, seed);
        if (valSubset > 0) val = new Subset(val, valSubset, seed + 1);
        if (train.size() < batch) {
            throw new Main.UsageException("the training set (" + train.size() + " images) is smaller than one batch (" + batch + "): use a smaller --batch");
        }
        Trainer.Options options = new Trainer.Options(epochs, batch, sgd, seed, args.integer("patience", 1, 1, 1000), 3, threads,
                args.flag("skip-corrupt"), Path.of(run), init(args.string("init", "paper")));
        EngineOptions.TwoDevices devices = EngineOptions.devices(args);
        try (Engine engine = devices == null ? EngineOptions.open(args) : null) {
            Learner.Factory learners = engine != null ? Learner.on(engine.backend()) : SplitAlexNet.learners(devices.a(), devices.b());
            String where = engine != null ? engine.description() : "two devices (" + devices.spec() + ", one tower each)";
            out.printf(Locale.ROOT, "train: %s on %s (%d images), validating on %s (%d), batch %d, %s%n", where, train.name(),
                    train.size(), val.name(), val.size(), batch, sgd);
            Trainer trainer = new Trainer(learners, train, val, options, out);
            Trainer.Result result;
            if (args.flag("resume")) {
                result = trainer.resume();
            } else {
                AlexNetConfig config = AlexNetConfig.paper().withClasses(train.classes()).withInput(train.channels(), train.imageSize())
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
                        .withDropout(floatOption(args, "dropout", 0.5f));
                result = trainer.run(config);
            }
            out.printf(Locale.ROOT, "done: validation top-1 error %.2f%% (accuracy %.2f%%), top-5 error %.2f%%; curves and checkpoint in %s%n",
                    100 * result.valTop1(), 100 * (1 - result.valTop1()), 100 * result.valTop5(), result.runDir());
        }
        return 0;
    }

    private static AlexNet.Init init(String name) {
        return switch (name) {
            case "paper" -> AlexNet.Init.PAPER;
            case "kaiming", "he" -> AlexNet.Init.KAIMING;
            default -> throw new Main.UsageException("--init must be paper or kaiming, got '" + name + "'");
        };
    }

    private static float floatOption(Args args, String name, float fallback) {
        String v = args.string(name, null);
        if (v == null) return fallback;
        try {
            return Float.parseFloat(v);
        } catch (NumberFormatException e) {
            throw new Main.UsageException("--" + name + " must be a number, got '" + v + "'");
        }
    }
}
