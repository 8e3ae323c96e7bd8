package dev.alexnetffm.engine.io;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The element types a safetensors header may name, with their sizes. Every one of them can be checked against
 * its offsets; {@link #loadable()} says which ones {@link SafeTensors} converts to float32.
 */
public enum DType {
    BOOL(1), U8(1), I8(1), F8_E5M2(1), F8_E4M3(1), F8_E8M0(1),
    I16(2), U16(2), F16(2), BF16(2),
    I32(4), U32(4), F32(4),
    I64(8), U64(8), F64(8), C64(8);

    /** The types {@link SafeTensors#read} turns into float32: exactly for F32, F16 and BF16, rounded for F64. */
    public static final List<DType> LOADABLE = List.of(F32, F16, BF16, F64);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** Whether {@link SafeTensors#read} can load a tensor of this type (as float32). */
    public boolean loadable() {
        return LOADABLE.contains(this);
    }

    /** The type a header spells {@code name} (case-sensitive, as the format defines), if there is one. */
    public static Optional<DType> parse(String name) {
        return Arrays.stream(values()).filter(t -> t.name().equals(name)).findFirst();
    }
}
