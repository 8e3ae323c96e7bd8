package dev.alexnetffm.engine.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A command's arguments: {@code --name value} options, {@code --flag} switches and positional operands. Every
 * option must be one the command declares; a wrong one is a {@link Main.UsageException} listing the valid ones.
 * ({@code --help} and {@code -h} are answered by {@link Main}, with the command's usage, before a command parses.)
 */
final class Args {
    private final String command;
    private final Map<String, String> options = new LinkedHashMap<>();
    private final List<String> operands = new ArrayList<>();

    /**
     * @param valued the options that take a value
     * @param flags  the options that do not
     */
    Args(String command, String[] args, Set<String> valued, Set<String> flags) {
        this.command = command;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.startsWith("--")) {
                String name = a.substring(2), value = null;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    value = name.substring(eq + 1);
                    name = name.substring(0, eq);
                }
                if (flags.contains(name)) {
                    if (value != null) throw new Main.UsageException("--" + name + " takes no value");
                    options.put(name, "true");
                } else if (valued.contains(name)) {
                    if (value == null) {
                        if (i + 1 >= args.length) throw new Main.UsageException("--" + name + " needs a value");
                        value = args[++i];
                    }
                    options.put(name, value);
                } else {
                    List<String> valid = new ArrayList<>();
                    valued.stream().sorted().forEach(v -> valid.add("--" + v + " <value>"));
                    flags.stream().sorted().forEach(f -> valid.add("--" + f));
                    throw new Main.UsageException("unknown option " + a + (valid.isEmpty() ? "" : "; valid: " + String.join(", ", valid))
                            + " (alexnet " + command + " --help describes them)");
                }
            } else {
                operands.add(a);
            }
        }
    }

    private Args(Args from) {
        this.command = from.command;
        this.options.putAll(from.options);
        this.operands.addAll(from.operands);
    }

    /** A copy with option {@code name} set to {@code value} (for a command that fixes an option itself). */
    Args with(String name, String value) {
        Args a = new Args(this);
        a.options.put(name, value);
        return a;
    }

    /** A copy without option {@code name}. */
    Args without(String name) {
        Args a = new Args(this);
        a.options.remove(name);
        return a;
    }

    List<String> operands() {
        return operands;
    }

    boolean flag(String name) {
        return options.containsKey(name);
    }

    String string(String name, String fallback) {
        return options.getOrDefault(name, fallback);
    }

    int integer(String name, int fallback, int min, int max) {
        String v = options.get(name);
        if (v == null) return fallback;
        try {
            int x = Integer.parseInt(v);
            if (x < min || x > max) throw new Main.UsageException("--" + name + " must be between " + min + " and " + max + ", got " + v);
            return x;
        } catch (NumberFormatException e) {
            throw new Main.UsageException("--" + name + " must be an integer, got '" + v + "'");
        }
    }

    /** A decimal number in [min, max]; a value that is not one is a usage error naming the option. */
    double number(String name, double fallback, double min, double max) {
        String v = options.get(name);
        if (v == null) return fallback;
        try {
            double x = Double.parseDouble(v);
            if (!(x >= min && x <= max)) throw new Main.UsageException("--" + name + " must be between " + min + " and " + max + ", got " + v);
            return x;
        } catch (NumberFormatException e) {
            throw new Main.UsageException("--" + name + " must be a number, got '" + v + "'");
        }
    }

    String command() {
        return command;
    }
}
