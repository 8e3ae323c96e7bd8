package dev.alexnetffm.bench;

import dev.alexnetffm.cuda.Context;
import dev.alexnetffm.cuda.CuGraph;
import dev.alexnetffm.cuda.CuGraphExec;
import dev.alexnetffm.cuda.CuModule;
import dev.alexnetffm.cuda.CuStream;
import dev.alexnetffm.cuda.CudaDriver;
import dev.alexnetffm.cuda.Dim3;
import dev.alexnetffm.cuda.Kernel;
import dev.alexnetffm.engine.backend.cuda.KernelLibrary;
import dev.alexnetffm.engine.backend.cuda.Kernels;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/**
 * What one kernel launch costs through Java → FFM → libcuda: an empty kernel ({@code launch.cu: noop}).
 * <ul>
 *   <li>{@code launchOnly}: host time to queue one launch (256 per invocation, the queue drained before each
 *       invocation so that it never fills up and blocks);</li>
 *   <li>{@code launchAndSync}: one launch and waiting for it, the latency of a dependent round trip;</li>
 *   <li>{@code graphOf256}: 256 launches captured as one graph, per launch, for comparison.</li>
 * </ul>
 * Run: {@code java -jar benchmarks/target/benchmarks.jar LaunchBench}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class LaunchBench {
    static final int BATCH = 256;

    Context ctx;
    CuStream stream;
    CuModule module;
    Kernel noop;
    CuGraph graph;
    CuGraphExec graphExec;

    @Setup
    public void setUp() {
        ctx = CudaDriver.device(0).primaryContext().makeCurrent();
        stream = ctx.createStream();
        module = KernelLibrary.load().loadModule(ctx, "launch");
        noop = module.kernel(Kernels.NOOP);
        stream.beginCapture(CuStream.CaptureMode.THREAD_LOCAL);
        for (int i = 0; i < BATCH; i++) noop.launch(stream, Dim3.of(1), Dim3.of(1), 0);
        graph = stream.endCapture();
        graphExec = graph.instantiate();
    }

    @TearDown
    public void tearDown() {
        stream.synchronize();
        graphExec.close();
        graph.close();
        module.close();
        stream.close();
        ctx.close();
    }

    @Setup(Level.Invocation)
    public void drain() {
        stream.synchronize();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void launchOnly() {
        for (int i = 0; i < BATCH; i++) noop.launch(stream, Dim3.of(1), Dim3.of(1), 0);
    }

    @Benchmark
    public void launchAndSync() {
        noop.launch(stream, Dim3.of(1), Dim3.of(1), 0);
        stream.synchronize();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void graphOf256() {
        graphExec.launch(stream);
        stream.synchronize();
    }
}
