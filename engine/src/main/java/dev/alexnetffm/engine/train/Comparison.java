package dev.alexnetffm.engine.train;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Training runs side by side, as an experiment compares them: the training top-1 error step by step and the
 * validation top-1 error per epoch, one colour per run, with an optional horizontal target line (the paper's
 * Figure 1 uses 25% training error).
 */
public final class Comparison {
    private static final Color[] COLOURS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0x9467bd)};

    private Comparison() {}

    /**
     * Writes the two-panel chart to {@code png}, atomically: left, each run's training top-1 error over the last
     * {@code window} images against fractional epochs (with the {@code target} line when it is positive); right,
     * validation top-1 error per epoch. {@code runs} maps names to results, in legend order.
     */
    public static void write(Path png, String title, Map<String, Trainer.Result> runs, int window, double target) throws IOException {
        BufferedImage img = new BufferedImage(1000, 420, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = Curves.begin(img, title);
        List<String> names = new ArrayList<>(runs.keySet());
        List<Color> colours = new ArrayList<>();
        for (int k = 0; k < names.size(); k++) colours.add(COLOURS[k % COLOURS.length]);
        // left: the moving training error at every step; all runs have the same steps (same data, batch, epochs)
        List<StepLog.Step> longest = runs.values().stream().map(r -> r.steps().steps()).max(java.util.Comparator.comparingInt(List::size)).orElse(List.of());
        double[] stepX = longest.stream().mapToDouble(StepLog.Step::epochs).toArray();
        List<double[]> train = new ArrayList<>();
        for (Trainer.Result r : runs.values()) {
            double[] y = new double[stepX.length], e = r.steps().movingError(window);
            java.util.Arrays.fill(y, Double.NaN);
            System.arraycopy(e, 0, y, 0, Math.min(e.length, y.length));
            train.add(y);
        }
        List<Color> trainColours = new ArrayList<>(colours);
        List<String> trainNames = new ArrayList<>(names);
        if (target > 0 && stepX.length > 0) {
            double[] line = new double[stepX.length];
            java.util.Arrays.fill(line, target);
            train.add(line);
            trainColours.add(Color.GRAY);
            trainNames.add(String.format(Locale.ROOT, "%.0f%% target", 100 * target));
        }
        Curves.panel(g, 20, 40, 470, 360, "training top-1 error (last " + window + " images)", stepX, train, trainColours, trainNames, true, false);
        // right: validation error after each epoch
        int epochs = runs.values().stream().mapToInt(r -> r.curves().epochs().size()).max().orElse(0);
        double[] x = new double[epochs];
        for (int i = 0; i < epochs; i++) x[i] = i + 1;
        List<double[]> val = new ArrayList<>();
        for (Trainer.Result r : runs.values()) {
            double[] y = new double[epochs];
            java.util.Arrays.fill(y, Double.NaN);
            for (Curves.Epoch e : r.curves().epochs()) if (e.epoch() >= 1 && e.epoch() <= epochs) y[e.epoch() - 1] = e.valTop1();
            val.add(y);
        }
        Curves.panel(g, 510, 40, 470, 360, "validation top-1 error", x, val, colours, names, true, true);
        g.dispose();
        Curves.writePng(png, img);
    }
}
