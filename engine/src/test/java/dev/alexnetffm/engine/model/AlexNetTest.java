package dev.alexnetffm.engine.model;

import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.backend.LrnSpec;
import dev.alexnetffm.engine.backend.PoolSpec;
import dev.alexnetffm.engine.io.SafeTensorsException;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The model's structure, initialisation and weights files; forward is tested in AlexNetForwardTest. */
class AlexNetTest {
    /** Small enough for CPU tests: pool5 is 1x1, fc6 has 256 inputs. */
    static final AlexNetConfig SMALL = AlexNetConfig.paper().withInput(3, 67).withClasses(10).withHidden(64);

    @Test
    void thePapersNetworkHasItsKnownSizes() {
        AlexNetConfig paper = AlexNetConfig.paper();
        assertEquals(new AlexNetConfig.Geometry(227, 55, 27, 13, 6), paper.geometry());
        assertEquals(9216, paper.geometry().fc6Inputs());
        assertEquals(60_965_224L, AlexNet.parameterCount(paper)); // the two-tower network's well-known count
        Map<String, Shape> shapes = AlexNet.parameterShapes(paper);
        assertEquals(Shape.of(256, 48, 5, 5), shapes.get("conv2.weight"));
        assertEquals(Shape.of(384, 256, 3, 3), shapes.get("conv3.weight"));
        assertEquals(Shape.of(384, 192, 3, 3), shapes.get("conv4.weight"));
        assertEquals(Shape.of(4096, 9216), shapes.get("fc6.weight"));
        assertEquals(16, shapes.size());
    }

    @Test
    void configurationsThatCannotWorkAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AlexNetConfig.paper().withInput(3, 40));
        assertTrue(e.getMessage().contains("too small"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> AlexNetConfig.paper().withClasses(0));
        assertThrows(IllegalArgumentException.class, () -> AlexNetConfig.paper().withHidden(7));
        // non-overlapping pooling (the paper's ablation) gives other sizes
        AlexNetConfig.Geometry g = AlexNetConfig.paper().withPool(new PoolSpec(2, 2)).geometry();
        assertEquals(new AlexNetConfig.Geometry(227, 55, 27, 13, 6), g);
    }

    @Test
    void initialisationIsThePapersAndReproducible() {
        Map<String, HostTensor> a = AlexNet.initialWeights(SMALL, 1), b = AlexNet.initialWeights(SMALL, 1), c = AlexNet.initialWeights(SMALL, 2);
        for (String name : a.keySet()) assertArrayEquals(a.get(name).data(), b.get(name).data(), name);
        assertFalse(java.util.Arrays.equals(a.get("conv1.weight").data(), c.get("conv1.weight").data()));
        for (String layer : new String[] {"conv2", "conv4", "conv5", "fc6", "fc7"}) {
            for (float v : a.get(layer + ".bias").data()) assertEquals(1f, v, layer);
        }
        for (String layer : new String[] {"conv1", "conv3", "fc8"}) {
            for (float v : a.get(layer + ".bias").data()) assertEquals(0f, v, layer);
        }
        float[] w = a.get("conv3.weight").data(); // 884,736 draws
        double sum = 0, sq = 0;
        for (float v : w) {
            sum += v;
            sq += v * v;
        }
        double mean = sum / w.length, std = Math.sqrt(sq / w.length - mean * mean);
        assertEquals(0, mean, 1e-4);
        assertEquals(0.01, std, 1e-4);
    }

    @Test
    void weightsThatDoNotFitAreRejectedNamingTheTensor() {
        Map<String, HostTensor> w = new LinkedHashMap<>(AlexNet.initialWeights(SMALL, 3));
        w.put("fc7.weight", HostTensor.zeros(Shape.of(64, 63)));
        w.remove("conv5.bias");
        w.put("fc9.weight", HostTensor.zeros(Shape.of(1)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AlexNet.fromWeights(new CpuBackend(), SMALL, w));
        assertTrue(e.getMessage().contains("fc7.weight has shape (64, 63), expected (64, 64)"), e.getMessage());
        assertTrue(e.getMessage().contains("conv5.bias is missing"), e.getMessage());
        assertTrue(e.getMessage().contains("fc9.weight is not a parameter"), e.getMessage());
    }

    @Test
    void weightsRoundTripThroughSafetensorsWithTheirConfiguration(@TempDir Path dir) throws IOException {
        AlexNetConfig config = SMALL.withLrn(LrnSpec.pytorch(5, 1e-4f, 0.75f, 2f));
        Path file = dir.resolve("net.safetensors");
        try (AlexNet net = AlexNet.initialize(new CpuBackend(), config, 9)) {
            net.save(file);
            try (AlexNet loaded = AlexNet.load(new CpuBackend(), file, AlexNetConfig.paper())) {
                assertEquals(config, loaded.config(), "configuration comes from the file's metadata");
                Map<String, HostTensor> before = net.weights(), after = loaded.weights();
                for (String name : before.keySet()) assertArrayEquals(before.get(name).data(), after.get(name).data(), name);
            }
        }
    }

    @Test
    void aTruncatedWeightsFileIsAClearError(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("net.safetensors");
        try (AlexNet net = AlexNet.initialize(new CpuBackend(), SMALL, 9)) {
            net.save(file);
        }
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 100));
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> AlexNet.load(new CpuBackend(), file, SMALL));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    @Test
    void metadataRoundTripsEveryOption() {
        AlexNetConfig c = SMALL.withLrn(null).withPool(new PoolSpec(2, 2)).withActivation(AlexNetConfig.Activation.TANH).withDropout(0.25f);
        assertEquals(c, AlexNetConfig.fromMetadata(c.toMetadata(), AlexNetConfig.paper()));
        assertEquals(AlexNetConfig.paper(), AlexNetConfig.fromMetadata(Map.of(), AlexNetConfig.paper()));
        Map<String, String> bad = new LinkedHashMap<>(c.toMetadata());
        bad.put("alexnet.classes", "ten");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AlexNetConfig.fromMetadata(bad, AlexNetConfig.paper()));
        assertTrue(e.getMessage().contains("metadata is malformed"), e.getMessage());
    }
}
