package dev.alexnetffm.engine.tensor;

import dev.alexnetffm.engine.backend.Backend;

import java.util.ArrayList;
import java.util.List;

/** Tensors allocated together and released together (a layer stack's activations, an optimiser's buffers). */
public final class TensorGroup implements AutoCloseable {
    private final Backend backend;
    private final List<Tensor> tensors = new ArrayList<>();

    public TensorGroup(Backend backend) {
        this.backend = backend;
    }

    /** A new tensor of unspecified contents, owned by this group. */
    public Tensor allocate(Shape shape) {
        Tensor t = backend.allocate(shape);
        tensors.add(t);
        return t;
    }

    /** {@link #allocate} when {@code present}, else null (for optional layers). */
    public Tensor allocateIf(boolean present, Shape shape) {
        return present ? allocate(shape) : null;
    }

    /** Closes every tensor of the group; harmless twice. */
    @Override
    public void close() {
        tensors.forEach(Tensor::close);
        tensors.clear();
    }
}
