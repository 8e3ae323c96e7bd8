package dev.alexnetffm.cuda;

import dev.alexnetffm.cuda.internal.CuDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;

/** A CUDA stream: work queued on it runs in order, concurrently with other streams. */
public final class CuStream extends NativeResource {
    private static final int CU_STREAM_NON_BLOCKING = 0x1;

    /** How a capture treats unsafe calls from other threads ({@code CUstreamCaptureMode}). */
    public enum CaptureMode { GLOBAL, THREAD_LOCAL, RELAXED }

    private final Context context;
    private final MemorySegment handle;

    private CuStream(Context context, MemorySegment handle) {
        this.context = context;
        this.handle = handle;
    }

    static CuStream create(Context context) {
        MemorySegment handle = context.withCurrent(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(ADDRESS);
                Check.check(CuDriver.cuStreamCreate(out, CU_STREAM_NON_BLOCKING), "cuStreamCreate(" + context.device() + ")");
                return out.get(ADDRESS, 0);
            }
        });
        return new CuStream(context, handle);
    }

    /** The raw handle of {@code stream}, or NULL (the legacy default stream) for null. */
    static MemorySegment handleOf(CuStream stream) {
        return stream == null ? MemorySegment.NULL : stream.handle();
    }

    public Context context() {
        return context;
    }

    public MemorySegment handle() {
        checkOpen();
        return handle;
    }

    /** Blocks the calling thread until everything queued so far has run; reports asynchronous errors. */
    public void synchronize() {
        Check.check(CuDriver.cuStreamSynchronize(handle()), "cuStreamSynchronize(" + this + ")");
    }

    /** True when all queued work has finished. */
    public boolean isIdle() {
        int rc = CuDriver.cuStreamQuery(handle());
        if (rc == CuResult.ERROR_NOT_READY.code()) return false;
        Check.check(rc, "cuStreamQuery(" + this + ")");
        return true;
    }

    /** Work queued on this stream after this call waits for {@code event} (recorded on any stream, any device). */
    public void waitFor(CuEvent event) {
        Check.check(CuDriver.cuStreamWaitEvent(handle(), event.handle(), 0), "cuStreamWaitEvent(" + this + ")");
    }

    /** Starts capturing the work queued on this stream into a graph instead of running it. */
    public void beginCapture(CaptureMode mode) {
        Check.check(CuDriver.cuStreamBeginCapture(handle(), mode.ordinal()), "cuStreamBeginCapture_v2(" + this + ")");
    }

    /** Ends the capture started by {@link #beginCapture}, returning what was captured. */
    public CuGraph endCapture() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            Check.check(CuDriver.cuStreamEndCapture(handle(), out), "cuStreamEndCapture(" + this + ")");
            return new CuGraph(context, out.get(ADDRESS, 0));
        }
    }

    @Override
    protected void release() {
        context.withCurrent(() -> Check.check(CuDriver.cuStreamDestroy(handle), "cuStreamDestroy_v2(" + this + ")"));
    }

    @Override
    public String toString() {
        return "CuStream(" + context.device() + ", 0x" + Long.toHexString(handle.address()) + ")";
    }
}
