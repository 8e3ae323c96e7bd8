package dev.alexnetffm.cuda;

/** The kinds of kernel parameter this engine passes, with their size in the PTX parameter list. */
public enum ParamType {
    /** A device pointer ({@code float*}, {@code const float*}): {@code .u64} in PTX. */
    PTR(8),
    /** {@code int} / {@code unsigned}: {@code .u32} or {@code .s32}. */
    I32(4),
    /** {@code long long} / {@code size_t}: {@code .u64} or {@code .s64}. */
    I64(8),
    /** {@code float}: {@code .f32}. */
    F32(4);

    private final int bytes;

    ParamType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }
}
