package dev.alexnetffm.engine.parallel;

import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;

import java.util.List;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One directed copy of the schedule, reused every step: an inbox tensor on the receiving lane that the sender
 * fills and the receiver reads. The lanes' worker threads meet here only to pass markers, never to wait for the
 * devices: the sender queues the copy after its own work and records a marker; the receiver's stream waits for
 * that marker; when the receiver has queued the ops that read the inbox it records a marker of its own, which the
 * sender's next copy into the inbox waits for.
 */
final class Mailbox implements AutoCloseable {
    private final ExchangePlan.Copy copy;
    private final List<ExchangePlan.Copy> log;
    private final Lane from, to;
    private final Tensor inbox;
    private final Lane.Marker filled, emptied;
    private final Semaphore full = new Semaphore(0), empty = new Semaphore(1);
    private final AtomicReference<Throwable> failure;

    /**
     * @param failure set by whichever worker fails first; waits here then stop instead of hanging
     * @param log     every send appends its copy here (a synchronised list shared by the step's mailboxes)
     */
    Mailbox(ExchangePlan.Copy copy, Lane from, Lane to, AtomicReference<Throwable> failure, List<ExchangePlan.Copy> log) {
        this.copy = copy;
        this.log = log;
        this.from = from;
        this.to = to;
        this.failure = failure;
        this.inbox = to.backend().allocate(copy.shape());
        try {
            this.filled = from.newMarker();
            this.emptied = to.newMarker();
        } catch (RuntimeException e) {
            inbox.close();
            throw e;
        }
    }

    String name() {
        return copy.what();
    }

    Shape shape() {
        return inbox.shape();
    }

    /** On the sender's thread: queues the copy of {@code src} into the inbox once the receiver is done with it. */
    void send(Tensor src) {
        acquire(empty, "send");
        from.waitFor(emptied);
        from.copyTo(to, inbox, src);
        from.record(filled);
        log.add(copy);
        full.release();
    }

    /**
     * On the receiver's thread: the inbox, which the receiver's ops queued from now on see filled. Call
     * {@link #release} after queueing the last op that reads it.
     */
    Tensor receive() {
        acquire(full, "receive");
        to.waitFor(filled);
        return inbox;
    }

    /** On the receiver's thread: the ops queued so far are the last to read the inbox until the next receive. */
    void release() {
        to.record(emptied);
        empty.release();
    }

    private void acquire(Semaphore s, String what) {
        try {
            while (!s.tryAcquire(20, TimeUnit.MILLISECONDS)) {
                Throwable t = failure.get();
                if (t != null) throw new PeerFailedException("stopped waiting to " + what + " " + copy.what() + ": the other device failed", t);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PeerFailedException("interrupted while waiting to " + what + " " + copy.what(), e);
        }
    }

    /** Frees the inbox and the markers; both lanes must have finished their work. */
    @Override
    public void close() {
        try {
            from.closeMarker(filled);
            to.closeMarker(emptied);
        } finally {
            inbox.close();
        }
    }

    /** Thrown on the worker that was waiting for a device whose worker failed; the cause is that failure. */
    static final class PeerFailedException extends RuntimeException {
        PeerFailedException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
