package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.backend.cuda.CudaBackend;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The command line: {@code alexnet <command> [options]}. Each command is a small class; {@code --help} (or
 * {@code -h}) among a command's arguments prints its usage, and bad usage prints what was wrong and exits with
 * status 2.
 */
public final class Main {
    /** A command: runs with its arguments and returns the process exit status. */
    interface Command {
        /** One line for {@code alexnet help}. */
        String summary();

        /**
         * The usage block {@code --help} prints: a {@code usage:} line, then one line per option (continued lines
         * indented to the description column), each option's default where it has one.
         */
        String help();

        int run(String[] args, PrintStream out) throws Exception;
    }

    private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();
    static {
        COMMANDS.put("info", new InfoCommand());
        COMMANDS.put("infer", new InferCommand());
        COMMANDS.put("bench", new BenchCommand());
        COMMANDS.put("train", new TrainCommand());
        COMMANDS.put("eval", new EvalCommand());
        COMMANDS.put("pca", new PcaCommand());
        COMMANDS.put("prepare", new PrepareCommand());
        COMMANDS.put("experiment", new ExperimentCommand());
        COMMANDS.put("import-caffe", new ImportCaffeCommand());
    }

    private Main() {}

    public static void main(String[] args) {
        // The command line tunes its convolution kernels per shape on the GPU (like cuDNN's benchmark mode) unless
        // alexnet.autotune / ALEXNET_AUTOTUNE says otherwise; results are the same bits either way.
        if (System.getProperty(CudaBackend.AUTOTUNE_PROPERTY) == null && System.getenv("ALEXNET_AUTOTUNE") == null) {
            System.setProperty(CudaBackend.AUTOTUNE_PROPERTY, "true");
        }
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("help") || args[0].equals("--help") || args[0].equals("-h")) {
            usage(args.length == 0 ? err : out);
            return args.length == 0 ? 2 : 0;
        }
        Command command = COMMANDS.get(args[0]);
        if (command == null) {
            err.println("alexnet: unknown command '" + args[0] + "'");
            usage(err);
            return 2;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        if (Arrays.stream(rest).anyMatch(a -> a.equals("--help") || a.equals("-h"))) {
            out.print(command.help());
            return 0;
        }
        try {
            return command.run(rest, out);
        } catch (UsageException e) {
            err.println("alexnet " + args[0] + ": " + e.getMessage());
            return 2;
        } catch (java.nio.file.NoSuchFileException e) {
            err.println("alexnet " + args[0] + ": no such file: " + e.getFile() + (e.getReason() == null ? "" : " (" + e.getReason() + ")"));
            return 1;
        } catch (java.nio.file.AccessDeniedException e) {
            err.println("alexnet " + args[0] + ": permission denied: " + e.getFile());
            return 1;
        } catch (Exception e) {
            err.println("alexnet " + args[0] + ": " + e.getMessage());
            if (Boolean.getBoolean("alexnet.debug")) e.printStackTrace(err);
            return 1;
        }
    }

    private static void usage(PrintStream s) {
        s.println("usage: alexnet <command> [options]");
        s.println();
        s.println("commands:");
        int width = COMMANDS.keySet().stream().mapToInt(String::length).max().orElse(8);
        COMMANDS.forEach((name, c) -> s.printf("  %-" + width + "s  %s%n", name, c.summary()));
        s.println();
        s.println("Every command takes --help (or -h): its options, what each does, and the defaults.");
        s.println("Run with -Dalexnet.debug=true (JAVA_OPTS) for stack traces.");
    }

    /** Wrong flags or arguments: reported with status 2. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }
}
