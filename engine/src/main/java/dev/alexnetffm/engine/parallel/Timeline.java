package dev.alexnetffm.engine.parallel;

import dev.alexnetffm.cuda.CuEvent;
import dev.alexnetffm.engine.io.AtomicFile;
import dev.alexnetffm.engine.io.Json;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * What each device did during one step: spans of ops (kernels), copies between the devices, and waits for the
 * other device, per lane, exported as Chrome trace JSON (open it in {@code chrome://tracing} or Perfetto).
 *
 * <p>On a GPU a span's ends are timing events recorded on the lane's stream, so a span is the time the device
 * spent on it, and a wait is the time the stream stood still until the other device's marker; each lane's clock
 * is tied to the host's by an event recorded while the device was idle at the start of the step, which aligns the
 * lanes of different GPUs to within a few microseconds. On the CPU a span is host time.
 */
public final class Timeline {
    /** What a span is. */
    public enum Kind { OP, COPY, WAIT }

    /** One resolved span: lane index, name, kind, start and duration in microseconds from the step's start. */
    public record Span(int lane, String name, Kind kind, double startMicros, double durationMicros) {}

    /** A time stamp on a lane, read once the step has finished. */
    public sealed interface Stamp permits HostStamp, EventStamp {}

    /** A host clock reading ({@link System#nanoTime}). */
    public record HostStamp(long nanos) implements Stamp {}

    /** A timing event recorded on a GPU lane's stream. */
    public record EventStamp(CuEvent event) implements Stamp {}

    private record Pending(int lane, String name, Kind kind, Stamp start, Stamp end) {}

    private final List<String> laneNames;
    private final List<Pending> pending = new ArrayList<>();
    private final Stamp[] origins;
    private final long[] originNanos;
    private final List<Span> spans = new ArrayList<>();

    /** A timeline whose lanes are named (e.g. "tower A: cuda:0"). */
    Timeline(List<String> laneNames) {
        this.laneNames = List.copyOf(laneNames);
        this.origins = new Stamp[laneNames.size()];
        this.originNanos = new long[laneNames.size()];
    }

    /** Lane {@code lane}'s clock origin: call on its worker while the lane is idle, first thing in the step. */
    void origin(int lane, Lane l) {
        originNanos[lane] = System.nanoTime();
        origins[lane] = l.stamp();
    }

    /** Records a span from {@code start} to a stamp taken now on {@code l}. Synchronised: both workers add. */
    synchronized void add(int lane, String name, Kind kind, Stamp start, Lane l) {
        pending.add(new Pending(lane, name, kind, start, l.stamp()));
    }

    /** Reads every stamp (the step must have finished on every lane) into spans. */
    void resolve() {
        long base = Long.MAX_VALUE;
        for (long n : originNanos) base = Math.min(base, n);
        for (Pending p : pending) {
            double start = micros(p.lane, p.start, base), end = micros(p.lane, p.end, base);
            spans.add(new Span(p.lane, p.name, p.kind, start, Math.max(0, end - start)));
        }
        pending.clear();
        spans.sort(Comparator.comparingDouble(Span::startMicros));
    }

    private double micros(int lane, Stamp s, long base) {
        return switch (s) {
            case HostStamp h -> (h.nanos() - base) / 1e3;
            case EventStamp e -> (originNanos[lane] - base) / 1e3
                    + 1e3 * e.event().elapsedMillisSince(((EventStamp) origins[lane]).event());
        };
    }

    public List<Span> spans() {
        return List.copyOf(spans);
    }

    /** Total time lane {@code lane} spent in spans of {@code kind}, in microseconds. */
    public double total(int lane, Kind kind) {
        return spans.stream().filter(s -> s.lane() == lane && s.kind() == kind).mapToDouble(Span::durationMicros).sum();
    }

    /** The Chrome trace event format: one complete event ("ph": "X") per span, one thread per lane. */
    public String toChromeTraceJson() {
        StringBuilder b = new StringBuilder("{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n");
        for (int i = 0; i < laneNames.size(); i++) {
            b.append(String.format(Locale.ROOT, "  {\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": %d, \"args\": {\"name\": %s}},%n",
                    i, Json.quote(laneNames.get(i))));
        }
        for (int i = 0; i < spans.size(); i++) {
            Span s = spans.get(i);
            b.append(String.format(Locale.ROOT, "  {\"name\": %s, \"cat\": \"%s\", \"ph\": \"X\", \"pid\": 1, \"tid\": %d, \"ts\": %.3f, \"dur\": %.3f}%s%n",
                    Json.quote(s.name()), s.kind().name().toLowerCase(Locale.ROOT), s.lane(), s.startMicros(), s.durationMicros(),
                    i + 1 < spans.size() ? "," : ""));
        }
        return b.append("]}\n").toString();
    }

    /** Writes {@link #toChromeTraceJson} to {@code file}, replacing it atomically. */
    public void write(Path file) throws IOException {
        AtomicFile.writeString(file, toChromeTraceJson());
    }

}
