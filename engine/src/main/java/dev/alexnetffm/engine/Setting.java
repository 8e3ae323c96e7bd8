package dev.alexnetffm.engine;

import java.util.Locale;
import java.util.Map;

/**
 * A switch a user sets from outside: a system property ({@code -Dalexnet.jpeg=imageio}) or, where that is absent, an
 * environment variable ({@code ALEXNET_JPEG=imageio}). Its values are words, compared without case or surrounding
 * blanks; unset or empty means the default. Any other value is an error that names where it came from, what it was
 * and what it may be, never a silent default.
 *
 * @param property    the system property's name
 * @param environment the environment variable's name
 * @param usage       what each value does, for the error message ("use auto (...) or ptx (...)")
 */
public record Setting(String property, String environment, String usage) {

    /** The words an on/off setting takes: 1, true, on, yes and 0, false, off, no. */
    public static final Map<String, Boolean> SWITCH = Map.of("1", true, "true", true, "on", true, "yes", true,
            "0", false, "false", false, "off", false, "no", false);

    /** The value this setting's words mean, from the property, else the environment; {@code unset} where neither is. */
    public <T> T read(T unset, Map<String, T> values) {
        String fromProperty = System.getProperty(property);
        return fromProperty != null ? parse("system property " + property, fromProperty, unset, values)
                : parse(environment, System.getenv(environment), unset, values);
    }

    /**
     * What {@code value}, read from {@code source} (for the error message), means: {@code unset} for null or blank,
     * else the entry of {@code values} (keys in lower case) it names, ignoring case and surrounding blanks.
     */
    public <T> T parse(String source, String value, T unset, Map<String, T> values) {
        if (value == null || value.isBlank()) return unset;
        T meaning = values.get(value.strip().toLowerCase(Locale.ROOT));
        if (meaning == null) throw new IllegalArgumentException(source + " is '" + value + "': " + usage);
        return meaning;
    }
}
