package dev.alexnetffm.engine.backend.cuda;

import dev.alexnetffm.engine.backend.HostBuffer;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static dev.alexnetffm.engine.backend.cuda.ElementwiseGpuTest.assertBitwiseEqual;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Uploads from page-locked host buffers: queued in order with the stream's work, no host copy, the buffer reported
 * reusable only once the copy has read it, one buffer feeding two backends.
 */
@Tag("gpu")
class HostBufferGpuTest extends GpuAgainstCpu {
    final Random random = new Random();

    float[] randomData(long n) {
        float[] a = new float[Math.toIntExact(n)];
        for (int i = 0; i < a.length; i++) a[i] = (float) random.nextGaussian() * 3;
        return a;
    }

    static void write(HostBuffer host, float[] data) {
        MemorySegment.copy(data, 0, host.segment(), ValueLayout.JAVA_FLOAT, 0, data.length);
    }

    /** Several buffers uploaded into one tensor with kernels reading it in between, no waiting: each kernel sees its own. */
    @Test
    void uploadsAreOrderedWithQueuedWork() {
        Shape shape = Shape.of(4, 96, 55, 55);
        float[][] inputs = new float[5][];
        HostBuffer[] hosts = new HostBuffer[5];
        Tensor[] outs = new Tensor[5];
        try (Tensor in = gpu.allocate(shape)) {
            for (int i = 0; i < 5; i++) {
                inputs[i] = randomData(shape.size());
                hosts[i] = gpu.allocateHost(shape.size());
                write(hosts[i], inputs[i]);
                outs[i] = gpu.allocate(shape);
                gpu.fill(in, Float.NaN);     // queued before the upload: must not overwrite it
                gpu.copyFromHost(in, hosts[i]);
                gpu.relu(outs[i], in);       // queued after: must see it
            }
            for (int i = 0; i < 5; i++) {
                float[] got = outs[i].toArray();
                for (int j = 0; j < got.length; j++) assertEquals(Math.max(inputs[i][j], 0f), got[j], "upload " + i + ", element " + j);
                outs[i].close();
                hosts[i].close();
            }
        }
    }

    /**
     * Long work queued first holds the copy back; awaitReusable must wait for it: overwriting the buffer right after
     * it returns must not reach the device.
     */
    @Test
    void aBufferIsReusableOnlyOnceItsCopyHasReadIt() {
        Shape shape = Shape.of(16, 96, 55, 55);
        float[] first = randomData(shape.size());
        try (HostBuffer host = gpu.allocateHost(shape.size()); Tensor busy = gpu.allocate(Shape.of(64, 96, 55, 55));
             Tensor in = gpu.allocate(shape)) {
            for (int round = 0; round < 3; round++) {
                write(host, first);
                for (int i = 0; i < 200; i++) gpu.fill(busy, i); // some tens of milliseconds of work ahead of the copy
                gpu.copyFromHost(in, host);
                host.awaitReusable();
                host.segment().fill((byte) 0x7f);                // NaN patterns, were the copy still running
                assertBitwiseEqual(first, in.toArray());
            }
        }
    }

    /** One buffer uploaded to two backends (two streams of one GPU): both get the batch; reuse waits for both. */
    @Test
    void oneBufferFeedsTwoBackends() {
        Shape shape = Shape.of(8, 3, 227, 227);
        float[] data = randomData(shape.size());
        try (CudaBackend second = new CudaBackend(0)) {
            HostBuffer host = second.allocateHost(shape.size() + 100); // larger than the batch; from the other backend
            try (Tensor a = gpu.allocate(shape); Tensor b = second.allocate(shape); Tensor busy = second.allocate(Shape.of(64, 96, 55, 55))) {
                write(host, data);
                for (int i = 0; i < 200; i++) second.fill(busy, i); // the second backend's copy runs late
                gpu.copyFromHost(a, host);
                second.copyFromHost(b, host);
                host.awaitReusable();
                host.segment().fill((byte) 0);
                assertBitwiseEqual(data, a.toArray());
                assertBitwiseEqual(data, b.toArray());
            }
            second.close();
            // the buffer holds its own context reference: it outlives the backend that allocated it
            write(host, data);
            try (Tensor a = gpu.allocate(shape)) {
                gpu.copyFromHost(a, host);
                assertBitwiseEqual(data, a.toArray());
            } finally {
                host.close();
            }
        }
    }

    @Test
    void wrongSizesAndClosedBuffersAreClearErrors() {
        try (HostBuffer small = gpu.allocateHost(10); Tensor t = gpu.allocate(Shape.of(11))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> gpu.copyFromHost(t, small));
            assertTrue(e.getMessage().contains("the host buffer has 10"), e.getMessage());
        }
        HostBuffer closed = gpu.allocateHost(10);
        closed.close();
        try (Tensor t = gpu.allocate(Shape.of(10))) {
            assertThrows(IllegalStateException.class, () -> gpu.copyFromHost(t, closed));
        }
    }
}
