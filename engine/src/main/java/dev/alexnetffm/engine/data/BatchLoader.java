package dev.alexnetffm.engine.data;

import dev.alexnetffm.engine.backend.HostBuffer;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongFunction;

/**
 * Decodes batches on background threads while the caller computes on the previous ones: batch {@code b} holds
 * the items {@code order[b * batchSize ...]}. Up to {@code prefetch} batches are in flight; their buffers are
 * recycled through {@link Batch#close()}, so a long epoch allocates no new image memory.
 *
 * <p>Batches land in Java arrays ({@link Batch#images}), or, given an allocator of {@link HostBuffer}s (e.g.
 * {@link dev.alexnetffm.engine.backend.Backend#allocateHost}, page-locked memory on a GPU), in host buffers
 * ({@link Batch#host}) that a backend uploads with no copy on the consumer's thread. A host buffer closed with its
 * batch may still be read by a queued device copy: the loader thread that refills it first waits for those copies
 * ({@link HostBuffer#awaitReusable()}), so the consumer never waits for them. The loader owns its host buffers and
 * frees them in {@link #close()}.
 *
 * <p>A corrupt item fails the epoch with an exception naming it, or, with {@code skipCorrupt}, is left out of its
 * batch (which is then smaller) and counted in {@link #skipped()}.
 */
public final class BatchLoader implements AutoCloseable {
    /**
     * One batch: {@code size} images (NCHW floats, in {@link #images} or {@link #host}, whichever the loader fills)
     * and labels; close it to hand its buffer back.
     */
    public final class Batch implements AutoCloseable {
        public final int index;
        /** The images, or null when the loader fills host buffers. */
        public final float[] images;
        /** The images (the first {@code size * imageFloats} floats), or null when the loader fills arrays. */
        public final HostBuffer host;
        public final int[] labels;
        public int size;
        private final Slot slot;

        Batch(int index, Slot slot, int[] labels) {
            this.index = index;
            this.slot = slot;
            this.images = slot.array;
            this.host = slot.host;
            this.labels = labels;
        }

        /** Hands the buffer back at once; a host buffer is waited for (its pending copies) before it is refilled. */
        @Override
        public void close() {
            free.offer(slot);
        }
    }

    /** A batch's image memory: an array or a host buffer. */
    private record Slot(float[] array, HostBuffer host) {}

    private final Dataset data;
    private final int batchSize;
    private final int[] order;
    private final boolean skipCorrupt;
    private final ExecutorService workers;
    private final BlockingQueue<Slot> free;
    private final List<HostBuffer> hostBuffers = new ArrayList<>();
    private final ArrayDeque<Future<Batch>> pending = new ArrayDeque<>();
    /** One image's floats per loading thread, for decoding into host buffers. */
    private final ThreadLocal<float[]> scratch;
    private final AtomicInteger skipped = new AtomicInteger();
    private final List<String> skippedItems = java.util.Collections.synchronizedList(new ArrayList<>());
    private final int batches;
    private int nextToSubmit;

    /**
     * A loader that decodes into float arrays.
     *
     * @param order       item indices in the order to visit them (a shuffled permutation for training)
     * @param dropLast    leave out a final partial batch
     * @param threads     decoding threads
     * @param prefetch    batches decoded ahead of the consumer (>= 1)
     */
    public BatchLoader(Dataset data, int batchSize, int[] order, boolean dropLast, int threads, int prefetch, boolean skipCorrupt) {
        this(data, batchSize, order, dropLast, threads, prefetch, skipCorrupt, null);
    }

    /**
     * A loader that decodes into host buffers made by {@code allocator} (called here, {@code prefetch + 1} times,
     * with the floats of a full batch), or into float arrays when it is null.
     */
    public BatchLoader(Dataset data, int batchSize, int[] order, boolean dropLast, int threads, int prefetch, boolean skipCorrupt,
                       LongFunction<HostBuffer> allocator) {
        if (batchSize < 1 || threads < 1 || prefetch < 1) throw new IllegalArgumentException("batch size, threads and prefetch must be >= 1");
        this.data = data;
        this.batchSize = batchSize;
        this.order = order;
        this.skipCorrupt = skipCorrupt;
        this.batches = dropLast ? order.length / batchSize : (order.length + batchSize - 1) / batchSize;
        this.free = new ArrayBlockingQueue<>(prefetch + 1);
        this.scratch = ThreadLocal.withInitial(() -> new float[data.imageFloats()]);
        int floats = Math.multiplyExact(batchSize, data.imageFloats());
        try {
            for (int i = 0; i < prefetch + 1; i++) {
                if (allocator == null) {
                    free.add(new Slot(new float[floats], null));
                } else {
                    HostBuffer h = allocator.apply(floats);
                    hostBuffers.add(h);
                    free.add(new Slot(null, h));
                }
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            closeHostBuffers();
            throw e;
        }
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
        Slot slot = free.take();
        if (slot.host != null) slot.host.awaitReusable(); // a device may still be copying the batch it held
        Batch batch = new Batch(b, slot, new int[batchSize]);
        int floats = data.imageFloats();
        // Host buffers: each image is decoded into this thread's scratch array, then copied in (here, not on the
        // consumer's thread), since datasets write float arrays.
        float[] scratch = slot.host == null ? null : this.scratch.get();
        int from = b * batchSize, to = Math.min(order.length, from + batchSize);
        int n = 0;
        for (int i = from; i < to; i++) {
            int item = order[i];
            try {
                if (scratch == null) {
                    data.image(item, slot.array, n * floats);
                } else {
                    data.image(item, scratch, 0);
                    MemorySegment.copy(scratch, 0, slot.host.segment(), ValueLayout.JAVA_FLOAT, (long) n * floats * Float.BYTES, floats);
                }
                batch.labels[n] = data.label(item);
                n++;
            } catch (IOException | RuntimeException e) {
                if (!skipCorrupt) {
                    free.offer(slot);
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

    /**
     * Stops the loading threads and frees the host buffers (each after the device copies still reading it):
     * batches still open must not be used after this.
     */
    @Override
    public void close() {
        pending.forEach(f -> f.cancel(true));
        workers.shutdownNow();
        if (hostBuffers.isEmpty()) return;
        try {
            workers.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // Even a thread still decoding (a hung read) cannot write freed memory: the buffers' segments belong to
        // shared arenas, so once closed, its write throws.
        closeHostBuffers();
    }

    private void closeHostBuffers() {
        RuntimeException failure = null;
        for (HostBuffer h : hostBuffers) {
            try {
                h.close();
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
                else failure.addSuppressed(e);
            }
        }
        hostBuffers.clear();
        if (failure != null) throw failure;
    }
}
