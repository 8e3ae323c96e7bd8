package dev.alexnetffm.engine.train;

/** Classification error counts from logits. */
public final class Metrics {
    private Metrics() {}

    /**
     * How many of the first {@code n} rows of {@code logits} (n x K, row-major) do not have their label among the
     * {@code k} largest logits. Ties count against the prediction (a label tied with the k-th largest is not in
     * the top k unless fewer than k logits are strictly larger); a NaN row counts as wrong.
     */
    public static int topKWrong(float[] logits, int n, int[] labels, int k) {
        int classes = classes(logits, n), wrong = 0;
        for (int i = 0; i < n; i++) if (wrong(logits, i * classes, classes, labels[i], k)) wrong++;
        return wrong;
    }

    /**
     * Adds, per class, the first {@code n} rows labelled with it to {@code images[class]} and those of them not
     * {@link #topKWrong top-k right} to {@code wrong[class]} (the same ties and NaN rule).
     */
    public static void countPerClass(float[] logits, int n, int[] labels, int k, long[] images, long[] wrong) {
        int classes = classes(logits, n);
        for (int i = 0; i < n; i++) {
            images[labels[i]]++;
            if (wrong(logits, i * classes, classes, labels[i], k)) wrong[labels[i]]++;
        }
    }

    private static int classes(float[] logits, int n) {
        if (n > 0 && logits.length % n != 0) throw new IllegalArgumentException(logits.length + " logits do not split into " + n + " rows");
        return logits.length / Math.max(1, n);
    }

    /** Whether {@code label} is not among the {@code k} largest of {@code logits[row .. row + classes)}. */
    private static boolean wrong(float[] logits, int row, int classes, int label, int k) {
        float target = logits[row + label];
        if (Float.isNaN(target)) return true;
        int larger = 0;
        for (int j = 0; j < classes; j++) {
            float v = logits[row + j];
            if (j != label && (v > target || (v == target && j < label) || Float.isNaN(v))) larger++;
        }
        return larger >= k;
    }
}
