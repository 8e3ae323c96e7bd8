package dev.alexnetffm.engine.parallel;

import dev.alexnetffm.cuda.CuEvent;
import dev.alexnetffm.engine.backend.cuda.CudaBackend;
import dev.alexnetffm.engine.backend.cuda.TimingEvents;
import dev.alexnetffm.engine.tensor.DeviceTensor;
import dev.alexnetffm.engine.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * A lane on a GPU: the backend's context and stream. Markers are events recorded on the stream; another lane's
 * stream waits for them with {@code cuStreamWaitEvent}, so the host never waits. Copies to another GPU are
 * {@code cuMemcpyPeerAsync} (direct where peer access is enabled, staged through host memory by the driver
 * otherwise); copies between two lanes of one GPU are device copies.
 */
final class CudaLane implements Lane {
    private final CudaBackend backend;
    private final List<CuEvent> events = new ArrayList<>();
    /** Timing events for the timeline, reused from step to step. */
    private final TimingEvents stamps;

    CudaLane(CudaBackend backend) {
        this.backend = backend;
        this.stamps = new TimingEvents(backend);
    }

    @Override
    public CudaBackend backend() {
        return backend;
    }

    @Override
    public String name() {
        return backend.device() + " stream 0x" + Long.toHexString(backend.stream().handle().address());
    }

    private record Event(CuEvent event) implements Marker {}

    @Override
    public Marker newMarker() {
        backend.context().ensureCurrent();
        CuEvent e = backend.context().createEvent(false);
        events.add(e);
        return new Event(e);
    }

    @Override
    public void closeMarker(Marker marker) {
        if (marker instanceof Event e && events.remove(e.event())) e.event().close();
    }

    @Override
    public void record(Marker marker) {
        backend.context().ensureCurrent();
        ((Event) marker).event().record(backend.stream());
    }

    @Override
    public void waitFor(Marker marker) {
        backend.context().ensureCurrent();
        if (marker instanceof Event e) backend.stream().waitFor(e.event());
    }

    @Override
    public void copyTo(Lane to, Tensor dst, Tensor src) {
        if (!(to instanceof CudaLane)) throw new IllegalArgumentException(name() + " cannot copy to " + to.name());
        if (!(dst instanceof DeviceTensor d) || !(src instanceof DeviceTensor s) || !d.shape().equals(s.shape())) {
            throw new IllegalArgumentException("copyTo: " + src + " and " + dst + " must be device tensors of one shape");
        }
        backend.context().ensureCurrent();
        long bytes = s.shape().bytes();
        if (d.buffer().context().device().equals(s.buffer().context().device())) {
            d.buffer().copyFromAsync(s.buffer(), 0, 0, bytes, backend.stream());
        } else {
            d.buffer().copyFromPeerAsync(s.buffer(), 0, 0, bytes, backend.stream());
        }
    }

    /**
     * How copies to {@code other} travel, enabling peer access where the hardware allows it: "device copies" on
     * one GPU, "peer-to-peer" between GPUs that can reach each other's memory, else "staged through the host".
     */
    String connect(CudaLane other) {
        if (backend.device().equals(other.backend.device())) return "device copies (one GPU)";
        boolean direct = backend.context().enablePeerAccess(other.backend.context());
        return direct ? "peer-to-peer" : "staged through the host by the driver";
    }

    @Override
    public Timeline.Stamp stamp() {
        return new Timeline.EventStamp(stamps.record());
    }

    /** Lets the timeline's events be recorded again (after the step's stamps have been read). */
    void reuseStamps() {
        stamps.reuse();
    }

    @Override
    public void close() {
        try {
            backend.synchronize();
            events.forEach(CuEvent::close);
            stamps.close();
        } finally {
            backend.close();
        }
    }
}
