package dev.alexnetffm.engine.io;

import dev.alexnetffm.engine.tensor.Shape;
import java.util.List;
import java.util.stream.Collectors;

/**
 * One tensor's entry in a safetensors header: its type, its dimensions (outermost first; zeros and rank 0 are
 * legal in the format), and where its bytes lie, as [begin, end) relative to the start of the data section.
 */
public record TensorInfo(String name, DType dtype, List<Long> dims, long begin, long end) {
    public TensorInfo {
        dims = List.copyOf(dims);
    }

    /** Number of elements (1 for rank 0). Header validation guarantees it does not overflow. */
    public long elementCount() {
        long n = 1;
        for (long d : dims) n = Math.multiplyExact(n, d);
        return n;
    }

    public long byteLength() {
        return end - begin;
    }

    /** Whether this tensor has exactly the dimensions of {@code shape}. */
    public boolean hasShape(Shape shape) {
        if (shape.rank() != dims.size()) return false;
        for (int i = 0; i < dims.size(); i++) if (dims.get(i) != shape.dim(i)) return false;
        return true;
    }

    /** The dimensions as written in the header, e.g. "[96, 3, 11, 11]". */
    public String dimsString() {
        return dims.stream().map(String::valueOf).collect(Collectors.joining(", ", "[", "]"));
    }
}
