package dev.alexnetffm.engine.train;

import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.backend.HostBuffer;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.HostTensor;

import java.util.Map;

/**
 * A network being trained, wherever it lives (one device, or split over two): what {@link Trainer} needs from it.
 * Batches come as host arrays or {@link HostBuffer}s (N images of C*S*S floats in NCHW order, N labels); weights
 * and velocities go in and out in the one-device network's names and shapes, so checkpoints do not depend on the
 * placement.
 *
 * <p>The trainer's batches are decoded into buffers from {@link #allocateHost} (page-locked on a GPU) and passed
 * to {@link #step(HostBuffer, int[], Sgd, long)}, which queues their upload without copying them on the calling
 * thread; the array methods copy the array into staging memory first, and stay for callers holding arrays.
 */
public interface Learner extends AutoCloseable {
    AlexNetConfig config();

    /** Where it runs, e.g. "cuda:0 (NVIDIA H100 80GB HBM3)". */
    String description();

    /** One SGD step on the first {@code labels.length} images of {@code images}; returns the mean loss. */
    float step(float[] images, int[] labels, Sgd sgd, long step);

    /**
     * One SGD step on the first {@code labels.length} images of {@code images}; returns the mean loss. The upload
     * is queued, not waited for: refill {@code images} only after {@link HostBuffer#awaitReusable()}. Learners
     * that cannot upload from host memory copy it into an array (this default).
     */
    default float step(HostBuffer images, int[] labels, Sgd sgd, long step) {
        return step(images.toArray(Math.multiplyExact(labels.length, imageFloats(config()))), labels, sgd, step);
    }

    /** The last step's logits (with dropout), (N, classes). */
    float[] lastLogits();

    /** Inference logits (dropout off) for the first {@code n} images of {@code images}. */
    float[] logits(float[] images, int n);

    /** Inference logits (dropout off) for the first {@code n} images of a host buffer, as {@link #step(HostBuffer, int[], Sgd, long)} uploads it. */
    default float[] logits(HostBuffer images, int n) {
        return logits(images.toArray(Math.multiplyExact(n, imageFloats(config()))), n);
    }

    /**
     * Host memory for batches of this learner ({@code floats} floats): page-locked, usable by all its devices, where
     * it runs on GPUs. The caller owns it, and closes it before this learner. May be called from any thread.
     */
    default HostBuffer allocateHost(long floats) {
        return HostBuffer.allocate(floats);
    }

    private static int imageFloats(AlexNetConfig c) {
        return c.inChannels() * c.inputSize() * c.inputSize();
    }

    Map<String, HostTensor> weights();

    Map<String, HostTensor> velocities();

    /** Replaces the velocities (resuming from a checkpoint). */
    void loadVelocities(Map<String, HostTensor> velocities);

    @Override
    void close();

    /** Makes the learner for a configuration, its initial weights and the run's seed. */
    @FunctionalInterface
    interface Factory {
        Learner create(AlexNetConfig config, Map<String, HostTensor> weights, long seed);
    }

    /** Learners on one backend (which the caller keeps owning). */
    static Factory on(Backend backend) {
        return (config, weights, seed) -> new OneDevice(AlexNet.fromWeights(backend, config, weights), seed);
    }

    /** The network and its {@link TrainingStep} on one backend (the network keeps the input tensor). */
    final class OneDevice implements Learner {
        private final AlexNet net;
        private final TrainingStep training;

        OneDevice(AlexNet net, long seed) {
            this.net = net;
            try {
                this.training = new TrainingStep(net, seed);
            } catch (RuntimeException e) {
                net.close();
                throw e;
            }
        }

        @Override
        public AlexNetConfig config() {
            return net.config();
        }

        @Override
        public String description() {
            return net.backend().name();
        }

        @Override
        public float step(float[] images, int[] labels, Sgd sgd, long step) {
            return training.step(net.upload(images, labels.length), labels, sgd, step);
        }

        @Override
        public float step(HostBuffer images, int[] labels, Sgd sgd, long step) {
            return training.step(net.upload(images, labels.length), labels, sgd, step);
        }

        @Override
        public HostBuffer allocateHost(long floats) {
            return net.backend().allocateHost(floats);
        }

        @Override
        public float[] lastLogits() {
            return training.lastLogits();
        }

        @Override
        public float[] logits(float[] images, int n) {
            return net.forward(net.upload(images, n)).toArray();
        }

        @Override
        public float[] logits(HostBuffer images, int n) {
            return net.forward(net.upload(images, n)).toArray();
        }

        @Override
        public Map<String, HostTensor> weights() {
            return net.weights();
        }

        @Override
        public Map<String, HostTensor> velocities() {
            return training.velocitiesToHost();
        }

        @Override
        public void loadVelocities(Map<String, HostTensor> velocities) {
            training.loadVelocities(velocities);
        }

        @Override
        public void close() {
            training.close();
            net.close();
        }
    }
}
