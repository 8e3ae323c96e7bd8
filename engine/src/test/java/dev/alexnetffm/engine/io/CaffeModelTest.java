package dev.alexnetffm.engine.io;

import dev.alexnetffm.engine.backend.LrnSpec;
import dev.alexnetffm.engine.backend.PoolSpec;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.HostTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Caffe models written here field by field as caffe.proto numbers them (NetParameter, LayerParameter and the older
 * V1LayerParameter, BlobProto with its shape or its legacy four dimensions), read back as the paper's AlexNet.
 */
public class CaffeModelTest {
    /** A small AlexNet (67x67 inputs, 16 hidden units, 4 classes) with Caffe's LRN (k = 1, alpha / size, across all channels). */
    public static final AlexNetConfig CAFFE_SMALL = AlexNetConfig.paper().withInput(3, 67).withHidden(16).withClasses(4)
            .withLrn(LrnSpec.pytorch(5, 1e-4f, 0.75f, 1f));

    /** The protocol buffer wire format, enough to write what a .caffemodel holds. */
    public static final class Proto {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Proto varint(long v) {
            while ((v & ~0x7fL) != 0) {
                out.write((int) ((v & 0x7f) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
            return this;
        }

        Proto tag(int field, int wire) {
            return varint((long) field << 3 | wire);
        }

        Proto uint(int field, long v) {
            return tag(field, 0).varint(v);
        }

        Proto bytes(int field, byte[] b) {
            tag(field, 2).varint(b.length);
            out.writeBytes(b);
            return this;
        }

        Proto string(int field, String s) {
            return bytes(field, s.getBytes(StandardCharsets.UTF_8));
        }

        Proto message(int field, Proto m) {
            return bytes(field, m.out.toByteArray());
        }

        Proto float32(int field, float v) {
            tag(field, 5);
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v).array());
            return this;
        }

        Proto packedFloats(int field, float[] v) {
            ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
            for (float f : v) b.putFloat(f);
            return bytes(field, b.array());
        }

        byte[] toByteArray() {
            return out.toByteArray();
        }
    }

    /** How a test model is written. */
    public record Style(boolean v1, boolean legacyDims, boolean caffeNetOrder) {}

    static Proto blob(HostTensor t, boolean legacy, int rank) {
        Proto b = new Proto();
        int[] dims = t.shape().dims();
        if (legacy) {  // num, channels, height, width: (1, 1, out, in) and (1, 1, 1, n) as old Caffe wrote them
            int[] four = new int[4];
            Arrays.fill(four, 1);
            System.arraycopy(dims, 0, four, 4 - dims.length, dims.length);
            for (int i = 0; i < 4; i++) b.uint(i + 1, four[i]);
        } else {
            Proto shape = new Proto();
            for (int d : dims) shape.uint(1, d);  // unpacked: either is legal
            b.message(7, shape);
        }
        return b.packedFloats(5, t.data());
    }

    /** A layer: name, type (v2: its name; v1: its enum number), blobs, settings. */
    static Proto layer(Style s, String name, String type, int v1Type, List<HostTensor> blobs, int settingsField, Proto settings) {
        Proto l = new Proto();
        if (s.v1()) l.string(4, name).uint(5, v1Type);
        else l.string(1, name).string(2, type);
        for (int i = 0; i < blobs.size(); i++) l.message(s.v1() ? 6 : 7, blob(blobs.get(i), s.legacyDims(), i == 0 ? 4 : 1));
        if (settings != null) l.message(settingsField, settings);
        return l;
    }

    static Proto conv(int kernel, int stride, int pad, int group) {
        Proto c = new Proto().uint(1, 0).uint(4, kernel).uint(6, stride).uint(5, group);
        if (pad != 0) c.uint(3, pad);
        return c;
    }

