package dev.alexnetffm.engine.io;

import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reads and writes weights in the safetensors format, the one PyTorch users share weights in.
 *
 * <p>The format: an 8-byte little-endian unsigned header length N; N bytes of UTF-8 JSON,
 * {@code {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {"k": "v"}}},
 * possibly padded with spaces; then the data section, each tensor's elements little-endian and row-major at
 * [begin, end) relative to the section's start. The tensors tile the section: no gaps, no overlaps, no bytes left
 * over (as the reference implementation requires).
 *
 * <p>Writing: float32 only, tensors sorted by name, header padded to a multiple of 8 bytes as the reference writer
 * does, and atomic: the bytes go to a temporary file in the target's directory, are forced to disk, and the file is
 * renamed over the target. A failed write leaves the target as it was and no temporary file behind.
 *
 * <p>Reading: the header is validated completely before any tensor data is read, so a bad file never yields half a
 * model. F32, F16 and BF16 load exactly as float32; F64 is rounded to the nearest float32 (out of range becomes
 * infinity). Other dtypes are rejected naming the tensor. Every problem is a {@link SafeTensorsException} that names
 * the file and, where one is involved, the tensor.
 */
public final class SafeTensors {
    /** Headers longer than this are refused (as the reference implementation does): no real header comes close. */
    public static final long MAX_HEADER_LENGTH = 100_000_000L;

    /** The header key that holds string-to-string metadata instead of a tensor. */
    public static final String METADATA_KEY = "__metadata__";

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int WRITE_CHUNK_BYTES = 1 << 20;
    private static final int MAX_PROBLEMS_LISTED = 50;

