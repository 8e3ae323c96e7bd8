package dev.alexnetffm.engine.io;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict JSON (RFC 8259) reader and string quoter, just enough for safetensors headers and small state files; no
 * library is on the class path for this. Values come back as {@code Map<String, Object>} (key order kept),
 * {@code List<Object>}, {@code String}, {@code Long}, {@code Boolean} or {@link #NULL}.
 *
 * <p>Stricter than the RFC where a header gains nothing from leniency: numbers must be integers that fit a long,
 * duplicate keys and lone surrogates (escaped or not) are errors, and nesting is limited to {@link #MAX_DEPTH}.
 */
public final class Json {
    /** The JSON value {@code null}. */
    static final Object NULL = new Object() {
        @Override
        public String toString() {
            return "null";
        }
    };

    /** Deeper than any header needs (three levels), shallow enough that hostile input cannot exhaust the stack. */
    static final int MAX_DEPTH = 64;

    /** Malformed JSON; {@link #offset} is the index of the offending character in the parsed text. */
    static final class SyntaxError extends Exception {
        final int offset;
        final String problem;

        SyntaxError(int offset, String problem) {
            super("at character " + offset + ": " + problem);
            this.offset = offset;
            this.problem = problem;
        }
    }

    private final String s;
    private int pos;

    private Json(String s) {
        this.s = s;
    }

    /** The single value in {@code text}, which may be surrounded by JSON whitespace and nothing else. */
    static Object parse(String text) throws SyntaxError {
        Json p = new Json(text);
        p.skipWhitespace();
        Object value = p.value(0);
        p.skipWhitespace();
        if (p.pos != text.length()) throw p.error("unexpected " + p.describe(p.pos) + " after the end of the JSON value");
        return value;
    }

    /**
     * The JSON object in {@code text}: its members in order, numbers as {@code Long}. Malformed JSON, or another value
     * than an object, is an {@link IOException} that names {@code source}.
     */
    public static Map<String, Object> object(String text, String source) throws IOException {
        Object value;
        try {
            value = parse(text);
        } catch (SyntaxError e) {
            throw new IOException(source + " is not valid JSON: " + e.getMessage());
        }
        if (!(value instanceof Map<?, ?>)) throw new IOException(source + " holds " + typeName(value) + ", not a JSON object");
        @SuppressWarnings("unchecked")
        Map<String, Object> members = (Map<String, Object>) value;
        return members;
    }

    /** A short human name for the type of a parsed value, for messages. */
    static String typeName(Object value) {
        return switch (value) {
            case Map<?, ?> _ -> "an object";
            case List<?> _ -> "an array";
            case String _ -> "a string";
            case Long _ -> "a number";
            case Boolean _ -> "a boolean";
            default -> "null";
        };
    }

    /** {@code text} as a JSON string literal. The caller ensures it is valid Unicode (no lone surrogates). */
    public static String quote(String text) {
        StringBuilder out = new StringBuilder(text.length() + 2);
        quote(out, text);
        return out.toString();
    }

    /** Appends {@code text} as a JSON string literal. The caller ensures it is valid Unicode (no lone surrogates). */
    static void quote(StringBuilder out, String text) {
        out.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                    else out.append(c);
                }
            }
        }
        out.append('"');
    }

    private Object value(int depth) throws SyntaxError {
        if (pos >= s.length()) throw error("unexpected end of input, expected a value");
        char c = s.charAt(pos);
        return switch (c) {
            case '{' -> object(depth + 1);
            case '[' -> array(depth + 1);
            case '"' -> string();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", NULL);
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) yield number();
                throw error("unexpected " + describe(pos) + ", expected a value");
            }
        };
    }

    private Map<String, Object> object(int depth) throws SyntaxError {
        if (depth > MAX_DEPTH) throw error("nesting deeper than " + MAX_DEPTH + " levels");
        pos++; // '{'
        Map<String, Object> map = new LinkedHashMap<>();
        skipWhitespace();
        if (peek() == '}') {
            pos++;
            return Collections.unmodifiableMap(map);
        }
        while (true) {
            skipWhitespace();
            if (peek() != '"') throw error("unexpected " + describe(pos) + ", expected a string key");
            int keyAt = pos;
            String key = string();
            skipWhitespace();
            expect(':');
            skipWhitespace();
            Object value = value(depth);
            if (map.putIfAbsent(key, value) != null) throw new SyntaxError(keyAt, "duplicate key \"" + key + "\"");
            skipWhitespace();
            char c = peek();
            if (c == ',') {
                pos++;
            } else if (c == '}') {
                pos++;
                return Collections.unmodifiableMap(map);
            } else {
                throw error("unexpected " + describe(pos) + ", expected ',' or '}'");
            }
        }
    }

    private List<Object> array(int depth) throws SyntaxError {
        if (depth > MAX_DEPTH) throw error("nesting deeper than " + MAX_DEPTH + " levels");
        pos++; // '['
        List<Object> list = new ArrayList<>();
        skipWhitespace();
        if (peek() == ']') {
            pos++;
            return Collections.unmodifiableList(list);
        }
        while (true) {
            skipWhitespace();
            list.add(value(depth));
            skipWhitespace();
            char c = peek();
            if (c == ',') {
                pos++;
            } else if (c == ']') {
                pos++;
                return Collections.unmodifiableList(list);
            } else {
                throw error("unexpected " + describe(pos) + ", expected ',' or ']'");
            }
        }
    }

    private String string() throws SyntaxError {
        int start = pos;
        pos++; // opening quote
        StringBuilder b = new StringBuilder();
        while (true) {
            if (pos >= s.length()) throw new SyntaxError(start, "unterminated string");
            char c = s.charAt(pos);
            if (c == '"') {
                pos++;
                return b.toString();
            }
            if (c < 0x20) throw error("control character U+" + hex4(c) + " in a string must be escaped");
            if (c == '\\') {
                escape(b);
            } else if (Character.isHighSurrogate(c) && pos + 1 < s.length() && Character.isLowSurrogate(s.charAt(pos + 1))) {
                b.append(c).append(s.charAt(pos + 1));
                pos += 2;
            } else if (Character.isSurrogate(c)) {
                throw error("lone surrogate U+" + hex4(c) + " in a string");
            } else {
                b.append(c);
                pos++;
            }
        }
    }

    private void escape(StringBuilder b) throws SyntaxError {
        int at = pos;
        pos++; // backslash
        if (pos >= s.length()) throw new SyntaxError(at, "unterminated escape sequence");
        char e = s.charAt(pos++);
        switch (e) {
            case '"' -> b.append('"');
            case '\\' -> b.append('\\');
            case '/' -> b.append('/');
            case 'b' -> b.append('\b');
            case 'f' -> b.append('\f');
            case 'n' -> b.append('\n');
            case 'r' -> b.append('\r');
            case 't' -> b.append('\t');
            case 'u' -> {
                char u = hexEscape(at);
                if (Character.isHighSurrogate(u)) {
                    // A pair is two escapes, \\uD83D\\uDE00; half of one cannot be encoded as UTF-8.
                    if (pos + 1 < s.length() && s.charAt(pos) == '\\' && s.charAt(pos + 1) == 'u') {
                        int lowAt = pos;
                        pos += 2;
                        char low = hexEscape(lowAt);
                        if (!Character.isLowSurrogate(low)) {
                            throw new SyntaxError(lowAt, "\\u" + hex4(u) + " (high surrogate) must be followed by a low surrogate, got \\u" + hex4(low));
                        }
                        b.append(u).append(low);
                    } else {
                        throw new SyntaxError(at, "lone high surrogate \\u" + hex4(u));
                    }
                } else if (Character.isLowSurrogate(u)) {
                    throw new SyntaxError(at, "lone low surrogate \\u" + hex4(u));
                } else {
                    b.append(u);
                }
            }
            default -> throw new SyntaxError(at, "invalid escape sequence \\" + printable(e));
        }
    }

    /** Reads the four hex digits of a "\\u" escape that starts at {@code at}; {@code pos} is at the first digit. */
    private char hexEscape(int at) throws SyntaxError {
        if (pos + 4 > s.length()) throw new SyntaxError(at, "truncated \\u escape");
        int v = 0;
        for (int i = 0; i < 4; i++) {
            int d = Character.digit(s.charAt(pos + i), 16);
            // Character.digit accepts non-ASCII digits; JSON wants [0-9a-fA-F].
            if (d < 0 || s.charAt(pos + i) > 'f') throw new SyntaxError(pos + i, "invalid hex digit " + describe(pos + i) + " in \\u escape");
            v = v * 16 + d;
        }
        pos += 4;
        return (char) v;
    }

    private Long number() throws SyntaxError {
        int start = pos;
        if (peek() == '-') pos++;
        if (pos >= s.length() || !isDigit(s.charAt(pos))) throw error("expected a digit after '-'");
        if (s.charAt(pos) == '0') {
            pos++;
            if (pos < s.length() && isDigit(s.charAt(pos))) throw error("leading zero in a number");
        } else {
            while (pos < s.length() && isDigit(s.charAt(pos))) pos++;
        }
        char c = peek();
        if (c == '.' || c == 'e' || c == 'E') throw new SyntaxError(start, "only integers are allowed in a safetensors header, found a fraction or exponent");
        String digits = s.substring(start, pos);
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException overflow) {
            throw new SyntaxError(start, "integer " + digits + " does not fit in 64 bits");
        }
    }

    private Object literal(String word, Object value) throws SyntaxError {
        if (!s.startsWith(word, pos)) throw error("unexpected " + describe(pos) + ", expected a value");
        pos += word.length();
        return value;
    }

    private void expect(char c) throws SyntaxError {
        if (peek() != c) throw error("unexpected " + describe(pos) + ", expected '" + c + "'");
        pos++;
    }

    private void skipWhitespace() {
        while (pos < s.length()) {
            char c = s.charAt(pos);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
            pos++;
        }
    }

    /** The character at {@code pos}, or U+FFFF at the end (never valid where it is compared). */
    private char peek() {
        return pos < s.length() ? s.charAt(pos) : '\uFFFF';
    }

    private SyntaxError error(String problem) {
        return new SyntaxError(pos, problem);
    }

    private String describe(int at) {
        return at >= s.length() ? "end of input" : "character '" + printable(s.charAt(at)) + "'";
    }

    private static String printable(char c) {
        return c < 0x20 || c == 0x7f || Character.isSurrogate(c) ? "U+" + hex4(c) : String.valueOf(c);
    }

    private static String hex4(char c) {
        return String.format("%04X", (int) c);
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }
}
