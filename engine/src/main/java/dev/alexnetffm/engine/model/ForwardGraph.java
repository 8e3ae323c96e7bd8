package dev.alexnetffm.engine.model;

import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.tensor.Tensor;

/**
 * A network's inference forward pass at one batch size, recorded once and replayed ({@link Backend#record}): on a GPU
 * the pass's kernels are one CUDA graph, launched as one operation, so that a batch costs the host one launch instead
 * of one per kernel (what matters at small batches, where the kernels are short). The results are the bits of
 * {@link AlexNet#logits} and {@link AlexNet#probabilities} at that batch size.
 *
 * <p>The graph has its own input, activations and outputs, and reads the network's parameters as they are when it
 * runs (so it follows training). Close it before the network. Its methods may be called from several threads; they
 * run one at a time.
 *
 * <pre>{@code
 * try (ForwardGraph graph = ForwardGraph.record(net, 1)) {
 *     for (float[] image : stream) handle(graph.probabilities(image));
 * }
 * }</pre>
 */
public final class ForwardGraph implements AutoCloseable {
    private final AlexNet net;
    private final int n;
    private final Tensor input;
    private final AlexNet.Activations activations;
    private final Backend.Replay replay;
    private boolean closed;

    private ForwardGraph(AlexNet net, int n, Tensor input, AlexNet.Activations activations, Backend.Replay replay) {
        this.net = net;
        this.n = n;
        this.input = input;
        this.activations = activations;
        this.replay = replay;
    }

    /**
     * Runs {@code net}'s forward pass at batch {@code n} once (on zeros: kernels loaded, convolutions tuned, scratch
     * memory grown), then records it, the softmax included. Other threads must not use the network's backend
     * meanwhile.
     */
    public static ForwardGraph record(AlexNet net, int n) {
        if (n < 1) throw new IllegalArgumentException("batch size must be at least 1, got " + n);
        Backend b = net.backend();
        Tensor input = null;
        AlexNet.Activations activations = null;
        try {
            input = b.allocate(net.inputShape(n));
            activations = new AlexNet.Activations(b, net.config(), n, false);
            Tensor x = input;
            AlexNet.Activations a = activations;
            Runnable pass = () -> {
                net.forward(x, a, null);
                b.softmax(a.probabilities, a.fc8);
            };
            b.fill(input, 0f);
            pass.run();
            b.synchronize();
            return new ForwardGraph(net, n, input, activations, b.record(pass));
        } catch (RuntimeException | Error e) {
            if (activations != null) activations.close();
            if (input != null) input.close();
            throw e;
        }
    }

    /** The batch size it was recorded for. */
    public int batch() {
        return n;
    }

    /** Logits (N, classes) of a host batch of exactly N*C*S*S floats (NCHW). */
    public synchronized float[] logits(float[] images) {
        runOn(images);
        return activations.fc8.toArray();
    }

    /** Class probabilities (N, classes), the softmax of the logits, of a host batch of exactly N*C*S*S floats. */
    public synchronized float[] probabilities(float[] images) {
        runOn(images);
        return activations.probabilities.toArray();
    }

    /**
     * For work that stays on the device: the graph's input tensor, (N, C, S, S). Fill it (e.g. with
     * {@link Backend#copyFromHost}), call {@link #run()}, read {@link #logitsTensor()} or {@link #probabilitiesTensor()};
     * hold the graph's lock ({@code synchronized (graph)}) throughout where other threads use it too.
     */
    public Tensor input() {
        return input;
    }

    public Tensor logitsTensor() {
        return activations.fc8;
    }

    public Tensor probabilitiesTensor() {
        return activations.probabilities;
    }

    /** Queues the recorded pass on the current contents of {@link #input()}. */
    public synchronized void run() {
        if (closed) throw new IllegalStateException("this ForwardGraph is closed");
        net.requireOpen();
        replay.run();
    }

    private void runOn(float[] images) {
        long expected = input.shape().size();
        if (images.length != expected) {
            throw new IllegalArgumentException("a batch of " + n + " is " + input.shape() + ": " + expected + " floats, got " + images.length);
        }
        if (closed) throw new IllegalStateException("this ForwardGraph is closed");
        net.backend().copyFromHost(input, images);
        run();
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            replay.close();
            net.backend().synchronize();  // a launch may still read the tensors freed below
        } catch (IllegalStateException backendClosed) {
            // closed with its engine first: its stream has finished, and freed the recording
        } finally {
            activations.close();
            input.close();
        }
    }
}
