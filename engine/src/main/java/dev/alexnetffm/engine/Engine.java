package dev.alexnetffm.engine;

import dev.alexnetffm.cuda.CudaDriver;
import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.backend.cuda.CudaBackend;
import dev.alexnetffm.engine.data.InputEncoding;
import dev.alexnetffm.engine.data.Labels;
import dev.alexnetffm.engine.io.SafeTensors;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.train.Checkpoint;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The library's front door: a backend (a GPU, or the CPU reference) and the networks built on it.
 *
 * <pre>{@code
 * try (Engine engine = Engine.open()) {                 // the GPU if there is one, else the CPU
 *     AlexNet net = engine.newModel(AlexNetConfig.paper(), 42);
 *     float[] probabilities = net.probabilities(images, batch);
 * }
 * }</pre>
 * Closing the engine closes every network it made, then the backend. Networks may be called from several threads
 * at once (see {@link AlexNet}); so may the engine's methods.
 */
public final class Engine implements AutoCloseable {
    /** Where to compute. */
    public enum Device { AUTO, CPU, CUDA }

    private final Backend backend;
    private final List<AlexNet> models = new ArrayList<>();

    private Engine(Backend backend) {
        this.backend = backend;
    }

    /** GPU 0 when the CUDA driver sees one, else the CPU. */
    public static Engine open() {
        return open(Device.AUTO, 0);
    }

    /**
     * The requested device: {@code CUDA} fails with a clear message when there is no usable GPU (or no GPU of that
     * ordinal); {@code AUTO} falls back to the CPU.
     */
    public static Engine open(Device device, int ordinal) {
        return switch (device) {
            case CPU -> new Engine(new CpuBackend());
            case CUDA -> new Engine(new CudaBackend(ordinal));
            case AUTO -> CudaDriver.isAvailable() ? new Engine(new CudaBackend(ordinal)) : new Engine(new CpuBackend());
        };
    }

    /** An engine over a backend the caller made; the engine closes it. */
    public static Engine on(Backend backend) {
        return new Engine(backend);
    }

    public Backend backend() {
        return backend;
    }

    /** E.g. "cuda:0 (NVIDIA H100 80GB HBM3)" or "cpu". */
    public String description() {
        return backend.name();
    }

    /** A network with the paper's initialisation from {@code seed}. */
    public synchronized AlexNet newModel(AlexNetConfig config, long seed) {
        return track(AlexNet.initialize(backend, config, seed));
    }

    /**
     * A network from a safetensors weights file, a training checkpoint or a {@code train --run} folder (its
     * checkpoint's weights); its configuration comes from the file's metadata, else the paper's. Errors name the
     * file and the offending tensor; nothing is half-loaded.
     */
    public synchronized AlexNet loadModel(Path weights) throws IOException {
        AlexNet.Saved saved = Checkpoint.readWeights(weights, AlexNetConfig.paper());
        return track(AlexNet.fromWeights(backend, saved.config(), saved.weights()));
    }

    /**
     * A trained network as an image classifier: {@link #loadModel} of {@code weights}, with the input encoding and
     * class names its training recorded in the file's metadata (a file without them: the ImageNet encoding, classes by
     * index). {@link Classifier#withLabels} and {@link Classifier#withTenCrop} adjust it.
     */
    public synchronized Classifier loadClassifier(Path weights) throws IOException {
        Map<String, String> metadata = SafeTensors.readHeader(Checkpoint.weightsFile(weights)).metadata();
        AlexNet model = loadModel(weights);
        return Classifier.of(model, InputEncoding.fromMetadata(metadata), Labels.fromMetadata(metadata));
    }

    private AlexNet track(AlexNet model) {
        models.add(model);
        return model;
    }

    @Override
    public synchronized void close() {
        try {
            models.forEach(AlexNet::close);
            models.clear();
        } finally {
            backend.close();
        }
    }
}
