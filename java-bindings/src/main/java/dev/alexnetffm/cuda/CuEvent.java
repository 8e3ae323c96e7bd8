package dev.alexnetffm.cuda;

import dev.alexnetffm.cuda.internal.CuDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/** A marker in a stream: for timing, and for making another stream wait without the host waiting. */
public final class CuEvent extends NativeResource {
    private static final int CU_EVENT_DEFAULT = 0x0;
    private static final int CU_EVENT_DISABLE_TIMING = 0x2;

    private final Context context;
    private final MemorySegment handle;
    private final boolean timing;

    private CuEvent(Context context, MemorySegment handle, boolean timing) {
        this.context = context;
        this.handle = handle;
        this.timing = timing;
    }

    static CuEvent create(Context context, boolean timing) {
        MemorySegment handle = context.withCurrent(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(ADDRESS);
                Check.check(CuDriver.cuEventCreate(out, timing ? CU_EVENT_DEFAULT : CU_EVENT_DISABLE_TIMING),
                        "cuEventCreate(" + context.device() + ")");
                return out.get(ADDRESS, 0);
            }
        });
        return new CuEvent(context, handle, timing);
    }

    public MemorySegment handle() {
        checkOpen();
        return handle;
    }

    /** Records this event at the current end of {@code stream} (null: the legacy default stream). */
    public CuEvent record(CuStream stream) {
        Check.check(CuDriver.cuEventRecord(handle(), CuStream.handleOf(stream)), "cuEventRecord(" + this + ")");
        return this;
    }

    /**
     * Blocks the calling thread until the recorded work has run. Callable from any thread (a data loader's, say):
     * the event's context is made current for the call and the thread's own restored.
     */
    public void synchronize() {
        context.withCurrent(() -> Check.check(CuDriver.cuEventSynchronize(handle()), "cuEventSynchronize(" + this + ")"));
    }

    /** True when the recorded work has run. */
    public boolean isComplete() {
        int rc = CuDriver.cuEventQuery(handle());
        if (rc == CuResult.ERROR_NOT_READY.code()) return false;
        Check.check(rc, "cuEventQuery(" + this + ")");
        return true;
    }

    /** Milliseconds between {@code start} and this event, both recorded and complete. */
    public float elapsedMillisSince(CuEvent start) {
        if (!timing || !start.timing) throw new IllegalStateException("elapsed time needs two timing events; create them with timing = true");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_FLOAT);
            context.withCurrent(() -> Check.check(CuDriver.cuEventElapsedTime(out, start.handle(), handle()), "cuEventElapsedTime"));
            return out.get(JAVA_FLOAT, 0);
        }
    }

    @Override
    protected void release() {
        context.withCurrent(() -> Check.check(CuDriver.cuEventDestroy(handle), "cuEventDestroy_v2(" + this + ")"));
    }

    @Override
    public String toString() {
        return "CuEvent(" + context.device() + ")";
    }
}
