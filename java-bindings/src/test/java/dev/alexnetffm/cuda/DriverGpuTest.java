package dev.alexnetffm.cuda;

import dev.alexnetffm.cuda.internal.DriverLibrary;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Random;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Every binding against a real GPU: memory, copies, streams, events, modules, launches, graphs, errors. */
@Tag("gpu")
class DriverGpuTest {
    static final KernelSignature FILL = KernelSignature.of("elementwise", "fill",
            KernelSignature.ptr("out"), KernelSignature.f32("value"), KernelSignature.i64("n"));
    static final KernelSignature RELU = KernelSignature.of("elementwise", "relu_forward",
            KernelSignature.ptr("out"), KernelSignature.ptr("in"), KernelSignature.i64("n"));

    static Context ctx;
    static CuModule elementwise;
    final Random random = new Random();

    @BeforeAll
    static void open() throws IOException {
        if (!CudaDriver.isAvailable()) return;
        ctx = CudaDriver.device(0).primaryContext().makeCurrent();
        elementwise = ctx.loadModule("elementwise", ptx("elementwise"));
    }

    /** Per test, so that each one is reported as skipped where there is no GPU. */
    @BeforeEach
    void requireGpu() {
        assumeTrue(ctx != null, () -> "no usable CUDA driver/GPU: " + CudaDriver.unavailableReason().orElse(""));
    }

    @AfterAll
    static void close() {
        if (elementwise != null) elementwise.close();
        if (ctx != null) ctx.close();
    }

    static String ptx(String module) throws IOException {
        // sm_80 PTX runs on every GPU the build targets
        try (InputStream in = DriverGpuTest.class.getResourceAsStream("/dev/alexnetffm/kernels/sm_80/" + module + ".ptx")) {
            assertNotNull(in, "kernels jar missing from the test class path");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    float[] randomFloats(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) random.nextGaussian();
        return a;
    }

    @Test
    void everyBoundSymbolResolves() throws ClassNotFoundException {
        for (Class<?> holder : dev.alexnetffm.cuda.internal.CuDriver.class.getDeclaredClasses()) {
            Class.forName(holder.getName(), true, holder.getClassLoader());
        }
        assertEquals(java.util.List.of(), DriverLibrary.missingSymbols());
    }

    @Test
    void driverAndDeviceDescribeThemselves() {
        assertTrue(CudaDriver.version() >= 12000, "driver " + CudaDriver.version());
        Device d = CudaDriver.device(0);
        assertFalse(d.name().isBlank());
        assertTrue(d.computeCapability().major() >= 7);
        assertTrue(d.multiprocessors() > 0);
        assertTrue(d.totalMemory() > 1L << 30);
        MemoryInfo info = ctx.memoryInfo();
        assertTrue(info.freeBytes() > 0 && info.freeBytes() <= info.totalBytes());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CudaDriver.device(CudaDriver.deviceCount()));
        assertTrue(e.getMessage().contains("no CUDA device"), e.getMessage());
    }

    @Test
    void synchronousCopiesRoundTripFromHeapNativeAndPinnedMemory() {
        int n = 1 << 20 | 3;
        float[] src = randomFloats(n);
        try (DeviceBuffer buf = ctx.allocate((long) n * 4); Arena arena = Arena.ofConfined(); PinnedBuffer pinned = ctx.allocatePinned((long) n * 4)) {
            buf.copyFromHost(src);
            assertArrayEquals(src, buf.toFloatArray(n));

            MemorySegment pageable = arena.allocate((long) n * 4);
            buf.copyToHost(pageable);
            assertArrayEquals(src, pageable.toArray(JAVA_FLOAT));

            pinned.segment().fill((byte) 0x7f);
            buf.copyToHost(pinned.segment());
            assertArrayEquals(src, pinned.segment().toArray(JAVA_FLOAT));

            // partial copy with offsets on both sides
            float[] part = new float[10];
            buf.copyToHost(4L * 100, MemorySegment.ofArray(part), 0, 40);
            for (int i = 0; i < 10; i++) assertEquals(src[100 + i], part[i]);
        }
    }