    /** The network of {@code weights} as a .caffemodel: data layer, conv1, relu1, norm1, pool1, ..., fc8, loss. */
    public static byte[] caffeModel(AlexNetConfig config, Map<String, HostTensor> w, Style s) {
        Proto net = new Proto().string(1, "AlexNet");
        int layerField = s.v1() ? 2 : 100;
        int convF = s.v1() ? 10 : 106, poolF = s.v1() ? 19 : 121, lrnF = s.v1() ? 18 : 118;
        Proto pool = new Proto().uint(1, 0).uint(2, config.pool().window()).uint(3, config.pool().stride());
        LrnSpec n = config.lrn();
        Proto lrn = n == null ? null : new Proto().uint(1, n.size()).float32(2, n.alpha()).float32(3, n.beta()).float32(5, n.k());
        List<Proto> layers = new java.util.ArrayList<>();
        layers.add(layer(s, "data", "Input", 5, List.of(), 0, null));
        int[][] specs = {{11, 4, 0, 1}, {5, 1, 2, 2}, {3, 1, 1, 1}, {3, 1, 1, 2}, {3, 1, 1, 2}};
        for (int i = 1; i <= 5; i++) {
            int[] sp = specs[i - 1];
            layers.add(layer(s, "conv" + i, "Convolution", 4, List.of(w.get("conv" + i + ".weight"), w.get("conv" + i + ".bias")), convF,
                    conv(sp[0], sp[1], sp[2], sp[3])));
            layers.add(layer(s, "relu" + i, "ReLU", 18, List.of(), 0, null));
            if (i <= 2) {
                Proto normLayer = lrn == null ? null : layer(s, "norm" + i, "LRN", 15, List.of(), lrnF, lrn);
                Proto poolLayer = layer(s, "pool" + i, "Pooling", 17, List.of(), poolF, pool);
                if (normLayer != null && !s.caffeNetOrder()) layers.add(normLayer);
                layers.add(poolLayer);
                if (normLayer != null && s.caffeNetOrder()) layers.add(normLayer);
            }
        }
        layers.add(layer(s, "pool5", "Pooling", 17, List.of(), poolF, pool));
        for (int i = 6; i <= 8; i++) {
            layers.add(layer(s, i == 8 ? "fc8-renamed" : "fc" + i, "InnerProduct", 14, List.of(w.get("fc" + i + ".weight"), w.get("fc" + i + ".bias")),
                    s.v1() ? 17 : 117, new Proto().uint(1, w.get("fc" + i + ".bias").shape().dim(0))));
            if (i < 8) {
                layers.add(layer(s, "relu" + i, "ReLU", 18, List.of(), 0, null));
                layers.add(layer(s, "drop" + i, "Dropout", 6, List.of(), 0, null));
            }
        }
        layers.add(layer(s, "loss", "SoftmaxWithLoss", 21, List.of(), 0, null));
        for (Proto l : layers) net.message(layerField, l);
        return net.toByteArray();
    }

    private static Path write(Path dir, String name, byte[] bytes) throws IOException {
        Path file = dir.resolve(name);
        Files.write(file, bytes);
        return file;
    }

    @Test
    void bothLayerFormatsAndBothBlobShapesReadAsTheSameNetwork(@TempDir Path dir) throws Exception {
        Map<String, HostTensor> w = AlexNet.initialWeights(CAFFE_SMALL, 9, AlexNet.Init.KAIMING);
        for (Style s : List.of(new Style(false, false, false), new Style(true, true, false), new Style(false, true, false), new Style(true, false, false))) {
            AlexNet.Saved saved = CaffeModel.read(write(dir, "m.caffemodel", caffeModel(CAFFE_SMALL, w, s)));
            assertEquals(CAFFE_SMALL, saved.config(), s.toString());
            assertEquals(w.keySet(), saved.weights().keySet());
            for (var e : w.entrySet()) {
                HostTensor got = saved.weights().get(e.getKey());
                assertEquals(e.getValue().shape(), got.shape(), e.getKey());
                assertArrayEquals(e.getValue().data(), got.data(), e.getKey() + " " + s);
            }
        }
        // without LRN layers, 2x2 pooling: read as such
        AlexNetConfig plain = CAFFE_SMALL.withLrn(null).withPool(new PoolSpec(2, 2));
        Map<String, HostTensor> w2 = AlexNet.initialWeights(plain, 3);
        Path plainFile = write(dir, "plain.caffemodel", caffeModel(plain, w2, new Style(false, false, false)));
        assertEquals(plain, CaffeModel.read(plainFile, 67).config());
        // the weights alone fit every input size with a 1x1 pool5: the smallest unless told
        assertEquals(39, CaffeModel.read(plainFile).config().inputSize());
        IOException wrongSize = assertThrows(IOException.class, () -> CaffeModel.read(plainFile, 99));
        assertTrue(wrongSize.getMessage().contains("does not fit the paper's AlexNet"), wrongSize.getMessage());
    }

