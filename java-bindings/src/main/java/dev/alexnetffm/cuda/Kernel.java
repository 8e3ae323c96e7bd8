package dev.alexnetffm.cuda;

import dev.alexnetffm.cuda.internal.CuDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A kernel entry point of a loaded {@link CuModule}, launched with arguments checked against its
 * {@link KernelSignature}. The argument block ({@code void** kernelParams}) is allocated once and reused: the
 * driver copies it during {@code cuLaunchKernel}, so launches stay allocation-free. Launching is thread-safe.
 *
 * <p>Arguments: a {@link DeviceBuffer} or a {@code long} device address for {@code ptr}; {@code int} for
 * {@code i32}; {@code long} or {@code int} for {@code i64}; {@code float} for {@code f32}.
 */
public final class Kernel {
    private static final int CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0;
    private static final int CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = 1;
    private static final int CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES = 3;
    private static final int CU_FUNC_ATTRIBUTE_NUM_REGS = 4;
    private static final int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;

    private final CuModule module;
    private final KernelSignature signature;
    private final MemorySegment function;
    private final MemorySegment values;   // 8 bytes per parameter
    private final MemorySegment pointers; // void*[] pointing into values, or NULL when there are no parameters

    Kernel(CuModule module, KernelSignature signature, MemorySegment function) {
        this.module = module;
        this.signature = signature;
        this.function = function;
        int n = signature.params().size();
        Arena arena = Arena.ofAuto();
        this.values = arena.allocate(8L * Math.max(1, n), 8);
        if (n == 0) {
            this.pointers = MemorySegment.NULL;
        } else {
            this.pointers = arena.allocate(ADDRESS, n);
            for (int i = 0; i < n; i++) pointers.setAtIndex(ADDRESS, i, values.asSlice(8L * i, 8));
        }
    }

    public KernelSignature signature() {
        return signature;
    }

    public CuModule module() {
        return module;
    }

    /**
     * Queues this kernel on {@code stream} (null: the legacy default stream). Runs in the calling thread's
     * current context, which must be the module's.
     */
    public void launch(CuStream stream, Dim3 grid, Dim3 block, int sharedBytes, Object... args) {
        module.checkOpen();
        List<KernelSignature.Param> params = signature.params();
        if (args.length != params.size()) {
            throw new IllegalArgumentException(signature + " takes " + params.size() + " arguments, got " + args.length);
        }
        MemorySegment streamHandle = CuStream.handleOf(stream);
        synchronized (this) {
            for (int i = 0; i < args.length; i++) pack(i, params.get(i), args[i]);
            int rc = CuDriver.cuLaunchKernel(function, grid.x(), grid.y(), grid.z(), block.x(), block.y(), block.z(),
                    sharedBytes, streamHandle, pointers, MemorySegment.NULL);
            if (rc != 0) {
                throw Check.error(rc, "cuLaunchKernel(" + signature.module() + "." + signature.name() + ", grid " + grid
                        + ", block " + block + ", " + sharedBytes + " B shared)", null);
            }
        }
    }

    private void pack(int i, KernelSignature.Param param, Object arg) {
        long offset = 8L * i;
        switch (param.type()) {
            case PTR -> {
                if (arg instanceof DeviceBuffer b) values.set(JAVA_LONG, offset, b.address());
                else if (arg instanceof Long address) values.set(JAVA_LONG, offset, address);
                else throw badArgument(i, param, arg, "a DeviceBuffer or a long device address");
            }
            case I32 -> {
                if (arg instanceof Integer v) values.set(JAVA_INT, offset, v);
                else throw badArgument(i, param, arg, "an int");
            }
            case I64 -> {
                if (arg instanceof Long v) values.set(JAVA_LONG, offset, v);
                else if (arg instanceof Integer v) values.set(JAVA_LONG, offset, v.longValue());
                else throw badArgument(i, param, arg, "a long");
            }
            case F32 -> {
                if (arg instanceof Float v) values.set(JAVA_FLOAT, offset, v);
                else throw badArgument(i, param, arg, "a float");
            }
        }
    }

    private IllegalArgumentException badArgument(int i, KernelSignature.Param param, Object arg, String expected) {
        return new IllegalArgumentException(signature + ": argument " + i + " (" + param + ") must be " + expected + ", got "
                + (arg == null ? "null" : arg.getClass().getSimpleName() + " " + arg));
    }

    private int attribute(int attribute, String what) {
        module.checkOpen();
        return module.context().withCurrent(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(JAVA_INT);
                Check.check(CuDriver.cuFuncGetAttribute(out, attribute, function), "cuFuncGetAttribute(" + what + ", " + signature.name() + ")");
                return out.get(JAVA_INT, 0);
            }
        });
    }

    /** Registers per thread, as the JIT allocated them. */
    public int registersPerThread() {
        return attribute(CU_FUNC_ATTRIBUTE_NUM_REGS, "NUM_REGS");
    }

    /** Largest block this kernel can be launched with on its device. */
    public int maxThreadsPerBlock() {
        return attribute(CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, "MAX_THREADS_PER_BLOCK");
    }

    public int staticSharedBytes() {
        return attribute(CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, "SHARED_SIZE_BYTES");
    }

    /** Local memory per thread: non-zero means spills or arrays that did not fit in registers. */
    public int localBytesPerThread() {
        return attribute(CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, "LOCAL_SIZE_BYTES");
    }

    /** Allows launches with more than 48 KiB of dynamic shared memory (up to the device's opt-in limit). */
    public void setMaxDynamicSharedBytes(int bytes) {
        module.checkOpen();
        module.context().withCurrent(() -> Check.check(CuDriver.cuFuncSetAttribute(function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes),
                "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES = " + bytes + ", " + signature.name() + ")"));
    }

    @Override
    public String toString() {
        return "Kernel(" + signature + ")";
    }
}