    @Test
    void asyncCopiesThroughPinnedMemoryAndDeviceCopiesAreOrderedOnTheStream() {
        int n = 3 * (1 << 18) + 1;
        long bytes = 4L * n;
        float[] src = randomFloats(n);
        try (PinnedBuffer in = ctx.allocatePinned(bytes); PinnedBuffer out = ctx.allocatePinned(bytes);
             DeviceBuffer a = ctx.allocate(bytes); DeviceBuffer b = ctx.allocate(bytes); CuStream s = ctx.createStream()) {
            MemorySegment.copy(MemorySegment.ofArray(src), 0, in.segment(), 0, bytes);
            out.segment().fill((byte) 0xff);
            a.copyFromHostAsync(in.segment(), 0, 0, bytes, s);
            b.copyFromAsync(a, 0, 0, bytes, s);
            b.copyToHostAsync(0, out.segment(), 0, bytes, s);
            s.synchronize();
            assertTrue(s.isIdle());
            assertArrayEquals(src, out.segment().toArray(JAVA_FLOAT));

            a.fill(0f);
            a.copyFrom(b, 8, 0, bytes - 8);
            float[] shifted = a.toFloatArray(n);
            for (int i = 0; i < n - 2; i++) assertEquals(src[i + 2], shifted[i]);
        }
    }

    @Test
    void memsetFillsEveryWord() {
        try (DeviceBuffer buf = ctx.allocate(4L * 1001); CuStream s = ctx.createStream()) {
            buf.fill(-1.5f);
            for (float v : buf.toFloatArray(1001)) assertEquals(-1.5f, v);
            buf.memsetD32Async(4, Float.floatToRawIntBits(2f), 1000, s);
            s.synchronize();
            float[] r = buf.toFloatArray(1001);
            assertEquals(-1.5f, r[0]);
            for (int i = 1; i < 1001; i++) assertEquals(2f, r[i]);
            buf.memsetD8((byte) 0);
            for (float v : buf.toFloatArray(1001)) assertEquals(0f, v);
        }
    }

    @Test
    void kernelsLaunchWithCheckedArguments() {
        int n = 12345;
        float[] x = randomFloats(n);
        try (DeviceBuffer in = ctx.allocate(4L * n); DeviceBuffer out = ctx.allocate(4L * n); CuStream s = ctx.createStream()) {
            in.copyFromHost(x);
            out.fill(Float.NaN);
            Kernel relu = elementwise.kernel(RELU);
            relu.launch(s, Dim3.of(Dim3.blocksFor(n, 256)), Dim3.of(256), 0, out, in.address(), (long) n);
            s.synchronize();
            float[] y = out.toFloatArray(n);
            for (int i = 0; i < n; i++) assertEquals(Math.max(x[i], 0f), y[i], "element " + i);
            assertTrue(relu.registersPerThread() > 0);
            assertEquals(0, relu.localBytesPerThread(), "relu spills to local memory");

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> relu.launch(s, Dim3.of(1), Dim3.of(32), 0, out, in, 3.0f));
            assertTrue(e.getMessage().contains("argument 2 (i64 n)"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> relu.launch(s, Dim3.of(1), Dim3.of(32), 0, out, in));
            assertTrue(e.getMessage().contains("takes 3 arguments, got 2"), e.getMessage());

            CudaException tooBig = assertThrows(CudaException.class, () -> relu.launch(s, Dim3.of(1), Dim3.of(4096), 0, out, in, (long) n));
            assertTrue(tooBig.getMessage().startsWith("cuLaunchKernel(elementwise.relu_forward"), tooBig.getMessage());
            assertEquals(CuResult.ERROR_INVALID_VALUE, tooBig.result());
        }
    }

