package dev.alexnetffm.engine.backend.cuda;

import dev.alexnetffm.cuda.Context;
import dev.alexnetffm.cuda.CuModule;
import dev.alexnetffm.cuda.CuStream;
import dev.alexnetffm.cuda.CudaDriver;
import dev.alexnetffm.cuda.DeviceBuffer;
import dev.alexnetffm.cuda.Dim3;
import dev.alexnetffm.cuda.Kernel;
import dev.alexnetffm.cuda.MemoryInfo;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** 1,000 cycles of allocate / load / launch / unload / free leave the device's free memory where it started. */
@Tag("gpu")
class LeakGpuTest {
    @Test
    void thousandCyclesLeaveFreeMemoryUnchanged() {
        assumeTrue(CudaDriver.isAvailable(), () -> "no usable CUDA driver/GPU: " + CudaDriver.unavailableReason().orElse(""));
        KernelLibrary library = KernelLibrary.load();
        try (Context ctx = CudaDriver.device(0).primaryContext().makeCurrent(); CuStream stream = ctx.createStream()) {
            // Warm-up, one cycle of each size the loop uses: the first module load, and the first allocation of a
            // size, may reserve driver memory once; what stays reserved after that is not a leak.
            for (int i = 0; i < 7; i++) cycle(ctx, stream, library, (1 << 20) + 4096 * i);
            ctx.synchronize();
            MemoryInfo before = ctx.memoryInfo();
            for (int i = 0; i < 1000; i++) cycle(ctx, stream, library, (1 << 20) + 4096 * (i % 7));
            ctx.synchronize();
            MemoryInfo after = ctx.memoryInfo();
            assertEquals(before.freeBytes(), after.freeBytes(),
                    "free device memory moved by " + (before.freeBytes() - after.freeBytes()) + " bytes over 1000 cycles");
        }
    }

    private static void cycle(Context ctx, CuStream stream, KernelLibrary library, int n) {
        try (CuModule module = library.loadModule(ctx, "elementwise"); DeviceBuffer buf = ctx.allocate(4L * n)) {
            Kernel fill = module.kernel(Kernels.FILL);
            fill.launch(stream, Dim3.of(Dim3.blocksFor(n, 1024)), Dim3.of(256), 0, buf, 1f, (long) n);
            stream.synchronize();
            assertTrue(buf.toFloatArray(1)[0] == 1f);
        }
    }
}
