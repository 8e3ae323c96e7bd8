package dev.alexnetffm.engine.cli;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.TreeSet;

import static dev.alexnetffm.engine.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.*;

/** {@code alexnet <command> --help}: each command's usage, describing every option it accepts, in train's layout. */
class CommandHelpTest {
    static final List<String> COMMANDS = List.of("info", "infer", "bench", "train", "eval", "pca", "prepare", "experiment");

    /** Where an option's description starts in a usage line, as in {@code train --help}. */
    static final int DESCRIPTION_COLUMN = 33;

    /** The options {@code command} accepts, as its unknown-option error lists them. */
    static TreeSet<String> accepted(String command) {
        MainTest.Result r = run(command, "--no-such-option");
        assertEquals(2, r.status(), r.err());
        TreeSet<String> names = new TreeSet<>();
        if (command.equals("info")) {
            assertTrue(r.err().contains("alexnet info: takes no arguments, got --no-such-option"), r.err());
            return names;
        }
        String prefix = "alexnet " + command + ": unknown option --no-such-option; valid: ";
        String suffix = " (alexnet " + command + " --help describes them)";
        String line = r.err().strip();
        assertTrue(line.startsWith(prefix) && line.endsWith(suffix), line);
        for (String option : line.substring(prefix.length(), line.length() - suffix.length()).split(", ")) names.add(option.split(" ")[0]);
        return names;
    }

    /** The options a usage block describes: the {@code --name}s in its option column. */
    static TreeSet<String> described(String help) {
        TreeSet<String> names = new TreeSet<>();
        for (String line : help.lines().toList()) {
            if (!line.startsWith("  --")) continue;
            for (String word : line.substring(2, DESCRIPTION_COLUMN).split(" ")) if (word.startsWith("--")) names.add(word);
        }
        return names;
    }

    @Test
    void everyCommandsHelpDescribesEachOfItsOptionsAndSucceeds() {
        for (String command : COMMANDS) {
            for (String flag : List.of("--help", "-h")) {
                MainTest.Result r = run(command, flag);
                assertEquals(0, r.status(), command + " " + flag + ": " + r.err());
                assertEquals("", r.err(), command + " " + flag);
                assertTrue(r.out().startsWith("usage: alexnet " + command), r.out());
                assertEquals(accepted(command), described(r.out()), command + " " + flag + " describes every option it accepts, and no other:\n" + r.out());
            }
        }
    }

    @Test
    void usageBlocksShareTrainsLayout() {
        for (String command : COMMANDS) {
            String help = run(command, "--help").out();
            for (String line : help.lines().toList()) {
                assertTrue(line.length() <= 120, command + ": a line over 120 characters: " + line);
                if (!line.startsWith(" ")) continue; // the usage line and notes
                int indent = line.length() - line.stripLeading().length();
                if (line.startsWith("  --")) {
                    assertTrue(line.length() > DESCRIPTION_COLUMN && line.substring(DESCRIPTION_COLUMN - 2, DESCRIPTION_COLUMN).isBlank()
                            && line.charAt(DESCRIPTION_COLUMN) != ' ', command + ": the description starts at column " + DESCRIPTION_COLUMN + ": " + line);
                } else {
                    assertEquals(DESCRIPTION_COLUMN, indent, command + ": a continued description is indented to its column: " + line);
                }
            }
        }
    }

    @Test
    void helpAnywhereAmongTheArgumentsPrintsTheUsageAndRunsNothing() {
        MainTest.Result r = run("eval", "--weights", "no-such-file.safetensors", "--help");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().startsWith("usage: alexnet eval"), r.out());
        r = run("experiment", "pooling", "-h");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().startsWith("usage: alexnet experiment"), r.out());
    }

    @Test
    void theTopLevelHelpSaysEveryCommandTakesHelp() {
        MainTest.Result r = run("help");
        assertEquals(0, r.status());
        assertTrue(r.out().contains("Every command takes --help (or -h)"), r.out());
    }

    @Test
    void anUnknownOptionIsStillAClearError() {
        MainTest.Result r = run("eval", "--frobs", "1");
        assertEquals(2, r.status());
        assertEquals("", r.out());
        assertTrue(r.err().startsWith("alexnet eval: unknown option --frobs; valid: --batch <value>, --data <value>, --data-dir <value>, "
                + "--device <value>, --devices <value>, --subset <value>, --threads <value>, --weights <value>, --json (alexnet eval --help describes them)"), r.err());
        r = run("info", "--frobs");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("alexnet info: takes no arguments, got --frobs"), r.err());
        r = run("pca", "--help=yes");
        assertEquals(2, r.status(), "only --help itself asks for help");
        assertTrue(r.err().contains("unknown option --help=yes"), r.err());
    }
}