    @Test
    void eventsTimeWorkAndOrderStreamsWithoutTheHost() {
        int n = 1 << 24;
        try (DeviceBuffer a = ctx.allocate(4L * n); DeviceBuffer b = ctx.allocate(4L * n);
             CuStream producer = ctx.createStream(); CuStream consumer = ctx.createStream();
             CuEvent start = ctx.createEvent(true); CuEvent stop = ctx.createEvent(true); CuEvent ready = ctx.createEvent(false)) {
            Kernel fill = elementwise.kernel(FILL);
            start.record(producer);
            fill.launch(producer, Dim3.of(1024), Dim3.of(256), 0, a, 7f, (long) n);
            ready.record(producer);
            stop.record(producer);
            consumer.waitFor(ready);
            b.copyFromAsync(a, 0, 0, 4L * n, consumer);
            consumer.synchronize();
            stop.synchronize();
            assertTrue(stop.isComplete());
            float ms = stop.elapsedMillisSince(start);
            assertTrue(ms > 0 && ms < 1000, "fill of 64 MiB took " + ms + " ms");
            float[] head = b.toFloatArray(1024);
            for (float v : head) assertEquals(7f, v);
            assertThrows(IllegalStateException.class, () -> ready.elapsedMillisSince(start));
        }
    }

    @Test
    void eventsCanBeAwaitedAndTimedFromAThreadWithoutACurrentContext() throws Exception {
        int n = 1 << 22;
        try (DeviceBuffer a = ctx.allocate(4L * n); CuStream s = ctx.createStream();
             CuEvent start = ctx.createEvent(true); CuEvent stop = ctx.createEvent(true)) {
            start.record(s);
            elementwise.kernel(FILL).launch(s, Dim3.of(256), Dim3.of(256), 0, a, 1f, (long) n);
            stop.record(s);
            float[] ms = new float[1];
            Thread loader = new Thread(() -> {  // a fresh thread: no context current
                stop.synchronize();
                ms[0] = stop.elapsedMillisSince(start);
            });
            java.util.concurrent.atomic.AtomicReference<Throwable> failed = new java.util.concurrent.atomic.AtomicReference<>();
            loader.setUncaughtExceptionHandler((t, e) -> failed.set(e));
            loader.start();
            loader.join();
            assertNull(failed.get(), () -> "from a thread without a context: " + failed.get());
            assertTrue(ms[0] >= 0, "elapsed " + ms[0]);
        }
    }

    @Test
    void peerCopyBetweenTwoLogicalDevicesOnOneGpu() {
        int n = 100_003;
        float[] x = randomFloats(n);
        try (Context other = CudaDriver.device(0).primaryContext();
             DeviceBuffer src = ctx.allocate(4L * n); DeviceBuffer dst = other.allocate(4L * n); CuStream s = ctx.createStream()) {
            src.copyFromHost(x);
            assertFalse(ctx.enablePeerAccess(other), "a device is not its own peer");
            dst.copyFromPeerAsync(src, 0, 0, 4L * n, s);
            s.synchronize();
            assertArrayEquals(x, dst.toFloatArray(n));
        }
    }

    @Test
    void capturedGraphReplaysItsKernels() {
        int n = 4096;
        try (DeviceBuffer a = ctx.allocate(4L * n); DeviceBuffer b = ctx.allocate(4L * n); CuStream s = ctx.createStream()) {
            Kernel fill = elementwise.kernel(FILL);
            Kernel relu = elementwise.kernel(RELU);
            b.fill(Float.NaN);
            s.beginCapture(CuStream.CaptureMode.THREAD_LOCAL);
            fill.launch(s, Dim3.of(4), Dim3.of(256), 0, a, -3f, (long) n);
            relu.launch(s, Dim3.of(4), Dim3.of(256), 0, b, a, (long) n);
            try (CuGraph graph = s.endCapture(); CuGraphExec exec = graph.instantiate()) {
                for (float v : b.toFloatArray(n)) assertTrue(Float.isNaN(v), "capture must not run the work");
                exec.launch(s);
                s.synchronize();
                for (float v : b.toFloatArray(n)) assertEquals(0f, v);
                b.fill(5f);
                exec.launch(s);
                exec.launch(s);
                s.synchronize();
                for (float v : b.toFloatArray(n)) assertEquals(0f, v);
            }
        }
    }

