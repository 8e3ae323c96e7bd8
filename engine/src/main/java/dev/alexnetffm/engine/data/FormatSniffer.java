package dev.alexnetffm.engine.data;

import java.nio.charset.StandardCharsets;

/** Recognises file formats from their first bytes, to explain why a file is not a readable image. */
final class FormatSniffer {
    private FormatSniffer() {}

    static boolean isJpeg(byte[] b) {
        return b.length >= 3 && (b[0] & 0xff) == 0xFF && (b[1] & 0xff) == 0xD8 && (b[2] & 0xff) == 0xFF;
    }

    /** A name for the format the bytes look like, or "unrecognised data". */
    static String name(byte[] b) {
        if (isJpeg(b)) return "JPEG";
        if (startsWith(b, 0, 0x89, 'P', 'N', 'G')) return "PNG";
        if (startsWith(b, 0, 'G', 'I', 'F', '8')) return "GIF";
        if (startsWith(b, 0, 'B', 'M')) return "BMP";
        if (startsWith(b, 0, 'I', 'I', 42, 0) || startsWith(b, 0, 'M', 'M', 0, 42)) return "TIFF";
        if (startsWith(b, 0, 'R', 'I', 'F', 'F') && startsWith(b, 8, 'W', 'E', 'B', 'P')) return "WebP";
        if (startsWith(b, 4, 'f', 't', 'y', 'p')) {
            String brand = b.length >= 12 ? new String(b, 8, 4, StandardCharsets.ISO_8859_1) : "";
            if (brand.startsWith("avi")) return "AVIF";
            if (brand.startsWith("hei") || brand.startsWith("hev") || brand.equals("mif1") || brand.equals("msf1")) return "HEIC/HEIF";
            return "ISO media (" + brand.trim() + ")";
        }
        if (startsWith(b, 0, 0, 0, 0, 0x0C, 'j', 'P')) return "JPEG 2000";
        if (startsWith(b, 0, 0xFF, 0x0A) || startsWith(b, 0, 0, 0, 0, 0x0C, 'J', 'X', 'L')) return "JPEG XL";
        if (startsWith(b, 0, 0xFF, 0xD8)) return "JPEG (damaged start)";
        if (startsWith(b, 0, '%', 'P', 'D', 'F')) return "PDF";
        if (startsWith(b, 0, 'P', 'K', 3, 4)) return "ZIP archive";
        if (startsWith(b, 0, 0x1F, 0x8B)) return "gzip data";
        if (startsWith(b, 0, 0x93, 'N', 'U', 'M', 'P', 'Y')) return "NumPy array";
        if (looksLikeText(b)) {
            String head = head(b).trim().toLowerCase(java.util.Locale.ROOT);
            if (head.startsWith("<svg") || (head.startsWith("<?xml") && head.contains("<svg"))) return "SVG";
            if (head.startsWith("<!doctype html") || head.startsWith("<html")) return "HTML";
            return "text";
        }
        return "unrecognised data";
    }

    /** Why no javax.imageio reader accepts the bytes, for the exception message. */
    static String notAnImage(byte[] b) {
        String name = name(b);
        String base = "not an image in a format javax.imageio reads (JPEG, PNG, GIF, BMP, TIFF, WBMP)";
        return switch (name) {
            case "text", "HTML", "SVG" -> base + ": the file holds " + name + ", starting \"" + escape(head(b)) + "\"";
            case "unrecognised data" -> base + ": unrecognised data, first bytes " + hex(b, 16);
            case "JPEG (damaged start)" -> base + ": it starts like a JPEG but the header is damaged (first bytes " + hex(b, 16) + ")";
            default -> base + ": the data looks like " + name + (name.contains("WebP") || name.contains("HEI") || name.contains("AVIF") || name.contains("JPEG")
                    ? ", which javax.imageio does not decode; convert it to PNG or JPEG" : ", not an image");
        };
    }

    /** Number of colour components in a JPEG's frame header (SOFn), or -1 if none is found before the scan. */
    static int jpegComponents(byte[] b) {
        int i = 2;
        while (i + 3 < b.length) {
            if ((b[i] & 0xff) != 0xFF) return -1;
            int marker = b[i + 1] & 0xff;
            if (marker == 0xFF) { i++; continue; } // fill byte
            if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) { i += 2; continue; }
            if (marker == 0xD9 || marker == 0xDA) return -1;
            int length = ((b[i + 2] & 0xff) << 8) | (b[i + 3] & 0xff);
            boolean sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (sof) return i + 9 < b.length ? b[i + 9] & 0xff : -1;
            if (length < 2) return -1;
            i += 2 + length;
        }
        return -1;
    }

    private static boolean startsWith(byte[] b, int offset, int... prefix) {
        if (b.length < offset + prefix.length) return false;
        for (int k = 0; k < prefix.length; k++) if ((b[offset + k] & 0xff) != (prefix[k] & 0xff)) return false;
        return true;
    }

    private static boolean looksLikeText(byte[] b) {
        int n = Math.min(b.length, 512);
        for (int k = 0; k < n; k++) {
            int c = b[k] & 0xff;
            if (c < 0x09 || (c > 0x0D && c < 0x20) || c == 0x7F) return false;
        }
        return n > 0;
    }

    private static String head(byte[] b) {
        String s = new String(b, 0, Math.min(b.length, 40), StandardCharsets.UTF_8);
        return b.length > 40 ? s + "..." : s;
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t").replace("\"", "\\\"");
    }

    private static String hex(byte[] b, int max) {
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < Math.min(b.length, max); k++) {
            if (k > 0) sb.append(' ');
            sb.append(String.format("%02x", b[k] & 0xff));
        }
        return sb.toString();
    }
}
