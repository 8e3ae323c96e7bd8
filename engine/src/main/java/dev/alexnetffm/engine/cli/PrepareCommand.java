package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.data.FolderPreparer;
import dev.alexnetffm.engine.data.ImageLoadException;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

/**
 * {@code alexnet prepare}: an image folder resized once to the squares training cuts its crops from (the paper's
 * 256x256), stored as JPEG files in a new folder of the same classes, so that each epoch decodes small files instead
 * of resizing the originals again. See {@link FolderPreparer}.
 */
final class PrepareCommand implements Main.Command {
    @Override
    public String summary() {
        return "an image folder resized once to 256x256 JPEG files, for fast loading: --data <folder> --out <folder>";
    }

    @Override
    public String help() {
        return """
                usage: alexnet prepare --data <folder> --out <folder> [options]
                  --data <folder>                the images: one sub-folder per class, as train reads them (required)
                  --out <folder>                 where the prepared copy goes, with the same class sub-folders (required);
                                                 a new or empty folder, or one this command prepared, to continue it
                  --size N                       short side resized to N, then the centre NxN kept (default 256: the
                                                 paper's, for a 227x227 network; 76 for --image-size 67)
                  --quality Q                    JPEG quality 1-100 (default 90)
                  --threads N                    images prepared at once (default: one per core)
                  --skip-corrupt                 skip and count unreadable images instead of stopping at the first
                Each image is resized as train and eval resize it and written whole (a temporary file, then a rename);
                prepared.json in --out records the settings. Run the same command again to continue an interrupted run:
                images already prepared are kept, new or changed ones are prepared. Then train with --data <out>.
                """;
    }

    @Override
    public int run(String[] argv, PrintStream out) throws Exception {
        Args args = new Args("prepare", argv, Set.of("data", "out", "size", "quality", "threads"), Set.of("skip-corrupt"));
        if (!args.operands().isEmpty()) throw new Main.UsageException("unexpected argument " + args.operands().getFirst());
        String data = args.string("data", null), to = args.string("out", null);
        if (data == null) throw new Main.UsageException("--data <folder> is required (a folder of class sub-folders)");
        if (to == null) throw new Main.UsageException("--out <folder> is required");
        FolderPreparer.Settings paper = FolderPreparer.Settings.paper();
        FolderPreparer.Settings settings = paper.withSize(args.integer("size", paper.size(), 1, 8192))
                .withQuality(args.integer("quality", paper.quality(), 1, 100))
                .withThreads(args.integer("threads", paper.threads(), 1, 1024))
                .withSkipCorrupt(args.flag("skip-corrupt"));
        out.printf(Locale.ROOT, "prepare: %s -> %s, %dx%d JPEG at quality %d, %d threads%n", data, to, settings.size(),
                settings.size(), settings.quality(), settings.threads());
        int[] lastTenth = {-1};
        FolderPreparer.Report report;
        try {
            report = FolderPreparer.prepare(Path.of(data), Path.of(to), settings, (done, total) -> {
                int tenth = (int) (10L * done / total);
                if (tenth != lastTenth[0]) {
                    out.printf(Locale.ROOT, "  %d/%d images%n", done, total);
                    lastTenth[0] = tenth;
                }
            });
        } catch (ImageLoadException e) {
            throw new IOException(e.getMessage() + "; the images prepared so far are kept: run the same command again to "
                    + "continue, with --skip-corrupt to skip unreadable images", e);
        }
        out.printf(Locale.ROOT, "%d images: %d prepared now", report.images(), report.written());
        if (report.written() > 0) {
            out.printf(Locale.ROOT, " (%.0f images/s, %.1f MB read, %.1f MB written)", report.imagesPerSecond(),
                    report.bytesRead() / 1e6, report.bytesWritten() / 1e6);
        }
        out.printf(Locale.ROOT, ", %d up to date already", report.upToDate());
        out.println(report.skipped().isEmpty() ? "" : ", " + report.skipped().size() + " skipped as unreadable:");
        for (ImageLoadException e : report.skipped()) out.println("  " + e.getMessage());
        out.println("written to " + to + " (train with --data " + to + ")");
        return 0;
    }
}
