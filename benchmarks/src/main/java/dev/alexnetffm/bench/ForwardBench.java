package dev.alexnetffm.bench;

import dev.alexnetffm.engine.backend.cuda.CudaBackend;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.model.ForwardGraph;
import dev.alexnetffm.engine.tensor.Tensor;
import org.openjdk.jmh.annotations.*;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The whole forward pass of the paper's network (input on the device, logits left on the device), FP32, at
 * batch 1, 32 and 128: {@code forward} queues each kernel, {@code forwardGraph} replays the pass recorded as one CUDA
 * graph ({@link ForwardGraph}, the softmax included). PyTorch + cuDNN's time for the same network, eager and as a
 * CUDA graph, is measured by {@code benchmarks/pytorch/alexnet_torch_bench.py} in the same run.
 * Run: {@code java -jar benchmarks/target/benchmarks.jar ForwardBench -rf json -rff forward.json}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dalexnet.autotune=true"})  // convolutions tuned per shape, as cudnn.benchmark
public class ForwardBench {
    @Param({"1", "32", "128"})
    public int batch;

    CudaBackend gpu;
    AlexNet net;
    Tensor input;
    ForwardGraph graph;

    @Setup
    public void setUp() {
        gpu = new CudaBackend(0);
        net = AlexNet.initialize(gpu, AlexNetConfig.paper(), 42);
        SplittableRandom r = new SplittableRandom(7);
        float[] x = new float[net.inputShape(batch).intSize()];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        input = gpu.fromArray(net.inputShape(batch), x);
        net.forward(input);
        graph = ForwardGraph.record(net, batch);
        gpu.copyFromHost(graph.input(), x);
        gpu.synchronize();
    }

    @TearDown
    public void tearDown() {
        gpu.synchronize();
        graph.close();
        input.close();
        net.close();
        gpu.close();
    }

    @Benchmark
    public void forward() {
        net.forward(input);
        gpu.synchronize();
    }

    @Benchmark
    public void forwardGraph() {
        graph.run();
        gpu.synchronize();
    }
}
