package dev.alexnetffm.cuda;

import dev.alexnetffm.cuda.internal.CuDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;

/**
 * Page-locked host memory ({@code cuMemHostAlloc}, portable across contexts), exposed as a {@link MemorySegment}.
 * The segment belongs to this buffer's arena: after {@link #close()} it can no longer be touched, so a stale
 * segment fails in Java instead of reading freed memory.
 */
public final class PinnedBuffer extends NativeResource {
    private static final int CU_MEMHOSTALLOC_PORTABLE = 0x01;

    private final Arena arena;
    private final MemorySegment segment;

    private PinnedBuffer(Arena arena, MemorySegment segment) {
        this.arena = arena;
        this.segment = segment;
    }

    static PinnedBuffer allocate(Context context, long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("pinned allocation of " + bytes + " bytes: the size must be positive");
        MemorySegment raw = context.withCurrent(() -> {
            try (Arena tmp = Arena.ofConfined()) {
                MemorySegment out = tmp.allocate(ADDRESS);
                Check.check(CuDriver.cuMemHostAlloc(out, bytes, CU_MEMHOSTALLOC_PORTABLE),
                        "cuMemHostAlloc(" + Bytes.format(bytes) + ")", "Pinned memory is limited by the OS; ask for less");
                return out.get(ADDRESS, 0);
            }
        });
        Arena arena = Arena.ofShared();
        // The cleanup runs when the arena closes: pinned memory is freed exactly once, with the segment's lifetime.
        MemorySegment segment = raw.reinterpret(bytes, arena, p ->
                context.withCurrent(() -> Check.check(CuDriver.cuMemFreeHost(p), "cuMemFreeHost(" + Bytes.format(bytes) + ")")));
        return new PinnedBuffer(arena, segment);
    }

    /** The memory, valid until {@link #close()}. */
    public MemorySegment segment() {
        checkOpen();
        return segment;
    }

    public long byteSize() {
        return segment.byteSize();
    }

    @Override
    protected void release() {
        arena.close();
    }

    @Override
    public String toString() {
        return "PinnedBuffer(" + Bytes.format(segment.byteSize()) + ")";
    }
}
