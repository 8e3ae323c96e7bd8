package dev.alexnetffm.cuda;

import dev.alexnetffm.cuda.internal.CuDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;

/** Work captured from a stream ({@link CuStream#endCapture()}); instantiate it to launch it. */
public final class CuGraph extends NativeResource {
    private final Context context;
    private final MemorySegment handle;

    CuGraph(Context context, MemorySegment handle) {
        this.context = context;
        this.handle = handle;
    }

    /** An executable form of this graph that can be launched many times. */
    public CuGraphExec instantiate() {
        checkOpen();
        MemorySegment exec = context.withCurrent(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(ADDRESS);
                Check.check(CuDriver.cuGraphInstantiate(out, handle, 0L), "cuGraphInstantiateWithFlags");
                return out.get(ADDRESS, 0);
            }
        });
        return new CuGraphExec(context, exec);
    }

    @Override
    protected void release() {
        context.withCurrent(() -> Check.check(CuDriver.cuGraphDestroy(handle), "cuGraphDestroy"));
    }

    @Override
    public String toString() {
        return "CuGraph(" + context.device() + ")";
    }
}