    @Test
    void whatIsNotThePapersAlexNetIsAnErrorNamingTheLayer(@TempDir Path dir) throws Exception {
        Map<String, HostTensor> w = AlexNet.initialWeights(CAFFE_SMALL, 9);
        IOException caffeNet = assertThrows(IOException.class,
                () -> CaffeModel.read(write(dir, "caffenet.caffemodel", caffeModel(CAFFE_SMALL, w, new Style(false, false, true)))));
        assertTrue(caffeNet.getMessage().contains("CaffeNet pools first"), caffeNet.getMessage());

        byte[] good = caffeModel(CAFFE_SMALL, w, new Style(false, false, false));
        IOException truncated = assertThrows(IOException.class,
                () -> CaffeModel.read(write(dir, "cut.caffemodel", Arrays.copyOf(good, good.length - 1000))));
        assertTrue(truncated.getMessage().contains("truncated"), truncated.getMessage());

        IOException notCaffe = assertThrows(IOException.class,
                () -> CaffeModel.read(write(dir, "text.caffemodel", "name: \"AlexNet\"\n".getBytes(StandardCharsets.UTF_8))));
        assertTrue(notCaffe.getMessage().contains("text.caffemodel is truncated or not a Caffe model"), notCaffe.getMessage());

        // a file with conv1 alone
        Proto net = new Proto();
        Style s = new Style(false, false, false);
        net.message(100, layer(s, "conv1", "Convolution", 4, List.of(w.get("conv1.weight"), w.get("conv1.bias")), 106, conv(11, 2, 0, 1)));
        IOException stride = assertThrows(IOException.class, () -> CaffeModel.toAlexNet(dir, CaffeModel.layers(write(dir, "s.caffemodel", net.toByteArray())), 0));
        assertTrue(stride.getMessage().contains("is not the paper's AlexNet"), stride.getMessage());
    }

    @Test
    void aWrongStrideOrAMissingBiasIsNamed(@TempDir Path dir) throws Exception {
        Map<String, HostTensor> w = AlexNet.initialWeights(CAFFE_SMALL, 9);
        Style s = new Style(false, false, false);
        List<CaffeModel.Layer> layers = CaffeModel.layers(write(dir, "m.caffemodel", caffeModel(CAFFE_SMALL, w, s)));
        List<CaffeModel.Layer> strided = layers.stream().map(l -> l.name().equals("conv3")
                ? new CaffeModel.Layer(l.name(), l.type(), l.blobs(), new CaffeModel.Conv(3, 2, 1, 1), null, null) : l).toList();
        IOException e = assertThrows(IOException.class, () -> CaffeModel.toAlexNet(dir, strided, 0));
        assertTrue(e.getMessage().contains("layer conv3 (AlexNet's conv3) has stride 2, pad 1, group 1"), e.getMessage());
        List<CaffeModel.Layer> noBias = layers.stream().map(l -> l.name().equals("fc7")
                ? new CaffeModel.Layer(l.name(), l.type(), l.blobs().subList(0, 1), l.conv(), l.pool(), l.lrn()) : l).toList();
        e = assertThrows(IOException.class, () -> CaffeModel.toAlexNet(dir, noBias, 0));
        assertTrue(e.getMessage().contains("layer fc7 (AlexNet's fc7) has 1 parameter blobs"), e.getMessage());
    }
}
