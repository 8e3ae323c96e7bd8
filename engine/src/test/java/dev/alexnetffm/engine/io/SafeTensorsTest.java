package dev.alexnetffm.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Shape;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SafeTensorsTest {
    @TempDir
    Path dir;

    // ------------------------------------------------------------------------------------------ round trips

    @Test
    void roundTripIsBitwise() throws IOException {
        SplittableRandom rng = new SplittableRandom(1);
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        tensors.put("fc8.bias", random(rng, Shape.of(10)));
        tensors.put("conv1.weight", random(rng, Shape.of(96, 3, 11, 11)));
        tensors.put("fc6.weight", random(rng, Shape.of(33, 17)));
        tensors.put("b", random(rng, Shape.of(2, 3, 4)));
        // Values a careless path through double or a canonicalising NaN would change.
        float[] special = tensors.get("fc8.bias").data();
        int[] bits = {0x7fc00001, 0x7f800001 /* signalling */, 0xffc12345, 0x80000000 /* -0.0 */, 0x00000001 /* MIN_VALUE */,
                0x7f800000, 0xff800000, 0x007fffff, 0x7f7fffff, 0x3f800000};
        for (int i = 0; i < bits.length; i++) special[i] = Float.intBitsToFloat(bits[i]);

        Path file = dir.resolve("weights.safetensors");
        SafeTensors.write(file, tensors);
        SafeTensorsFile read = SafeTensors.read(file);

        assertEquals(List.of("b", "conv1.weight", "fc6.weight", "fc8.bias"), List.copyOf(read.tensors().keySet()), "sorted by name");
        for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
            HostTensor got = read.tensor(e.getKey());
            assertEquals(e.getValue().shape(), got.shape(), e.getKey());
            assertArrayEquals(rawBits(e.getValue().data()), rawBits(got.data()), e.getKey());
        }
        assertTrue(read.metadata().isEmpty());
        long headerLength = ByteBuffer.wrap(Files.readAllBytes(file), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLength % 8, "header padded to 8 bytes, as the reference writer does");
        assertEquals(8 + headerLength + (10 + 96 * 3 * 11 * 11 + 33 * 17 + 24) * 4L, Files.size(file));
    }

    @Test
    void writerOutputMatchesTheFormatByteForByte() throws IOException {
        Path file = dir.resolve("small.safetensors");
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        tensors.put("w", new HostTensor(Shape.of(2), new float[] {1f, -2f}));
        tensors.put("a", new HostTensor(Shape.of(1, 1), new float[] {0.5f}));
        SafeTensors.write(file, tensors, Map.of("format", "pt"));
        String json = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[0,4]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        byte[] expected = safetensors(json + " ".repeat((8 - json.length() % 8) % 8), floats(0.5f, 1f, -2f));
        assertArrayEquals(expected, Files.readAllBytes(file));
    }

    @Test
    void metadataRoundTrips() throws IOException {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "pt");
        metadata.put("epoch", "42");
        metadata.put("quotes \" and \\ backslash", "tab\t newline\n nul\u0000 bell\u0007");
        metadata.put("unicode", "Krizhevsky–Sutskever–Hinton ✓ 😀 日本");
        metadata.put("", "");
        Path file = dir.resolve("meta.safetensors");
        SafeTensors.write(file, Map.of("x", new HostTensor(Shape.of(1), new float[] {3f})), metadata);
        SafeTensorsFile read = SafeTensors.read(file);
        assertEquals(metadata, read.metadata());
        assertArrayEquals(new float[] {3f}, read.tensor("x").data());
    }

    @Test
    void emptyFileRoundTrips() throws IOException {
        Path file = dir.resolve("empty.safetensors");
        SafeTensors.write(file, Map.of(), Map.of("note", "no tensors"));
        SafeTensorsFile read = SafeTensors.read(file);
        assertTrue(read.tensors().isEmpty());
        assertEquals(Map.of("note", "no tensors"), read.metadata());
    }

    @Test
    void writeReplacesAnExistingFile() throws IOException {
        Path file = dir.resolve("w.safetensors");
        SafeTensors.write(file, Map.of("a", new HostTensor(Shape.of(3), new float[] {1, 2, 3})));
        SafeTensors.write(file, Map.of("b", new HostTensor(Shape.of(1), new float[] {4})));
        assertEquals(List.of("b"), List.copyOf(SafeTensors.read(file).tensors().keySet()));
        assertEquals(List.of(file), listDir(dir), "no temporary files left");
    }

    // ------------------------------------------------------------------------------ files built from the spec

    @Test
    void readsAHandBuiltFile() throws IOException {
        // Keys in no particular order, __metadata__ in the middle, escapes in a name, whitespace between tokens,
        // data in a different order than the header lists it, and a header whose length is not a multiple of 4,
        // so the floats are unaligned in the file.
        String json = "{ \"z.weight\" : {\"data_offsets\":[8, 32], \"shape\":[2,3], \"dtype\":\"F32\"},\n"
                + "  \"__metadata__\": {\"who\": \"hand\\u0020built\"},\n"
                + "  \"\\u0041\\/b\": {\"shape\": [2], \"dtype\": \"F32\", \"data_offsets\": [0, 8]}\t}";
        String padded = json + "   "; // spaces after the JSON are part of the header
        assertTrue(padded.getBytes(StandardCharsets.UTF_8).length % 4 != 0);
        byte[] data = floats(-1.5f, 2.25f, /* z.weight: */ 1, 2, 3, 4, 5, 6);
        Path file = write("hand.safetensors", safetensors(padded, data));

        SafeTensorsFile read = SafeTensors.read(file);
        assertEquals(List.of("z.weight", "A/b"), List.copyOf(read.tensors().keySet()), "header order");
        assertEquals(Shape.of(2, 3), read.tensor("z.weight").shape());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, read.tensor("z.weight").data());
        assertArrayEquals(new float[] {-1.5f, 2.25f}, read.tensor("A/b").data());
        assertEquals(Map.of("who", "hand built"), read.metadata());

        SafeTensorsHeader header = SafeTensors.readHeader(file);
        assertEquals(padded.length(), header.headerLength());
        assertEquals(new TensorInfo("A/b", DType.F32, List.of(2L), 0, 8), header.tensor("A/b").orElseThrow());
    }

    @Test
    void decodesF16KnownValues() throws IOException {
        short[] f16 = {0x3C00, (short) 0xC100, 0x7BFF, 0x0001, 0x03FF, (short) 0x8000, 0x7C00, (short) 0xFC00, 0x7E00};
        float[] expected = {1f, -2.5f, 65504f, 0x1p-24f, 0x1.ff8p-15f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN};
        Path file = write("f16.safetensors", safetensors(
                "{\"h\":{\"dtype\":\"F16\",\"shape\":[" + f16.length + "],\"data_offsets\":[0," + 2 * f16.length + "]}}", shorts(f16)));
        float[] got = SafeTensors.read(file).tensor("h").data();
        assertBitsEqual(expected, got);
        assertEquals(DType.F16, SafeTensors.readHeader(file).tensors().getFirst().dtype());
    }

    @Test
    void decodesBf16KnownValues() throws IOException {
        // bfloat16 has float32's exponent: 65504 is not representable (it rounds to 65536); 65280 is its neighbour.
        short[] bf16 = {0x3F80, (short) 0xC020, 0x477F, 0x4780, 0x0001, 0x0080, (short) 0x8000, 0x7F80, (short) 0xFF80, 0x7FC0, 0x7F81};
        float[] expected = {1f, -2.5f, 65280f, 65536f, Float.intBitsToFloat(0x00010000), 0x1p-126f, -0f,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.intBitsToFloat(0x7F810000)};
        Path file = write("bf16.safetensors", safetensors(
                "{\"h\":{\"dtype\":\"BF16\",\"shape\":[" + bf16.length + "],\"data_offsets\":[0," + 2 * bf16.length + "]}}", shorts(bf16)));
        float[] got = SafeTensors.read(file).tensor("h").data();
        assertBitsEqual(expected, got);
        assertEquals(0x7F810000, Float.floatToRawIntBits(got[10]), "NaN payload kept");
    }

    @Test
    void decodesF64RoundingToFloat() throws IOException {
        double[] f64 = {1.0, -2.5, 65504.0, 0.1, 1e300, -1e300, 1e-50, Double.NaN, -0.0, Double.POSITIVE_INFINITY};
        float[] expected = {1f, -2.5f, 65504f, 0.1f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, Float.NaN, -0f, Float.POSITIVE_INFINITY};
        ByteBuffer b = ByteBuffer.allocate(8 * f64.length).order(ByteOrder.LITTLE_ENDIAN);
        for (double d : f64) b.putDouble(d);
        Path file = write("f64.safetensors", safetensors(
                "{\"d\":{\"dtype\":\"F64\",\"shape\":[2,5],\"data_offsets\":[0," + 8 * f64.length + "]}}", b.array()));
        HostTensor got = SafeTensors.read(file).tensor("d");
        assertEquals(Shape.of(2, 5), got.shape());
        assertBitsEqual(expected, got.data());
    }

    // ---------------------------------------------------------------------------------------- read errors

    @Test
    void fileShorterThanEightBytes() throws IOException {
        Path file = write("short.safetensors", new byte[] {1, 2, 3});
        assertError(file, "truncated", "3 bytes");
    }

    @Test
    void headerLengthBeyondTheFile() throws IOException {
        byte[] bytes = safetensors("{}      ", new byte[0]);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 64);
        assertError(write("h.safetensors", bytes), "truncated", "64 bytes", "only 8");
    }

    @Test
    void absurdHeaderLength() throws IOException {
        byte[] bytes = new byte[16];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 200_000_000L);
        assertError(write("a.safetensors", bytes), "absurd", "200000000");
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -1L);
        assertError(write("b.safetensors", bytes), "absurd", "18446744073709551615");
    }

    @Test
    void dataSectionShorterThanTheLastTensor() throws IOException {
        Path file = dir.resolve("t.safetensors");
        SafeTensors.write(file, Map.of("a", HostTensor.zeros(Shape.of(4)), "b", HostTensor.zeros(Shape.of(2, 2))));
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 3));
        assertError(file, "truncated", "'b'", "ends at data byte 32", "only 29");
    }

    @Test
    void bytesAfterTheLastTensor() throws IOException {
        String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        assertError(write("x.safetensors", safetensors(json, new byte[7])), "3 bytes after the last tensor");
    }

    static Stream<Arguments> malformedJson() {
        return Stream.of(
                Arguments.of("", 0, "end of input"),
                Arguments.of("{\"a\":", 5, "end of input"),
                Arguments.of("{\"a\" 1}", 5, "expected ':'"),
                Arguments.of("{'a':1}", 1, "expected a string key"),
                Arguments.of("{\"a\":{},}", 8, "expected a string key"),
                Arguments.of("{\"a\":[1,]}", 8, "expected a value"),
                Arguments.of("{\"a\":[01]}", 7, "leading zero"),
                Arguments.of("{\"a\":[1.5]}", 6, "only integers"),
                Arguments.of("{\"a\":[1e3]}", 6, "only integers"),
                Arguments.of("{\"a\":[-]}", 7, "digit"),
                Arguments.of("{\"a\":[99999999999999999999]}", 6, "64 bits"),
                Arguments.of("{\"a\\x\":1}", 3, "invalid escape"),
                Arguments.of("{\"a\\u12G4\":1}", 7, "hex digit"),
                Arguments.of("{\"a\\ud800\":1}", 3, "lone high surrogate"),
                Arguments.of("{\"a\\udc00\":1}", 3, "lone low surrogate"),
                Arguments.of("{\"a\nb\":1}", 3, "control character"),
                Arguments.of("{\"abc", 1, "unterminated string"),
                Arguments.of("{\"a\":1,\"a\":2}", 7, "duplicate key \"a\""),
                Arguments.of("{} x", 3, "after the end"),
                Arguments.of("{\"a\":tru}", 5, "expected a value"),
                Arguments.of("{\"a\":" + "[".repeat(100) + "]".repeat(100) + "}", 68, "nesting"));
    }

    @ParameterizedTest
    @MethodSource
    void malformedJson(String json, int offset, String problem) throws IOException {
        Path file = write("bad.safetensors", safetensors(json, new byte[0]));
        assertError(file, "malformed JSON header at character " + offset + ":", problem);
    }

    @Test
    void headerThatIsNotUtf8() throws IOException {
        byte[] json = "{\"a\":1}".getBytes(StandardCharsets.US_ASCII);
        json[2] = (byte) 0xC3; // a lead byte followed by an ASCII byte
        assertError(write("u.safetensors", safetensors(json, new byte[0])), "not valid UTF-8", "header byte 2");
    }

    static Stream<Arguments> badEntries() {
        return Stream.of(
                entry("[]", "must be a JSON object"),
                entry("{\"w\":[]}", "tensor 'w'", "must be an object"),
                entry("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", "tensor 'w'", "missing 'data_offsets'"),
                entry("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", "tensor 'w'", "unexpected key 'extra'"),
                entry("{\"w\":{\"dtype\":\"F17\",\"shape\":[2],\"data_offsets\":[0,8]}}", "tensor 'w'", "unknown dtype 'F17'"),
                entry("{\"w\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "tensor 'w'", "unknown dtype 'f32'"),
                entry("{\"w\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", "tensor 'w'", "dtype must be a string"),
                entry("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", "tensor 'w'", "shape must hold non-negative integers"),
                entry("{\"w\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", "tensor 'w'", "shape must be an array"),
                entry("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", "tensor 'w'", "[begin, end]"),
                entry("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", "tensor 'w'", "end before they begin"),
                entry("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,8]}}", "tensor 'w'", "span 8 bytes", "needs 24"),
                entry("{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,8]}}", "tensor 'w'", "needs 4"),
                entry("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", "tensor 'w'", "64 bits"),
                entry("{\"__metadata__\":{\"k\":1}}", "metadata value of 'k' must be a string"),
                entry("{\"__metadata__\":{\"k\":null}}", "metadata value of 'k' must be a string, found null"),
                entry("{\"__metadata__\":[]}", "__metadata__", "must be an object"));
    }

    private static Arguments entry(String json, String... fragments) {
        return Arguments.of(json, fragments);
    }

    @ParameterizedTest
    @MethodSource
    void badEntries(String json, String[] fragments) throws IOException {
        assertError(write("e.safetensors", safetensors(json, new byte[8])), fragments);
    }

    @Test
    void overlappingOffsets() throws IOException {
        String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        assertError(write("o.safetensors", safetensors(json, new byte[12])), "tensor 'b'", "overlaps tensor 'a'");
    }

    @Test
    void gapBetweenTensors() throws IOException {
        String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}";
        assertError(write("g.safetensors", safetensors(json, new byte[16])), "data bytes [8, 12) belong to no tensor", "tensor 'b'");
    }

    @Test
    void gapAtTheStart() throws IOException {
        String json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
        assertError(write("g0.safetensors", safetensors(json, new byte[8])), "data bytes [0, 4) belong to no tensor", "tensor 'a'");
    }

    @Test
    void unloadableDtypeIsNamedButTheHeaderStillReads() throws IOException {
        String json = "{\"steps\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
        Path file = write("i64.safetensors", safetensors(json, new byte[12]));
        assertError(file, "tensor 'steps'", "dtype I64 cannot be loaded as float32");
        assertEquals(DType.I64, SafeTensors.readHeader(file).tensor("steps").orElseThrow().dtype());
    }

    @Test
    void scalarAndEmptyTensorsAreValidButNotLoadable() throws IOException {
        String json = "{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                + "\"e\":{\"dtype\":\"F32\",\"shape\":[3,0],\"data_offsets\":[4,4]}}";
        Path file = write("s.safetensors", safetensors(json, floats(7f)));
        SafeTensorsHeader header = SafeTensors.readHeader(file);
        assertEquals(1, header.tensor("s").orElseThrow().elementCount());
        assertEquals(0, header.tensor("e").orElseThrow().elementCount());
        assertError(file, "2 problems", "tensor 's': dims []", "tensor 'e': dims [3, 0]");
    }

    // ------------------------------------------------------------------------------------ readExpecting

    @Test
    void readExpectingReturnsTheExpectedTensorsInOrder() throws IOException {
        Path file = dir.resolve("model.safetensors");
        SafeTensors.write(file, Map.of("conv1.weight", HostTensor.zeros(Shape.of(4, 3, 2, 2)), "conv1.bias", HostTensor.zeros(Shape.of(4))));
        Map<String, Shape> expected = new LinkedHashMap<>();
        expected.put("conv1.weight", Shape.of(4, 3, 2, 2));
        expected.put("conv1.bias", Shape.of(4));
        SafeTensorsFile read = SafeTensors.readExpecting(file, expected);
        assertEquals(List.copyOf(expected.keySet()), List.copyOf(read.tensors().keySet()));
    }

    @Test
    void readExpectingReportsEveryMismatchTogether() throws IOException {
        String json = "{\"conv1.weight\":{\"dtype\":\"F32\",\"shape\":[4,3,2,3],\"data_offsets\":[0,288]},"
                + "\"conv1.bias\":{\"dtype\":\"I32\",\"shape\":[4],\"data_offsets\":[288,304]},"
                + "\"extra\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[304,308]},"
                + "\"fc.bias\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[308,312]}}";
        Path file = write("m.safetensors", safetensors(json, new byte[312]));
        Map<String, Shape> expected = new LinkedHashMap<>();
        expected.put("conv1.weight", Shape.of(4, 3, 2, 2));
        expected.put("conv1.bias", Shape.of(4));
        expected.put("fc.weight", Shape.of(2, 8));
        expected.put("fc.bias", Shape.of(2));
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.readExpecting(file, expected));
        assertContains(e.getMessage(), file.toString(), "4 problems",
                "tensor 'conv1.weight': expected shape (4, 3, 2, 2), found [4, 3, 2, 3]",
                "tensor 'conv1.bias': dtype I32 cannot be loaded",
                "missing tensor 'fc.weight' (expected shape (2, 8))",
                "unexpected tensor 'extra' (BF16 [2])");
        assertEquals(file, e.file());

        // F16 is loadable: with the file's own shapes and names expected, only the I32 remains a problem.
        Map<String, Shape> matching = new LinkedHashMap<>();
        matching.put("conv1.weight", Shape.of(4, 3, 2, 3));
        matching.put("conv1.bias", Shape.of(4));
        matching.put("extra", Shape.of(2));
        matching.put("fc.bias", Shape.of(2));
        e = assertThrows(SafeTensorsException.class, () -> SafeTensors.readExpecting(file, matching));
        assertContains(e.getMessage(), "1 problem)", "conv1.bias");
    }

    // ---------------------------------------------------------------------------------------- write errors

    @Test
    void failedWriteLeavesTheTargetAndNoTemporaryFile() throws IOException {
        Path file = dir.resolve("keep.safetensors");
        SafeTensors.write(file, Map.of("a", new HostTensor(Shape.of(2), new float[] {1, 2})));
        byte[] before = Files.readAllBytes(file);

        IOException e = assertThrows(IOException.class, () -> SafeTensors.writeAtomically(file, channel -> {
            channel.write(ByteBuffer.wrap(new byte[1000]));
            throw new IOException("disk full (simulated)");
        }));
        assertContains(e.getMessage(), file.toString(), "disk full", "existing file left unchanged");
        assertArrayEquals(before, Files.readAllBytes(file));
        assertEquals(List.of(file), listDir(dir), "no temporary files left");

        assertThrows(IllegalStateException.class, () -> SafeTensors.writeAtomically(file, channel -> {
            channel.write(ByteBuffer.wrap(new byte[10]));
            throw new IllegalStateException("bug");
        }));
        assertArrayEquals(before, Files.readAllBytes(file));
        assertEquals(List.of(file), listDir(dir));
    }

    @Test
    void failedRenameLeavesNoTemporaryFile() throws IOException {
        Path target = dir.resolve("occupied");
        Files.createDirectory(target);
        Files.writeString(target.resolve("inside.txt"), "keep me");
        SafeTensorsException e = assertThrows(SafeTensorsException.class,
                () -> SafeTensors.write(target, Map.of("a", HostTensor.zeros(Shape.of(3)))));
        assertContains(e.getMessage(), target.toString(), "write failed");
        assertEquals("keep me", Files.readString(target.resolve("inside.txt")));
        assertEquals(List.of(target), listDir(dir));
    }

    @Test
    void writeIntoAReadOnlyDirectoryFailsCleanly() throws IOException {
        Path sub = Files.createDirectory(dir.resolve("ro"));
        Path file = sub.resolve("w.safetensors");
        SafeTensors.write(file, Map.of("a", HostTensor.zeros(Shape.of(3))));
        byte[] before = Files.readAllBytes(file);
        Files.setPosixFilePermissions(sub, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            assumeFalse(Files.isWritable(sub), "permissions are not enforced for this user (root?)");
            assertThrows(SafeTensorsException.class, () -> SafeTensors.write(file, Map.of("b", HostTensor.zeros(Shape.of(1)))));
            assertArrayEquals(before, Files.readAllBytes(file));
            assertEquals(List.of(file), listDir(sub));
        } finally {
            Files.setPosixFilePermissions(sub, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void invalidNamesAreRejectedBeforeAnythingIsWritten() throws IOException {
        Path file = dir.resolve("n.safetensors");
        SafeTensors.write(file, Map.of("a", HostTensor.zeros(Shape.of(1))));
        byte[] before = Files.readAllBytes(file);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SafeTensors.write(file, Map.of("__metadata__", HostTensor.zeros(Shape.of(1)))));
        assertContains(e.getMessage(), "reserved");
        e = assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(file, Map.of("bad\ud800", HostTensor.zeros(Shape.of(1)))));
        assertContains(e.getMessage(), "not valid Unicode");
        Map<String, HostTensor> withNull = new LinkedHashMap<>();
        withNull.put("w", null);
        e = assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(file, withNull));
        assertContains(e.getMessage(), "tensor 'w' is null");
        assertArrayEquals(before, Files.readAllBytes(file));
        assertEquals(List.of(file), listDir(dir));
    }

    // ------------------------------------------------------------------------------------------- helpers

    private static HostTensor random(SplittableRandom rng, Shape shape) {
        float[] data = new float[shape.intSize()];
        for (int i = 0; i < data.length; i++) data[i] = (float) (rng.nextGaussian() * 0.01);
        return new HostTensor(shape, data);
    }

    private static int[] rawBits(float[] values) {
        int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++) bits[i] = Float.floatToRawIntBits(values[i]);
        return bits;
    }

    /** Equal bit patterns, except that any NaN matches any NaN. */
    private static void assertBitsEqual(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            if (Float.isNaN(expected[i])) assertTrue(Float.isNaN(actual[i]), "element " + i + " should be NaN, got " + actual[i]);
            else assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]), "element " + i + ": expected " + expected[i] + ", got " + actual[i]);
        }
    }

    /** A safetensors file per the format: u64 little-endian header length, the header, the data. */
    private static byte[] safetensors(String header, byte[] data) {
        return safetensors(header.getBytes(StandardCharsets.UTF_8), data);
    }

    private static byte[] safetensors(byte[] header, byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
        out.writeBytes(header);
        out.writeBytes(data);
        return out.toByteArray();
    }

    private static byte[] floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        return b.array();
    }

    private static byte[] shorts(short... values) {
        ByteBuffer b = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (short v : values) b.putShort(v);
        return b.array();
    }

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    private static List<Path> listDir(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return new ArrayList<>(s.sorted().toList());
        }
    }

    /** read() fails with a SafeTensorsException whose message names the file and holds every fragment. */
    private static void assertError(Path file, String... fragments) {
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));
        assertContains(e.getMessage(), file.toString());
        assertContains(e.getMessage(), fragments);
        assertEquals(file, e.file());
    }

    private static void assertContains(String message, String... fragments) {
        for (String f : fragments) assertTrue(message.contains(f), () -> "message should contain \"" + f + "\":\n" + message);
    }
}
