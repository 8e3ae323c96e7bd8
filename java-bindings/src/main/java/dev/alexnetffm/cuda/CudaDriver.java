package dev.alexnetffm.cuda;

import dev.alexnetffm.cuda.internal.CuDriver;
import dev.alexnetffm.cuda.internal.DriverLibrary;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Entry point to the CUDA driver: initialisation, version, devices.
 *
 * <pre>{@code
 * Device gpu = CudaDriver.device(0);
 * try (Context ctx = gpu.primaryContext()) {
 *     ctx.makeCurrent();
 *     ...
 * }
 * }</pre>
 */
public final class CudaDriver {
    private static volatile boolean initialised;
    private static volatile RuntimeException initFailure;

    private CudaDriver() {}

    /**
     * Initialises the driver once per process. Throws {@link CudaUnavailableException} when there is no driver
     * library, or it sees no GPU, or it is too old; the message says which.
     */
    public static void init() {
        if (initialised) return;
        synchronized (CudaDriver.class) {
            if (initialised) return;
            if (initFailure != null) throw initFailure;
            try {
                int rc = CuDriver.cuInit(0);
                if (rc != 0) {
                    CudaException e = Check.error(rc, "cuInit", null);
                    CuResult r = CuResult.valueOf(rc);
                    if (r == CuResult.ERROR_NO_DEVICE || r == CuResult.ERROR_STUB_LIBRARY
                            || r == CuResult.ERROR_SYSTEM_DRIVER_MISMATCH
                            || r == CuResult.ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE || r == CuResult.ERROR_OPERATING_SYSTEM) {
                        throw new CudaUnavailableException("The CUDA driver cannot be used: " + e.getMessage(), e);
                    }
                    throw e;
                }
                initialised = true;
            } catch (RuntimeException e) {
                initFailure = e;
                throw e;
            }
        }
    }

    /** Whether the driver initialises and sees at least one GPU. Never throws. */
    public static boolean isAvailable() {
        return unavailableReason().isEmpty();
    }

    /** Why CUDA cannot be used here, or empty when it can. Never throws. */
    public static Optional<String> unavailableReason() {
        if (!DriverLibrary.loaded()) return DriverLibrary.loadFailure();
        try {
            init();
            return deviceCount() > 0 ? Optional.empty() : Optional.of("The CUDA driver reports no GPU.");
        } catch (RuntimeException e) {
            return Optional.of(e.getMessage());
        }
    }

    /** The driver's CUDA version as the driver encodes it, e.g. 13000 for 13.0. Does not need {@link #init()}. */
    public static int version() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            Check.check(CuDriver.cuDriverGetVersion(out), "cuDriverGetVersion");
            return out.get(JAVA_INT, 0);
        }
    }

    /** {@link #version()} as "13.0". */
    public static String versionString() {
        int v = version();
        return (v / 1000) + "." + (v % 1000) / 10;
    }

    public static int deviceCount() {
        init();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            Check.check(CuDriver.cuDeviceGetCount(out), "cuDeviceGetCount");
            return out.get(JAVA_INT, 0);
        }
    }

    /** The device with this ordinal; a clear error if there is no such device. */
    public static Device device(int ordinal) {
        int count = deviceCount();
        if (ordinal < 0 || ordinal >= count) {
            throw new IllegalArgumentException("There is no CUDA device " + ordinal + ": this machine has " + count
                    + (count == 1 ? " device (ordinal 0)." : " devices (ordinals 0.." + (count - 1) + ")."));
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            Check.check(CuDriver.cuDeviceGet(out, ordinal), "cuDeviceGet(" + ordinal + ")");
            return new Device(ordinal, out.get(JAVA_INT, 0));
        }
    }

    public static List<Device> devices() {
        int n = deviceCount();
        List<Device> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) list.add(device(i));
        return List.copyOf(list);
    }
}
