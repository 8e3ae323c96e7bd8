package dev.alexnetffm.engine.train;

import dev.alexnetffm.engine.io.AtomicFile;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Every training step's loss and top-1 mistakes, with where it falls in the run (fractional epochs) and the
 * training time so far: finer than {@link Curves}, for questions like the paper's Figure 1 (how soon does the
 * training error reach 25%?) on data sets where that happens within an epoch. Written as {@code steps.csv}.
 */
public final class StepLog {
    /**
     * One step: its number, the fraction of epochs done after it (epoch - 1 + batches done / batches), the batch's
     * mean loss, its size and top-1 mistakes (with dropout, as trained), and the training seconds so far (validation
     * excluded).
     */
    public record Step(long step, double epochs, double loss, int images, int wrong, double seconds) {}

    private final List<Step> steps = new ArrayList<>();

    public void add(Step s) {
        steps.add(s);
    }

    public List<Step> steps() {
        return List.copyOf(steps);
    }

    /** The last step, or null. */
    public Step last() {
        return steps.isEmpty() ? null : steps.getLast();
    }

    /**
     * The first point (in fractional epochs) where the training top-1 error over the last {@code window} images
     * (whole steps, at least one) is at most {@code target}, or NaN if it never is.
     */
    public double epochsTo(double target, int window) {
        int i = firstAt(target, window);
        return i < 0 ? Double.NaN : steps.get(i).epochs();
    }

    /** Training seconds until the point {@link #epochsTo} finds, or NaN. */
    public double secondsTo(double target, int window) {
        int i = firstAt(target, window);
        return i < 0 ? Double.NaN : steps.get(i).seconds();
    }

    /** The moving training error over the last {@code window} images after each step (NaN until the window is full). */
    public double[] movingError(int window) {
        double[] out = new double[steps.size()];
        long images = 0, wrong = 0;
        int from = 0;
        for (int i = 0; i < steps.size(); i++) {
            images += steps.get(i).images();
            wrong += steps.get(i).wrong();
            while (from < i && images - steps.get(from).images() >= window) {
                images -= steps.get(from).images();
                wrong -= steps.get(from).wrong();
                from++;
            }
            out[i] = images >= window ? (double) wrong / images : Double.NaN;
        }
        return out;
    }

    private int firstAt(double target, int window) {
        double[] e = movingError(window);
        for (int i = 0; i < e.length; i++) if (e[i] <= target) return i;
        return -1;
    }

    public static final String CSV_HEADER = "step,epochs,loss,images,wrong,seconds";

    public String csv() {
        StringBuilder b = new StringBuilder(CSV_HEADER).append('\n');
        for (Step s : steps) {
            b.append(String.format(Locale.ROOT, "%d,%.6f,%.6f,%d,%d,%.3f%n", s.step, s.epochs, s.loss, s.images, s.wrong, s.seconds));
        }
        return b.toString();
    }

    /** Reads back a CSV written by {@link #csv()} (for resuming a run). */
    public static StepLog parse(String csv) {
        StepLog log = new StepLog();
        String[] lines = csv.strip().split("\n");
        for (int i = 1; i < lines.length; i++) {
            String[] f = lines[i].split(",");
            if (f.length != 6) throw new IllegalArgumentException("steps CSV line " + (i + 1) + " has " + f.length + " fields, expected 6");
            log.add(new Step(Long.parseLong(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2]), Integer.parseInt(f[3]),
                    Integer.parseInt(f[4]), Double.parseDouble(f[5])));
        }
        return log;
    }

    /** Writes {@link #csv()} to {@code file}, atomically. */
    public void write(Path file) throws IOException {
        AtomicFile.writeString(file, csv());
    }
}
