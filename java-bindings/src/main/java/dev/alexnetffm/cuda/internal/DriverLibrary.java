package dev.alexnetffm.cuda.internal;

import dev.alexnetffm.cuda.CudaUnavailableException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Finds {@code libcuda.so.1} and links downcalls into it by symbol name.
 *
 * <p>A machine without the driver must not fail with {@link UnsatisfiedLinkError} or in a static initializer:
 * {@link #link} then returns a handle of the right type that throws {@link CudaUnavailableException}
 * when called, so the first driver call says plainly what is missing.
 */
public final class DriverLibrary {
    /**
     * The soname the NVIDIA driver installs; override with -Dalexnet.cuda.library=/path/to/libcuda.so.1 or the
     * environment variable ALEXNET_CUDA_LIBRARY (the property wins).
     */
    public static final String LIBRARY = System.getProperty("alexnet.cuda.library",
            System.getenv().getOrDefault("ALEXNET_CUDA_LIBRARY", "libcuda.so.1"));

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LOOKUP;
    private static final String LOAD_FAILURE;

    static {
        SymbolLookup lookup = null;
        String failure = null;
        try {
            lookup = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
        } catch (IllegalArgumentException | IllegalCallerException e) {
            failure = "The CUDA driver library " + LIBRARY + " could not be loaded (" + e.getMessage() + "). "
                    + "This machine has no NVIDIA driver, or the loader cannot find it: install the NVIDIA driver, "
                    + "add the folder holding " + LIBRARY + " to LD_LIBRARY_PATH (or give its path in ALEXNET_CUDA_LIBRARY), "
                    + "or run on the CPU backend.";
        }
        LOOKUP = lookup;
        LOAD_FAILURE = failure;
    }

    private static final List<String> MISSING = new CopyOnWriteArrayList<>();

    private DriverLibrary() {}

    /** Symbols that were asked for, are not exported by the loaded library, and so will throw when called. */
    public static List<String> missingSymbols() {
        return List.copyOf(MISSING);
    }

    /** Whether {@code libcuda.so.1} was found and loaded (says nothing about GPUs being present). */
    public static boolean loaded() {
        return LOOKUP != null;
    }

    /** Why the library could not be loaded, if it could not. */
    public static Optional<String> loadFailure() {
        return Optional.ofNullable(LOAD_FAILURE);
    }

    /** Links the first of {@code names} the library exports (newest symbol version first). */
    public static MethodHandle link(FunctionDescriptor descriptor, String... names) {
        return link(descriptor, new Linker.Option[0], names);
    }

    /** As {@link #link(FunctionDescriptor, String...)}, with linker options (e.g. critical, for heap segments). */
    public static MethodHandle link(FunctionDescriptor descriptor, Linker.Option[] options, String... names) {
        if (LOOKUP == null) {
            return throwing(descriptor, new CudaUnavailableException(LOAD_FAILURE));
        }
        for (String name : names) {
            Optional<MemorySegment> symbol = LOOKUP.find(name);
            if (symbol.isPresent()) {
                return LINKER.downcallHandle(symbol.get(), descriptor, options);
            }
        }
        MISSING.add(String.join(" or ", names));
        return throwing(descriptor, new CudaUnavailableException(LIBRARY + " does not export " + String.join(" or ", names)
                + ": the installed NVIDIA driver is too old for this engine (it needs a CUDA 12 or newer driver)."));
    }

    /** A handle of the descriptor's type that throws {@code failure}, so call sites stay {@code invokeExact}. */
    private static MethodHandle throwing(FunctionDescriptor descriptor, CudaUnavailableException failure) {
        MethodType type = descriptor.toMethodType();
        MethodHandle thrower = MethodHandles.throwException(type.returnType(), CudaUnavailableException.class).bindTo(failure);
        return MethodHandles.dropArguments(thrower, 0, type.parameterList());
    }
}
