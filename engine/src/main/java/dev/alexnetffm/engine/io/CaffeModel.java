package dev.alexnetffm.engine.io;

import dev.alexnetffm.engine.backend.ConvSpec;
import dev.alexnetffm.engine.backend.LrnSpec;
import dev.alexnetffm.engine.backend.PoolSpec;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A network trained by Caffe (a {@code .caffemodel} file: a {@code NetParameter} protocol buffer, such as the BVLC
 * reference AlexNet trained on ImageNet) as this engine's network: its layers read without Caffe or a protobuf
 * library, then checked against the paper's architecture and turned into an {@link AlexNetConfig} and weights.
 *
 * <p>Both of Caffe's layer formats are read ({@code layer}, field 100, and the older {@code layers}, field 2), and
 * both blob shapes ({@code shape}, and the legacy num/channels/height/width, whose leading 1s are dropped: an inner
 * product's (1, 1, out, in) is (out, in)). The five convolutions and three inner products, in file order, become
 * conv1-conv5 and fc6-fc8 (whatever their names); their strides, padding and groups, the pooling windows and the
 * order of normalisation and pooling must be the paper's, and Caffe's LRN (alpha divided by the window size, the
 * window across all channels) becomes {@link LrnSpec#pytorch}. The input size is the one whose pool5 feeds fc6.
 * Anything else (CaffeNet's pooling before normalisation, other strides, missing layers, a truncated file) is an
 * error naming the layer.
 */
public final class CaffeModel {
    private CaffeModel() {}

    /** A layer as stored: the settings this import checks, and its parameter blobs. */
    record Layer(String name, String type, List<Blob> blobs, Conv conv, Pool pool, Lrn lrn) {}

    record Blob(long[] shape, float[] data) {}

    record Conv(int kernel, int stride, int pad, int group) {}

    record Pool(int method, int kernel, int stride, int pad) {}

    record Lrn(int size, float alpha, float beta, float k, int region) {}

    /** The settings Caffe assumes where a layer gives none. */
    private static final Conv DEFAULT_CONV = new Conv(0, 1, 0, 1);
    private static final Lrn DEFAULT_LRN = new Lrn(5, 1, 0.75f, 1, 0);

    /** V1LayerParameter's layer types, by their enum numbers, as the newer format names them. */
    private static final Map<Integer, String> V1_TYPES = Map.of(4, "Convolution", 14, "InnerProduct", 15, "LRN", 17, "Pooling",
            18, "ReLU", 6, "Dropout", 20, "Softmax", 23, "TanH", 5, "Data", 21, "SoftmaxWithLoss");

    /**
     * Reads {@code file} and returns the network it holds as the paper's AlexNet: its configuration and weights
     * under this engine's names. The input size is the smallest that fits fc6 (227 for the paper's network).
     */
    public static AlexNet.Saved read(Path file) throws IOException {
        return read(file, 0);
    }

    /**
     * {@link #read(Path)} for a network of {@code inputSize} x {@code inputSize} inputs (the weights fit several sizes;
     * a deploy prototxt gives the one it was trained at), or 0 for the smallest that fits.
     */
    public static AlexNet.Saved read(Path file, int inputSize) throws IOException {
        return toAlexNet(file, layers(file), inputSize);
    }

    /** Every layer of the file, in order. */
    static List<Layer> layers(Path file) throws IOException {
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment bytes = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            Wire net = new Wire(bytes, 0, bytes.byteSize(), file);
            List<Layer> layers = new ArrayList<>();
            while (net.more()) {
                int tag = net.tag();
                int field = tag >>> 3;
                if (field == 100 && (tag & 7) == 2) layers.add(layer(net.message(), false));
                else if (field == 2 && (tag & 7) == 2) layers.add(layer(net.message(), true));
                else net.skip(tag);
            }
            if (layers.isEmpty()) {
                throw new IOException(file + " holds no Caffe layers: is it a .caffemodel (a binary NetParameter)?");
            }
            return layers;
        }
    }

    private static Layer layer(Wire m, boolean v1) throws IOException {
        String name = null, type = null;
        List<Blob> blobs = new ArrayList<>();
        Conv conv = null;
        Pool pool = null;
        Lrn lrn = null;
        // field numbers: LayerParameter (v2) / V1LayerParameter (v1)
        int nameField = v1 ? 4 : 1, typeField = v1 ? 5 : 2, blobsField = v1 ? 6 : 7;
        int convField = v1 ? 10 : 106, poolField = v1 ? 19 : 121, lrnField = v1 ? 18 : 118;
        while (m.more()) {
            int tag = m.tag(), field = tag >>> 3;
            if (field == nameField && (tag & 7) == 2) name = m.string();
            else if (field == typeField && v1 && (tag & 7) == 0) {
                int t = (int) m.varint();
                type = V1_TYPES.getOrDefault(t, "V1 type " + t);
            } else if (field == typeField && !v1 && (tag & 7) == 2) type = m.string();
            else if (field == blobsField && (tag & 7) == 2) blobs.add(blob(m.message()));
            else if (field == convField && (tag & 7) == 2) conv = conv(m.message());
            else if (field == poolField && (tag & 7) == 2) pool = pool(m.message());
            else if (field == lrnField && (tag & 7) == 2) lrn = lrn(m.message());
            else if (v1 && field == 1 && (tag & 7) == 2) {
                throw new IOException(m.file + ": a layer in Caffe's first (V0) format: upgrade the file with Caffe's upgrade_net_proto_binary");
            } else m.skip(tag);
        }
        return new Layer(name == null ? "(unnamed)" : name, type == null ? "(no type)" : type, blobs, conv, pool, lrn);
    }

    private static Blob blob(Wire m) throws IOException {
        long[] legacy = {0, 0, 0, 0};  // num, channels, height, width
        long[] shape = null;
        Floats data = new Floats(), doubles = new Floats();
        while (m.more()) {
            int tag = m.tag(), field = tag >>> 3;
            switch (field) {
                case 1, 2, 3, 4 -> legacy[field - 1] = m.varint();
                case 5 -> m.floats(tag, data);
                case 7 -> shape = shape(m.message());
                case 8 -> m.doubles(tag, doubles);
                default -> m.skip(tag);
            }
        }
        if (shape == null) shape = legacy;
        return new Blob(shape, data.size > 0 ? data.toArray() : doubles.toArray());
    }

    private static long[] shape(Wire m) throws IOException {
        List<Long> dims = new ArrayList<>();
        while (m.more()) {
            int tag = m.tag();
            if (tag >>> 3 != 1) {
                m.skip(tag);
            } else if ((tag & 7) == 2) {
                Wire packed = m.message();
                while (packed.more()) dims.add(packed.varint());
            } else {
                dims.add(m.varint());
            }
        }
        return dims.stream().mapToLong(Long::longValue).toArray();
    }

    private static Conv conv(Wire m) throws IOException {
        int kernel = DEFAULT_CONV.kernel(), stride = DEFAULT_CONV.stride(), pad = DEFAULT_CONV.pad(), group = DEFAULT_CONV.group(),
                kernelH = 0, kernelW = 0, strideH = 0, strideW = 0, padH = -1, padW = -1;
        while (m.more()) {
            int tag = m.tag(), field = tag >>> 3;
            switch (field) {
                case 3 -> pad = m.uintRepeatedOnce(tag, "pad");
                case 4 -> kernel = m.uintRepeatedOnce(tag, "kernel_size");
                case 5 -> group = (int) m.varint();
                case 6 -> stride = m.uintRepeatedOnce(tag, "stride");
                case 9 -> padH = (int) m.varint();
                case 10 -> padW = (int) m.varint();
                case 11 -> kernelH = (int) m.varint();
                case 12 -> kernelW = (int) m.varint();
                case 13 -> strideH = (int) m.varint();
                case 14 -> strideW = (int) m.varint();
                default -> m.skip(tag);
            }
        }
        if (kernelH != kernelW || strideH != strideW || padH != padW) {
            throw new IOException(m.file + ": a convolution with different heights and widths (kernel " + kernelH + "x" + kernelW
                    + ", stride " + strideH + "x" + strideW + ", pad " + padH + "x" + padW + "): AlexNet's are square");
        }
        return new Conv(kernelH > 0 ? kernelH : kernel, strideH > 0 ? strideH : stride, padH >= 0 ? padH : pad, group);
    }

    private static Pool pool(Wire m) throws IOException {
        int method = 0, kernel = 0, stride = 1, pad = 0;
        while (m.more()) {
            int tag = m.tag(), field = tag >>> 3;
            switch (field) {
                case 1 -> method = (int) m.varint();
                case 2 -> kernel = (int) m.varint();
                case 3 -> stride = (int) m.varint();
                case 4 -> pad = (int) m.varint();
                default -> m.skip(tag);
            }
        }
        return new Pool(method, kernel, stride, pad);
    }

    private static Lrn lrn(Wire m) throws IOException {
        int size = DEFAULT_LRN.size(), region = DEFAULT_LRN.region();
        float alpha = DEFAULT_LRN.alpha(), beta = DEFAULT_LRN.beta(), k = DEFAULT_LRN.k();
        while (m.more()) {
            int tag = m.tag(), field = tag >>> 3;
            switch (field) {
                case 1 -> size = (int) m.varint();
                case 2 -> alpha = m.float32(tag);
                case 3 -> beta = m.float32(tag);
                case 4 -> region = (int) m.varint();
                case 5 -> k = m.float32(tag);
                default -> m.skip(tag);
            }
        }
        return new Lrn(size, alpha, beta, k, region);
    }

    // ---------------------------------------------------------------- the layers as AlexNet

    /** The architecture's layer types in order, ReLU, dropout and the like left out ("LRN" where it may be absent). */
    private static final List<String> ORDER = List.of("Convolution", "LRN", "Pooling", "Convolution", "LRN", "Pooling", "Convolution",
            "Convolution", "Convolution", "Pooling", "InnerProduct", "InnerProduct", "InnerProduct");

    static AlexNet.Saved toAlexNet(Path file, List<Layer> layers, int size) throws IOException {
        List<Layer> shaped = layers.stream().filter(l -> ORDER.contains(l.type())).toList();
        List<String> types = shaped.stream().map(Layer::type).toList();
        boolean lrn = types.contains("LRN");
        List<String> expected = lrn ? ORDER : ORDER.stream().filter(t -> !t.equals("LRN")).toList();
        if (!types.equals(expected)) {
            throw new IOException(file + " is not the paper's AlexNet: its layers run "
                    + shaped.stream().map(l -> l.name() + " (" + l.type() + ")").collect(Collectors.joining(", "))
                    + "; AlexNet's run " + String.join(", ", expected)
                    + (types.indexOf("Pooling") < types.indexOf("LRN") ? " (normalisation before pooling: CaffeNet pools first)" : ""));
        }
        List<Layer> convs = shaped.stream().filter(l -> l.type().equals("Convolution")).toList();
        List<Layer> fcs = shaped.stream().filter(l -> l.type().equals("InnerProduct")).toList();
        List<Layer> pools = shaped.stream().filter(l -> l.type().equals("Pooling")).toList();
        List<Layer> norms = shaped.stream().filter(l -> l.type().equals("LRN")).toList();

        ConvSpec[] specs = {AlexNet.CONV1, AlexNet.CONV2, AlexNet.CONV3, AlexNet.CONV45, AlexNet.CONV45};
        Map<String, HostTensor> weights = new LinkedHashMap<>();
        for (int i = 0; i < 5; i++) {
            Layer l = convs.get(i);
            String ours = "conv" + (i + 1);
            ConvSpec spec = specs[i];
            Conv c = l.conv() == null ? DEFAULT_CONV : l.conv();
            if (c.stride() != spec.stride() || c.pad() != spec.pad() || c.group() != spec.groups()) {
                throw new IOException(file + ": layer " + l.name() + " (AlexNet's " + ours + ") has stride " + c.stride() + ", pad " + c.pad()
                        + ", group " + c.group() + "; the paper's " + ours + " has stride " + spec.stride() + ", pad " + spec.pad()
                        + ", group " + spec.groups());
            }
            put(file, weights, l, ours, 4);
        }
        for (int i = 0; i < 3; i++) put(file, weights, fcs.get(i), "fc" + (i + 6), 2);

        Pool p = pools.getFirst().pool();
        if (p == null) throw new IOException(file + ": layer " + pools.getFirst().name() + " has no pooling settings");
        for (Layer l : pools) {
            Pool q = l.pool();
            if (q == null || q.method() != 0 || q.pad() != 0 || q.kernel() != p.kernel() || q.stride() != p.stride()) {
                throw new IOException(file + ": layer " + l.name() + " is not max pooling without padding like the first ("
                        + p.kernel() + "x" + p.kernel() + " stride " + p.stride() + "): " + q);
            }
        }
        LrnSpec lrnSpec = null;
        if (lrn) {
            Lrn n = norms.getFirst().lrn() == null ? DEFAULT_LRN : norms.getFirst().lrn();
            for (Layer l : norms) {
                Lrn m = l.lrn() == null ? DEFAULT_LRN : l.lrn();
                if (!m.equals(n)) throw new IOException(file + ": the two normalisation layers differ: " + n + " and " + m);
            }
            if (n.region() != 0) throw new IOException(file + ": layer " + norms.getFirst().name() + " normalises within channels; AlexNet's LRN runs across them");
            if (n.size() % 2 == 0) {
                throw new IOException(file + ": an LRN window of even size " + n.size() + " (Caffe centres it differently from this engine; odd sizes agree)");
            }
            lrnSpec = LrnSpec.pytorch(n.size(), n.alpha(), n.beta(), n.k());  // Caffe: alpha / size, across all channels
        }

        Shape fc6 = weights.get("fc6.weight").shape(), fc7 = weights.get("fc7.weight").shape(), fc8 = weights.get("fc8.weight").shape();
        Shape conv1 = weights.get("conv1.weight").shape();
        PoolSpec poolSpec = new PoolSpec(p.kernel(), p.stride());
        int inputSize = size > 0 ? size : inputSizeFor(fc6.dim(1), poolSpec, file);
        boolean tanh = layers.stream().anyMatch(l -> l.type().equals("TanH"));
        AlexNetConfig config;
        try {
            config = AlexNetConfig.paper().withLrn(lrnSpec).withPool(poolSpec).withClasses(fc8.dim(0)).withHidden(fc7.dim(0))
                    .withInput(conv1.dim(1), inputSize).withActivation(tanh ? AlexNetConfig.Activation.TANH : AlexNetConfig.Activation.RELU);
            AlexNet.requireWeights(config, weights);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + " does not fit the paper's AlexNet: " + e.getMessage(), e);
        }
        return new AlexNet.Saved(config, weights);
    }

    /** The smallest input size whose pool5, 256 channels of P5 x P5, gives fc6's {@code fc6Inputs}, conv1's stride fitting exactly. */
    private static int inputSizeFor(int fc6Inputs, PoolSpec pool, Path file) throws IOException {
        int p5 = (int) Math.round(Math.sqrt(fc6Inputs / 256.0));
        if (256 * p5 * p5 != fc6Inputs) {
            throw new IOException(file + ": fc6 takes " + fc6Inputs + " inputs, not 256 x P x P for any P (pool5's 256 channels)");
        }
        for (int s = 11; s <= 4096; s += 4) {
            try {
                if (AlexNetConfig.Geometry.of(s, pool).pool5() == p5) return s;
            } catch (IllegalArgumentException tooSmall) {
                // not yet large enough for every layer
            }
        }
        throw new IOException(file + ": no input size gives pool5 " + p5 + "x" + p5);
    }

    /** The layer's weight and bias as {@code ours}.weight and {@code ours}.bias, shapes of rank {@code rank} and 1. */
    private static void put(Path file, Map<String, HostTensor> weights, Layer l, String ours, int rank) throws IOException {
        if (l.blobs().size() != 2) {
            throw new IOException(file + ": layer " + l.name() + " (AlexNet's " + ours + ") has " + l.blobs().size()
                    + " parameter blobs; a weight and a bias were expected");
        }
        weights.put(ours + ".weight", tensor(file, l, l.blobs().get(0), rank, "weight"));
        weights.put(ours + ".bias", tensor(file, l, l.blobs().get(1), 1, "bias"));
    }

    private static HostTensor tensor(Path file, Layer l, Blob b, int rank, String what) throws IOException {
        long[] dims = b.shape();
        int first = 0;
        while (dims.length - first > rank && dims[first] == 1) first++;  // legacy 4-D blobs: (1, 1, out, in), (1, 1, 1, n)
        long[] kept = Arrays.copyOfRange(dims, first, dims.length);
        long count = Arrays.stream(kept).reduce(1, (a, c) -> a * c);
        if (kept.length != rank || count != b.data().length || Arrays.stream(kept).anyMatch(d -> d < 1 || d > Integer.MAX_VALUE)) {
            throw new IOException(file + ": layer " + l.name() + "'s " + what + " has shape " + Arrays.toString(dims) + " and "
                    + b.data().length + " values; a " + rank + "-dimensional " + what + " was expected");
        }
        return new HostTensor(Shape.of(Arrays.stream(kept).mapToInt(d -> (int) d).toArray()), b.data());
    }

    // ---------------------------------------------------------------- the protocol buffer wire format

    /** A growable float array. */
    private static final class Floats {
        float[] values = new float[16];
        int size;

        void add(float v) {
            if (size == values.length) values = Arrays.copyOf(values, Math.max(16, 2 * size));
            values[size++] = v;
        }

        float[] toArray() {  // a packed run read whole is returned as it is (fc6's is 151 MB)
            return size == values.length ? values : Arrays.copyOf(values, size);
        }
    }

    /** One message's bytes [pos, end) of the mapped file, read field by field. */
    private static final class Wire {
        private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        final MemorySegment bytes;
        final Path file;
        long pos;
        final long end;

        Wire(MemorySegment bytes, long pos, long end, Path file) {
            this.bytes = bytes;
            this.pos = pos;
            this.end = end;
            this.file = file;
        }

        boolean more() {
            return pos < end;
        }

        private IOException broken(String what) {
            return new IOException(file + " is truncated or not a Caffe model: " + what + " at byte " + pos);
        }

        long varint() throws IOException {
            long result = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) throw broken("a number runs past the end of its message");
                byte b = bytes.get(ValueLayout.JAVA_BYTE, pos++);
                result |= (long) (b & 0x7f) << shift;
                if ((b & 0x80) == 0) return result;
            }
            throw broken("a number longer than 10 bytes");
        }

        int tag() throws IOException {
            long tag = varint();
            if (tag >>> 3 == 0 || tag > Integer.MAX_VALUE) throw broken("field number 0");
            return (int) tag;
        }

        private long length() throws IOException {
            long n = varint();
            if (n < 0 || n > end - pos) throw broken("a field of " + n + " bytes where " + (end - pos) + " are left");
            return n;
        }

        Wire message() throws IOException {
            long n = length();
            Wire w = new Wire(bytes, pos, pos + n, file);
            pos += n;
            return w;
        }

        String string() throws IOException {
            long n = length();
            byte[] b = bytes.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
            pos += n;
            return new String(b, StandardCharsets.UTF_8);
        }

        float float32(int tag) throws IOException {
            if ((tag & 7) != 5) throw broken("a float field of wire type " + (tag & 7));
            if (end - pos < 4) throw broken("a float past the end");
            float v = bytes.get(FLOAT, pos);
            pos += 4;
            return v;
        }

        /** A repeated float field, packed (one length-delimited run) or not (one value per tag). */
        void floats(int tag, Floats out) throws IOException {
            if ((tag & 7) == 5) {
                out.add(float32(tag));
                return;
            }
            if ((tag & 7) != 2) throw broken("float data of wire type " + (tag & 7));
            long n = length();
            if (n % 4 != 0) throw broken("packed floats of " + n + " bytes");
            int count = Math.toIntExact(n / 4);
            float[] run = new float[count];
            MemorySegment.copy(bytes, FLOAT, pos, run, 0, count);
            pos += n;
            if (out.size == 0) {
                out.values = run;
                out.size = count;
            } else {
                for (float v : run) out.add(v);
            }
        }

        void doubles(int tag, Floats out) throws IOException {
            if ((tag & 7) == 1) {
                if (end - pos < 8) throw broken("a double past the end");
                out.add((float) bytes.get(DOUBLE, pos));
                pos += 8;
                return;
            }
            if ((tag & 7) != 2) throw broken("double data of wire type " + (tag & 7));
            long n = length();
            if (n % 8 != 0) throw broken("packed doubles of " + n + " bytes");
            for (long at = pos; at < pos + n; at += 8) out.add((float) bytes.get(DOUBLE, at));
            pos += n;
        }

        /** A repeated uint32 that AlexNet's layers give once (pad, kernel_size, stride), packed or not. */
        int uintRepeatedOnce(int tag, String what) throws IOException {
            if ((tag & 7) == 0) return (int) varint();
            Wire packed = message();
            int v = (int) packed.varint();
            if (packed.more() && (int) packed.varint() != v) {
                throw new IOException(file + ": a convolution's " + what + " differs between height and width: AlexNet's are square");
            }
            return v;
        }

        void skip(int tag) throws IOException {
            switch (tag & 7) {
                case 0 -> varint();
                case 1 -> {
                    if (end - pos < 8) throw broken("a field past the end");
                    pos += 8;
                }
                case 2 -> {
                    long n = length();  // (not pos += length(): that adds to pos as it was before the length was read)
                    pos += n;
                }
                case 5 -> {
                    if (end - pos < 4) throw broken("a field past the end");
                    pos += 4;
                }
                default -> throw broken("wire type " + (tag & 7));
            }
        }
    }
}