    @Test
    void badPtxReportsTheJitLogAndMissingKernelsAreNamed() {
        String broken = ".version 8.0\n.target sm_80\n.address_size 64\n.visible .entry bad() { this is not ptx; }\n";
        CudaException e = assertThrows(CudaException.class, () -> ctx.loadModule("broken", broken));
        assertTrue(e.getMessage().contains("cuModuleLoadDataEx(broken"), e.getMessage());
        assertTrue(e.getMessage().contains("JIT error log"), e.getMessage());

        KernelSignature missing = KernelSignature.of("elementwise", "no_such_kernel");
        CudaException notFound = assertThrows(CudaException.class, () -> elementwise.kernel(missing));
        assertTrue(notFound.getMessage().contains("has no kernel named no_such_kernel"), notFound.getMessage());
    }

    @Test
    void aCubinForThisGpuLoadsWithoutTheJitAndRuns() throws IOException {
        int sm = ctx.device().computeCapability().smVersion();
        byte[] cubin;
        try (InputStream in = DriverGpuTest.class.getResourceAsStream("/dev/alexnetffm/kernels/sm_" + sm + "/elementwise.cubin")) {
            assumeTrue(in != null, "no elementwise cubin for sm_" + sm + " in the kernels jar");
            cubin = in.readAllBytes();
        }
        try (CuModule module = ctx.loadModule("elementwise", cubin); DeviceBuffer b = ctx.allocate(4 * 1000)) {
            assertFalse(module.fromPtx());
            module.kernel(FILL).launch(null, Dim3.of(4), Dim3.of(256), 0, b, 2.5f, 1000L);
            ctx.synchronize();
            for (float v : b.toFloatArray(1000)) assertEquals(2.5f, v);
        }
        assertTrue(elementwise.fromPtx());
    }

    @Test
    void closingTwiceIsHarmlessAndUseAfterCloseIsAClearError() throws IOException {
        DeviceBuffer buf = ctx.allocate(1024);
        buf.close();
        buf.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, buf::address);
        assertTrue(e.getMessage().contains("DeviceBuffer(1.00 KiB on cuda:0) was used after close()"), e.getMessage());

        PinnedBuffer pinned = ctx.allocatePinned(64);
        MemorySegment seg = pinned.segment();
        pinned.close();
        pinned.close();
        assertThrows(IllegalStateException.class, () -> seg.get(JAVA_FLOAT, 0), "the segment dies with the buffer");

        CuStream s = ctx.createStream();
        s.close();
        s.close();
        assertThrows(IllegalStateException.class, s::synchronize);

        CuModule m = ctx.loadModule("elementwise", ptx("elementwise"));
        Kernel k = m.kernel(FILL);
        m.close();
        m.close();
        try (DeviceBuffer b = ctx.allocate(64)) {
            assertThrows(IllegalStateException.class, () -> k.launch(null, Dim3.of(1), Dim3.of(1), 0, b, 1f, 16L));
        }
    }

    @Test
    void outOfRangeCopiesAreRejectedBeforeReachingTheDevice() {
        try (DeviceBuffer buf = ctx.allocate(400)) {
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> buf.copyFromHost(new float[101]));
            assertTrue(e.getMessage().contains("do not fit in DeviceBuffer(400 B"), e.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> buf.copyToHost(396, MemorySegment.ofArray(new float[2]), 0, 8));
            assertThrows(IllegalArgumentException.class, () -> ctx.allocate(0));
        }
    }

    @Test
    void outOfMemoryNamesTheSize() {
        CudaException e = assertThrows(CudaException.class, () -> ctx.allocate(1L << 50));
        assertEquals(CuResult.ERROR_OUT_OF_MEMORY, e.result());
        assertTrue(e.getMessage().contains("cuMemAlloc_v2(1024.00 TiB"), e.getMessage());
        assertTrue(e.getMessage().contains("CUDA_ERROR_OUT_OF_MEMORY"), e.getMessage());
    }
}
