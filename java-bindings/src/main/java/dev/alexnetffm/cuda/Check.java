package dev.alexnetffm.cuda;

import dev.alexnetffm.cuda.internal.CuDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;

/** The one place a {@code CUresult} becomes an exception. */
public final class Check {
    private Check() {}

    /** Throws {@link CudaException} naming {@code call} unless {@code result} is {@code CUDA_SUCCESS}. */
    public static void check(int result, String call) {
        if (result != 0) throw error(result, call, null);
    }

    /** As {@link #check(int, String)}, with a hint that says what to do appended to the message. */
    public static void check(int result, String call, String hint) {
        if (result != 0) throw error(result, call, hint);
    }

    public static CudaException error(int result, String call, String hint) {
        String name = driverString(result, true);
        String description = driverString(result, false);
        if (name == null) {
            CuResult known = CuResult.valueOf(result);
            name = known == CuResult.UNRECOGNIZED ? "CUresult " + result : known.cName();
        }
        if (description == null) description = "no description from the driver";
        if (hint == null) hint = defaultHint(result);
        return new CudaException(call, result, name, description, hint);
    }

    private static String defaultHint(int result) {
        CuResult r = CuResult.valueOf(result);
        return switch (r) {
            case ERROR_INVALID_CONTEXT -> "No CUDA context is current on this thread: call Context.makeCurrent() on it first";
            case ERROR_NO_DEVICE -> "The driver is installed but sees no GPU: check nvidia-smi and CUDA_VISIBLE_DEVICES, or use the CPU backend";
            case ERROR_STUB_LIBRARY -> "libcuda.so.1 is the toolkit's stub, not the driver: put the real driver's library first on the loader path";
            case ERROR_SYSTEM_DRIVER_MISMATCH -> "The NVIDIA kernel module and libcuda.so.1 versions differ: reinstall the driver or reboot";
            case ERROR_OUT_OF_MEMORY -> "Free device memory (close buffers or models) or use a smaller batch";
            case ERROR_ILLEGAL_ADDRESS, ERROR_LAUNCH_FAILED, ERROR_MISALIGNED_ADDRESS, ERROR_ILLEGAL_INSTRUCTION ->
                    "A kernel faulted; the context is unusable from now on. Run under compute-sanitizer to find the access";
            default -> null;
        };
    }

    /** cuGetErrorName / cuGetErrorString, or null when the driver cannot say. */
    private static String driverString(int result, boolean name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int rc = name ? CuDriver.cuGetErrorName(result, out) : CuDriver.cuGetErrorString(result, out);
            if (rc != 0) return null;
            MemorySegment str = out.get(ADDRESS, 0);
            return str.equals(MemorySegment.NULL) ? null : str.reinterpret(4096).getString(0);
        } catch (RuntimeException e) {
            return null;
        }
    }

}
