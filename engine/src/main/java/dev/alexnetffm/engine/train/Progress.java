package dev.alexnetffm.engine.train;

import java.io.PrintStream;
import java.util.Locale;

/**
 * The progress line of an epoch: bar, images/s, running loss and time left. Redrawn in place on a terminal;
 * elsewhere (logs, CI) one line per tenth of the epoch.
 */
final class Progress {
    private static final boolean TERMINAL = System.console() != null;
    private final PrintStream out;
    private final String label;
    private long lastDraw;
    private int lastTenth = -1;

    Progress(PrintStream out, String label) {
        this.out = out;
        this.label = label;
    }

    void update(int done, int total, long images, double loss, long elapsedNanos) {
        double seconds = elapsedNanos / 1e9;
        double rate = images / Math.max(seconds, 1e-9);
        double eta = done == 0 ? 0 : seconds * (total - done) / done;
        int width = 30, filled = (int) ((long) width * done / Math.max(1, total));
        String line = String.format(Locale.ROOT, "%s [%s%s] %d/%d  %.0f images/s  loss %.4f  ETA %s", label, "#".repeat(filled),
                ".".repeat(width - filled), done, total, rate, loss, time(eta));
        if (TERMINAL) {
            long now = System.nanoTime();
            if (now - lastDraw > 200_000_000L || done == total) {
                out.print("\r" + line);
                out.flush();
                lastDraw = now;
            }
        } else {
            int tenth = (int) (10L * done / Math.max(1, total));
            if (tenth != lastTenth) {
                out.println(line);
                lastTenth = tenth;
            }
        }
    }

    void finish() {
        if (TERMINAL) out.println();
    }

    static String time(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60) : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
}
