package dev.alexnetffm.cuda;

import dev.alexnetffm.cuda.internal.CuDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A module loaded into one context: PTX the driver JIT-compiled for the context's device, or a binary (a cubin or
 * fatbin) whose machine code the driver loads as it is. Its kernels are valid until it is closed.
 */
public final class CuModule extends NativeResource {
    private static final int CU_JIT_INFO_LOG_BUFFER = 3;
    private static final int CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4;
    private static final int CU_JIT_ERROR_LOG_BUFFER = 5;
    private static final int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
    private static final int LOG_BYTES = 16 * 1024;

    private final Context context;
    private final String name;
    private final MemorySegment handle;
    private final boolean fromPtx;
    private final String jitInfoLog;

    private CuModule(Context context, String name, MemorySegment handle, boolean fromPtx, String jitInfoLog) {
        this.context = context;
        this.name = name;
        this.handle = handle;
        this.fromPtx = fromPtx;
        this.jitInfoLog = jitInfoLog;
    }

    static CuModule loadPtx(Context context, String name, String ptx) {
        return context.withCurrent(() -> {
            try (Arena arena = Arena.ofConfined()) {
                return load(context, name, arena.allocateFrom(ptx), true, arena);
            }
        });
    }

    static CuModule loadBinary(Context context, String name, byte[] binary) {
        checkBinary(name, binary);
        return context.withCurrent(() -> {
            try (Arena arena = Arena.ofConfined()) {
                // The driver reads the image's size from its own header, in place: aligned for its 8-byte fields.
                MemorySegment image = arena.allocate(binary.length, 8);
                MemorySegment.copy(binary, 0, image, JAVA_BYTE, 0, binary.length);
                return load(context, name, image, false, arena);
            }
        });
    }

    /**
     * The driver tells a binary from PTX by its first bytes, and reads anything else as PTX text up to a NUL, past
     * the end of the array if there is none: a binary must start as a cubin (an ELF file) or a fatbin does.
     */
    static void checkBinary(String name, byte[] binary) {
        boolean elf = binary.length >= 64 && binary[0] == 0x7f && binary[1] == 'E' && binary[2] == 'L' && binary[3] == 'F';
        boolean fatbin = binary.length >= 16 && (binary[0] & 0xff) == 0x50 && (binary[1] & 0xff) == 0xed
                && (binary[2] & 0xff) == 0x55 && (binary[3] & 0xff) == 0xba;
        if (!elf && !fatbin) {
            throw new IllegalArgumentException("module " + name + ": " + binary.length + " bytes that are neither a cubin "
                    + "(an ELF file) nor a fatbin; PTX is text: load it with loadModule(name, String)");
        }
    }

    private static CuModule load(Context context, String name, MemorySegment image, boolean fromPtx, Arena arena) {
        MemorySegment infoLog = arena.allocate(LOG_BYTES);
        MemorySegment errorLog = arena.allocate(LOG_BYTES);
        int[] keys = {CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES, CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
        MemorySegment options = arena.allocateFrom(JAVA_INT, keys);
        // optionValues is void**: sizes travel as pointer-sized integers, buffers as addresses.
        MemorySegment values = arena.allocate(ADDRESS, keys.length);
        values.setAtIndex(ADDRESS, 0, infoLog);
        values.setAtIndex(ADDRESS, 1, MemorySegment.ofAddress(LOG_BYTES));
        values.setAtIndex(ADDRESS, 2, errorLog);
        values.setAtIndex(ADDRESS, 3, MemorySegment.ofAddress(LOG_BYTES));
        MemorySegment out = arena.allocate(ADDRESS);
        int rc = CuDriver.cuModuleLoadDataEx(out, image, keys.length, options, values);
        if (rc != 0) {
            String log = errorLog.getString(0).strip();
            String what = fromPtx ? "PTX" : "binary";
            throw Check.error(rc, "cuModuleLoadDataEx(" + name + " " + what + " on " + context.device() + ")",
                    log.isEmpty() ? "The driver gave no error log" : (fromPtx ? "JIT error log:\n" : "Error log:\n") + log);
        }
        return new CuModule(context, name, out.get(ADDRESS, 0), fromPtx, infoLog.getString(0).strip());
    }

    public String name() {
        return name;
    }

    public Context context() {
        return context;
    }

    /** Whether the driver JIT-compiled this module from PTX (else it loaded a binary's machine code as it is). */
    public boolean fromPtx() {
        return fromPtx;
    }

    /** What the JIT said while compiling (register use and the like); empty when it said nothing. */
    public String jitInfoLog() {
        return jitInfoLog;
    }

    /** The kernel with this signature's name; a clear error when the module has no such entry point. */
    public Kernel kernel(KernelSignature signature) {
        checkOpen();
        if (!signature.module().equals(name)) {
            throw new IllegalArgumentException(signature + " belongs to module " + signature.module() + ", not " + name);
        }
        MemorySegment function = context.withCurrent(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(ADDRESS);
                int rc = CuDriver.cuModuleGetFunction(out, handle, arena.allocateFrom(signature.name()));
                Check.check(rc, "cuModuleGetFunction(" + name + "." + signature.name() + ")",
                        rc == CuResult.ERROR_NOT_FOUND.code() ? "Module " + name + " has no kernel named " + signature.name()
                                + ": is it declared extern \"C\" in " + name + ".cu?" : null);
                return out.get(ADDRESS, 0);
            }
        });
        return new Kernel(this, signature, function);
    }

    @Override
    protected void release() {
        context.withCurrent(() -> Check.check(CuDriver.cuModuleUnload(handle), "cuModuleUnload(" + name + ")"));
    }

    @Override
    public String toString() {
        return "CuModule(" + name + " on " + context.device() + ")";
    }
}
