package dev.alexnetffm.engine.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** {@link AtomicFile}: a file replaced whole, and what a killed writer leaves cleaned up. */
class AtomicFileTest {
    @Test
    void aWriteReplacesTheTargetWholeAndLeavesNoTemporaryFile(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("sub").resolve("a.txt");
        AtomicFile.writeString(target, "one");
        AtomicFile.writeString(target, "two");
        assertEquals("two", Files.readString(target));
        try (Stream<Path> files = Files.list(target.getParent())) {
            assertEquals(1, files.count());
        }
    }

    @Test
    void aFailedWriteLeavesTheTargetAsItWas(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("a.txt");
        AtomicFile.writeString(target, "kept");
        assertThrows(IllegalStateException.class, () -> AtomicFile.write(target, channel -> {
            throw new IllegalStateException("the writer fails half way");
        }));
        assertEquals("kept", Files.readString(target));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(1, files.count(), "the temporary file is gone");
        }
    }

    /** Only files named as this class names its temporary files go; in sub-folders only when asked. */
    @Test
    void leftoversOfAKilledWriterAreDeletedAndNothingElse(@TempDir Path dir) throws Exception {
        Path top = Files.writeString(dir.resolve(".weights.safetensors.7f3a09c1.tmp"), "cut short");
        Path nested = Files.writeString(Files.createDirectories(dir.resolve("cat")).resolve(".a.jpg.1b.tmp"), "cut short");
        Path[] kept = {Files.writeString(dir.resolve("notes.tmp"), "mine"), Files.writeString(dir.resolve(".hidden.tmp"), "mine"),
                Files.writeString(dir.resolve(".a.jpg.xyz.tmp"), "mine"), Files.writeString(dir.resolve("weights.safetensors"), "w")};
        assertEquals(1, AtomicFile.deleteLeftovers(dir, false));
        assertFalse(Files.exists(top));
        assertTrue(Files.exists(nested));
        assertEquals(1, AtomicFile.deleteLeftovers(dir, true));
        assertFalse(Files.exists(nested));
        for (Path p : kept) assertTrue(Files.exists(p), p + " is not a leftover");
        assertEquals(0, AtomicFile.deleteLeftovers(dir.resolve("none"), true), "a folder that does not exist has none");
    }
}
