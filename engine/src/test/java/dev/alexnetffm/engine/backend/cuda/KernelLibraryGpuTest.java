package dev.alexnetffm.engine.backend.cuda;

import dev.alexnetffm.cuda.ComputeCapability;
import dev.alexnetffm.cuda.Context;
import dev.alexnetffm.cuda.CuModule;
import dev.alexnetffm.cuda.CuStream;
import dev.alexnetffm.cuda.CudaDriver;
import dev.alexnetffm.cuda.CudaException;
import dev.alexnetffm.cuda.DeviceBuffer;
import dev.alexnetffm.cuda.Dim3;
import dev.alexnetffm.cuda.KernelSignature;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Every module loads both ways, from the cubin built for the GPU and from PTX the driver compiles, and both run. */
@Tag("gpu")
class KernelLibraryGpuTest {
    final KernelLibrary library = KernelLibrary.load();

    @Test
    void everyModuleLoadsAsMachineCodeAndAsPtxWithEveryKernel() {
        assumeTrue(CudaDriver.isAvailable(), () -> "no usable CUDA driver/GPU: " + CudaDriver.unavailableReason().orElse(""));
        try (Context ctx = CudaDriver.device(0).primaryContext().makeCurrent()) {
            boolean sass = library.withSass(true).loadsSass(ctx.device().computeCapability());
            for (String m : library.modules()) {
                List<KernelSignature> declared = Kernels.all().stream().filter(k -> k.module().equals(m)).toList();
                try (CuModule machine = library.withSass(true).loadModule(ctx, m);
                     CuModule jit = library.withSass(false).loadModule(ctx, m)) {
                    assertEquals(!sass, machine.fromPtx(), m + ": the cubin for " + ctx.device().computeCapability() + " was not used");
                    assertTrue(jit.fromPtx(), m);
                    for (KernelSignature k : declared) {
                        assertTrue(machine.kernel(k).registersPerThread() > 0, k.toString());
                        assertTrue(jit.kernel(k).registersPerThread() > 0, k.toString());
                    }
                }
            }
        }
    }

    @Test
    void machineCodeAndJitCompiledPtxComputeTheSame() {
        assumeTrue(CudaDriver.isAvailable(), () -> "no usable CUDA driver/GPU: " + CudaDriver.unavailableReason().orElse(""));
        int n = 100_003;
        float[] x = new float[n];
        Random random = new Random(7);
        for (int i = 0; i < n; i++) x[i] = random.nextFloat() * 2 - 1;
        x[5] = Float.NaN;
        float[] expected = new float[n];
        for (int i = 0; i < n; i++) expected[i] = x[i] > 0 || Float.isNaN(x[i]) ? x[i] : 0f;
        try (Context ctx = CudaDriver.device(0).primaryContext().makeCurrent(); CuStream stream = ctx.createStream();
             DeviceBuffer in = ctx.allocate(4L * n); DeviceBuffer out = ctx.allocate(4L * n)) {
            in.copyFromHost(x);
            for (boolean sass : new boolean[] {true, false}) {
                try (CuModule module = library.withSass(sass).loadModule(ctx, "elementwise")) {
                    out.memsetD32(Float.floatToRawIntBits(Float.NaN) ^ 1);  // poison: a NaN no kernel writes
                    module.kernel(Kernels.RELU_FORWARD).launch(stream, Dim3.of(Dim3.blocksFor(n, 256)), Dim3.of(256), 0, out, in, (long) n);
                    stream.synchronize();
                    assertArrayEquals(bits(expected), bits(out.toFloatArray(n)), (sass ? "machine code" : "PTX") + ": relu_forward");
                }
            }
        }
    }

    @Test
    void aBlockLargerThanAKernelsLaunchBoundsIsRefusedAndTheContextCarriesOn() {
        assumeTrue(CudaDriver.isAvailable(), () -> "no usable CUDA driver/GPU: " + CudaDriver.unavailableReason().orElse(""));
        try (Context ctx = CudaDriver.device(0).primaryContext().makeCurrent(); CuStream stream = ctx.createStream();
             CuModule conv = library.loadModule(ctx, "conv2d"); CuModule elementwise = library.loadModule(ctx, "elementwise");
             DeviceBuffer buf = ctx.allocate(4L * 1024)) {
            var forward = conv.kernel(Kernels.CONV2D_FORWARD);
            // conv2d.cu: a 64-row tile runs 128 threads, and its launch bounds say so; its registers fit them.
            assertEquals(128, forward.maxThreadsPerBlock(), "conv2d_forward's largest block");
            assertTrue(forward.registersPerThread() * 128 <= 65536, forward.registersPerThread() + " registers per thread");
            Object[] args = new Object[forward.signature().params().size()];
            for (int i = 0; i < args.length; i++) {
                args[i] = switch (forward.signature().params().get(i).type()) {
                    case PTR -> buf.address();
                    case I32 -> 1;
                    case I64 -> 1L;
                    case F32 -> 0f;
                };
            }
            CudaException e = assertThrows(CudaException.class, () -> forward.launch(stream, Dim3.of(1), Dim3.of(256), 0, args));
            assertTrue(e.getMessage().startsWith("cuLaunchKernel(conv2d.conv2d_forward"), e.getMessage());
            // Nothing ran and nothing is broken: the stream and the context take the next launch.
            elementwise.kernel(Kernels.FILL).launch(stream, Dim3.of(4), Dim3.of(256), 0, buf, 3f, 1024L);
            stream.synchronize();
            for (float v : buf.toFloatArray(1024)) assertEquals(3f, v);
        }
    }

    private static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) b[i] = Float.floatToRawIntBits(v[i]);
        return b;
    }

    @Test
    void machineCodeForAnotherArchitectureIsRefusedByName() {
        assumeTrue(CudaDriver.isAvailable(), () -> "no usable CUDA driver/GPU: " + CudaDriver.unavailableReason().orElse(""));
        try (Context ctx = CudaDriver.device(0).primaryContext().makeCurrent()) {
            ComputeCapability cc = ctx.device().computeCapability();
            int other = library.sassArchs().stream().filter(a -> a / 10 != cc.major()).findFirst().orElse(-1);
            assumeTrue(other > 0, "no cubin for another GPU generation than " + cc + " in " + library.sassArchs());
            CudaException e = assertThrows(CudaException.class,
                    () -> ctx.loadModule("elementwise", library.cubin("elementwise", other).orElseThrow()));
            assertTrue(e.getMessage().contains("cuModuleLoadDataEx(elementwise binary on cuda:0)"), e.getMessage());
            assertTrue(Set.of(200, 209).contains(e.code()), "CUDA_ERROR_NO_BINARY_FOR_GPU or _INVALID_IMAGE: " + e.getMessage());
            // The library itself never offers that cubin: it loads this GPU's own, or PTX.
            try (CuModule module = library.loadModule(ctx, "elementwise")) {
                assertNotNull(module.kernel(Kernels.RELU_FORWARD));
            }
        }
    }
}
