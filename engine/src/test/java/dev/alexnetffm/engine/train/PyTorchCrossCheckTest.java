package dev.alexnetffm.engine.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.alexnetffm.cuda.CudaDriver;
import dev.alexnetffm.engine.backend.Backend;
import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.backend.LrnSpec;
import dev.alexnetffm.engine.backend.PoolSpec;
import dev.alexnetffm.engine.backend.cuda.CudaBackend;
import dev.alexnetffm.engine.io.SafeTensors;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One training step of the paper's network (dropout off), and of its ablations (tanh, no LRN, 2x2 pooling), against
 * PyTorch's, recomputed independently in float64 (with our ReLU masks and pooling choices: see cross_check.py) by
 * {@code benchmarks/pytorch/cross_check.py}: logits, loss, every gradient and every parameter's SGD update within
 * 1e-4 relative L2. Our CPU reference is checked op by op against float64 re-implementations of our own
 * (GradientCheckTest); this checks the whole network, LRN and pooling conventions, loss and update rule included,
 * against code we did not write. Skipped where no Python with PyTorch is found ({@code ALEXNET_PYTHON}, else
 * {@code python3}, else {@code /usr/bin/python3}); the GPU case also where there is no GPU.
 */
class PyTorchCrossCheckTest {
    static final AlexNetConfig PAPER = AlexNetConfig.paper().withClasses(10).withDropout(0f);
    /** The paper's ablations at once: tanh for ReLU, no LRN, non-overlapping 2x2 pooling (the same output sizes). */
    static final AlexNetConfig ABLATED = PAPER.withActivation(AlexNetConfig.Activation.TANH).withLrn(null).withPool(new PoolSpec(2, 2));
    static final int BATCH = 2;

    @TempDir
    Path dir;

    static Stream<Named<AlexNetConfig>> networks() {
        return Stream.of(Named.of("the paper's network", PAPER), Named.of("tanh, no LRN, 2x2 pooling", ABLATED));
    }

    @ParameterizedTest
    @MethodSource("networks")
    void cpuTrainingStepMatchesPyTorch(AlexNetConfig net) throws Exception {
        check(new CpuBackend(), net);
    }

    @ParameterizedTest
    @MethodSource("networks")
    @Tag("gpu")
    void gpuTrainingStepMatchesPyTorch(AlexNetConfig net) throws Exception {
        assumeTrue(CudaDriver.isAvailable(), () -> "no usable CUDA driver/GPU: " + CudaDriver.unavailableReason().orElse(""));
        check(new CudaBackend(0), net);
    }

    private void check(Backend backend, AlexNetConfig net) throws Exception {
        Optional<String> python = pythonWithTorch();
        Path script = script();
        assumeTrue(python.isPresent(), "no Python with PyTorch (set ALEXNET_PYTHON)");
        assumeTrue(script != null, "benchmarks/pytorch/cross_check.py not found above " + Path.of("").toAbsolutePath());
        Path caseFile = dir.resolve("case.safetensors");
        if (net.lrn() != null && !net.lrn().equals(LrnSpec.paper())) throw new IllegalArgumentException("cross_check.py knows the paper's LRN only");
        String backendName = backend.name();
        SafeTensors.write(caseFile, trainingStep(backend, net), Map.of("lr", Float.toString(Sgd.paper().learningRate()),
                "momentum", Float.toString(Sgd.paper().momentum()), "weight_decay", Float.toString(Sgd.paper().weightDecay()),
                "backend", backendName, "activation", net.activation().name().toLowerCase(Locale.ROOT),
                "lrn", net.lrn() == null ? "none" : "paper", "pool", net.pool().window() + "," + net.pool().stride()));
        Path log = dir.resolve("cross_check.log");
        Process p = new ProcessBuilder(python.get(), script.toString(), caseFile.toString()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(5, TimeUnit.MINUTES);
        if (!done) p.destroyForcibly();
        String out = Files.readString(log, StandardCharsets.UTF_8) + (done ? "" : "\n(stopped after 5 minutes)");
        System.out.print(out);
        assertEquals(0, done ? p.exitValue() : -1, "cross_check.py against " + backendName + ":\n" + out);
    }

    /** The case cross_check.py reads: the weights, a batch, and our step's logits, loss, gradients and updated weights. */
    static Map<String, HostTensor> trainingStep(Backend b, AlexNetConfig config) {
        Map<String, HostTensor> weights = AlexNet.initialWeights(config, 11, AlexNet.Init.KAIMING);
        Random random = new Random(12);
        float[] images = new float[BATCH * 3 * 227 * 227];
        for (int i = 0; i < images.length; i++) images[i] = (float) random.nextGaussian();
        int[] labels = {3, 8};
        Map<String, HostTensor> out = new LinkedHashMap<>(weights);
        out.put("input", new HostTensor(Shape.of(BATCH, 3, 227, 227), images));
        out.put("labels", new HostTensor(Shape.of(BATCH), new float[] {labels[0], labels[1]}));
        try (b; AlexNet net = AlexNet.fromWeights(b, config, weights); TrainingStep step = new TrainingStep(net, 5);
             Tensor x = b.fromArray(net.inputShape(BATCH), images)) {
            float loss = step.step(x, labels, Sgd.paper(), 0);
            out.put("ours.logits", new HostTensor(Shape.of(BATCH, config.classes()), step.lastLogits()));
            out.put("ours.loss", new HostTensor(Shape.of(1), new float[] {loss}));
            step.lastActivations().forEach((name, a) -> out.put("ours.act." + name, a));  // for the ReLU and pooling decisions
            HostTensor.copiesOf(step.gradients()).forEach((name, g) -> out.put("ours.grad." + name, g));
            net.weights().forEach((name, w) -> out.put("ours.after." + name, w));
        }
        return out;
    }

    private static Optional<String> pythonWithTorch() {
        String given = System.getenv("ALEXNET_PYTHON");
        for (String candidate : given != null ? List.of(given) : List.of("python3", "/usr/bin/python3")) {
            try {
                Process p = new ProcessBuilder(candidate, "-c", "import torch").redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                if (p.waitFor(2, TimeUnit.MINUTES) && p.exitValue() == 0) return Optional.of(candidate);
                p.destroyForcibly();
            } catch (IOException e) {
                // not there: try the next one
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.empty();
            }
        }
        return Optional.empty();
    }

    /** The script, looked for from the working directory upwards (Maven runs tests in engine/, the GPU bundle in the root). */
    private static Path script() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path s = d.resolve("benchmarks/pytorch/cross_check.py");
            if (Files.isRegularFile(s)) return s;
        }
        return null;
    }
}