    /** Orders names by Unicode code point, as the reference writer sorts its (UTF-8) strings. */
    private static final Comparator<String> BY_CODE_POINT = (a, b) -> {
        int i = 0, j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i), cb = b.codePointAt(j);
            if (ca != cb) return Integer.compare(ca, cb);
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Boolean.compare(i < a.length(), j < b.length());
    };

    private SafeTensors() {}

    // ---------------------------------------------------------------------------------------------------- writing

    /** {@link #write(Path, Map, Map)} without metadata. */
    public static void write(Path file, Map<String, HostTensor> tensors) throws IOException {
        write(file, tensors, Map.of());
    }

    /**
     * Writes {@code tensors} (as F32, sorted by name) and {@code metadata} to {@code file}, atomically replacing
     * whatever was there.
     *
     * @throws IllegalArgumentException if a name is {@value #METADATA_KEY} or not valid Unicode, or a tensor or
     *                                  metadata value is null; nothing is written then
     * @throws SafeTensorsException     if the file cannot be written; an existing file is left as it was
     */
    public static void write(Path file, Map<String, HostTensor> tensors, Map<String, String> metadata) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(tensors, "tensors");
        Objects.requireNonNull(metadata, "metadata");
        CharsetEncoder utf8 = StandardCharsets.UTF_8.newEncoder();
        TreeMap<String, HostTensor> sorted = new TreeMap<>(BY_CODE_POINT);
        for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
            String name = e.getKey();
            if (name == null) throw new IllegalArgumentException("cannot write " + file + ": a tensor name is null");
            if (name.equals(METADATA_KEY)) throw new IllegalArgumentException("cannot write " + file + ": \"" + METADATA_KEY + "\" is reserved for metadata, not a tensor name");
            if (!utf8.canEncode(name)) throw new IllegalArgumentException("cannot write " + file + ": tensor name '" + name + "' is not valid Unicode (lone surrogate)");
            if (e.getValue() == null) throw new IllegalArgumentException("cannot write " + file + ": tensor '" + name + "' is null");
            sorted.put(name, e.getValue());
        }
        TreeMap<String, String> meta = new TreeMap<>(BY_CODE_POINT);
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            if (e.getKey() == null || e.getValue() == null) throw new IllegalArgumentException("cannot write " + file + ": metadata entry " + e.getKey() + " = " + e.getValue() + " has a null");
            if (!utf8.canEncode(e.getKey()) || !utf8.canEncode(e.getValue())) throw new IllegalArgumentException("cannot write " + file + ": metadata entry '" + e.getKey() + "' is not valid Unicode (lone surrogate)");
            meta.put(e.getKey(), e.getValue());
        }

        byte[] header = headerBytes(sorted, meta);
        writeAtomically(file, channel -> {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            AtomicFile.writeFully(channel, length);
            AtomicFile.writeFully(channel, ByteBuffer.wrap(header));
            ByteBuffer chunk = ByteBuffer.allocate(WRITE_CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            FloatBuffer floats = chunk.asFloatBuffer();
            for (HostTensor t : sorted.values()) {
                float[] data = t.data();
                for (int off = 0; off < data.length; ) {
                    int n = Math.min(data.length - off, floats.capacity());
                    floats.clear();
                    floats.put(data, off, n);
                    chunk.clear().limit(n * Float.BYTES);
                    AtomicFile.writeFully(channel, chunk);
                    off += n;
                }
            }
        });
    }

    /** The JSON header, {@value #METADATA_KEY} first as the reference writer puts it, padded with spaces to 8k bytes. */
    private static byte[] headerBytes(Map<String, HostTensor> sorted, Map<String, String> metadata) {
        StringBuilder json = new StringBuilder("{");
        if (!metadata.isEmpty()) {
            Json.quote(json, METADATA_KEY);
            json.append(":{");
            String sep = "";
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                json.append(sep);
                Json.quote(json, e.getKey());
                json.append(':');
                Json.quote(json, e.getValue());
                sep = ",";
            }
            json.append('}');
        }
        long offset = 0;
        for (Map.Entry<String, HostTensor> e : sorted.entrySet()) {
            if (json.length() > 1) json.append(',');
            Json.quote(json, e.getKey());
            json.append(":{\"dtype\":\"F32\",\"shape\":[");
            int[] dims = e.getValue().shape().dims();
            for (int i = 0; i < dims.length; i++) json.append(i == 0 ? "" : ",").append(dims[i]);
            long end = offset + e.getValue().shape().bytes();
            json.append("],\"data_offsets\":[").append(offset).append(',').append(end).append("]}");
            offset = end;
        }
        json.append('}');
        byte[] text = json.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (text.length + 7) & ~7;
        if (padded > MAX_HEADER_LENGTH) throw new IllegalArgumentException("header of " + padded + " bytes exceeds the format's limit of " + MAX_HEADER_LENGTH);
        byte[] out = new byte[padded];
        System.arraycopy(text, 0, out, 0, text.length);
        for (int i = text.length; i < padded; i++) out[i] = ' ';
        return out;
    }

    /**
     * {@link AtomicFile#write(Path, AtomicFile.Body)}, with an I/O failure reported as a {@link SafeTensorsException}
     * naming the file.
     */
    static void writeAtomically(Path target, AtomicFile.Body body) throws IOException {
        try {
            AtomicFile.write(target, body);
        } catch (SafeTensorsException e) {
            throw e;
        } catch (IOException e) {
            throw new SafeTensorsException(target, "write failed, existing file left unchanged: " + e, e);
        }
    }

    // ---------------------------------------------------------------------------------------------------- reading

    /** Reads and validates only the header: cheap, for listing a file's tensors. */
    public static SafeTensorsHeader readHeader(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return readHeader(file, channel);
        }
    }

    /**
     * Reads every tensor as float32, in header order, with the metadata. Fails, reading no data, if any tensor has
     * a dtype other than {@link DType#LOADABLE} or dimensions a {@link Shape} cannot hold (rank 0 or a zero).
     */
    public static SafeTensorsFile read(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            SafeTensorsHeader header = readHeader(file, channel);
            List<String> problems = new ArrayList<>();
            for (TensorInfo t : header.tensors()) checkLoadable(t, problems);
            if (!problems.isEmpty()) throw new SafeTensorsException(file, problemList("cannot be loaded as float32", problems));
            return new SafeTensorsFile(header, load(file, channel, header, header.tensors()));
        }
    }

    /**
     * Reads a file that must hold exactly the tensors in {@code expected}, with those shapes and a loadable dtype,
     * as when loading a model's weights. Every mismatch (missing, unexpected, wrong shape, wrong dtype) is found
     * from the header and reported together, before any data is read. The tensors come back in {@code expected}'s
     * iteration order.
     */
    public static SafeTensorsFile readExpecting(Path file, Map<String, Shape> expected) throws IOException {
        return readExpecting(file, expected, name -> false);
    }

    /**
     * {@link #readExpecting(Path, Map)}, passing over the tensors {@code skip} accepts and {@code expected} does not
     * name (the optimizer state in a training checkpoint, when only the weights are wanted): they are neither
     * reported nor read.
     */
    public static SafeTensorsFile readExpecting(Path file, Map<String, Shape> expected, java.util.function.Predicate<String> skip)
            throws IOException {
        Objects.requireNonNull(expected, "expected");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            SafeTensorsHeader header = readHeader(file, channel);
            Map<String, TensorInfo> byName = new LinkedHashMap<>();
            for (TensorInfo t : header.tensors()) byName.put(t.name(), t);
            List<String> problems = new ArrayList<>();
            List<TensorInfo> wanted = new ArrayList<>();
            for (Map.Entry<String, Shape> e : expected.entrySet()) {
                TensorInfo t = byName.get(e.getKey());
                if (t == null) {
                    problems.add("missing tensor '" + e.getKey() + "' (expected shape " + e.getValue() + ")");
                    continue;
                }
                wanted.add(t);
                if (!t.hasShape(e.getValue())) {
                    problems.add("tensor '" + t.name() + "': expected shape " + e.getValue() + ", found " + t.dimsString() + " (" + t.dtype() + ")");
                } else {
                    checkLoadable(t, problems);
                }
            }
            for (TensorInfo t : header.tensors()) {
                if (!expected.containsKey(t.name()) && !skip.test(t.name())) problems.add("unexpected tensor '" + t.name() + "' (" + t.dtype() + " " + t.dimsString() + ")");
            }
            if (!problems.isEmpty()) throw new SafeTensorsException(file, problemList("does not hold the expected tensors", problems));
            return new SafeTensorsFile(header, load(file, channel, header, wanted));
        }
    }

    private static void checkLoadable(TensorInfo t, List<String> problems) {
        if (!t.dtype().loadable()) {
            problems.add("tensor '" + t.name() + "': dtype " + t.dtype() + " cannot be loaded as float32 (loadable: " + DType.LOADABLE + ")");
        } else if (t.dims().isEmpty() || t.dims().contains(0L)) {
            problems.add("tensor '" + t.name() + "': dims " + t.dimsString() + " (engine tensors need rank >= 1 and positive dimensions)");
        } else if (t.dims().stream().anyMatch(d -> d > Integer.MAX_VALUE) || t.elementCount() > Integer.MAX_VALUE - 8) {
            problems.add("tensor '" + t.name() + "': " + t.elementCount() + " elements, too many for one float array");
        }
    }

    private static String problemList(String what, List<String> problems) {
        StringBuilder b = new StringBuilder(what).append(" (").append(problems.size()).append(problems.size() == 1 ? " problem):" : " problems):");
        for (int i = 0; i < Math.min(problems.size(), MAX_PROBLEMS_LISTED); i++) b.append("\n  ").append(problems.get(i));
        if (problems.size() > MAX_PROBLEMS_LISTED) b.append("\n  ... and ").append(problems.size() - MAX_PROBLEMS_LISTED).append(" more");
        return b.toString();
    }

    /** Reads {@code tensors} (validated, loadable) from the data section. */
    private static Map<String, HostTensor> load(Path file, FileChannel channel, SafeTensorsHeader header, List<TensorInfo> tensors)
            throws IOException {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        // Loadable tensors have at least one element, so a non-empty list means a non-empty data section.
        if (tensors.isEmpty()) return out;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = channel.map(FileChannel.MapMode.READ_ONLY, header.dataStart(), header.dataLength(), arena);
            for (TensorInfo t : tensors) out.put(t.name(), new HostTensor(shapeOf(t), decode(data, t)));
        } catch (InternalError e) {
            // A mapped file that shrinks under us surfaces as an InternalError (SIGBUS) on access.
            throw new SafeTensorsException(file, "file changed while it was being read: " + e, e);
        }
        return out;
    }

    private static Shape shapeOf(TensorInfo t) {
        int[] dims = new int[t.dims().size()];
        for (int i = 0; i < dims.length; i++) dims[i] = Math.toIntExact(t.dims().get(i));
        return Shape.of(dims);
    }

    /** The tensor's elements as float32; one type dispatch per tensor, a plain loop per type. */
    private static float[] decode(MemorySegment data, TensorInfo t) {
        int n = Math.toIntExact(t.elementCount());
        long base = t.begin();
        float[] out = new float[n];
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(data, F32_LE, base, out, 0, n);
            case F16 -> {
                for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(data.get(I16_LE, base + 2L * i));
            }
            case BF16 -> {
                // bfloat16 is the upper half of a float32: widening is exact, NaN payloads included.
                for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((data.get(I16_LE, base + 2L * i) & 0xFFFF) << 16);
            }
            case F64 -> {
                for (int i = 0; i < n; i++) out[i] = (float) data.get(F64_LE, base + 8L * i);
            }
            default -> throw new IllegalStateException("dtype " + t.dtype() + " of '" + t.name() + "' should have been rejected");
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------------------- header

    private static SafeTensorsHeader readHeader(Path file, FileChannel channel) throws IOException {
        long fileSize = channel.size();
        if (fileSize < 8) {
            throw new SafeTensorsException(file, "truncated: the file is " + fileSize + " bytes, shorter than the 8-byte header length that starts a safetensors file");
        }
        ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(file, channel, lengthBytes, 0);
        long headerLength = lengthBytes.getLong(0);
        if (headerLength < 0 || headerLength > MAX_HEADER_LENGTH) {
            throw new SafeTensorsException(file, "header length " + Long.toUnsignedString(headerLength) + " bytes is absurd (the limit is "
                    + MAX_HEADER_LENGTH + "): not a safetensors file, or a corrupt one");
        }
        if (8 + headerLength > fileSize) {
            throw new SafeTensorsException(file, "truncated: the header length says " + headerLength + " bytes of JSON, but only "
                    + (fileSize - 8) + " bytes follow the length");
        }
        ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
        readFully(file, channel, headerBytes, 8);
        String text = decodeUtf8(file, headerBytes.flip());
        Object root;
        try {
            root = Json.parse(text);
        } catch (Json.SyntaxError e) {
            throw new SafeTensorsException(file, "malformed JSON header at character " + e.offset + ": " + e.problem + context(text, e.offset));
        }
        return interpret(file, root, headerLength, fileSize);
    }

    private static void readFully(Path file, FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, position + buffer.position());
            if (n < 0) throw new SafeTensorsException(file, "truncated: the file ended while reading byte " + (position + buffer.position()));
        }
    }

    private static String decodeUtf8(Path file, ByteBuffer bytes) throws SafeTensorsException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        CharBuffer chars = CharBuffer.allocate(bytes.remaining());
        CoderResult r = decoder.decode(bytes, chars, true);
        if (r.isUnderflow()) r = decoder.flush(chars);
        if (r.isError()) {
            throw new SafeTensorsException(file, "header is not valid UTF-8: bad byte 0x" + Integer.toHexString(bytes.get(bytes.position()) & 0xFF)
                    + " at header byte " + bytes.position() + " (file byte " + (8 + bytes.position()) + ")");
        }
        if (r.isOverflow()) throw new IllegalStateException("UTF-8 never decodes to more chars than bytes");
        return chars.flip().toString();
    }

    /** A short excerpt around {@code offset}, for a syntax error's message. */
    private static String context(String text, int offset) {
        int from = Math.max(0, offset - 30), to = Math.min(text.length(), offset + 30);
        StringBuilder b = new StringBuilder(" near ");
        b.append(from > 0 ? "..." : "").append('"');
        for (int i = from; i < to; i++) {
            char c = text.charAt(i);
            b.append(c < 0x20 || Character.isSurrogate(c) ? '?' : c);
        }
        return b.append('"').append(to < text.length() ? "..." : "").toString();
    }

    private static SafeTensorsHeader interpret(Path file, Object root, long headerLength, long fileSize) throws SafeTensorsException {
        if (!(root instanceof Map<?, ?> entries)) throw new SafeTensorsException(file, "the header must be a JSON object, found " + Json.typeName(root));
        List<TensorInfo> tensors = new ArrayList<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : entries.entrySet()) {
            String name = (String) e.getKey();
            if (name.equals(METADATA_KEY)) {
                if (!(e.getValue() instanceof Map<?, ?> meta)) {
                    throw new SafeTensorsException(file, "\"" + METADATA_KEY + "\" must be an object of strings, found " + Json.typeName(e.getValue()));
                }
                for (Map.Entry<?, ?> m : meta.entrySet()) {
                    if (!(m.getValue() instanceof String value)) {
                        throw new SafeTensorsException(file, "metadata value of '" + m.getKey() + "' must be a string, found " + Json.typeName(m.getValue()));
                    }
                    metadata.put((String) m.getKey(), value);
                }
            } else {
                tensors.add(tensorInfo(file, name, e.getValue()));
            }
        }
        checkLayout(file, tensors, fileSize - 8 - headerLength);
        return new SafeTensorsHeader(file, headerLength, tensors, metadata);
    }

    private static final Set<String> ENTRY_KEYS = Set.of("dtype", "shape", "data_offsets");

    private static TensorInfo tensorInfo(Path file, String name, Object value) throws SafeTensorsException {
        String where = "tensor '" + name + "': ";
        if (!(value instanceof Map<?, ?> entry)) throw new SafeTensorsException(file, where + "its entry must be an object, found " + Json.typeName(value));
        for (Object key : entry.keySet()) {
            if (!ENTRY_KEYS.contains(key)) throw new SafeTensorsException(file, where + "unexpected key '" + key + "' (an entry has dtype, shape and data_offsets)");
        }
        for (String key : List.of("dtype", "shape", "data_offsets")) {
            if (!entry.containsKey(key)) throw new SafeTensorsException(file, where + "missing '" + key + "'");
        }
        if (!(entry.get("dtype") instanceof String dtypeName)) throw new SafeTensorsException(file, where + "dtype must be a string, found " + Json.typeName(entry.get("dtype")));
        DType dtype = DType.parse(dtypeName).orElseThrow(() -> new SafeTensorsException(file, where + "unknown dtype '" + dtypeName + "'"));
        List<Long> dims = nonNegativeIntegers(file, where + "shape", entry.get("shape"));
        List<Long> offsets = nonNegativeIntegers(file, where + "data_offsets", entry.get("data_offsets"));
        if (offsets.size() != 2) throw new SafeTensorsException(file, where + "data_offsets must be [begin, end], found " + offsets);
        long begin = offsets.get(0), end = offsets.get(1);
        if (end < begin) throw new SafeTensorsException(file, where + "data_offsets " + offsets + " end before they begin");
        long bytes;
        try {
            long n = 1;
            for (long d : dims) n = Math.multiplyExact(n, d);
            bytes = Math.multiplyExact(n, dtype.bytes());
        } catch (ArithmeticException overflow) {
            throw new SafeTensorsException(file, where + "shape " + dims + " of " + dtype + " has more bytes than fit in 64 bits");
        }
        if (end - begin != bytes) {
            throw new SafeTensorsException(file, where + "data_offsets " + offsets + " span " + (end - begin) + " bytes, but shape " + dims
                    + " of " + dtype + " (" + dtype.bytes() + " bytes each) needs " + bytes);
        }
        return new TensorInfo(name, dtype, dims, begin, end);
    }

    private static List<Long> nonNegativeIntegers(Path file, String what, Object value) throws SafeTensorsException {
        if (!(value instanceof List<?> list)) throw new SafeTensorsException(file, what + " must be an array, found " + Json.typeName(value));
        List<Long> out = new ArrayList<>(list.size());
        for (Object o : list) {
            if (!(o instanceof Long n) || n < 0) throw new SafeTensorsException(file, what + " must hold non-negative integers, found " + (o instanceof Long ? o : Json.typeName(o)));
            out.add(n);
        }
        return out;
    }

    /** Tensors must tile [0, dataLength) exactly, and the file must hold all of it and nothing more. */
    private static void checkLayout(Path file, List<TensorInfo> tensors, long available) throws SafeTensorsException {
        TensorInfo last = tensors.stream().max(Comparator.comparingLong(TensorInfo::end)).orElse(null);
        long dataLength = last == null ? 0 : last.end();
        if (dataLength > available) {
            throw new SafeTensorsException(file, "truncated: tensor '" + last.name() + "' ends at data byte " + dataLength
                    + ", but the data section after the header has only " + available + " bytes");
        }
        List<TensorInfo> byOffset = new ArrayList<>(tensors);
        byOffset.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long cursor = 0;
        TensorInfo previous = null;
        for (TensorInfo t : byOffset) {
            if (t.begin() > cursor) {
                throw new SafeTensorsException(file, "data bytes [" + cursor + ", " + t.begin() + ") belong to no tensor: a gap before tensor '" + t.name()
                        + "' at data_offsets [" + t.begin() + ", " + t.end() + "]");
            }
            if (t.begin() < cursor) {
                throw new SafeTensorsException(file, "tensor '" + t.name() + "' at data_offsets [" + t.begin() + ", " + t.end() + "] overlaps tensor '"
                        + previous.name() + "' at [" + previous.begin() + ", " + previous.end() + "]");
            }
            cursor = t.end();
            previous = t;
        }
        if (available > dataLength) {
            throw new SafeTensorsException(file, (available - dataLength) + " bytes after the last tensor's data belong to no tensor (the data section is "
                    + available + " bytes, the tensors cover " + dataLength + ")");
        }
    }
}
