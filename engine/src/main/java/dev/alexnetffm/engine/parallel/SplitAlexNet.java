package dev.alexnetffm.engine.parallel;

import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.backend.HostBuffer;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;
import dev.alexnetffm.engine.train.Learner;
import dev.alexnetffm.engine.train.Sgd;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The paper's network split over two devices as the paper did it: tower A on one lane, tower B on the other, each
 * with its half of every layer's parameters, activations, gradients and momentum, exchanging activations before
 * conv3, fc6, fc7 and fc8 (and the gradients with respect to them in backward) as {@link ExchangePlan} lists.
 *
 * <p>Each device has a worker thread with its context current that queues its tower's ops; the workers meet only
 * to pass markers (events) at the exchanges, so neither waits for its device between layers. The calling thread
 * waits at the end of a call (and, in training, tower A's worker for the loss, a host value). A batch in a
 * {@link HostBuffer} is uploaded by each worker straight from it, each copy queued on its own device.
 *
 * <p>The two lanes may be two GPUs (peer copies) or two streams of one GPU (the same schedule, device copies), or
 * two CPU backends. Forward logits (and the loss) are the same bits as the one-device network's: each tower's
 * backend sums its halves of the layers in the order it would sum the whole layers ({@link Backend#sliceLayers}).
 * Gradients with respect to activations that both towers read are sums of two partial sums, which differ from one
 * sum by float32 rounding, and so does everything computed from them.
 *
 * <p>{@link #logits}, {@link #probabilities} and {@link #weights} may be called from several threads at once: they
 * run one at a time (each uses the network's activation buffers) and return copies. Training runs on one thread.
 */
public final class SplitAlexNet implements Learner {
    private final AlexNetConfig config;
    private final Tower[] towers = new Tower[2];
    private final ExecutorService[] workers = new ExecutorService[2];
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final List<ExchangePlan.Copy> sent = Collections.synchronizedList(new ArrayList<>());
    /** Per (batch size, mode), most recently used last; a few kept, so that training and validation do not reallocate. */
    private final LinkedHashMap<Long, State> states = new LinkedHashMap<>(8, 0.75f, true);
    private static final int STATES_KEPT = 4;
    /** The state of the last training step (its logits). */
    private State lastTraining;
    private long seed;
    private boolean training;
    private boolean traceNext;
    private Timeline lastTimeline;
    private String transport;

    private SplitAlexNet(AlexNetConfig config) {
        this.config = config;
    }

    /**
     * The network of {@code config} with {@code weights} (the one-device network's names and shapes), tower A on
     * {@code a} and tower B on {@code b}. Takes ownership of both backends (closed with this network, or at once if
     * this fails).
     */
    public static SplitAlexNet create(Backend a, Backend b, AlexNetConfig config, Map<String, HostTensor> weights) {
        SplitAlexNet net = new SplitAlexNet(config);
        Backend[] backends = {a, b};
        Lane[] lanes = new Lane[2];
        try {
            requireSplittable(config);
            AlexNet.requireWeights(config, weights);
            for (int i = 0; i < 2; i++) {
                lanes[i] = Lane.of(backends[i]);
                backends[i] = null;
            }
            if (lanes[0] instanceof CudaLane x && lanes[1] instanceof CudaLane y) {
                String ab = x.connect(y), ba = y.connect(x);
                net.transport = ab.equals(ba) ? ab : "A to B " + ab + ", B to A " + ba;
            } else {
                net.transport = "array copies (CPU)";
            }
            for (int i = 0; i < 2; i++) {
                int index = i;
                Lane lane = lanes[i];
                net.workers[i] = Executors.newSingleThreadExecutor(r -> {
                    Thread t = new Thread(r, "alexnet tower " + (index == 0 ? "A" : "B") + " (" + lane.name() + ")");
                    t.setDaemon(true);
                    return t;
                });
                net.towers[i] = net.on(i, () -> new Tower(index, lane, config, weights));
                lanes[i] = null; // the tower owns it now
            }
            return net;
        } catch (RuntimeException e) {
            net.close();
            for (Lane l : lanes) if (l != null) l.close();
            for (Backend x : backends) if (x != null) x.close();
            throw e;
        }
    }

    /**
     * Learners for {@link dev.alexnetffm.engine.train.Trainer}: each a split network over two new backends (tower A
     * on {@code a}'s, tower B on {@code b}'s), ready to train with the run's seed.
     */
    public static Learner.Factory learners(Supplier<Backend> a, Supplier<Backend> b) {
        return (config, weights, seed) -> {
            SplitAlexNet net = open(a, b, config, weights);
            try {
                net.enableTraining(seed);
                return net;
            } catch (RuntimeException e) {
                net.close();
                throw e;
            }
        };
    }

    /** {@link #create} on two backends made here (the first is closed again if the second cannot be made). */
    public static SplitAlexNet open(Supplier<Backend> a, Supplier<Backend> b, AlexNetConfig config, Map<String, HostTensor> weights) {
        Backend first = a.get(), second;
        try {
            second = b.get();
        } catch (RuntimeException e) {
            first.close();
            throw e;
        }
        return create(first, second, config, weights);
    }

    /** The two-tower split needs LRN windows inside each tower and an even number of classes. */
    public static void requireSplittable(AlexNetConfig config) {
        if (config.lrn() != null && config.lrn().groups() % 2 != 0) {
            throw new IllegalArgumentException("two devices need the LRN window kept inside each tower (LRN groups even, e.g. the paper's 2), "
                    + "got groups " + config.lrn().groups() + ": the PyTorch convention's window crosses the towers");
        }
        if (config.classes() % 2 != 0) {
            throw new IllegalArgumentException("two devices split fc8 into two halves: the number of classes must be even, got " + config.classes());
        }
    }

    @Override
    public AlexNetConfig config() {
        return config;
    }

    /** E.g. "tower A on cuda:0/stream 1, tower B on cuda:1/stream 2, peer-to-peer". */
    @Override
    public String description() {
        return "tower A on " + towers[0].lane.name() + ", tower B on " + towers[1].lane.name() + ", " + transport;
    }

    /** What one training step (or inference call) at batch {@code n} moves between the devices. */
    public ExchangePlan plan(int n, boolean training) {
        return training ? ExchangePlan.trainingStep(config, n) : ExchangePlan.inference(config, n);
    }

    // ---------------------------------------------------------------- inference

    /** Logits (N, classes) for a host batch of N*C*S*S floats in NCHW order, dropout off. */
    @Override
    public synchronized float[] logits(float[] images, int n) {
        requireBatch(n, images.length);
        return infer(n, false, (b, x) -> b.copyFromHost(x, images));
    }

    /** Logits for the first N images of a host buffer, which each tower uploads straight from it. */
    @Override
    public synchronized float[] logits(HostBuffer images, int n) {
        requireBatch(n, images.floats());
        return infer(n, false, (b, x) -> b.copyFromHost(x, images));
    }

    /** Class probabilities (softmax of the logits, computed on tower A's device) for a host batch. */
    public synchronized float[] probabilities(float[] images, int n) {
        requireBatch(n, images.length);
        return infer(n, true, (b, x) -> b.copyFromHost(x, images));
    }

    /** {@code upload} copies the batch into a tower's input tensor, on that tower's worker. */
    private float[] infer(int n, boolean softmax, BiConsumer<Backend, Tensor> upload) {
        State s = stateFor(n, false);
        run(t -> {
            Tower.Acts a = s.acts[t.index];
            upload.accept(t.lane.backend(), a.input);
            t.forward(a, null);
            return null;
        });
        Tower.Acts a = s.acts[0];
        if (!softmax) return a.logits.toArray();
        towers[0].lane.backend().softmax(a.logits, a.logits);
        return a.logits.toArray();
    }

    /**
     * Host memory for batches: tower A's backend's ({@link Backend#allocateHost}), page-locked and usable by both
     * devices on GPUs. Each tower uploads the whole batch from it.
     */
    @Override
    public HostBuffer allocateHost(long floats) {
        return towers[0].lane.backend().allocateHost(floats);
    }

    // ---------------------------------------------------------------- training

    /** Allocates gradients and zero velocities on both towers; {@code seed} keys the dropout masks. */
    public void enableTraining(long seed) {
        this.seed = seed;
        this.training = true;
        on(0, () -> { towers[0].enableTraining(); return null; });
        on(1, () -> { towers[1].enableTraining(); return null; });
    }

    /**
     * One SGD step on a host batch (N images, N labels): forward with dropout, the loss on tower A, backward with
     * the exchanges mirrored, and each tower's update of its own parameters. {@code step} numbers the step from 0
     * over the run (it keys the dropout masks). Returns the mean loss.
     */
    @Override
    public float step(float[] images, int[] labels, Sgd sgd, long step) {
        requireBatch(labels.length, images.length);
        return step(labels, sgd, step, (b, x) -> b.copyFromHost(x, images));
    }

    /** {@link #step(float[], int[], Sgd, long)} on a host buffer: each tower queues its upload straight from it. */
    @Override
    public float step(HostBuffer images, int[] labels, Sgd sgd, long step) {
        requireBatch(labels.length, images.floats());
        return step(labels, sgd, step, (b, x) -> b.copyFromHost(x, images));
    }

    private float step(int[] labels, Sgd sgd, long step, BiConsumer<Backend, Tensor> upload) {
        if (!training) throw new IllegalStateException("call enableTraining(seed) before step");
        State s = stateFor(labels.length, true);
        lastTraining = s;
        Float[] losses = run(t -> {
            Tower.Acts a = s.acts[t.index];
            upload.accept(t.lane.backend(), a.input);
            t.forward(a, new AlexNet.Dropout(seed, step));
            return t.backward(a, a.input, labels, sgd, seed, step);
        }, Float.class);
        return losses[0];
    }

    /** Waits until both devices have finished every op queued so far. */
    public void synchronize() {
        for (Tower t : towers) on(t.index, () -> { t.lane.synchronize(); return null; });
    }

    /** The last training step's logits (with dropout), from tower A. */
    @Override
    public float[] lastLogits() {
        if (lastTraining == null) throw new IllegalStateException("no training step has run");
        return lastTraining.acts[0].logits.toArray();
    }

    // ---------------------------------------------------------------- state in the one-device network's names

    /** Both towers' parameters joined into the one-device network's tensors, by name. */
    @Override
    public synchronized Map<String, HostTensor> weights() {
        return join(Tower::parameters);
    }

    /** The last step's gradients, joined, by name. */
    public Map<String, HostTensor> gradients() {
        requireTraining();
        return join(Tower::gradients);
    }

    /** The momentum buffers, joined, by name. */
    @Override
    public Map<String, HostTensor> velocities() {
        requireTraining();
        return join(Tower::velocities);
    }

    /** Replaces the velocities (when resuming): the one-device network's names and shapes. */
    @Override
    public void loadVelocities(Map<String, HostTensor> velocities) {
        requireTraining();
        Map<String, Shape> shapes = AlexNet.parameterShapes(config);
        for (var e : shapes.entrySet()) {
            HostTensor h = velocities.get(e.getKey());
            if (h == null || !h.shape().equals(e.getValue())) {
                throw new IllegalArgumentException("checkpoint velocity " + e.getKey() + (h == null ? " is missing" : " has shape " + h.shape()
                        + ", expected " + e.getValue()));
            }
        }
        for (Tower t : towers) {
            on(t.index, () -> {
                for (var e : t.velocities().entrySet()) {
                    t.lane.backend().copyFromHost(e.getValue(), Tower.half(velocities.get(e.getKey()), t.index).data());
                }
                return null;
            });
        }
    }

    private void requireTraining() {
        if (!training) throw new IllegalStateException("call enableTraining(seed) first");
    }

    private Map<String, HostTensor> join(Function<Tower, Map<String, Tensor>> which) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (var e : AlexNet.parameterShapes(config).entrySet()) {
            float[] whole = new float[e.getValue().intSize()];
            float[] a = on(0, () -> which.apply(towers[0]).get(e.getKey()).toArray());
            float[] b = on(1, () -> which.apply(towers[1]).get(e.getKey()).toArray());
            System.arraycopy(a, 0, whole, 0, a.length);
            System.arraycopy(b, 0, whole, a.length, b.length);
            out.put(e.getKey(), new HostTensor(e.getValue(), whole));
        }
        return out;
    }

    // ---------------------------------------------------------------- observability

    /** Records a {@link Timeline} of the next call (forward or step); costs a synchronisation at its start. */
    public void traceNextCall() {
        traceNext = true;
    }

    /** The timeline of the last traced call, or null. */
    public Timeline lastTimeline() {
        return lastTimeline;
    }

    /** The copies the last call made, in the order each device issued them. */
    public List<ExchangePlan.Copy> lastCopies() {
        synchronized (sent) {
            return List.copyOf(sent);
        }
    }

    // ---------------------------------------------------------------- workers

    /** Runs {@code work} on both towers' workers at once and waits for both. */
    private void run(Function<Tower, Object> work) {
        run(work::apply, Object.class);
    }

    @SuppressWarnings("unchecked")
    private <T> T[] run(Function<Tower, T> work, Class<T> type) {
        Timeline timeline = traceNext ? new Timeline(List.of("tower A: " + towers[0].lane.name(), "tower B: " + towers[1].lane.name())) : null;
        traceNext = false;
        sent.clear();
        failure.set(null);
        List<Future<T>> futures = new ArrayList<>();
        for (Tower t : towers) {
            futures.add(workers[t.index].submit(() -> {
                try {
                    if (timeline != null) {
                        t.lane.synchronize();
                        timeline.origin(t.index, t.lane);
                        t.trace(timeline);
                    }
                    T result = work.apply(t);
                    if (timeline != null) t.lane.synchronize();
                    return result;
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                    throw e;
                } finally {
                    t.trace(null);
                }
            }));
        }
        T[] results = (T[]) java.lang.reflect.Array.newInstance(type, 2);
        for (int i = 0; i < 2; i++) {
            try {
                results[i] = futures.get(i).get();
            } catch (ExecutionException e) {
                // the other worker stops at its next exchange; its own exception is the peer's failure
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failure.compareAndSet(null, e);
            }
        }
        Throwable f = failure.get();
        if (f != null) {
            try {
                closeStates(); // half-done exchanges leave the tensors and mailboxes in no useful state
            } catch (RuntimeException e) {
                f.addSuppressed(e);
            }
            if (f instanceof RuntimeException r) throw r;
            if (f instanceof Error err) throw err;
            throw new IllegalStateException("a tower's worker failed: " + f, f);
        }
        if (timeline != null) {
            timeline.resolve();
            for (Tower t : towers) if (t.lane instanceof CudaLane c) on(t.index, () -> { c.reuseStamps(); return null; });
            lastTimeline = timeline;
        }
        return results;
    }

    /** Runs {@code work} on tower {@code i}'s worker (its context current there) and waits for it. */
    private <T> T on(int i, java.util.concurrent.Callable<T> work) {
        try {
            return workers[i].submit(work).get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    // ---------------------------------------------------------------- per-batch state

    /** Both towers' tensors and the mailboxes for one batch size and mode. */
    private record State(int n, boolean training, Tower.Acts[] acts, Map<String, Mailbox> boxes) {}

    private void requireBatch(int n, long floats) {
        long need = (long) n * config.inChannels() * config.inputSize() * config.inputSize();
        if (n < 1 || floats < need) {
            throw new IllegalArgumentException("a batch of " + n + " images of " + config.inChannels() + "x" + config.inputSize() + "x"
                    + config.inputSize() + " needs " + need + " floats, got " + floats);
        }
    }

    private State stateFor(int n, boolean training) {
        long key = 2L * n + (training ? 1 : 0);
        State cached = states.get(key);
        if (cached != null) return cached;
        if (states.size() >= STATES_KEPT) {
            Long eldest = states.keySet().iterator().next();
            State old = states.remove(eldest);
            if (old == lastTraining) lastTraining = null;
            closeState(old);
        }
        Map<String, Mailbox> boxes = new LinkedHashMap<>();
        Tower.Acts[] acts = new Tower.Acts[2];
        try {
            for (ExchangePlan.Copy copy : plan(n, training).copies()) {
                boolean aToB = copy.direction() == ExchangePlan.Direction.A_TO_B;
                Lane from = towers[aToB ? 0 : 1].lane, to = towers[aToB ? 1 : 0].lane;
                boxes.put(copy.what(), new Mailbox(copy, from, to, failure, sent));
            }
            for (Tower t : towers) acts[t.index] = new Tower.Acts(t, n, training, boxes, true);
        } catch (RuntimeException e) {
            for (Tower.Acts a : acts) if (a != null) a.close();
            boxes.values().forEach(Mailbox::close);
            throw e;
        }
        State s = new State(n, training, acts, boxes);
        states.put(key, s);
        return s;
    }

    /** Waits for both devices, then frees one state's tensors and mailboxes. */
    private void closeState(State s) {
        for (Tower t : towers) if (t != null) t.lane.synchronize();
        for (Tower.Acts a : s.acts) a.close();
        s.boxes.values().forEach(Mailbox::close);
    }

    private void closeStates() {
        List<State> all = new ArrayList<>(states.values());
        states.clear();
        lastTraining = null;
        RuntimeException first = null;
        for (State s : all) {
            try {
                closeState(s);
            } catch (RuntimeException e) {
                if (first == null) first = e;
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }

    /** Releases both towers' memory, stops the workers and closes both backends. */
    @Override
    public synchronized void close() {
        try {
            closeStates();
        } finally {
            for (int i = 0; i < 2; i++) {
                Tower t = towers[i];
                if (t != null) {
                    try {
                        t.close();
                    } finally {
                        t.lane.close();
                    }
                }
                if (workers[i] != null) workers[i].shutdownNow();
            }
        }
    }
}
