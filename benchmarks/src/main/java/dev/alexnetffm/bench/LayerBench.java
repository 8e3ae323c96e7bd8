package dev.alexnetffm.bench;

import dev.alexnetffm.engine.backend.ConvSpec;
import dev.alexnetffm.engine.backend.cuda.CudaBackend;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;
import org.openjdk.jmh.annotations.*;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Each forward layer of the paper's network alone, on its real shapes, at batch 1, 32 and 128. An invocation
 * queues the layer {@value #REPEATS} times and waits, so launch latency is amortised as it is in a whole forward
 * pass. Names match {@code benchmarks/pytorch/alexnet_torch_bench.py}'s, for the side-by-side table.
 * Run: {@code java -jar benchmarks/target/benchmarks.jar LayerBench -p batch=128 -rf json -rff layers.json}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dalexnet.autotune=true"})  // convolutions tuned per shape, as cudnn.benchmark
public class LayerBench {
    static final int REPEATS = 10;

    @Param({"conv1", "relu1", "norm1", "pool1", "conv2", "norm2", "pool2", "conv3", "conv4", "conv5", "pool5", "fc6", "fc7", "fc8"})
    public String layer;

    @Param({"1", "32", "128"})
    public int batch;

    CudaBackend gpu;
    final List<Tensor> tensors = new ArrayList<>();
    Runnable op;

    Tensor random(Shape s) {
        SplittableRandom r = new SplittableRandom(s.hashCode());
        float[] data = new float[s.intSize()];
        for (int i = 0; i < data.length; i++) data[i] = (float) r.nextGaussian();
        Tensor t = gpu.fromArray(s, data);
        tensors.add(t);
        return t;
    }

    Tensor empty(Shape s) {
        Tensor t = gpu.allocate(s);
        tensors.add(t);
        return t;
    }

    Runnable conv(int c, int h, int k, int r, ConvSpec spec) {
        Tensor in = random(Shape.of(batch, c, h, h));
        Tensor w = random(Shape.of(k, c / spec.groups(), r, r));
        Tensor b = random(Shape.of(k));
        int p = spec.outSize(h, r);
        Tensor out = empty(Shape.of(batch, k, p, p));
        return () -> gpu.conv2d(out, in, w, b, spec, true);
    }

    Runnable linear(int c, int k, boolean relu) {
        Tensor in = random(Shape.of(batch, c));
        Tensor w = random(Shape.of(k, c));
        Tensor b = random(Shape.of(k));
        Tensor out = empty(Shape.of(batch, k));
        return () -> gpu.linear(out, in, w, b, relu);
    }

    Runnable unary(Shape in, Shape outShape, java.util.function.BiConsumer<Tensor, Tensor> f) {
        Tensor x = random(in);
        Tensor y = empty(outShape);
        return () -> f.accept(y, x);
    }

    @Setup
    public void setUp() {
        gpu = new CudaBackend(0);
        AlexNetConfig c = AlexNetConfig.paper();
        var pool = c.pool();
        op = switch (layer) {
            case "conv1" -> conv(3, 227, 96, 11, new ConvSpec(4, 0, 1));
            case "relu1" -> unary(Shape.of(batch, 96, 55, 55), Shape.of(batch, 96, 55, 55), gpu::relu);
            case "norm1" -> unary(Shape.of(batch, 96, 55, 55), Shape.of(batch, 96, 55, 55), (y, x) -> gpu.lrn(y, x, c.lrn()));
            case "pool1" -> unary(Shape.of(batch, 96, 55, 55), Shape.of(batch, 96, 27, 27), (y, x) -> gpu.maxPool(y, x, pool));
            case "conv2" -> conv(96, 27, 256, 5, new ConvSpec(1, 2, 2));
            case "norm2" -> unary(Shape.of(batch, 256, 27, 27), Shape.of(batch, 256, 27, 27), (y, x) -> gpu.lrn(y, x, c.lrn()));
            case "pool2" -> unary(Shape.of(batch, 256, 27, 27), Shape.of(batch, 256, 13, 13), (y, x) -> gpu.maxPool(y, x, pool));
            case "conv3" -> conv(256, 13, 384, 3, new ConvSpec(1, 1, 1));
            case "conv4" -> conv(384, 13, 384, 3, new ConvSpec(1, 1, 2));
            case "conv5" -> conv(384, 13, 256, 3, new ConvSpec(1, 1, 2));
            case "pool5" -> unary(Shape.of(batch, 256, 13, 13), Shape.of(batch, 256, 6, 6), (y, x) -> gpu.maxPool(y, x, pool));
            case "fc6" -> linear(9216, 4096, true);
            case "fc7" -> linear(4096, 4096, true);
            case "fc8" -> linear(4096, 1000, false);
            default -> throw new IllegalArgumentException("unknown layer " + layer);
        };
        op.run();
        gpu.synchronize();
    }

    @TearDown
    public void tearDown() {
        gpu.synchronize();
        tensors.forEach(Tensor::close);
        gpu.close();
    }

    @Benchmark
    @OperationsPerInvocation(REPEATS)
    public void forward() {
        for (int i = 0; i < REPEATS; i++) op.run();
        gpu.synchronize();
    }
}
