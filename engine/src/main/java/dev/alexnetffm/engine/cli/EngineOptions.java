package dev.alexnetffm.engine.cli;

import dev.alexnetffm.cuda.CudaDriver;
import dev.alexnetffm.engine.Engine;
import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.backend.cuda.CudaBackend;

import java.util.function.Supplier;

/** The {@code --device} option shared by commands: auto (the default), cpu, cuda, or cuda:N. */
final class EngineOptions {
    private EngineOptions() {}

    /** The usage line of {@code --device}, for the commands' {@code --help}. */
    static final String HELP = "  --device auto|cpu|cuda|cuda:N  where to compute (default auto: GPU 0 if present, else CPU)\n";

    /** The usage lines of {@code --devices}, for the commands that take it. */
    static final String DEVICES_HELP = """
              --devices A,B                  split the network's two towers over two devices as the paper did: GPU ordinals
                                             (0,1 for two GPUs, 0,0 for two streams of one GPU) or cpu,cpu; not with --device
            """;

    /** The two devices of {@code --devices}, each made on demand; the names say which. */
    record TwoDevices(String spec, Supplier<Backend> a, Supplier<Backend> b) {}

    /**
     * {@code --devices A,B}, or null when it is not given. Every GPU ordinal is checked against the GPUs the driver
     * sees before anything is built, so a missing one is a clear error rather than a failure halfway through.
     */
    static TwoDevices devices(Args args) {
        String spec = args.string("devices", null);
        if (spec == null) return null;
        if (args.string("device", null) != null) throw new Main.UsageException("give --device or --devices, not both");
        String[] parts = spec.split(",", -1);
        if (parts.length != 2) throw new Main.UsageException("--devices takes two devices, e.g. 0,1 or 0,0 or cpu,cpu; got '" + spec + "'");
        if (parts[0].equals("cpu") && parts[1].equals("cpu")) return new TwoDevices(spec, CpuBackend::new, CpuBackend::new);
        int[] ordinals = new int[2];
        for (int i = 0; i < 2; i++) {
            try {
                ordinals[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new Main.UsageException("--devices " + spec + ": '" + parts[i] + "' is not a GPU ordinal (or give cpu,cpu)");
            }
        }
        if (!CudaDriver.isAvailable()) {
            throw new Main.UsageException("--devices " + spec + " needs CUDA GPUs: " + CudaDriver.unavailableReason().orElse("the driver is not available")
                    + " (--devices cpu,cpu runs the split on the CPU)");
        }
        int count = CudaDriver.deviceCount();
        for (int o : ordinals) {
            if (o < 0 || o >= count) {
                throw new Main.UsageException("--devices " + spec + ": there is no GPU " + o + "; this machine has " + count + " (ordinals 0 to "
                        + (count - 1) + "; 0,0 runs both towers on GPU 0)");
            }
        }
        return new TwoDevices(spec, () -> new CudaBackend(ordinals[0]), () -> new CudaBackend(ordinals[1]));
    }

    static Engine open(Args args) {
        String d = args.string("device", "auto");
        if (d.equals("auto")) return Engine.open();
        if (d.equals("cpu")) return Engine.open(Engine.Device.CPU, 0);
        if (d.equals("cuda")) return Engine.open(Engine.Device.CUDA, 0);
        if (d.startsWith("cuda:")) {
            try {
                return Engine.open(Engine.Device.CUDA, Integer.parseInt(d.substring(5)));
            } catch (NumberFormatException e) {
                throw new Main.UsageException("--device " + d + ": expected cuda:<ordinal>, e.g. cuda:0");
            }
        }
        throw new Main.UsageException("--device must be auto, cpu, cuda or cuda:N, got '" + d + "'");
    }
}
