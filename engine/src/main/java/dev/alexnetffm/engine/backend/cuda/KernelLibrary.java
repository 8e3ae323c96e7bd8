package dev.alexnetffm.engine.backend.cuda;

import dev.alexnetffm.cuda.ComputeCapability;
import dev.alexnetffm.cuda.Context;
import dev.alexnetffm.cuda.CuModule;
import dev.alexnetffm.cuda.CudaException;
import dev.alexnetffm.engine.Setting;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.function.Supplier;

/**
 * The kernels the kernels module packaged, listed in {@code index.properties}: for each target architecture XX,
 * {@code dev/alexnetffm/kernels/sm_XX/<module>.ptx} and, where the build had ptxas, {@code <module>.cubin} (that PTX
 * assembled into sm_XX machine code).
 * <p>
 * A module loads from the cubin of exactly the device's architecture where there is one: the driver then has
 * nothing to compile (JIT-compiling conv2d and lrn takes seconds in each new process whose JIT cache does not hold
 * them). Otherwise, or where {@value #KERNELS_PROPERTY} (or ALEXNET_KERNELS) says {@code ptx}, or where the driver
 * refuses the cubin, the driver JIT-compiles the PTX of the highest target not above the device: PTX for sm_XX runs
 * on any device of compute capability XX or newer.
 */
public final class KernelLibrary {
    private static final String ROOT = "/dev/alexnetffm/kernels/";

    /** The system property (else the environment's ALEXNET_KERNELS) that chooses: {@code auto} (default) or {@code ptx}. */
    public static final String KERNELS_PROPERTY = "alexnet.kernels";

    private final List<Integer> archs;
    private final List<Integer> sassArchs;
    private final List<String> modules;
    private final boolean useSass;

    private KernelLibrary(List<Integer> archs, List<Integer> sassArchs, List<String> modules, boolean useSass) {
        this.archs = archs;
        this.sassArchs = sassArchs;
        this.modules = modules;
        this.useSass = useSass;
    }

    /** The library on the class path (the kernels jar), with the machine code used as {@value #KERNELS_PROPERTY} says. */
    public static KernelLibrary load() {
        try (InputStream in = KernelLibrary.class.getResourceAsStream(ROOT + "index.properties")) {
            if (in == null) {
                throw new IllegalStateException("No compiled kernels on the class path (" + ROOT + "index.properties is missing): "
                        + "build the kernels module (mvn package) and put its jar on the class path.");
            }
            Properties p = new Properties();
            p.load(in);
            List<String> modules = Arrays.stream(p.getProperty("modules", "").split(","))
                    .map(String::strip).filter(s -> !s.isEmpty()).toList();
            return new KernelLibrary(archList(p, "archs"), archList(p, "sass"), modules, sassByDefault());
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + ROOT + "index.properties", e);
        }
    }

    private static List<Integer> archList(Properties p, String key) {
        return Arrays.stream(p.getProperty(key, "").split(","))
                .map(String::strip).filter(s -> !s.isEmpty()).map(s -> Integer.parseInt(s.replaceAll("[^0-9]", "")))
                .sorted().toList();
    }

    /** System property alexnet.kernels, else ALEXNET_KERNELS: auto or unset (cubins where they fit), ptx (never). */
    static final Setting KERNELS = new Setting(KERNELS_PROPERTY, "ALEXNET_KERNELS",
            "use auto (load the packaged machine code for the GPU where there is some, else JIT-compile the PTX) "
                    + "or ptx (always JIT-compile the PTX)");
    private static final Map<String, Boolean> KERNELS_VALUES = Map.of("auto", true, "ptx", false);

    /** Whether {@link #KERNELS} lets the library load machine code. */
    static boolean sassByDefault() {
        return KERNELS.read(true, KERNELS_VALUES);
    }

    static boolean parseSetting(String setting, String value) {
        return KERNELS.parse(setting, value, true, KERNELS_VALUES);
    }

    /** This library, loading modules from PTX only ({@code false}) or from cubins where they fit ({@code true}). */
    public KernelLibrary withSass(boolean sass) {
        return new KernelLibrary(archs, sassArchs, modules, sass);
    }

    /** PTX targets packaged, ascending, as sm numbers (80, 90). */
    public List<Integer> archs() {
        return archs;
    }

    /** The architectures with a cubin of every module, ascending (empty where the build had no ptxas). */
    public List<Integer> sassArchs() {
        return sassArchs;
    }

    public List<String> modules() {
        return modules;
    }

    /** The highest packaged PTX target a device of {@code cc} can run; a clear error when there is none. */
    public int bestArch(ComputeCapability cc) {
        int best = -1;
        for (int a : archs) if (a <= cc.smVersion()) best = a;
        if (best < 0) {
            throw new IllegalStateException("The kernels were compiled for sm_" + archs + " only, and this GPU is sm_"
                    + cc.smVersion() + ": rebuild with -Dcuda.archs=" + cc.smVersion() + "," + String.join(",", archs.stream().map(String::valueOf).toList()));
        }
        return best;
    }

    /** Whether {@link #loadModule} gives a device of {@code cc} machine code (a cubin) rather than PTX to compile. */
    public boolean loadsSass(ComputeCapability cc) {
        return useSass && sassArchs.contains(cc.smVersion());
    }

    /** The PTX text of {@code module} for target {@code arch}. */
    public String ptx(String module, int arch) {
        return new String(resource(module, arch, ".ptx"), StandardCharsets.UTF_8);
    }

    /** The cubin of {@code module} for architecture {@code arch}, if the build assembled one. */
    public Optional<byte[]> cubin(String module, int arch) {
        return sassArchs.contains(arch) ? Optional.of(resource(module, arch, ".cubin")) : Optional.empty();
    }

    /**
     * Loads {@code module} into {@code context}: its cubin for exactly the device's architecture where
     * {@link #loadsSass} says so, else (or where the driver refuses the cubin) the best PTX, JIT-compiled.
     * {@link CuModule#fromPtx()} tells which. A failure throws the PTX's error, with the cubin's as suppressed.
     */
    public CuModule loadModule(Context context, String module) {
        ComputeCapability cc = context.device().computeCapability();
        Supplier<CuModule> fromPtx = () -> context.loadModule(module, ptx(module, bestArch(cc)));
        if (!loadsSass(cc)) return fromPtx.get();
        return preferring(() -> context.loadModule(module, cubin(module, cc.smVersion()).orElseThrow()), fromPtx);
    }

    /** {@code first}'s result, or where the driver refuses it, {@code fallback}'s; its failure carries the refusal. */
    static <T> T preferring(Supplier<T> first, Supplier<T> fallback) {
        CudaException refused;
        try {
            return first.get();
        } catch (CudaException e) {
            refused = e;
        }
        try {
            return fallback.get();
        } catch (RuntimeException e) {
            e.addSuppressed(refused);
            throw e;
        }
    }

    private byte[] resource(String module, int arch, String extension) {
        if (!modules.contains(module)) throw new IllegalArgumentException("no kernel module '" + module + "'; packaged: " + modules);
        String path = ROOT + "sm_" + arch + "/" + module + extension;
        try (InputStream in = KernelLibrary.class.getResourceAsStream(path)) {
            if (in == null) throw new IllegalStateException("kernel resource " + path + " is missing from the kernels jar");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + path, e);
        }
    }
}
