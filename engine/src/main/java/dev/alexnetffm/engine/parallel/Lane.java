package dev.alexnetffm.engine.parallel;

import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.backend.cuda.CudaBackend;
import dev.alexnetffm.engine.tensor.Tensor;

/**
 * One logical device of a split network: a backend (a GPU's context and stream, or the CPU) and the few things a
 * schedule needs besides its ops: points in its queue of work that another lane can wait for, and copies of a
 * tensor into another lane's memory. Ops queued on a lane run in the order they were queued.
 *
 * <p>A lane's methods are called from its own worker thread only.
 */
public interface Lane extends AutoCloseable {
    /** The backend the tower's ops run on. */
    Backend backend();

    /** E.g. "cuda:0/stream 1" or "cpu/1". */
    String name();

    /** A new marker of this lane, to be {@link #record recorded} as often as needed. */
    Marker newMarker();

    /**
     * Moves {@code marker} (one of this lane's) to the point after every op queued so far. Whoever waited for its
     * previous position is unaffected.
     */
    void record(Marker marker);

    /** Frees a marker of this lane that no one waits for any more (the lane has finished its work). */
    default void closeMarker(Marker marker) {}

    /** Makes the ops this lane queues from now on wait until {@code marker} is reached; the host does not wait. */
    void waitFor(Marker marker);

    /**
     * Queues on this lane a copy of {@code src} (this lane's tensor) into {@code dst} (a tensor of {@code to},
     * of the same shape), after the ops queued before it: a peer copy between GPUs, a device copy between two
     * lanes of one GPU, an array copy on the CPU.
     */
    void copyTo(Lane to, Tensor dst, Tensor src);

    /** A clock for the timeline: a time stamp after the work queued so far (see {@link Timeline}). */
    Timeline.Stamp stamp();

    /** Waits until every op queued on this lane has finished. */
    default void synchronize() {
        backend().synchronize();
    }

    /** Closes the backend. */
    @Override
    void close();

    /** A point in a lane's queue of work: a CUDA event, or nothing on the CPU. */
    interface Marker {
        /** The CPU's marker: its ops have always finished by the time anyone sees the marker. */
        Marker DONE = new Marker() {};
    }

    /**
     * The lane for {@code backend}, which it then owns: a {@link CudaLane} for a {@link CudaBackend}, a
     * {@link CpuLane} for the CPU reference.
     */
    static Lane of(Backend backend) {
        if (backend instanceof CudaBackend cuda) return new CudaLane(cuda);
        if (backend instanceof CpuBackend cpu) return new CpuLane(cpu);
        throw new IllegalArgumentException("no lane for backend " + backend.name());
    }
}
