package dev.alexnetffm.bench;

import dev.alexnetffm.engine.backend.cuda.CudaBackend;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.Tensor;
import dev.alexnetffm.engine.train.Sgd;
import dev.alexnetffm.engine.train.TrainingStep;
import org.openjdk.jmh.annotations.*;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One training step of the paper's network (forward with dropout, softmax cross-entropy, backward, SGD with
 * momentum and weight decay), FP32, batch 128 by default, input already on the device. PyTorch's step on the same
 * network is timed by {@code benchmarks/pytorch/alexnet_torch_bench.py --train} in the same run.
 * Run: {@code java -jar benchmarks/target/benchmarks.jar TrainStepBench -rf json -rff train.json}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dalexnet.autotune=true"})  // convolutions tuned per shape, as cudnn.benchmark
public class TrainStepBench {
    @Param({"128"})
    public int batch;

    CudaBackend gpu;
    AlexNet net;
    TrainingStep training;
    Tensor input;
    int[] labels;
    long step;

    @Setup
    public void setUp() {
        gpu = new CudaBackend(0);
        net = AlexNet.initialize(gpu, AlexNetConfig.paper(), 42);
        training = new TrainingStep(net, 42);
        SplittableRandom r = new SplittableRandom(7);
        float[] x = new float[net.inputShape(batch).intSize()];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        input = gpu.fromArray(net.inputShape(batch), x);
        labels = new int[batch];
        for (int i = 0; i < batch; i++) labels[i] = r.nextInt(1000);
        training.step(input, labels, Sgd.paper(), step++);
        gpu.synchronize();
    }

    @TearDown
    public void tearDown() {
        gpu.synchronize();
        input.close();
        training.close();
        net.close();
        gpu.close();
    }

    /** The loss is read back every step (as a trainer does), so the step includes that round trip. */
    @Benchmark
    public float train() {
        float loss = training.step(input, labels, Sgd.paper(), step++);
        gpu.synchronize();
        return loss;
    }
}
