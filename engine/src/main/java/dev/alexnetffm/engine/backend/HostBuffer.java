package dev.alexnetffm.engine.backend;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Host memory that tensors are uploaded from without a copy on the calling thread: whoever fills it (a batch
 * loader's threads) writes straight into {@link #segment()}, and {@link Backend#copyFromHost(Tensor, HostBuffer)}
 * queues the upload from it. For a GPU backend it is page-locked ({@link Backend#allocateHost}), so that the copy
 * is truly asynchronous: the host must then not write the buffer again until {@link #awaitReusable()} returns.
 *
 * <p>Each backend that copies from a buffer keeps a {@link Fence} on it (a CUDA event recorded after its latest
 * copy), so that one buffer can feed several devices, e.g. both towers of a split network. The buffer waits for
 * every fence before it is reused or freed. Fences are the backends' business; users only call
 * {@link #awaitReusable()} and {@link #close()}.
 *
 * <p>A buffer may outlive the backend that allocated it. Closing it waits for its pending copies, then frees the
 * memory; after that, touching the segment throws {@link IllegalStateException}.
 */
public final class HostBuffer implements AutoCloseable {
    /** A point after a backend's latest queued copy from this buffer. */
    public interface Fence extends AutoCloseable {
        /** Blocks until the copy has read the buffer. */
        void await();

        /** Releases the fence (e.g. its event); closing twice does nothing. */
        @Override
        void close();
    }

    private final MemorySegment segment;
    private final Runnable free;
    private final Map<Object, Fence> fences = new LinkedHashMap<>();
    private boolean closed;

    /**
     * Wraps native memory of a whole number of floats; {@code free} releases it (once, at {@link #close()}) by
     * closing the segment's shared arena, so that a late write (a loader thread still running) throws instead of
     * touching freed memory. For backends: users get buffers from {@link Backend#allocateHost} or {@link #allocate}.
     */
    public HostBuffer(MemorySegment segment, Runnable free) {
        if (!segment.isNative() || segment.byteSize() % Float.BYTES != 0 || segment.byteSize() == 0) {
            throw new IllegalArgumentException("a host buffer is native memory of a positive number of floats, got " + segment);
        }
        this.segment = segment;
        this.free = Objects.requireNonNull(free);
    }

    /** Plain (pageable) native memory for {@code floats} floats, not initialised: what the CPU backend uses. */
    public static HostBuffer allocate(long floats) {
        if (floats < 1) throw new IllegalArgumentException("a host buffer needs at least one float, got " + floats);
        Arena arena = Arena.ofShared();
        try {
            return new HostBuffer(arena.allocate(Math.multiplyExact(floats, (long) Float.BYTES), 64), arena::close);
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
    }

    /** The memory: native-order floats (write them with {@link ValueLayout#JAVA_FLOAT}). */
    public MemorySegment segment() {
        return segment;
    }

    public long floats() {
        return segment.byteSize() / Float.BYTES;
    }

    /** A copy of the first {@code n} floats (tests, and learners without a direct upload). */
    public float[] toArray(int n) {
        float[] out = new float[n];
        MemorySegment.copy(segment, ValueLayout.JAVA_FLOAT, 0, out, 0, n);
        return out;
    }

    /**
     * Blocks until every copy queued from this buffer so far has read it; then the host may overwrite it. Returns
     * at once when no copy is pending (always, on the CPU, whose copies are done when they return).
     */
    public void awaitReusable() {
        for (Fence f : fences()) f.await();
    }

    /**
     * For backends: {@code owner}'s fence on this buffer, made by {@code create} the first time {@code owner}
     * copies from it. The backend records it after each copy, and closes it (if the buffer has not already) when
     * the backend closes.
     */
    @SuppressWarnings("unchecked")
    public synchronized <F extends Fence> F fence(Object owner, Supplier<F> create) {
        if (closed) throw new IllegalStateException("host buffer of " + floats() + " floats was used after close()");
        return (F) fences.computeIfAbsent(owner, o -> create.get());
    }

    private synchronized List<Fence> fences() {
        return new ArrayList<>(fences.values());
    }

    /** Waits for the copies still reading the buffer, releases its fences and frees the memory; once. */
    @Override
    public void close() {
        List<Fence> pending;
        synchronized (this) {
            if (closed) return;
            closed = true;
            pending = new ArrayList<>(fences.values());
            fences.clear();
        }
        try {
            for (Fence f : pending) f.await();
        } finally {
            try {
                for (Fence f : pending) f.close();
            } finally {
                free.run();
            }
        }
    }

    @Override
    public String toString() {
        return "HostBuffer(" + floats() + " floats)";
    }
}
