package dev.alexnetffm.engine.io;

import dev.alexnetffm.engine.tensor.HostTensor;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The contents of a safetensors file, loaded as float32.
 *
 * @param header   the validated header, with each tensor's type in the file
 * @param tensors  by name; order as {@link SafeTensors#read} or {@link SafeTensors#readExpecting} documents
 */
public record SafeTensorsFile(SafeTensorsHeader header, Map<String, HostTensor> tensors) {
    public SafeTensorsFile {
        tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
    }

    public Path file() {
        return header.file();
    }

    public Map<String, String> metadata() {
        return header.metadata();
    }

    /** The tensor called {@code name}; an {@link IllegalArgumentException} naming the file if there is none. */
    public HostTensor tensor(String name) {
        HostTensor t = tensors.get(name);
        if (t == null) throw new IllegalArgumentException(file() + " has no tensor named '" + name + "' (it has " + tensors.keySet() + ")");
        return t;
    }
}
