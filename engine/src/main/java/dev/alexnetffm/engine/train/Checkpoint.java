package dev.alexnetffm.engine.train;

import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.data.InputEncoding;
import dev.alexnetffm.engine.data.Labels;
import dev.alexnetffm.engine.io.AtomicFile;
import dev.alexnetffm.engine.io.SafeTensors;
import dev.alexnetffm.engine.io.SafeTensorsFile;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.HostTensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A training checkpoint: {@code checkpoint.safetensors} (the weights under their own names, the momentum buffers
 * as {@code velocity.<name>}, the network's configuration and the trainer's state in the metadata) and
 * {@code checkpoint.json} (the same state, for people and scripts). Each file is written to a temporary file and
 * renamed, so a run killed mid-write leaves the previous checkpoint intact.
 *
 * @param epochsDone   epochs completed
 * @param step         SGD steps taken (keys the dropout masks of the next step)
 * @param learningRate the current learning rate
 * @param bestValTop1  the best validation top-1 error so far
 * @param badEpochs    epochs since the validation error last improved
 * @param reductions   learning-rate reductions so far
 * @param seed         the run's seed (initialisation, shuffling, dropout)
 */
public record Checkpoint(int epochsDone, long step, float learningRate, double bestValTop1, int badEpochs, int reductions, long seed) {
    public static final String WEIGHTS = "checkpoint.safetensors";
    public static final String STATE = "checkpoint.json";
    private static final String VELOCITY = "velocity.";

    /**
     * Writes the learner's weights, velocities and configuration with this state into {@code dir}, atomically, and
     * what the network needs to know of the data it learns from: how its images are encoded and the classes' names
     * ({@link #dataMetadata}).
     */
    public void save(Path dir, Learner learner, Dataset trainedOn) throws IOException {
        Map<String, HostTensor> tensors = new LinkedHashMap<>(learner.weights());
        learner.velocities().forEach((name, t) -> tensors.put(VELOCITY + name, t));
        Map<String, String> meta = new LinkedHashMap<>(learner.config().toMetadata());
        meta.putAll(dataMetadata(trainedOn));
        meta.put("train.epochs_done", Integer.toString(epochsDone));
        meta.put("train.step", Long.toString(step));
        meta.put("train.learning_rate", Float.toString(learningRate));
        meta.put("train.best_val_top1", Double.toString(bestValTop1));
        meta.put("train.bad_epochs", Integer.toString(badEpochs));
        meta.put("train.reductions", Integer.toString(reductions));
        meta.put("train.seed", Long.toString(seed));
        Files.createDirectories(dir);
        SafeTensors.write(dir.resolve(WEIGHTS), tensors, meta);
        String json = String.format(java.util.Locale.ROOT,
                "{\"epochs_done\": %d, \"step\": %d, \"learning_rate\": %s, \"best_val_top1\": %s, \"bad_epochs\": %d, \"reductions\": %d, \"seed\": %d}%n",
                epochsDone, step, Float.toString(learningRate), Double.toString(bestValTop1), badEpochs, reductions, seed);
        AtomicFile.writeString(dir.resolve(STATE), json);
    }

    /**
     * The metadata that lets a network be used on image files without knowing what it was trained on: its input
     * encoding ({@link InputEncoding#METADATA_KEY}) and its classes' names ({@link Labels#METADATA_KEY}) where the
     * data set has them.
     */
    public static Map<String, String> dataMetadata(Dataset data) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(InputEncoding.METADATA_KEY, data.encoding().key());
        Labels.toMetadata(data.classNames()).ifPresent(names -> meta.put(Labels.METADATA_KEY, names));
        return meta;
    }

    /** The weights file {@code path} names: the path itself, or a train --run folder's {@value #WEIGHTS}. */
    public static Path weightsFile(Path path) throws IOException {
        if (!Files.isDirectory(path)) return path;
        Path file = path.resolve(WEIGHTS);
        if (!Files.isRegularFile(file)) {
            throw new java.nio.file.NoSuchFileException(file.toString(), null,
                    path + " is a folder without a training checkpoint: give a weights file (.safetensors) or a train --run folder");
        }
        return file;
    }

    /**
     * The network in a weights file, in a training checkpoint, or in a train --run folder (its checkpoint), checked as
     * {@link AlexNet#read} checks a weights file; a checkpoint's velocities are passed over, not read.
     */
    public static AlexNet.Saved readWeights(Path path, AlexNetConfig fallback) throws IOException {
        Path file = weightsFile(path);
        boolean checkpoint = SafeTensors.readHeader(file).metadata().containsKey("train.step");
        return AlexNet.read(file, fallback, name -> checkpoint && name.startsWith(VELOCITY));
    }

    /**
     * What a checkpoint file holds: the state, the configuration, weights and velocities, and the names of the classes
     * it was trained on (empty where it does not say).
     */
    public record Loaded(Checkpoint state, AlexNetConfig config, Map<String, HostTensor> weights, Map<String, HostTensor> velocities,
                         java.util.List<String> classNames) {}

    public static Loaded load(Path dir) throws IOException {
        Path file = dir.resolve(WEIGHTS);
        if (!Files.isRegularFile(file)) {
            throw new java.nio.file.NoSuchFileException(file.toString(), null, "no checkpoint to resume from in " + dir);
        }
        SafeTensorsFile f = SafeTensors.read(file);
        Map<String, String> m = f.metadata();
        if (!m.containsKey("train.step")) throw new IOException(file + " is a weights file, not a training checkpoint (no train.* metadata)");
        AlexNetConfig config = AlexNetConfig.fromMetadata(m, null);
        if (config == null) throw new IOException(file + " has no alexnet.* metadata: not a checkpoint of this engine");
        Map<String, HostTensor> weights = new LinkedHashMap<>(), velocities = new LinkedHashMap<>();
        f.tensors().forEach((name, t) -> {
            if (name.startsWith(VELOCITY)) velocities.put(name.substring(VELOCITY.length()), t);
            else weights.put(name, t);
        });
        try {
            Checkpoint state = new Checkpoint(Integer.parseInt(m.get("train.epochs_done")), Long.parseLong(m.get("train.step")),
                    Float.parseFloat(m.get("train.learning_rate")), Double.parseDouble(m.get("train.best_val_top1")),
                    Integer.parseInt(m.get("train.bad_epochs")), Integer.parseInt(m.get("train.reductions")), Long.parseLong(m.get("train.seed")));
            return new Loaded(state, config, weights, velocities, Labels.fromMetadata(m).names());
        } catch (RuntimeException e) {
            throw new IOException(file + ": malformed train.* metadata (" + e.getMessage() + ")", e);
        }
    }
}
