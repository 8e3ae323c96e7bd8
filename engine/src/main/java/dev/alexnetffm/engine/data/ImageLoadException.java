package dev.alexnetffm.engine.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * An image could not be loaded. The message names the file (or the in-memory source) and says what is
 * wrong; {@link #reason()} says the same thing as data, for callers that want to skip some kinds of
 * bad file and stop on others.
 */
public final class ImageLoadException extends IOException {
    private static final long serialVersionUID = 1L;

    /** What went wrong. */
    public enum Reason {
        /** The path does not exist (or is a broken symbolic link). */
        NOT_FOUND,
        /** The path is a directory or another non-regular file. */
        NOT_A_FILE,
        /** The file exists but this process may not read it. */
        NOT_READABLE,
        /** The file has no bytes. */
        EMPTY,
        /** The bytes are not an image in a format javax.imageio reads (text, WebP, HEIC, ...). */
        UNSUPPORTED_FORMAT,
        /** An image, but in a colour model this loader will not convert (CMYK or YCCK JPEG, ...). */
        UNSUPPORTED_COLOR,
        /** The data ends before the image does. */
        TRUNCATED,
        /** The decoder found invalid data. */
        CORRUPT,
        /** The image or the file is larger than the configured limit. */
        TOO_LARGE,
        /** Reading the file failed for another reason. */
        IO_ERROR
    }

    private final transient Path file;
    private final String source;
    private final Reason reason;

    public ImageLoadException(Path file, Reason reason, String detail) {
        this(file, reason, detail, null);
    }

    public ImageLoadException(Path file, Reason reason, String detail, Throwable cause) {
        this(file, String.valueOf(file), reason, detail, cause);
    }

    /** For images that do not come from a file: {@code source} names them in the message. */
    public ImageLoadException(String source, Reason reason, String detail, Throwable cause) {
        this(null, source, reason, detail, cause);
    }

    private ImageLoadException(Path file, String source, Reason reason, String detail, Throwable cause) {
        super("cannot load image " + source + ": " + detail, cause);
        this.file = file;
        this.source = source;
        this.reason = reason;
    }

    /** The file, when the image came from one. */
    public Optional<Path> file() {
        return Optional.ofNullable(file);
    }

    /** The file name or the in-memory source's description, as in the message. */
    public String source() {
        return source;
    }

    public Reason reason() {
        return reason;
    }
}
