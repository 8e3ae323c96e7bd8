package dev.alexnetffm.engine.backend.cuda;

import dev.alexnetffm.cuda.CuEvent;

import java.util.ArrayList;
import java.util.List;

/**
 * Timing events on a backend's stream, for measuring device time between points of the queued work: created as
 * needed, and recorded again after {@link #reuse()} once the last round's times have been read. One thread at a
 * time; the backend stays open when this closes.
 */
public final class TimingEvents implements AutoCloseable {
    private final CudaBackend backend;
    private final List<CuEvent> events = new ArrayList<>();
    private int next;

    public TimingEvents(CudaBackend backend) {
        this.backend = backend;
    }

    /** A timing event recorded now at the end of the stream's queued work. */
    public CuEvent record() {
        backend.context().ensureCurrent();
        if (next == events.size()) events.add(backend.context().createEvent(true));
        return events.get(next++).record(backend.stream());
    }

    /** Lets the events be recorded again: the times of the ones recorded so far must have been read. */
    public void reuse() {
        next = 0;
    }

    @Override
    public void close() {
        events.forEach(CuEvent::close);
        events.clear();
        next = 0;
    }
}
