package dev.alexnetffm.engine.parallel;

import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Tensor;

/**
 * A lane on the CPU reference backend: every op has finished when it returns, so markers are trivial and a copy
 * is an array copy (the hand-off between the lanes' threads publishes it).
 */
final class CpuLane implements Lane {
    private final CpuBackend backend;

    CpuLane(CpuBackend backend) {
        this.backend = backend;
    }

    @Override
    public CpuBackend backend() {
        return backend;
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public Marker newMarker() {
        return Marker.DONE;
    }

    @Override
    public void record(Marker marker) {
        // Nothing to record: the ops before this point have already run.
    }

    @Override
    public void waitFor(Marker marker) {
        // Nothing to wait for: the op behind the marker finished before the marker was handed over.
    }

    @Override
    public void copyTo(Lane to, Tensor dst, Tensor src) {
        if (!(to instanceof CpuLane)) throw new IllegalArgumentException(name() + " cannot copy to " + to.name());
        if (!(dst instanceof HostTensor d) || !(src instanceof HostTensor s) || !d.shape().equals(s.shape())) {
            throw new IllegalArgumentException("copyTo: " + src + " and " + dst + " must be host tensors of one shape");
        }
        System.arraycopy(s.data(), 0, d.data(), 0, s.data().length);
    }

    @Override
    public Timeline.Stamp stamp() {
        return new Timeline.HostStamp(System.nanoTime());
    }

    @Override
    public void close() {
        backend.close();
    }
}
