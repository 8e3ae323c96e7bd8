package dev.alexnetffm.engine.io;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A validated safetensors header: every tensor's entry in the order the header lists them, and the metadata.
 * Validated means: well-formed, known dtypes, offsets that match the shapes and tile the data section exactly,
 * and a file long enough to hold them.
 *
 * @param file         the file it came from
 * @param headerLength N, the JSON's length in bytes; the data section starts at byte {@code 8 + N}
 * @param tensors      in header order
 * @param metadata     the "__metadata__" entries, in header order; empty when there are none
 */
public record SafeTensorsHeader(Path file, long headerLength, List<TensorInfo> tensors, Map<String, String> metadata) {
    public SafeTensorsHeader {
        tensors = List.copyOf(tensors);
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** File offset of the first data byte. */
    public long dataStart() {
        return 8 + headerLength;
    }

    /** Length of the data section: the largest end offset (0 without tensors). */
    public long dataLength() {
        return tensors.stream().mapToLong(TensorInfo::end).max().orElse(0);
    }

    public Optional<TensorInfo> tensor(String name) {
        return tensors.stream().filter(t -> t.name().equals(name)).findFirst();
    }
}
