package dev.alexnetffm.cuda;

import dev.alexnetffm.cuda.internal.CuDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A block of device memory. Copies are bounds-checked here, so that a wrong size is an
 * {@link IndexOutOfBoundsException} naming the buffer rather than a fault on the device.
 *
 * <p>Synchronous copies work from any thread. Asynchronous ones and {@code memset} run in the calling thread's
 * current context (see {@link Context#makeCurrent()}).
 */
public final class DeviceBuffer extends NativeResource {
    private final Context context;
    private final long address;
    private final long byteSize;

    private DeviceBuffer(Context context, long address, long byteSize) {
        this.context = context;
        this.address = address;
        this.byteSize = byteSize;
    }

    static DeviceBuffer allocate(Context context, long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("device allocation of " + bytes + " bytes: the size must be positive");
        long address = context.withCurrent(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(JAVA_LONG);
                Check.check(CuDriver.cuMemAlloc(out, bytes), "cuMemAlloc_v2(" + Bytes.format(bytes) + " on " + context.device() + ")");
                return out.get(JAVA_LONG, 0);
            }
        });
        return new DeviceBuffer(context, address, bytes);
    }

    public Context context() {
        return context;
    }

    /** The raw {@code CUdeviceptr}, to pass to kernels. */
    public long address() {
        checkOpen();
        return address;
    }

    public long byteSize() {
        return byteSize;
    }

    /** Device address {@code offset} bytes in, for passing a slice to a kernel. */
    public long address(long offset) {
        checkOpen();
        Objects.checkFromIndexSize(offset, 0, byteSize);
        return address + offset;
    }

    private void checkRange(long offset, long bytes, String what) {
        checkOpen();
        if (offset < 0 || bytes < 0 || offset + bytes > byteSize) {
            throw new IndexOutOfBoundsException(what + ": " + bytes + " bytes at offset " + offset + " do not fit in " + this);
        }
    }

    private static void checkHost(MemorySegment host, long offset, long bytes, String what) {
        if (offset < 0 || bytes < 0 || offset + bytes > host.byteSize()) {
            throw new IndexOutOfBoundsException(what + ": " + bytes + " bytes at offset " + offset
                    + " do not fit in a host segment of " + host.byteSize() + " bytes");
        }
    }

    // ---- host -> device ----

    /** Copies all of {@code src} to the start of this buffer; waits until done. Heap segments are accepted. */
    public void copyFromHost(MemorySegment src) {
        copyFromHost(src, 0, 0, src.byteSize());
    }

    /** Copies {@code bytes} from {@code src + srcOffset} to {@code this + dstOffset}; waits until done. */
    public void copyFromHost(MemorySegment src, long srcOffset, long dstOffset, long bytes) {
        checkRange(dstOffset, bytes, "copyFromHost");
        checkHost(src, srcOffset, bytes, "copyFromHost");
        if (bytes == 0) return;
        MemorySegment from = src.asSlice(srcOffset, bytes);
        String call = "cuMemcpyHtoD_v2(" + Bytes.format(bytes) + ")";
        context.withCurrent(() -> Check.check(from.isNative()
                ? CuDriver.cuMemcpyHtoD(address + dstOffset, from, bytes)
                : CuDriver.cuMemcpyHtoDHeap(address + dstOffset, from, bytes), call));
    }

    /** Copies a float array to the start of this buffer; waits until done. */
    public void copyFromHost(float[] src) {
        copyFromHost(MemorySegment.ofArray(src));
    }

    /** Queues a copy from host memory (pinned, for it to be truly asynchronous) on {@code stream}. */
    public void copyFromHostAsync(MemorySegment src, long srcOffset, long dstOffset, long bytes, CuStream stream) {
        checkRange(dstOffset, bytes, "copyFromHostAsync");
        checkHost(src, srcOffset, bytes, "copyFromHostAsync");
        requireNative(src, "copyFromHostAsync");
        if (bytes == 0) return;
        Check.check(CuDriver.cuMemcpyHtoDAsync(address + dstOffset, src.asSlice(srcOffset, bytes), bytes, CuStream.handleOf(stream)),
                "cuMemcpyHtoDAsync_v2(" + Bytes.format(bytes) + ")");
    }

    // ---- device -> host ----

    /** Copies the start of this buffer into all of {@code dst}; waits until done. Heap segments are accepted. */
    public void copyToHost(MemorySegment dst) {
        copyToHost(0, dst, 0, dst.byteSize());
    }

    /** Copies {@code bytes} from {@code this + srcOffset} to {@code dst + dstOffset}; waits until done. */
    public void copyToHost(long srcOffset, MemorySegment dst, long dstOffset, long bytes) {
        checkRange(srcOffset, bytes, "copyToHost");
        checkHost(dst, dstOffset, bytes, "copyToHost");
        if (bytes == 0) return;
        MemorySegment to = dst.asSlice(dstOffset, bytes);
        String call = "cuMemcpyDtoH_v2(" + Bytes.format(bytes) + ")";
        context.withCurrent(() -> Check.check(to.isNative()
                ? CuDriver.cuMemcpyDtoH(to, address + srcOffset, bytes)
                : CuDriver.cuMemcpyDtoHHeap(to, address + srcOffset, bytes), call));
    }

    /** The first {@code count} floats of this buffer. */
    public float[] toFloatArray(int count) {
        float[] out = new float[count];
        copyToHost(0, MemorySegment.ofArray(out), 0, (long) count * Float.BYTES);
        return out;
    }

    /** Queues a copy into host memory (pinned, for it to be truly asynchronous) on {@code stream}. */
    public void copyToHostAsync(long srcOffset, MemorySegment dst, long dstOffset, long bytes, CuStream stream) {
        checkRange(srcOffset, bytes, "copyToHostAsync");
        checkHost(dst, dstOffset, bytes, "copyToHostAsync");
        requireNative(dst, "copyToHostAsync");
        if (bytes == 0) return;
        Check.check(CuDriver.cuMemcpyDtoHAsync(dst.asSlice(dstOffset, bytes), address + srcOffset, bytes, CuStream.handleOf(stream)),
                "cuMemcpyDtoHAsync_v2(" + Bytes.format(bytes) + ")");
    }

    private static void requireNative(MemorySegment host, String what) {
        if (!host.isNative()) {
            throw new IllegalArgumentException(what + " needs native host memory (ideally a PinnedBuffer's segment); "
                    + "a heap segment can move during the copy. Use the synchronous copy for arrays.");
        }
    }

    // ---- device -> device ----

    /** Copies {@code bytes} from {@code src + srcOffset} into {@code this + dstOffset} (same device); waits until done. */
    public void copyFrom(DeviceBuffer src, long srcOffset, long dstOffset, long bytes) {
        checkRange(dstOffset, bytes, "copyFrom");
        src.checkRange(srcOffset, bytes, "copyFrom");
        if (bytes == 0) return;
        context.withCurrent(() -> Check.check(CuDriver.cuMemcpyDtoD(address + dstOffset, src.address + srcOffset, bytes),
                "cuMemcpyDtoD_v2(" + Bytes.format(bytes) + ")"));
    }

    /** Queues a same-device copy on {@code stream}. */
    public void copyFromAsync(DeviceBuffer src, long srcOffset, long dstOffset, long bytes, CuStream stream) {
        checkRange(dstOffset, bytes, "copyFromAsync");
        src.checkRange(srcOffset, bytes, "copyFromAsync");
        if (bytes == 0) return;
        Check.check(CuDriver.cuMemcpyDtoDAsync(address + dstOffset, src.address + srcOffset, bytes, CuStream.handleOf(stream)),
                "cuMemcpyDtoDAsync_v2(" + Bytes.format(bytes) + ")");
    }

    /**
     * Queues a copy from a buffer of another context (another GPU, or the same one) on {@code stream}: direct
     * over NVLink/PCIe where peer access is enabled, staged by the driver otherwise.
     */
    public void copyFromPeerAsync(DeviceBuffer src, long srcOffset, long dstOffset, long bytes, CuStream stream) {
        checkRange(dstOffset, bytes, "copyFromPeerAsync");
        src.checkRange(srcOffset, bytes, "copyFromPeerAsync");
        if (bytes == 0) return;
        Check.check(CuDriver.cuMemcpyPeerAsync(address + dstOffset, context.handle(), src.address + srcOffset,
                src.context.handle(), bytes, CuStream.handleOf(stream)),
                "cuMemcpyPeerAsync(" + Bytes.format(bytes) + ", " + src.context.device() + " -> " + context.device() + ")");
    }

    // ---- fill ----

    /** Sets every 32-bit word to {@code bits}; waits until done. */
    public void memsetD32(int bits) {
        checkOpen();
        if (byteSize % 4 != 0) throw new IllegalStateException("memsetD32 on " + this + ": size is not a multiple of 4");
        context.withCurrent(() -> Check.check(CuDriver.cuMemsetD32(address, bits, byteSize / 4), "cuMemsetD32_v2(" + this + ")"));
    }

    /** Sets every float to {@code value}; waits until done. */
    public void fill(float value) {
        memsetD32(Float.floatToRawIntBits(value));
    }

    /** Queues setting {@code count} 32-bit words from {@code offset} to {@code bits} on {@code stream}. */
    public void memsetD32Async(long offset, int bits, long count, CuStream stream) {
        checkRange(offset, count * 4, "memsetD32Async");
        Check.check(CuDriver.cuMemsetD32Async(address + offset, bits, count, CuStream.handleOf(stream)),
                "cuMemsetD32Async(" + Bytes.format(count * 4) + ")");
    }

    /** Sets every byte to {@code value}; waits until done. */
    public void memsetD8(byte value) {
        checkOpen();
        context.withCurrent(() -> Check.check(CuDriver.cuMemsetD8(address, value, byteSize), "cuMemsetD8_v2(" + this + ")"));
    }

    /** Number of whole floats this buffer holds. */
    public long floatCount() {
        return byteSize / JAVA_FLOAT.byteSize();
    }

    @Override
    protected void release() {
        context.withCurrent(() -> Check.check(CuDriver.cuMemFree(address), "cuMemFree_v2(" + this + ")"));
    }

    @Override
    public String toString() {
        return "DeviceBuffer(" + Bytes.format(byteSize) + " on " + context.device() + ")";
    }
}
