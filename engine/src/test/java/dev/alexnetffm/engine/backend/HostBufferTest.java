package dev.alexnetffm.engine.backend;

import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** Host buffers on the CPU backend, and the fences through which backends make a buffer wait for its copies. */
class HostBufferTest {
    final CpuBackend cpu = new CpuBackend();

    @Test
    void theCpuUploadsTheFirstFloatsOfAHostBuffer() {
        float[] data = new float[2 * 3 * 4 * 4 + 5]; // a batch of 2, and 5 floats to spare (a larger buffer)
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < data.length; i++) data[i] = Float.intBitsToFloat(r.nextInt());
        try (HostBuffer host = cpu.allocateHost(data.length); Tensor t = cpu.allocate(Shape.of(2, 3, 4, 4))) {
            assertEquals(data.length, host.floats());
            MemorySegment.copy(data, 0, host.segment(), ValueLayout.JAVA_FLOAT, 0, data.length);
            cpu.copyFromHost(t, host);
            host.awaitReusable(); // no fence: returns at once
            host.segment().fill((byte) 0); // the copy was done when copyFromHost returned
            float[] got = t.toArray();
            for (int i = 0; i < got.length; i++) assertEquals(Float.floatToRawIntBits(data[i]), Float.floatToRawIntBits(got[i]), "float " + i);
            assertArrayEquals(new float[3], host.toArray(3));
        }
    }

    @Test
    void aTooSmallBufferAndAClosedOneAreClearErrors() {
        HostBuffer host = cpu.allocateHost(10);
        try (Tensor t = cpu.allocate(Shape.of(11))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cpu.copyFromHost(t, host));
            assertTrue(e.getMessage().contains("the host buffer has 10"), e.getMessage());
            host.close();
            host.close(); // twice: nothing
            Tensor ten = cpu.allocate(Shape.of(10));
            assertThrows(IllegalStateException.class, () -> cpu.copyFromHost(ten, host));
            assertThrows(IllegalStateException.class, () -> host.segment().set(ValueLayout.JAVA_FLOAT, 0, 1f));
            assertThrows(IllegalStateException.class, () -> host.fence(this, RecordingFence::new));
        }
        assertThrows(IllegalArgumentException.class, () -> cpu.allocateHost(0));
        assertThrows(IllegalArgumentException.class, () -> new HostBuffer(MemorySegment.ofArray(new float[4]), () -> {}));
    }

    /** One fence per backend that copied; reuse waits for all of them; close waits, then closes them, then frees. */
    @Test
    void aBufferWaitsForTheFenceOfEveryBackendThatCopiedFromIt() {
        List<String> events = new ArrayList<>();
        Object gpu0 = "gpu0", gpu1 = "gpu1";
        HostBuffer host = new HostBuffer(java.lang.foreign.Arena.ofShared().allocate(16), () -> events.add("freed"));
        RecordingFence a = host.fence(gpu0, () -> new RecordingFence("gpu0", events));
        assertSame(a, host.fence(gpu0, () -> fail("one fence per owner")));
        RecordingFence b = host.fence(gpu1, () -> new RecordingFence("gpu1", events));
        assertNotSame(a, b);
        host.awaitReusable();
        assertEquals(List.of("await gpu0", "await gpu1"), events);
        events.clear();
        host.close();
        assertEquals(List.of("await gpu0", "await gpu1", "close gpu0", "close gpu1", "freed"), events);
        events.clear();
        host.close();
        assertEquals(List.of(), events, "closed once");
    }

    /** Even when a copy failed (a broken device), the memory is freed. */
    @Test
    void aFailingFenceStillFreesTheMemory() {
        List<String> events = new ArrayList<>();
        HostBuffer host = new HostBuffer(java.lang.foreign.Arena.ofShared().allocate(16), () -> events.add("freed"));
        host.fence("gpu", () -> new RecordingFence("gpu", events) {
            @Override
            public void await() {
                throw new IllegalStateException("device lost");
            }
        });
        assertThrows(IllegalStateException.class, host::close);
        assertEquals(List.of("close gpu", "freed"), events);
    }

    static class RecordingFence implements HostBuffer.Fence {
        final String name;
        final List<String> events;

        RecordingFence() {
            this("", new ArrayList<>());
        }

        RecordingFence(String name, List<String> events) {
            this.name = name;
            this.events = events;
        }

        @Override
        public void await() {
            events.add("await " + name);
        }

        @Override
        public void close() {
            events.add("close " + name);
        }
    }
}
