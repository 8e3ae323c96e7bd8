package dev.alexnetffm.bench;

import dev.alexnetffm.cuda.CudaDriver;
import dev.alexnetffm.engine.backend.cuda.CudaBackend;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.parallel.ExchangePlan;
import dev.alexnetffm.engine.parallel.SplitAlexNet;
import dev.alexnetffm.engine.tensor.HostTensor;
import dev.alexnetffm.engine.tensor.Tensor;
import dev.alexnetffm.engine.train.Sgd;
import dev.alexnetffm.engine.train.TrainingStep;
import org.openjdk.jmh.annotations.*;

import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The paper's network on one device against the paper's two-tower split ({@link SplitAlexNet}), FP32, batch 128,
 * the same initial weights ({@code AlexNet.initialWeights(paper, 42)}) and the same host batch on every placement.
 * <ul>
 *   <li>{@code one}: {@link AlexNet} + {@link TrainingStep} on GPU 0;</li>
 *   <li>{@code two-logical}: tower A and tower B on two streams of GPU 0 ({@code new CudaBackend(0)} twice), each
 *       with its own worker thread, exchanging through device copies: the split's schedule and synchronisation
 *       without a second GPU's compute, so its time against {@code one} is the split's overhead;</li>
 *   <li>{@code two-gpus} (not in the default list; {@code -p placement=one,two-logical,two-gpus}): towers on GPU 0
 *       and GPU 1 with peer copies. Setup fails with a clear message on a machine with fewer than two GPUs.</li>
 * </ul>
 * <p>{@link SplitAlexNet} takes host batches and uploads them to both devices itself, so to compare like with like
 * the one-device side here also starts from the host array and uploads it on every call
 * ({@code backend.copyFromHost(input, hostBatch)}), unlike {@link ForwardBench} and {@link TrainStepBench}, whose
 * input stays on the device:
 * <ul>
 *   <li>{@code forward}: upload the host batch, the forward pass at inference, and the copy of the logits back to
 *       the host (which waits for them);</li>
 *   <li>{@code trainStep}: upload, forward with dropout, loss, backward and SGD, then a synchronisation of every
 *       device, so each call is one whole step on both sides.</li>
 * </ul>
 * <p>For the two-device placements, setup prints once what one training step moves between the towers
 * ({@link SplitAlexNet#plan}, the same {@link ExchangePlan} as {@code ExchangePlan.trainingStep}): 62,640,128 bytes
 * at batch 128.
 * Run: {@code java -jar benchmarks/target/benchmarks.jar SplitBench -rf json -rff split.json}, then
 * {@code python3 benchmarks/scripts/jmh_table.py split.json} for the one-against-two table.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dalexnet.autotune=true"})  // convolutions tuned per shape, as cudnn.benchmark
public class SplitBench {
    @Param({"one", "two-logical"})
    public String placement;

    @Param({"128"})
    public int batch;

    AlexNetConfig config;
    float[] images;
    int[] labels;
    long step;

    // placement "one"
    CudaBackend gpu;
    AlexNet net;
    TrainingStep training;
    Tensor input;

    // placements "two-logical" and "two-gpus"
    SplitAlexNet split;

    @Setup
    public void setUp() {
        CudaDriver.unavailableReason().ifPresent(why -> {
            throw new IllegalStateException("SplitBench needs a CUDA GPU: " + why);
        });
        config = AlexNetConfig.paper();
        Map<String, HostTensor> weights = AlexNet.initialWeights(config, 42);
        SplittableRandom r = new SplittableRandom(7);
        images = new float[batch * config.inChannels() * config.inputSize() * config.inputSize()];
        for (int i = 0; i < images.length; i++) images[i] = (float) r.nextGaussian();
        labels = new int[batch];
        for (int i = 0; i < batch; i++) labels[i] = r.nextInt(config.classes());
        switch (placement) {
            case "one" -> {
                gpu = new CudaBackend(0);
                net = AlexNet.fromWeights(gpu, config, weights);
                training = new TrainingStep(net, 42);
                input = gpu.allocate(net.inputShape(batch));
                System.out.println("placement one: " + gpu.name());
            }
            case "two-logical" -> split = split(0, 0, weights);
            case "two-gpus" -> {
                int gpus = CudaDriver.deviceCount();
                if (gpus < 2) {
                    throw new IllegalStateException("placement two-gpus needs two GPUs; this machine has " + gpus
                            + " (two-logical runs both towers on GPU 0)");
                }
                split = split(0, 1, weights);
            }
            default -> throw new IllegalArgumentException("placement must be one, two-logical or two-gpus, got '" + placement + "'");
        }
        if (split != null) {
            split.enableTraining(42);
            ExchangePlan plan = ExchangePlan.trainingStep(config, batch);
            long bytes = split.plan(batch, true).bytes();
            if (bytes != plan.bytes()) throw new IllegalStateException("the split's plan moves " + bytes + " bytes, ExchangePlan " + plan.bytes());
            System.out.println("placement " + placement + ": " + split.description());
            System.out.printf("exchange: %,d bytes per training step (forward %,d, backward %,d); inference %,d bytes%n", bytes,
                    plan.bytes(ExchangePlan.Pass.FORWARD), plan.bytes(ExchangePlan.Pass.BACKWARD), split.plan(batch, false).bytes());
        }
        // one call of each kind before timing: kernels loaded, buffers made (the split keeps one mode's buffers at a
        // time, so a forward trial re-makes its inference buffers once more, in warm-up)
        forward();
        trainStep();
        if (gpu != null) gpu.synchronize();
    }

    /** The split with tower A on GPU {@code a} and tower B on GPU {@code b}. */
    private SplitAlexNet split(int a, int b, Map<String, HostTensor> weights) {
        return SplitAlexNet.open(() -> new CudaBackend(a), () -> new CudaBackend(b), config, weights);
    }

    @TearDown
    public void tearDown() {
        if (split != null) {
            split.close(); // waits for both towers before freeing their memory
            split = null;
        }
        if (gpu != null) {
            gpu.synchronize();
            input.close();
            training.close();
            net.close();
            gpu.close();
            gpu = null;
        }
    }

    /** Logits of the host batch: upload, forward at inference, logits copied back. */
    @Benchmark
    public float[] forward() {
        if (split != null) return split.logits(images, batch);
        gpu.copyFromHost(input, images);
        return net.forward(input).toArray();
    }

    /** One SGD step on the host batch (upload, forward with dropout, backward, update); returns the loss. */
    @Benchmark
    public float trainStep() {
        float loss;
        if (split != null) {
            loss = split.step(images, labels, Sgd.paper(), step++);
            split.synchronize();
        } else {
            gpu.copyFromHost(input, images);
            loss = training.step(input, labels, Sgd.paper(), step++);
            gpu.synchronize();
        }
        return loss;
    }
}
