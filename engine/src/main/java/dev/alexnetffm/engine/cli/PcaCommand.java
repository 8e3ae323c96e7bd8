package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.data.FashionMnist;
import dev.alexnetffm.engine.data.ImageFolder;
import dev.alexnetffm.engine.data.ImagePreprocessor;
import dev.alexnetffm.engine.data.augment.PcaColour;
import dev.alexnetffm.engine.data.augment.RandomCropFlip;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

/**
 * {@code alexnet pca}: the RGB covariance of a training set's pixels, its eigenvalues and eigenvectors, stored in a
 * file for PCA colour augmentation ({@code train --augment crop-flip --pca <file>}). Computed once per data set.
 */
final class PcaCommand implements Main.Command {
    @Override
    public String summary() {
        return "PCA colour statistics of a training set: --data fashion-mnist|<folder> --out <file> [--max-images N]";
    }

    @Override
    public String help() {
        return """
                usage: alexnet pca --out <file> [options]
                  --out <file>                   where the statistics go (required), for train --augment crop-flip --pca <file>
                  --data fashion-mnist|<folder>  the training images (default fashion-mnist, its training split); a folder has
                                                 one sub-folder per class
                """ + TrainingSetup.DATA_DIR_HELP + """
                  --max-images N                 images fitted on, evenly spaced over the set (default 10000)
                The images are prepared at 256x256, as for training on random crops; the RGB covariance of their pixels,
                its eigenvalues and eigenvectors are printed and written to --out.
                """;
    }

    @Override
    public int run(String[] argv, PrintStream out) throws Exception {
        Args args = new Args("pca", argv, Set.of("data", "data-dir", "out", "max-images"), Set.of());
        if (!args.operands().isEmpty()) throw new Main.UsageException("unexpected argument " + args.operands().getFirst());
        String file = args.string("out", null);
        if (file == null) throw new Main.UsageException("--out <file> is required");
        int max = args.integer("max-images", 10_000, 1, Integer.MAX_VALUE);
        int size = RandomCropFlip.paper().inSize(); // the 256x256 images the crops are taken from
        String data = args.string("data", "fashion-mnist");
        Dataset train;
        if (data.equals("fashion-mnist")) {
            train = FashionMnist.train(TrainingSetup.fashionMnistDir(args), 3, size);
        } else {
            train = ImageFolder.open(Path.of(data), ImagePreprocessor.builder().cropSize(size).build());
        }
        out.printf(Locale.ROOT, "pca: %s, %d of %d images at %dx%d%n", train.name(), Math.min(max, train.size()), train.size(), size, size);
        PcaColour pca = PcaColour.fit(train, max);
        pca.save(Path.of(file));
        out.println(pca);
        out.println("written to " + file);
        return 0;
    }
}
