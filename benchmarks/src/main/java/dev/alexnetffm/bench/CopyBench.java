package dev.alexnetffm.bench;

import dev.alexnetffm.cuda.Context;
import dev.alexnetffm.cuda.CuStream;
import dev.alexnetffm.cuda.CudaDriver;
import dev.alexnetffm.cuda.DeviceBuffer;
import dev.alexnetffm.cuda.PinnedBuffer;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * Copy bandwidth: host → device and device → host from pageable (malloc'd) and pinned memory, and device → device.
 * Times are per copy; {@code benchmarks/scripts/jmh_table.py} turns them into GB/s (device copies count the bytes
 * read and written, as the DESIGN's 2.87 TB/s ceiling does).
 * Run: {@code java -jar benchmarks/target/benchmarks.jar CopyBench -rf json -rff copy.json}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class CopyBench {
    @Param({"1048576", "67108864", "268435456"})
    public long bytes;

    Context ctx;
    CuStream stream;
    DeviceBuffer device;
    DeviceBuffer device2;
    PinnedBuffer pinned;
    Arena arena;
    MemorySegment pageable;

    @Setup
    public void setUp() {
        ctx = CudaDriver.device(0).primaryContext().makeCurrent();
        stream = ctx.createStream();
        device = ctx.allocate(bytes);
        device2 = ctx.allocate(bytes);
        pinned = ctx.allocatePinned(bytes);
        arena = Arena.ofShared();
        pageable = arena.allocate(bytes, 4096);
        // touch every page so that first-touch faults stay out of the measurement
        pageable.fill((byte) 1);
        pinned.segment().fill((byte) 1);
        device.memsetD8((byte) 1);
    }

    @TearDown
    public void tearDown() {
        stream.synchronize();
        arena.close();
        pinned.close();
        device2.close();
        device.close();
        stream.close();
        ctx.close();
    }

    @Benchmark
    public void hostToDevicePageable() {
        device.copyFromHost(pageable);
    }

    @Benchmark
    public void hostToDevicePinned() {
        device.copyFromHostAsync(pinned.segment(), 0, 0, bytes, stream);
        stream.synchronize();
    }

    @Benchmark
    public void deviceToHostPageable() {
        device.copyToHost(pageable);
    }

    @Benchmark
    public void deviceToHostPinned() {
        device.copyToHostAsync(0, pinned.segment(), 0, bytes, stream);
        stream.synchronize();
    }

    @Benchmark
    public void deviceToDevice() {
        device2.copyFromAsync(device, 0, 0, bytes, stream);
        stream.synchronize();
    }
}
