package dev.alexnetffm.cuda;

import dev.alexnetffm.cuda.internal.CuDriver;

import java.lang.foreign.MemorySegment;

/** An instantiated graph: one launch replays every captured kernel and copy. */
public final class CuGraphExec extends NativeResource {
    private final Context context;
    private final MemorySegment handle;

    CuGraphExec(Context context, MemorySegment handle) {
        this.context = context;
        this.handle = handle;
    }

    /** Queues one replay of the graph on {@code stream}. */
    public void launch(CuStream stream) {
        checkOpen();
        Check.check(CuDriver.cuGraphLaunch(handle, CuStream.handleOf(stream)), "cuGraphLaunch");
    }

    @Override
    protected void release() {
        context.withCurrent(() -> Check.check(CuDriver.cuGraphExecDestroy(handle), "cuGraphExecDestroy"));
    }

    @Override
    public String toString() {
        return "CuGraphExec(" + context.device() + ")";
    }
}
