package dev.alexnetffm.engine.backend.cuda;

import dev.alexnetffm.cuda.ComputeCapability;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;

/**
 * The PTX the kernels module packaged: {@code dev/alexnetffm/kernels/sm_XX/<module>.ptx} for each target, listed
 * in {@code index.properties}. The driver JIT-compiles PTX for its own GPU, and PTX for sm_XX runs on any device of
 * compute capability >= XX, so the best choice is the highest target not above the device.
 */
public final class PtxLibrary {
    private static final String ROOT = "/dev/alexnetffm/kernels/";

    private final List<Integer> archs;
    private final List<String> modules;

    private PtxLibrary(List<Integer> archs, List<String> modules) {
        this.archs = archs;
        this.modules = modules;
    }

    /** The library on the class path (the kernels jar). */
    public static PtxLibrary load() {
        try (InputStream in = PtxLibrary.class.getResourceAsStream(ROOT + "index.properties")) {
            if (in == null) {
                throw new IllegalStateException("No compiled kernels on the class path (" + ROOT + "index.properties is missing): "
                        + "build the kernels module (mvn package) and put its jar on the class path.");
            }
            Properties p = new Properties();
            p.load(in);
            List<Integer> archs = Arrays.stream(p.getProperty("archs", "").split(","))
                    .map(String::strip).filter(s -> !s.isEmpty()).map(s -> Integer.parseInt(s.replaceAll("[^0-9]", "")))
                    .sorted().toList();
            List<String> modules = Arrays.stream(p.getProperty("modules", "").split(","))
                    .map(String::strip).filter(s -> !s.isEmpty()).toList();
            return new PtxLibrary(archs, modules);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + ROOT + "index.properties", e);
        }
    }

    /** PTX targets packaged, ascending, as sm numbers (80, 90). */
    public List<Integer> archs() {
        return archs;
    }

    public List<String> modules() {
        return modules;
    }

    /** The highest packaged target a device of {@code cc} can run; a clear error when there is none. */
    public int bestArch(ComputeCapability cc) {
        int best = -1;
        for (int a : archs) if (a <= cc.smVersion()) best = a;
        if (best < 0) {
            throw new IllegalStateException("The kernels were compiled for sm_" + archs + " only, and this GPU is sm_"
                    + cc.smVersion() + ": rebuild with -Dcuda.archs=" + cc.smVersion() + "," + String.join(",", archs.stream().map(String::valueOf).toList()));
        }
        return best;
    }

    /** The PTX text of {@code module} for target {@code arch}. */
    public String ptx(String module, int arch) {
        if (!modules.contains(module)) throw new IllegalArgumentException("no kernel module '" + module + "'; packaged: " + modules);
        String path = ROOT + "sm_" + arch + "/" + module + ".ptx";
        try (InputStream in = PtxLibrary.class.getResourceAsStream(path)) {
            if (in == null) throw new IllegalStateException("kernel resource " + path + " is missing from the kernels jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + path, e);
        }
    }
}
