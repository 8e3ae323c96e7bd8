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
        int classes = logits.length / Math.max(1, n);
        if (n > 0 && logits.length % n != 0) throw new IllegalArgumentException(logits.length + " logits do not split into " + n + " rows");
        int wrong = 0;
        for (int i = 0; i < n; i++) {
            float target = logits[i * classes + labels[i]];
            if (Float.isNaN(target)) {
                wrong++;
                continue;
            }
            int larger = 0;
            for (int j = 0; j < classes; j++) {
                float v = logits[i * classes + j];
                if (j != labels[i] && (v > target || (v == target && j < labels[i]) || Float.isNaN(v))) larger++;
            }
            if (larger >= k) wrong++;
        }
        return wrong;
    }
}
