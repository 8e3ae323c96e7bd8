package dev.alexnetffm.engine.backend;

import dev.alexnetffm.cuda.CuEvent;
import dev.alexnetffm.engine.backend.cuda.CudaBackend;
import dev.alexnetffm.engine.backend.cuda.TimingEvents;
import dev.alexnetffm.engine.io.Json;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Where a backend's time goes, op by op. {@link #backend()} is a {@link Backend} that hands every call to the
 * profiled one; inside {@link #record(Runnable)} it brackets each op (every method whose first argument is a
 * tensor: the layers' kernels, their backward passes, SGD, uploads) with time stamps. On a GPU the stamps are
 * timing events recorded on the backend's stream, so an op's time is what the device spent on it (plus the
 * launch gap before it, if the host fell behind), read once the recorded work has finished; on the CPU they are
 * host time.
 *
 * <p>Convolutions and fully connected layers are named by layer where their weights are {@linkplain #label labelled}
 * ({@code conv1}, {@code conv1 dX}, {@code conv1 dW}), else by method and weight shape ({@code conv2d 96x3x11x11/4});
 * every other op by method and output shape ({@code lrn 128x96x55x55}).
 * Convolutions and fully connected layers (forward and both backward passes) are credited with their
 * multiply-adds (2 FLOP each, as cuDNN and PyTorch count them); every op with a bandwidth figure: the bytes of its
 * tensor arguments, each taken as read or written once (exact for elementwise ops, pooling and LRN; a lower bound
 * where a kernel reads a tensor twice).
 *
 * <pre>{@code
 * Profiler profiler = Profiler.of(engine.backend());
 * AlexNet net = AlexNet.fromWeights(profiler.backend(), config, weights);
 * profiler.label(net.parameters());
 * profiler.record(() -> net.forward(input).toArray());
 * System.out.print(profiler.table("forward, batch 128"));
 * }</pre>
 * Not thread-safe: one thread drives the profiled backend.
 */
public final class Profiler implements AutoCloseable {
    /** One op's calls in a recording: its name, how many, device (or host) milliseconds in all, work done. */
    public record Op(String name, int calls, double millis, double gflop, double megabytes) {
        /** Achieved GFLOP/s, or NaN for an op that does no multiply-adds worth counting. */
        public double gflopPerSecond() {
            return gflop > 0 && millis > 0 ? gflop / (millis / 1e3) : Double.NaN;
        }

        /** Achieved GB/s over the op's tensor arguments (each read or written once), or NaN. */
        public double gigabytesPerSecond() {
            return megabytes > 0 && millis > 0 ? megabytes / millis : Double.NaN;
        }
    }

    /** Time stamps: GPU events on the backend's stream, or the host clock. */
    private interface Clock {
        Object stamp();

        double millisBetween(Object start, Object end);

        default void reset() {}

        default void close() {}
    }

    private record Pending(String name, Object start, Object end, double gflop, double megabytes) {}

    private final Backend target;
    private final Backend proxy;
    private final Clock clock;
    private final List<Pending> pending = new ArrayList<>();
    private final Map<Object, String> labels = new IdentityHashMap<>();
    private List<Op> ops = List.of();
    private boolean recording;

    private Profiler(Backend target) {
        this.target = target;
        this.clock = target instanceof CudaBackend cuda ? new EventClock(cuda) : new HostClock();
        this.proxy = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (p, method, args) -> invoke(method, args));
    }

    /** A profiler of {@code backend}; the caller keeps owning (and closes) {@code backend}. */
    public static Profiler of(Backend backend) {
        if (Proxy.isProxyClass(backend.getClass())) throw new IllegalArgumentException("backend is already a profiler's: profile the backend itself");
        return new Profiler(backend);
    }

    /**
     * Names {@code tensor} in the ops' names: a layer's parameters and their gradients under the parameter's name
     * ("conv1.weight"), so that its ops read "conv1", "conv1 dX", "conv1 dW", "sgdUpdate conv1.weight". Returns
     * this profiler.
     */
    public Profiler label(Tensor tensor, String name) {
        labels.put(tensor, name);
        return this;
    }

    /** {@link #label Labels} every tensor of {@code named} with its key, e.g. a network's parameters. */
    public Profiler label(Map<String, ? extends Tensor> named) {
        named.forEach((name, t) -> label(t, name));
        return this;
    }

    /** The backend to build the work on: every call goes to the profiled backend; ops are timed while recording. */
    public Backend backend() {
        return proxy;
    }

    /**
     * Runs {@code work} with every op timed, waits for the backend to finish it, and replaces {@link #ops()} with
     * what it did. Returns this profiler.
     */
    public Profiler record(Runnable work) {
        if (recording) throw new IllegalStateException("record() called inside record()");
        target.synchronize();  // earlier work must not be billed to the first op
        clock.reset();
        pending.clear();
        recording = true;
        try {
            work.run();
        } finally {
            recording = false;
        }
        target.synchronize();
        Map<String, double[]> byName = new LinkedHashMap<>();  // calls, millis, gflop, megabytes; first call's order
        for (Pending p : pending) {
            double[] a = byName.computeIfAbsent(p.name, k -> new double[4]);
            a[0]++;
            a[1] += clock.millisBetween(p.start, p.end);
            a[2] += p.gflop;
            a[3] += p.megabytes;
        }
        pending.clear();
        ops = byName.entrySet().stream()
                .map(e -> new Op(e.getKey(), (int) e.getValue()[0], e.getValue()[1], e.getValue()[2], e.getValue()[3]))
                .toList();
        return this;
    }

    /** The last recording's ops, in the order of their first call. */
    public List<Op> ops() {
        return ops;
    }

    /** The last recording's time summed over its ops, in milliseconds. */
    public double totalMillis() {
        return ops.stream().mapToDouble(Op::millis).sum();
    }

    /**
     * The last recording as a table: one row per op in call order, with calls, milliseconds, share of the total,
     * GFLOP/s (convolutions and fully connected layers) and GB/s; then the total.
     */
    public String table(String title) {
        double total = totalMillis();
        int width = Math.max(24, ops.stream().mapToInt(o -> o.name().length()).max().orElse(0));
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "profile: %s on %s, %d ops, %.3f ms in all%n", title, target.name(),
                ops.stream().mapToInt(Op::calls).sum(), total));
        sb.append(String.format(Locale.ROOT, "%-" + width + "s %5s %9s %6s %9s %8s%n", "op", "calls", "ms", "%", "GFLOP/s", "GB/s"));
        for (Op o : ops) {
            sb.append(String.format(Locale.ROOT, "%-" + width + "s %5d %9.3f %6.1f %9s %8s%n", o.name(), o.calls(), o.millis(),
                    total > 0 ? 100 * o.millis() / total : 0, rate(o.gflopPerSecond()), rate(o.gigabytesPerSecond())));
        }
        return sb.toString();
    }

    /**
     * The last recording as JSON: title, backend, total, every op (name, calls, ms, gflop, megabytes), and per layer,
     * for the ops named after {@linkplain #label labelled} parameters, the forward time ({@code layers_ms}: "conv1",
     * with its fused ReLU) and the backward time ({@code layers_bwd_ms}: "conv1 dX" plus "conv1 dW"), the keys that
     * {@code benchmarks/pytorch/tables.py} compares with PyTorch's per-layer times.
     */
    public String toJson(String title) {
        StringBuilder sb = new StringBuilder("{\n");
        sb.append("  \"title\": ").append(Json.quote(title)).append(",\n");
        sb.append("  \"backend\": ").append(Json.quote(target.name())).append(",\n");
        sb.append(String.format(Locale.ROOT, "  \"total_ms\": %.6f,%n  \"ops\": [%n", totalMillis()));
        Map<String, Double> forward = new LinkedHashMap<>(), backward = new LinkedHashMap<>();
        for (int i = 0; i < ops.size(); i++) {
            Op o = ops.get(i);
            sb.append(String.format(Locale.ROOT, "    {\"name\": %s, \"calls\": %d, \"ms\": %.6f, \"gflop\": %.6f, \"megabytes\": %.6f}%s%n",
                    Json.quote(o.name()), o.calls(), o.millis(), o.gflop(), o.megabytes(), i + 1 < ops.size() ? "," : ""));
            String[] parts = o.name().split(" ");
            if (parts.length == 1 && o.gflop() > 0) forward.merge(parts[0], o.millis(), Double::sum);
            if (parts.length == 2 && (parts[1].equals("dX") || parts[1].equals("dW"))) backward.merge(parts[0], o.millis(), Double::sum);
        }
        sb.append("  ],\n  \"layers_ms\": ").append(jsonObject(forward)).append(",\n  \"layers_bwd_ms\": ").append(jsonObject(backward));
        return sb.append("\n}\n").toString();
    }

    private static String jsonObject(Map<String, Double> values) {
        return values.entrySet().stream().map(e -> String.format(Locale.ROOT, "%s: %.6f", Json.quote(e.getKey()), e.getValue()))
                .collect(Collectors.joining(", ", "{", "}"));
    }

    /** Releases the timing events (the profiled backend stays open). */
    @Override
    public void close() {
        clock.close();
    }

    private static String rate(double v) {
        if (Double.isNaN(v)) return "";
        return String.format(Locale.ROOT, v < 10 ? "%.2f" : v < 100 ? "%.1f" : "%,.0f", v);
    }

    private Object invoke(Method method, Object[] args) throws Throwable {
        boolean op = recording && args != null && args.length > 0 && args[0] instanceof Tensor;
        Object start = op ? clock.stamp() : null;
        Object result;
        try {
            result = method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
        if (op) pending.add(new Pending(name(method, args), start, clock.stamp(), gflop(method.getName(), args), megabytes(args)));
        return result;
    }

    /**
     * Convolutions and fully connected layers by layer, when their weight (or weight gradient) has a
     * {@linkplain #label label} "layer.weight" ("conv1", "conv1 dX", "conv1 dW"), else by method and weight shape
     * ("conv2d 96x3x11x11/4", "conv2dBackwardData 256x48x5x5/1 g2", "linearBackwardWeight 4096x9216"); every other
     * op by method and the label or shape of its first tensor ("sgdUpdate conv1.weight", "lrn 128x96x55x55").
     */
    String name(Method method, Object[] args) {
        String m = method.getName();
        int weight = switch (m) {
            case "conv2d", "conv2dBackwardData", "linear", "linearBackwardData" -> 2;
            case "conv2dBackwardWeight", "linearBackwardWeight" -> 0;
            default -> -1;
        };
        if (weight < 0) {
            String label = labels.get(args[0]);
            return m + ' ' + (label != null ? label : dims(((Tensor) args[0]).shape()));
        }
        String label = labels.get(args[weight]);
        if (label != null && label.endsWith(".weight")) {
            String layer = label.substring(0, label.length() - ".weight".length());
            return m.endsWith("BackwardData") ? layer + " dX" : m.endsWith("BackwardWeight") ? layer + " dW" : layer;
        }
        StringBuilder sb = new StringBuilder(m).append(' ').append(dims(((Tensor) args[weight]).shape()));
        for (Object a : args) {
            if (a instanceof ConvSpec spec) {
                sb.append('/').append(spec.stride());
                if (spec.groups() > 1) sb.append(" g").append(spec.groups());
            }
        }
        return sb.toString();
    }

    /** Multiply-adds x 2 of the convolutions and fully connected layers, in GFLOP; 0 for every other op. */
    static double gflop(String method, Object[] args) {
        return switch (method) {
            // out (N, K, P, Q) . weight (K, Cg, R, S): each output element sums Cg*R*S products
            case "conv2d" -> 2.0 * size(args[0]) * size(args[2]) / dim(args[2], 0) / 1e9;
            // dOut (N, K, P, Q), weight (K, Cg, R, S): the same products, transposed
            case "conv2dBackwardData" -> 2.0 * size(args[1]) * size(args[2]) / dim(args[2], 0) / 1e9;
            // dWeight (K, Cg, R, S), dOut (N, K, P, Q)
            case "conv2dBackwardWeight" -> 2.0 * size(args[2]) * size(args[0]) / dim(args[0], 0) / 1e9;
            // out (N, K), weight (K, C); in is (N, C) or, after a convolution, (N, C1, H, W) with C = C1*H*W
            case "linear" -> 2.0 * size(args[0]) * dim(args[2], 1) / 1e9;
            // dIn (N, C), dOut (N, K)
            case "linearBackwardData" -> 2.0 * size(args[0]) * dim(args[1], 1) / 1e9;
            // dWeight (K, C), dOut (N, K)
            case "linearBackwardWeight" -> 2.0 * size(args[0]) * dim(args[2], 0) / 1e9;
            default -> 0;
        };
    }

    private static double megabytes(Object[] args) {
        long bytes = 0;
        for (Object a : args) if (a instanceof Tensor t) bytes += t.shape().bytes();
        return bytes / 1e6;
    }

    private static double size(Object tensor) {
        return ((Tensor) tensor).shape().size();
    }

    private static double dim(Object tensor, int i) {
        return ((Tensor) tensor).shape().dim(i);
    }

    private static String dims(Shape s) {
        return Arrays.stream(s.dims()).mapToObj(Integer::toString).collect(Collectors.joining("x"));
    }

    private static final class HostClock implements Clock {
        @Override
        public Object stamp() {
            return System.nanoTime();
        }

        @Override
        public double millisBetween(Object start, Object end) {
            return ((Long) end - (Long) start) / 1e6;
        }
    }

    /** Timing events on the backend's stream, reused by the next recording. */
    private static final class EventClock implements Clock {
        private final TimingEvents events;

        EventClock(CudaBackend backend) {
            this.events = new TimingEvents(backend);
        }

        @Override
        public Object stamp() {
            return events.record();
        }

        @Override
        public double millisBetween(Object start, Object end) {
            return ((CuEvent) end).elapsedMillisSince((CuEvent) start);
        }

        @Override
        public void reset() {
            events.reuse();
        }

        @Override
        public void close() {
            events.close();
        }
    }
}
