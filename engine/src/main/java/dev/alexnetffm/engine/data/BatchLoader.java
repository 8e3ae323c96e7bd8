package dev.alexnetffm.engine.data;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Decodes batches on background threads while the caller computes on the previous ones: batch {@code b} holds
 * the items {@code order[b * batchSize ...]}. Up to {@code prefetch} batches are in flight; their buffers are
 * recycled through {@link Batch#close()}, so a long epoch allocates no new image memory.
 *
 * <p>A corrupt item fails the epoch with an exception naming it, or, with {@code skipCorrupt}, is left out of its
 * batch (which is then smaller) and counted in {@link #skipped()}.
 */
public final class BatchLoader implements AutoCloseable {
    /** One batch: {@code size} images (NCHW floats) and labels; close it to hand its buffer back. */
    public final class Batch implements AutoCloseable {
        public final int index;
        public final float[] images;
        public final int[] labels;
        public int size;

        Batch(int index, float[] images, int[] labels) {
            this.index = index;
            this.images = images;
            this.labels = labels;
        }

        @Override
        public void close() {
            free.offer(images);
        }
    }

    private final Dataset data;
    private final int batchSize;
    private final int[] order;
    private final boolean skipCorrupt;
    private final ExecutorService workers;
    private final BlockingQueue<float[]> free;
    private final ArrayDeque<Future<Batch>> pending = new ArrayDeque<>();
    private final AtomicInteger skipped = new AtomicInteger();
    private final List<String> skippedItems = java.util.Collections.synchronizedList(new ArrayList<>());
    private final int batches;
    private int nextToSubmit;

    /**
     * @param order       item indices in the order to visit them (a shuffled permutation for training)
     * @param dropLast    leave out a final partial batch
     * @param threads     decoding threads
     * @param prefetch    batches decoded ahead of the consumer (>= 1)
     */
    public BatchLoader(Dataset data, int batchSize, int[] order, boolean dropLast, int threads, int prefetch, boolean skipCorrupt) {
        if (batchSize < 1 || threads < 1 || prefetch < 1) throw new IllegalArgumentException("batch size, threads and prefetch must be >= 1");
        this.data = data;
        this.batchSize = batchSize;
        this.order = order;
        this.skipCorrupt = skipCorrupt;
        this.batches = dropLast ? order.length / batchSize : (order.length + batchSize - 1) / batchSize;
        this.free = new ArrayBlockingQueue<>(prefetch + 1);
        for (int i = 0; i < prefetch + 1; i++) free.add(new float[Math.multiplyExact(batchSize, data.imageFloats())]);
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "batch-loader-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        for (int i = 0; i < prefetch && nextToSubmit < batches; i++) submit();
    }

    /** A permutation of 0..n-1 drawn from {@code seed} (Fisher-Yates): the same seed, the same order. */
    public static int[] shuffled(int n, long seed) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    public static int[] sequential(int n) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        return order;
    }

    public int batches() {
        return batches;
    }

    /** Items left out as corrupt so far (with skipCorrupt). */
    public int skipped() {
        return skipped.get();
    }

    public List<String> skippedItems() {
        return List.copyOf(skippedItems);
    }

    private void submit() {
        int b = nextToSubmit++;
        pending.add(workers.submit(() -> load(b)));
    }

    private Batch load(int b) throws IOException, InterruptedException {
        float[] buffer = free.take();
        Batch batch = new Batch(b, buffer, new int[batchSize]);
        int floats = data.imageFloats();
        int from = b * batchSize, to = Math.min(order.length, from + batchSize);
        int n = 0;
        for (int i = from; i < to; i++) {
            int item = order[i];
            try {
                data.image(item, buffer, n * floats);
                batch.labels[n] = data.label(item);
                n++;
            } catch (IOException | RuntimeException e) {
                if (!skipCorrupt) {
                    free.offer(buffer);
                    throw e instanceof IOException io ? io : new IOException(data.name() + " item " + item + ": " + e.getMessage(), e);
                }
                skipped.incrementAndGet();
                skippedItems.add(data.name() + " item " + item + ": " + e.getMessage());
            }
        }
        batch.size = n;
        return batch;
    }

    /** The next batch in order, or null after the last. Waits for it to be decoded. */
    public Batch next() throws IOException, InterruptedException {
        Future<Batch> f = pending.poll();
        if (f == null) return null;
        if (nextToSubmit < batches) submit();
        try {
            return f.get();
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) throw io;
            if (c instanceof RuntimeException r) throw r;
            throw new IOException(c);
        }
    }

    @Override
    public void close() {
        pending.forEach(f -> f.cancel(true));
        workers.shutdownNow();
    }
}
