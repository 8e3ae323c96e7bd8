package dev.alexnetffm.engine.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Class names, by class index.
 *
 * <h2>File format</h2>
 * UTF-8 text (a leading byte-order mark is skipped), one class per line: line {@code i} (counting from
 * 0) names class {@code i}. Lines end with LF, CRLF or CR; a final newline is optional and adds no
 * class. Leading and trailing whitespace is removed from each name. A blank line is <em>not</em>
 * skipped, since that would shift every later class: it keeps its index and has no name, so
 * {@link #name(int)} gives the index, as for classes beyond the last line. Blank lines at the end of the
 * file are not counted in {@link #size()}. Bytes that are not valid UTF-8 are an error naming the line.
 */
public final class Labels {
    /** The metadata key of a weights file that names its classes ({@link #toMetadata}). */
    public static final String METADATA_KEY = "alexnet.class_names";

    private static final Labels NONE = new Labels(List.of());

    private final List<String> names;

    private Labels(List<String> names) {
        this.names = names;
    }

    /**
     * {@code names} as one metadata value, a name per line; empty where there are no names or one cannot be written
     * so (blank, or holding a line break).
     */
    public static Optional<String> toMetadata(List<String> names) {
        if (names.isEmpty() || names.stream().anyMatch(n -> n.isBlank() || n.strip().lines().count() != 1)) return Optional.empty();
        return Optional.of(names.stream().map(String::strip).collect(java.util.stream.Collectors.joining("\n")));
    }

    /** The names a weights file's metadata holds ({@link #METADATA_KEY}), else {@link #none()}. */
    public static Labels fromMetadata(java.util.Map<String, String> metadata) {
        String names = metadata.get(METADATA_KEY);
        return names == null ? none() : of(names.lines().toList());
    }

    /**
     * Checks that two lists of class names, where both have names, name the same classes in the same order (class i
     * of one is class i of the other); else an error naming both and the first class where they part. An empty
     * list (names unknown) agrees with anything.
     */
    public static void requireSame(String what, List<String> names, String other, List<String> otherNames) {
        names = names.stream().map(String::strip).toList();
        otherNames = otherNames.stream().map(String::strip).toList();
        if (names.isEmpty() || otherNames.isEmpty() || names.equals(otherNames)) return;
        int i = 0;
        while (i < Math.min(names.size(), otherNames.size()) && names.get(i).equals(otherNames.get(i))) i++;
        throw new IllegalArgumentException(what + " and " + other + " name their classes differently: class " + i + " is "
                + (i < names.size() ? "'" + names.get(i) + "'" : "missing") + " in one, "
                + (i < otherNames.size() ? "'" + otherNames.get(i) + "'" : "missing") + " in the other ("
                + names.size() + " and " + otherNames.size() + " classes); give both the same class sub-folders");
    }

    /** No names: every class is called by its index. */
    public static Labels none() {
        return NONE;
    }

    /** Names given in memory, index i → {@code names.get(i)}, with the file format's trimming. */
    public static Labels of(List<String> names) {
        List<String> cleaned = new ArrayList<>(names.size());
        for (String n : names) cleaned.add(Objects.requireNonNull(n, "a label is null").strip());
        while (!cleaned.isEmpty() && cleaned.getLast().isEmpty()) cleaned.removeLast();
        return new Labels(Collections.unmodifiableList(cleaned));
    }

    /**
     * Reads a labels file. Errors name the file: a missing file ({@link NoSuchFileException}), a
     * directory, a file that may not be read ({@link AccessDeniedException}), invalid UTF-8.
     */
    public static Labels load(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        if (!Files.exists(file)) throw new NoSuchFileException(file.toString(), null, "labels file does not exist");
        if (Files.isDirectory(file)) throw new IOException("labels file " + file + " is a directory, not a file");
        if (!Files.isReadable(file)) throw new AccessDeniedException(file.toString(), null, "labels file is not readable by this process");
        byte[] bytes = Files.readAllBytes(file);
        String text = decodeUtf8(bytes, file);
        if (text.startsWith("\uFEFF")) text = text.substring(1);
        return of(text.lines().toList());
    }

    /** {@link #load} for a file, {@link #none()} for {@code null}. */
    public static Labels loadOrNone(Path fileOrNull) throws IOException {
        return fileOrNull == null ? none() : load(fileOrNull);
    }

    /**
     * The name of class {@code index}, or the index as a decimal string when there is no name for it
     * (no labels, too few lines, or a blank line).
     */
    public String name(int index) {
        if (index < 0) throw new IndexOutOfBoundsException("class index " + index + " is negative");
        if (index < names.size()) {
            String n = names.get(index);
            if (!n.isEmpty()) return n;
        }
        return Integer.toString(index);
    }

    /** Whether class {@code index} has a name of its own. */
    public boolean hasName(int index) {
        return index >= 0 && index < names.size() && !names.get(index).isEmpty();
    }

    /** Number of lines up to the last non-blank one. */
    public int size() {
        return names.size();
    }

    /** The names as read, blank ones as empty strings. */
    public List<String> names() {
        return names;
    }

    /** The first index whose name equals {@code name}, or -1. */
    public int indexOf(String name) {
        return names.indexOf(name.strip());
    }

    @Override
    public String toString() {
        return "Labels[" + names.size() + " classes]";
    }

    private static String decodeUtf8(byte[] bytes, Path file) throws IOException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length + 1);
        CoderResult result = decoder.decode(in, out, true);
        if (!result.isError()) result = decoder.flush(out);
        if (result.isError()) {
            int at = in.position();
            int line = 1;
            for (int i = 0; i < at; i++) if (bytes[i] == '\n') line++;
            throw new IOException("labels file " + file + " is not valid UTF-8: bad byte 0x"
                    + String.format("%02x", bytes[Math.min(at, bytes.length - 1)] & 0xff) + " on line " + line + " (byte offset " + at + ")");
        }
        out.flip();
        return out.toString();
    }
}
