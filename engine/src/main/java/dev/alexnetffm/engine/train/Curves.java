package dev.alexnetffm.engine.train;

import dev.alexnetffm.engine.io.AtomicFile;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Training curves: one row per epoch (loss, errors, learning rate, time), written as CSV and drawn as a PNG with
 * two panels (training loss; top-1 error on training and validation data). Both files are replaced atomically.
 */
public final class Curves {
    /** One epoch's summary. Errors are fractions in [0, 1]. */
    public record Epoch(int epoch, double trainLoss, double trainTop1, double valTop1, double valTop5, double learningRate,
                        double seconds, double imagesPerSecond) {}

    private final List<Epoch> epochs = new ArrayList<>();

    public void add(Epoch e) {
        epochs.add(e);
    }

    public List<Epoch> epochs() {
        return List.copyOf(epochs);
    }

    public static final String CSV_HEADER = "epoch,train_loss,train_top1_error,val_top1_error,val_top5_error,learning_rate,seconds,images_per_second";

    public String csv() {
        StringBuilder b = new StringBuilder(CSV_HEADER).append('\n');
        for (Epoch e : epochs) {
            b.append(String.format(Locale.ROOT, "%d,%.6f,%.6f,%.6f,%.6f,%.6g,%.3f,%.1f%n", e.epoch, e.trainLoss, e.trainTop1, e.valTop1, e.valTop5,
                    e.learningRate, e.seconds, e.imagesPerSecond));
        }
        return b.toString();
    }

    /** Reads back a CSV written by {@link #csv()} (for resuming a run). */
    public static Curves parse(String csv) {
        Curves c = new Curves();
        String[] lines = csv.strip().split("\n");
        for (int i = 1; i < lines.length; i++) {
            String[] f = lines[i].split(",");
            if (f.length != 8) throw new IllegalArgumentException("curves CSV line " + (i + 1) + " has " + f.length + " fields, expected 8");
            c.add(new Epoch(Integer.parseInt(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[3]),
                    Double.parseDouble(f[4]), Double.parseDouble(f[5]), Double.parseDouble(f[6]), Double.parseDouble(f[7])));
        }
        return c;
    }

    public void write(Path csvFile, Path pngFile, String title) throws IOException {
        AtomicFile.writeString(csvFile, csv());
        writePng(pngFile, draw(title));
    }

    /** A 1000x420 chart: left, training loss per epoch; right, top-1 error (train and validation) and top-5 (validation). */
    public BufferedImage draw(String title) {
        BufferedImage img = new BufferedImage(1000, 420, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = begin(img, title);
        double[] x = epochs.stream().mapToDouble(Epoch::epoch).toArray();
        panel(g, 20, 40, 470, 360, "training loss", x, List.of(series(Epoch::trainLoss)), List.of(new Color(0x1f77b4)), List.of("loss"), false);
        panel(g, 510, 40, 470, 360, "error", x, List.of(series(Epoch::trainTop1), series(Epoch::valTop1), series(Epoch::valTop5)),
                List.of(new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c)), List.of("train top-1", "val top-1", "val top-5"), true);
        g.dispose();
        return img;
    }

    /** White background, antialiasing and the title: the start of every chart (two 470x360 panels below it). */
    static Graphics2D begin(BufferedImage img, String title) {
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString(title, 20, 24);
        return g;
    }

    /** Writes {@code img} as a PNG to {@code file}, atomically. */
    static void writePng(Path file, BufferedImage img) throws IOException {
        java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
        ImageIO.write(img, "png", png);
        AtomicFile.write(file, png.toByteArray());
    }

    private double[] series(java.util.function.ToDoubleFunction<Epoch> f) {
        return epochs.stream().mapToDouble(f).toArray();
    }

    /** One chart panel: series {@code ys} (NaN = missing) against {@code x}, with a legend; errors drawn as percentages. */
    static void panel(Graphics2D g, int x0, int y0, int w, int h, String label, double[] x, List<double[]> ys, List<Color> colors,
                              List<String> names, boolean percent) {
        panel(g, x0, y0, w, h, label, x, ys, colors, names, percent, true);
    }

    /** As above; {@code dots} marks each point (per-epoch series) or draws only the line (per-step series). */
    static void panel(Graphics2D g, int x0, int y0, int w, int h, String label, double[] x, List<double[]> ys, List<Color> colors,
                      List<String> names, boolean percent, boolean dots) {
        int left = x0 + 50, right = x0 + w - 10, top = y0 + 10, bottom = y0 + h - 30;
        double xmin = x.length == 0 ? 0 : Math.floor(x[0]), xmax = x.length == 0 ? 1 : Math.max(Math.ceil(x[x.length - 1]), xmin + 1);
        double ymax = 0;
        for (double[] y : ys) for (double v : y) if (Double.isFinite(v)) ymax = Math.max(ymax, v);
        ymax = ymax <= 0 ? 1 : ymax * 1.05;
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        g.setColor(new Color(0xdddddd));
        for (int i = 0; i <= 5; i++) {
            int yy = bottom - (bottom - top) * i / 5;
            g.drawLine(left, yy, right, yy);
        }
        g.setColor(Color.BLACK);
        g.drawRect(left, top, right - left, bottom - top);
        for (int i = 0; i <= 5; i++) {
            int yy = bottom - (bottom - top) * i / 5;
            double v = ymax * i / 5;
            g.drawString(percent ? String.format(Locale.ROOT, "%.0f%%", 100 * v) : String.format(Locale.ROOT, "%.2f", v), x0, yy + 4);
        }
        for (int e = (int) xmin; e <= (int) xmax; e++) {
            int xx = left + (int) ((right - left) * (e - xmin) / (xmax - xmin));
            g.drawString(Integer.toString(e), xx - 3, bottom + 14);
        }
        g.drawString(label + " by epoch", left + 4, bottom + 27);
        g.setStroke(new BasicStroke(2f));
        for (int s = 0; s < ys.size(); s++) {
            double[] y = ys.get(s);
            g.setColor(colors.get(s));
            int px = -1, py = -1;
            for (int i = 0; i < y.length; i++) {
                if (!Double.isFinite(y[i])) continue;
                int xx = left + (int) ((right - left) * (x[i] - xmin) / (xmax - xmin));
                int yy = bottom - (int) ((bottom - top) * y[i] / ymax);
                if (px >= 0) g.drawLine(px, py, xx, yy);
                if (dots) g.fillOval(xx - 3, yy - 3, 6, 6);
                px = xx;
                py = yy;
            }
            g.drawString(names.get(s), right - 90, top + 16 + 14 * s);
        }
        g.setStroke(new BasicStroke(1f));
    }
}
