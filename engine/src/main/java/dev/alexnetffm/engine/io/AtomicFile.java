package dev.alexnetffm.engine.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Files replaced all at once: the contents go to a temporary file beside the target, forced to disk, then renamed
 * over it. A failure at any point deletes the temporary file and leaves the target as it was. Every file this
 * engine writes (weights, checkpoints, curves, traces, colour statistics, experiment reports) goes through here.
 */
public final class AtomicFile {
    private AtomicFile() {}

    /** Writes a file's contents into an open channel. */
    @FunctionalInterface
    public interface Body {
        void write(FileChannel channel) throws IOException;
    }

    /**
     * Runs {@code body} on a fresh temporary file beside {@code target} (whose folder must exist), forces it to disk
     * and renames it over {@code target}. On any failure the temporary file is deleted, {@code target} is untouched
     * and the failure is rethrown as it was.
     */
    public static void write(Path target, Body body) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path dir = absolute.getParent();
        Path tmp = null;
        try {
            FileChannel channel = null;
            // Not Files.createTempFile: that makes the file owner-only, and the rename would carry that over.
            for (int attempt = 0; channel == null; attempt++) {
                tmp = dir.resolve("." + absolute.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1) + ".tmp");
                try {
                    channel = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                } catch (FileAlreadyExistsException e) {
                    if (attempt >= 10) throw e;
                }
            }
            try (FileChannel c = channel) {
                body.write(c);
                c.force(true);
            }
            Files.move(tmp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            tmp = null;
        } catch (IOException | RuntimeException | Error e) {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            throw e;
        }
        syncDirectory(dir);
    }

    /** Writes {@code bytes} to {@code target}, creating its folder if needed. */
    public static void write(Path target, byte[] bytes) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        if (dir != null) Files.createDirectories(dir);
        write(target, channel -> writeFully(channel, ByteBuffer.wrap(bytes)));
    }

    /** Writes {@code text} as UTF-8 to {@code target}, creating its folder if needed. */
    public static void writeString(Path target, CharSequence text) throws IOException {
        write(target, text.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** Writes all of {@code buffer} (a channel may take less per call). */
    public static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) channel.write(buffer);
    }

    /** The names {@link #write} gives its temporary files: {@code .<target's name>.<hex>.tmp}. */
    private static final Pattern TEMPORARY = Pattern.compile("\\..+\\.[0-9a-f]+\\.tmp");

    /**
     * Deletes the temporary files that a process killed while writing left in {@code dir} (and its sub-folders where
     * {@code recursive}); returns how many. Only for a folder no other process is writing into at the same time.
     */
    public static int deleteLeftovers(Path dir, boolean recursive) throws IOException {
        if (!Files.isDirectory(dir)) return 0;
        List<Path> leftovers;
        try (Stream<Path> files = recursive ? Files.walk(dir) : Files.list(dir)) {
            leftovers = files.filter(p -> TEMPORARY.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p)).toList();
        }
        for (Path p : leftovers) Files.deleteIfExists(p);
        return leftovers.size();
    }

    /** Makes the rename itself durable where the platform allows opening a directory (Linux does; Windows not). */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException notSupported) {
            // The data is on disk already; only the rename's durability across a crash is at stake.
        }
    }
}
