package dev.alexnetffm.engine.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A safetensors file that cannot be read or written: truncated, a malformed header, offsets that do not match the
 * shapes, a dtype or shape the caller cannot use. The message starts with the file and names the tensor involved.
 */
public final class SafeTensorsException extends IOException {
    private final transient Path file;

    public SafeTensorsException(Path file, String message) {
        super(file + ": " + message);
        this.file = file;
    }

    public SafeTensorsException(Path file, String message, Throwable cause) {
        super(file + ": " + message, cause);
        this.file = file;
    }

    /** The file the error is about. */
    public Path file() {
        return file;
    }
}
