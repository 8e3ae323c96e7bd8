package dev.alexnetffm.engine.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LabelsTest {
    @TempDir
    Path dir;

    Labels load(String content) throws IOException {
        return Labels.load(Files.writeString(dir.resolve("labels.txt"), content, StandardCharsets.UTF_8));
    }

    @Test
    void lineIIsClassI() throws Exception {
        Labels l = load("tench\ngoldfish\ngreat white shark\n");
        assertEquals(3, l.size());
        assertEquals("tench", l.name(0));
        assertEquals("goldfish", l.name(1));
        assertEquals("great white shark", l.name(2));
        assertEquals(List.of("tench", "goldfish", "great white shark"), l.names());
        assertEquals(1, l.indexOf("goldfish"));
        assertEquals(-1, l.indexOf("carp"));
    }

    @Test
    void finalNewlineIsOptionalAndLineEndingsMayBeCrlf() throws Exception {
        assertEquals(List.of("a", "b"), load("a\nb").names());
        assertEquals(List.of("a", "b"), load("a\r\nb\r\n").names());
        assertEquals(List.of("a", "b"), load("a\rb\r").names());
    }

    @Test
    void blankLinesKeepTheirIndexAndFallBackToIt() throws Exception {
        Labels l = load("zero\n\n  \ntwo words  \n\n\n");
        assertEquals(4, l.size(), "trailing blank lines are not classes");
        assertEquals("zero", l.name(0));
        assertEquals("1", l.name(1));
        assertEquals("2", l.name(2));
        assertEquals("two words", l.name(3));
        assertFalse(l.hasName(1));
        assertTrue(l.hasName(3));
    }

    @Test
    void tooFewLinesOrNoFileFallsBackToTheIndex() throws Exception {
        Labels l = load("only\n");
        assertEquals("only", l.name(0));
        assertEquals("1", l.name(1));
        assertEquals("999", l.name(999));
        assertEquals("17", Labels.none().name(17));
        assertEquals(0, Labels.none().size());
        assertSame(Labels.none(), Labels.loadOrNone(null));
        assertThrows(IndexOutOfBoundsException.class, () -> l.name(-1));
    }

    @Test
    void utf8WithOrWithoutByteOrderMark() throws Exception {
        assertEquals("Großer Tümmler", load("\uFEFFGroßer Tümmler\n鯉\n").name(0));
        assertEquals("鯉", load("Großer Tümmler\n鯉\n").name(1));
    }

    @Test
    void invalidUtf8NamesTheLine() throws Exception {
        Path file = Files.write(dir.resolve("latin1.txt"), "ok\nalso ok\ncaf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
        IOException e = assertThrows(IOException.class, () -> Labels.load(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("not valid UTF-8"), e.getMessage());
        assertTrue(e.getMessage().contains("line 3"), e.getMessage());
    }

    @Test
    void missingFileIsAClearError() {
        Path file = dir.resolve("synsets.txt");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> Labels.load(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("labels file does not exist"), e.getMessage());
        assertThrows(NoSuchFileException.class, () -> Labels.loadOrNone(file));
    }

    @Test
    void directoryIsAClearError() {
        IOException e = assertThrows(IOException.class, () -> Labels.load(dir));
        assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
    }

    @Test
    void emptyFileHasNoNames() throws Exception {
        Labels l = load("");
        assertEquals(0, l.size());
        assertEquals("0", l.name(0));
    }

    @Test
    void inMemoryNamesAreTrimmedLikeTheFile() {
        Labels l = Labels.of(List.of(" a ", "", "c", " "));
        assertEquals(List.of("a", "", "c"), l.names());
        assertEquals("1", l.name(1));
    }

    @Test
    void namesTravelInAWeightsFilesMetadata() {
        var text = Labels.toMetadata(List.of("T-shirt/top", " Trouser ", "Ankle boot"));
        assertEquals(java.util.Optional.of("T-shirt/top\nTrouser\nAnkle boot"), text);
        Labels back = Labels.fromMetadata(java.util.Map.of(Labels.METADATA_KEY, text.orElseThrow()));
        assertEquals(List.of("T-shirt/top", "Trouser", "Ankle boot"), back.names());
        // what one value per line cannot hold is not written: a blank name, a line break, no names
        assertTrue(Labels.toMetadata(List.of("a", " ")).isEmpty());
        assertTrue(Labels.toMetadata(List.of("a", "b\nc")).isEmpty());
        assertTrue(Labels.toMetadata(List.of()).isEmpty());
        assertEquals(0, Labels.fromMetadata(java.util.Map.of()).size());
    }

    @Test
    void twoDataSetsMustNameTheirClassesAlike() {
        Labels.requireSame("a", List.of("cat", "dog"), "b", List.of(" cat", "dog "));
        Labels.requireSame("a", List.of("cat", "dog"), "b", List.of());  // names unknown: nothing to compare
        var e = assertThrows(IllegalArgumentException.class, () -> Labels.requireSame("train", List.of("cat", "dog"), "val", List.of("cat", "dogs")));
        assertEquals("train and val name their classes differently: class 1 is 'dog' in one, 'dogs' in the other (2 and 2 classes); "
                + "give both the same class sub-folders", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Labels.requireSame("train", List.of("cat"), "val", List.of("cat", "dog")));
        assertTrue(e.getMessage().contains("class 1 is missing in one, 'dog' in the other"), e.getMessage());
    }
}
