package dev.alexnetffm.engine.cli;

import dev.alexnetffm.cuda.Bytes;
import dev.alexnetffm.cuda.Context;
import dev.alexnetffm.cuda.CuModule;
import dev.alexnetffm.cuda.CudaDriver;
import dev.alexnetffm.cuda.Device;
import dev.alexnetffm.cuda.KernelSignature;
import dev.alexnetffm.engine.backend.cuda.KernelLibrary;
import dev.alexnetffm.engine.backend.cuda.Kernels;
import dev.alexnetffm.engine.data.ImageDecoder;

import java.io.PrintStream;
import java.util.List;
import java.util.Optional;

/** {@code alexnet info}: the driver, every GPU, peer access between each pair, and which kernel modules load. */
final class InfoCommand implements Main.Command {
    @Override
    public String summary() {
        return "driver version, GPUs, peer access, and whether every kernel module loads";
    }

    @Override
    public String help() {
        return """
                usage: alexnet info
                Takes no options. Prints the Java runtime, the kernel modules packaged, which library decodes JPEG
                files, the CUDA driver (or why it is not available), every GPU, peer access between each pair, and
                loads every kernel module on every GPU, saying whether from machine code or from PTX the driver
                compiled, and how long it took: the status is 1 if one fails to load.
                """;
    }

    @Override
    public int run(String[] args, PrintStream out) {
        if (args.length > 0) throw new Main.UsageException("takes no arguments, got " + String.join(" ", args));
        out.printf("alexnet-ffm on Java %s (%s), %d CPU cores%n", Runtime.version(), System.getProperty("java.vm.vendor"),
                Runtime.getRuntime().availableProcessors());
        KernelLibrary library = KernelLibrary.load();
        out.printf("kernel modules packaged: %s (PTX for %s; machine code for %s)%n", String.join(", ", library.modules()),
                smList(library.archs()), library.sassArchs().isEmpty() ? "none (built without ptxas)" : smList(library.sassArchs()));
        out.println("JPEG decoding: " + ImageDecoder.jpegLibrary());

        Optional<String> unavailable = CudaDriver.unavailableReason();
        if (unavailable.isPresent()) {
            out.println("CUDA: not available. " + unavailable.get());
            out.println("The CPU backend (reference) is available.");
            return 0;
        }
        out.println("CUDA driver: " + CudaDriver.versionString() + " (" + CudaDriver.version() + ")");
        List<Device> devices = CudaDriver.devices();
        out.println("GPUs: " + devices.size());
        for (Device d : devices) {
            out.printf("  [%d] %s  compute capability %s, %s, %d multiprocessors, PCI %s%n", d.ordinal(), d.name(),
                    d.computeCapability(), Bytes.format(d.totalMemory()), d.multiprocessors(), d.pciAddress());
        }
        if (devices.size() > 1) {
            out.println("peer access (row can read/write column):");
            for (Device a : devices) {
                StringBuilder row = new StringBuilder(String.format("  [%d]", a.ordinal()));
                for (Device b : devices) row.append(a.equals(b) ? "   -" : a.canAccessPeer(b) ? " yes" : "  no");
                out.println(row);
            }
        } else {
            out.println("peer access: one GPU; two logical devices on it share memory directly");
        }
        int failures = 0;
        for (Device d : devices) {
            int sm = d.computeCapability().smVersion();
            out.printf("kernel modules on [%d]:%n", d.ordinal());
            try (Context ctx = d.primaryContext().makeCurrent()) {
                for (String m : library.modules()) {
                    long start = System.nanoTime();
                    try (CuModule module = library.loadModule(ctx, m)) {
                        String from = module.fromPtx()
                                ? String.format("PTX sm_%d JIT-compiled for sm_%d", library.bestArch(d.computeCapability()), sm)
                                : "sm_" + sm + " machine code";
                        from += String.format(", %.2f s", (System.nanoTime() - start) / 1e9);
                        List<KernelSignature> declared = Kernels.all().stream().filter(k -> k.module().equals(m)).toList();
                        StringBuilder kernels = new StringBuilder();
                        for (KernelSignature k : declared) {
                            var kernel = module.kernel(k);
                            kernels.append(kernels.isEmpty() ? "" : ", ").append(k.name()).append(" (")
                                    .append(kernel.registersPerThread()).append(" regs)");
                        }
                        out.printf("  %-12s loaded (%s): %s%n", m, from, kernels);
                    } catch (RuntimeException e) {
                        failures++;
                        out.printf("  %-12s FAILED: %s%n", m, e.getMessage());
                    }
                }
            }
        }
        return failures == 0 ? 0 : 1;
    }

    private static String smList(List<Integer> archs) {
        return String.join(", ", archs.stream().map(a -> "sm_" + a).toList());
    }
}
