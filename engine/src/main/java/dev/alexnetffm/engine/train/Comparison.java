package dev.alexnetffm.engine.train;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Training runs side by side, as an experiment compares them: training and validation top-1 error per epoch, one
 * colour per run, with an optional horizontal target line (the paper's Figure 1 uses 25% training error).
 */
public final class Comparison {
    private static final Color[] COLOURS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0x9467bd)};

    private Comparison() {}

    /** Epochs until the training top-1 error first reached {@code target} (a fraction), or -1 if it never did. */
    public static int epochsTo(Curves curves, double target) {
        for (Curves.Epoch e : curves.epochs()) if (e.trainTop1() <= target) return e.epoch();
        return -1;
    }

    /** Wall time until the training top-1 error first reached {@code target}, in seconds, or NaN. */
    public static double secondsTo(Curves curves, double target) {
        double total = 0;
        for (Curves.Epoch e : curves.epochs()) {
            total += e.seconds();
            if (e.trainTop1() <= target) return total;
        }
        return Double.NaN;
    }

    /** Writes the two-panel chart of {@code runs} (name to curves, in legend order) to {@code png}, atomically. */
    public static void write(Path png, String title, Map<String, Curves> runs, double target) throws IOException {
        int w = 1000, h = 420;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString(title, 20, 24);
        int epochs = runs.values().stream().mapToInt(c -> c.epochs().size()).max().orElse(0);
        double[] x = new double[epochs];
        for (int i = 0; i < epochs; i++) x[i] = i + 1;
        List<double[]> train = new ArrayList<>(), val = new ArrayList<>();
        List<Color> colours = new ArrayList<>();
        List<String> names = new ArrayList<>(runs.keySet());
        int k = 0;
        for (Curves c : runs.values()) {
            train.add(padded(c, epochs, true));
            val.add(padded(c, epochs, false));
            colours.add(COLOURS[k++ % COLOURS.length]);
        }
        if (target > 0 && epochs > 0) {
            double[] line = new double[epochs];
            java.util.Arrays.fill(line, target);
            train.add(line);
            colours.add(Color.GRAY);
            names.add(String.format(Locale.ROOT, "%.0f%% target", 100 * target));
        }
        Curves.panel(g, 20, 40, 470, 360, "training top-1 error", x, train, colours, names, true);
        Curves.panel(g, 510, 40, 470, 360, "validation top-1 error", x, val, colours.subList(0, runs.size()), names.subList(0, runs.size()), true);
        g.setStroke(new BasicStroke(1f));
        g.dispose();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(img, "png", bytes);
        Curves.writeAtomically(png, bytes.toByteArray());
    }

    private static double[] padded(Curves c, int epochs, boolean train) {
        double[] y = new double[epochs];
        java.util.Arrays.fill(y, Double.NaN);
        for (Curves.Epoch e : c.epochs()) if (e.epoch() >= 1 && e.epoch() <= epochs) y[e.epoch() - 1] = train ? e.trainTop1() : e.valTop1();
        return y;
    }
}
