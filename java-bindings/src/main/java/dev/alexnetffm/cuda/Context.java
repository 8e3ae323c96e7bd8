package dev.alexnetffm.cuda;

import dev.alexnetffm.cuda.internal.CuDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Supplier;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A retained primary context of one device. Everything allocated on a device belongs to its context.
 *
 * <p>Creating and releasing resources through this class works from any thread and leaves the thread's current
 * context as it was. The hot path (kernel launches, stream operations) runs in whatever context is current on the
 * calling thread: a worker thread calls {@link #makeCurrent()} once and then launches.
 */
public final class Context extends NativeResource {
    private final Device device;
    private final MemorySegment handle;

    private Context(Device device, MemorySegment handle) {
        this.device = device;
        this.handle = handle;
    }

    static Context retainPrimary(Device device) {
        CudaDriver.init();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            Check.check(CuDriver.cuDevicePrimaryCtxRetain(out, device.handle()), "cuDevicePrimaryCtxRetain(" + device + ")");
            return new Context(device, out.get(ADDRESS, 0));
        }
    }

    public Device device() {
        return device;
    }

    /** The raw {@code CUcontext}. */
    public MemorySegment handle() {
        checkOpen();
        return handle;
    }

    /** The context this class last made current on each thread; withCurrent restores it, so it stays true. */
    private static final ThreadLocal<Context> CURRENT = new ThreadLocal<>();

    /** Makes this context current on the calling thread. */
    public Context makeCurrent() {
        checkOpen();
        Check.check(CuDriver.cuCtxSetCurrent(handle), "cuCtxSetCurrent(" + device + ")");
        CURRENT.set(this);
        return this;
    }

    /**
     * Makes this context current unless this class already made it current on the calling thread: one
     * thread-local read on the hot path instead of a driver call.
     */
    public Context ensureCurrent() {
        checkOpen();
        if (CURRENT.get() != this) makeCurrent();
        return this;
    }

    /** Whether this context is the calling thread's current one. */
    public boolean isCurrent() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            Check.check(CuDriver.cuCtxGetCurrent(out), "cuCtxGetCurrent");
            return out.get(ADDRESS, 0).address() == handle.address();
        }
    }

    /**
     * Runs {@code action} with this context current, then restores the thread's previous context, so that
     * resource management never changes which device a worker thread launches on.
     */
    <T> T withCurrent(Supplier<T> action) {
        checkOpen();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment prev = arena.allocate(ADDRESS);
            Check.check(CuDriver.cuCtxGetCurrent(prev), "cuCtxGetCurrent");
            MemorySegment previous = prev.get(ADDRESS, 0);
            boolean swap = previous.address() != handle.address();
            if (swap) Check.check(CuDriver.cuCtxSetCurrent(handle), "cuCtxSetCurrent(" + device + ")");
            try {
                return action.get();
            } finally {
                if (swap) restore(previous);
            }
        }
    }

    /**
     * Puts the thread's previous context back. A previous context that has been destroyed meanwhile (its last
     * primary-context reference released) is not an error: the thread is left with no current context.
     */
    private static void restore(MemorySegment previous) {
        int rc = CuDriver.cuCtxSetCurrent(previous);
        if (rc == CuResult.ERROR_CONTEXT_IS_DESTROYED.code() || rc == CuResult.ERROR_INVALID_CONTEXT.code()) {
            rc = CuDriver.cuCtxSetCurrent(MemorySegment.NULL);
        }
        Check.check(rc, "cuCtxSetCurrent(previous context)");
    }

    void withCurrent(Runnable action) {
        withCurrent(() -> {
            action.run();
            return null;
        });
    }

    /** Waits for all work on this context's device to finish; reports any asynchronous error. */
    public void synchronize() {
        withCurrent(() -> Check.check(CuDriver.cuCtxSynchronize(), "cuCtxSynchronize(" + device + ")"));
    }

    /** Free and total memory of this context's device. */
    public MemoryInfo memoryInfo() {
        return withCurrent(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment free = arena.allocate(JAVA_LONG);
                MemorySegment total = arena.allocate(JAVA_LONG);
                Check.check(CuDriver.cuMemGetInfo(free, total), "cuMemGetInfo_v2(" + device + ")");
                return new MemoryInfo(free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0));
            }
        });
    }

    /** Allocates {@code bytes} of device memory (not initialised). */
    public DeviceBuffer allocate(long bytes) {
        return DeviceBuffer.allocate(this, bytes);
    }

    /** Allocates {@code bytes} of page-locked host memory, usable by every context (portable). */
    public PinnedBuffer allocatePinned(long bytes) {
        return PinnedBuffer.allocate(this, bytes);
    }

    /** A new stream that does not synchronise with the legacy default stream. */
    public CuStream createStream() {
        return CuStream.create(this);
    }

    /** A new event; {@code timing} false makes it cheaper for pure ordering. */
    public CuEvent createEvent(boolean timing) {
        return CuEvent.create(this, timing);
    }

    /** Loads a PTX module, JIT-compiled for this context's device; a JIT failure throws with the JIT's error log. */
    public CuModule loadModule(String name, String ptx) {
        return CuModule.loadPtx(this, name, ptx);
    }

    /**
     * Loads a module from a binary image as nvcc or ptxas wrote it: a cubin (machine code for one GPU architecture)
     * or a fatbin. The driver refuses machine code that is not for this device (CUDA_ERROR_NO_BINARY_FOR_GPU) and an
     * image it cannot read (CUDA_ERROR_INVALID_IMAGE); either throws a {@link CudaException} naming the module.
     */
    public CuModule loadModule(String name, byte[] binary) {
        return CuModule.loadBinary(this, name, binary);
    }

    /**
     * Lets kernels and copies in this context access {@code peer}'s memory directly. Returns false (and changes
     * nothing) where the hardware cannot, so that callers fall back to staged copies. Enabling twice is harmless.
     */
    public boolean enablePeerAccess(Context peer) {
        if (peer.device.handle() == device.handle() || !device.canAccessPeer(peer.device)) return false;
        return withCurrent(() -> {
            int rc = CuDriver.cuCtxEnablePeerAccess(peer.handle(), 0);
            if (rc != CuResult.ERROR_PEER_ACCESS_ALREADY_ENABLED.code()) {
                Check.check(rc, "cuCtxEnablePeerAccess(" + device + " -> " + peer.device + ")");
            }
            return true;
        });
    }

    @Override
    protected void release() {
        Check.check(CuDriver.cuDevicePrimaryCtxRelease(device.handle()), "cuDevicePrimaryCtxRelease_v2(" + device + ")");
    }

    @Override
    public String toString() {
        return "Context(" + device + ")";
    }
}
