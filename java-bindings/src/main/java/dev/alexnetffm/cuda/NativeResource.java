package dev.alexnetffm.cuda;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A driver object this process owns. {@link #close()} releases it once; closing again does nothing; any other
 * use after close throws {@link IllegalStateException} naming the object.
 */
public abstract sealed class NativeResource implements AutoCloseable
        permits Context, DeviceBuffer, PinnedBuffer, CuStream, CuEvent, CuModule, CuGraph, CuGraphExec {
    private final AtomicBoolean closed = new AtomicBoolean();

    /** Throws unless the resource is still open. */
    protected final void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException(this + " was used after close()");
        }
    }

    public final boolean isClosed() {
        return closed.get();
    }

    @Override
    public final void close() {
        if (closed.compareAndSet(false, true)) {
            release();
        }
    }

    /** Releases the native object; called exactly once. */
    protected abstract void release();
}
