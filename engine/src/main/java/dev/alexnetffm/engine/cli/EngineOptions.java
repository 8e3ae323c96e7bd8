package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.Engine;

/** The {@code --device} option shared by commands: auto (the default), cpu, cuda, or cuda:N. */
final class EngineOptions {
    private EngineOptions() {}

    static final String HELP = "--device auto|cpu|cuda|cuda:N   where to compute (default auto: GPU 0 if present, else CPU)";

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
