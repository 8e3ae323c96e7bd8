package dev.alexnetffm.engine.data;

import dev.alexnetffm.engine.backend.HostBuffer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.*;

class BatchLoaderTest {
    /** Item i is an image filled with i, label i % 3; items in {@code corrupt} throw. */
    record Numbers(int size, Set<Integer> corrupt) implements Dataset {
        public String name() { return "numbers"; }
        public int classes() { return 3; }
        public int channels() { return 1; }
        public int imageSize() { return 2; }
        public int label(int i) { return i % 3; }
        public void image(int i, float[] out, int offset) throws IOException {
            if (corrupt.contains(i)) throw new IOException("item " + i + " is corrupt");
            java.util.Arrays.fill(out, offset, offset + 4, i);
        }
    }

    @Test
    void batchesFollowTheOrderAndRecycleBuffers() throws Exception {
        int[] order = BatchLoader.shuffled(103, 7);
        assertArrayEquals(order, BatchLoader.shuffled(103, 7));
        assertFalse(java.util.Arrays.equals(order, BatchLoader.shuffled(103, 8)));
        Set<Integer> seen = new HashSet<>();
        try (BatchLoader loader = new BatchLoader(new Numbers(103, Set.of()), 10, order, true, 3, 2, false)) {
            assertEquals(10, loader.batches());
            int b = 0;
            for (BatchLoader.Batch next; (next = loader.next()) != null; b++) {
                try (BatchLoader.Batch batch = next) {
                    assertEquals(b, batch.index);
                    assertEquals(10, batch.size);
                    for (int i = 0; i < 10; i++) {
                        int item = order[b * 10 + i];
                        assertEquals(item, (int) batch.images[i * 4 + 3]);
                        assertEquals(item % 3, batch.labels[i]);
                        assertTrue(seen.add(item));
                    }
                }
            }
        }
        assertEquals(100, seen.size(), "drop last: 3 items left out");
        try (BatchLoader loader = new BatchLoader(new Numbers(103, Set.of()), 10, BatchLoader.sequential(103), false, 1, 1, false)) {
            assertEquals(11, loader.batches());
            BatchLoader.Batch last = null;
            for (BatchLoader.Batch next; (next = loader.next()) != null; ) {
                if (last != null) last.close();
                last = next;
            }
            assertEquals(3, last.size);
        }
    }

    @Test
    void aCorruptItemStopsTheEpochOrIsSkippedAndCounted() throws Exception {
        Numbers data = new Numbers(30, Set.of(4, 17));
        try (BatchLoader loader = new BatchLoader(data, 10, BatchLoader.sequential(30), true, 2, 2, false)) {
            IOException e = assertThrows(IOException.class, () -> {
                for (BatchLoader.Batch next; (next = loader.next()) != null; ) next.close();
            });
            assertTrue(e.getMessage().contains("item 4 is corrupt"), e.getMessage());
        }
        try (BatchLoader loader = new BatchLoader(data, 10, BatchLoader.sequential(30), true, 2, 2, true)) {
            int total = 0;
            for (BatchLoader.Batch next; (next = loader.next()) != null; ) {
                try (BatchLoader.Batch batch = next) {
                    total += batch.size;
                }
            }
            assertEquals(28, total);
            assertEquals(2, loader.skipped());
            assertTrue(loader.skippedItems().stream().anyMatch(s -> s.contains("item 4 is corrupt")), loader.skippedItems().toString());
        }
    }

    /** Item i is 3x5x5 floats of every bit pattern (NaNs, infinities, -0 included) drawn from i; items in {@code corrupt} throw. */
    record Bits(int size, Set<Integer> corrupt) implements Dataset {
        public String name() { return "bits"; }
        public int classes() { return 7; }
        public int channels() { return 3; }
        public int imageSize() { return 5; }
        public int label(int i) { return i % 7; }
        public void image(int i, float[] out, int offset) throws IOException {
            if (corrupt.contains(i)) throw new IOException("item " + i + " is corrupt");
            SplittableRandom r = new SplittableRandom(i);
            for (int k = 0; k < imageFloats(); k++) out[offset + k] = Float.intBitsToFloat(r.nextInt());
        }
    }

    /** Host buffers made by {@link HostBuffer#allocate}, remembered to check that the loader frees them. */
    static final class Allocations {
        final List<HostBuffer> made = new ArrayList<>();
        final List<Long> sizes = new ArrayList<>();

        synchronized HostBuffer allocate(long floats) {
            sizes.add(floats);
            HostBuffer h = HostBuffer.allocate(floats);
            made.add(h);
            return h;
        }

        void assertAllFreed() {
            for (HostBuffer h : made) assertThrows(IllegalStateException.class, () -> h.segment().get(ValueLayout.JAVA_FLOAT, 0), "freed");
        }
    }

    /** Decoding into host buffers gives the very bits, labels, sizes and order that decoding into arrays gives. */
    @Test
    void hostBuffersHoldTheSameBatchesAsArrays() throws Exception {
        Bits clean = new Bits(103, Set.of()), corrupt = new Bits(103, Set.of(0, 4, 17, 99, 102));
        sameBatches(clean, 10, BatchLoader.shuffled(103, 5), true, false);   // 10 full batches
        sameBatches(clean, 10, BatchLoader.sequential(103), false, false);   // and a last one of 3
        sameBatches(corrupt, 10, BatchLoader.shuffled(103, 9), false, true); // smaller batches where items were skipped
        sameBatches(clean, 128, BatchLoader.sequential(103), false, false);  // one partial batch
    }

    private static void sameBatches(Bits data, int batchSize, int[] order, boolean dropLast, boolean skipCorrupt) throws Exception {
        Allocations host = new Allocations();
        int floats = data.imageFloats(), batches = 0;
        try (BatchLoader arrays = new BatchLoader(data, batchSize, order, dropLast, 3, 2, skipCorrupt);
             BatchLoader buffers = new BatchLoader(data, batchSize, order, dropLast, 3, 2, skipCorrupt, host::allocate)) {
            assertEquals(3, host.made.size(), "prefetch + 1 buffers");
            assertEquals(List.of((long) batchSize * floats, (long) batchSize * floats, (long) batchSize * floats), host.sizes);
            assertEquals(arrays.batches(), buffers.batches());
            for (BatchLoader.Batch a; (a = arrays.next()) != null; batches++) {
                try (BatchLoader.Batch x = a; BatchLoader.Batch y = buffers.next()) {
                    assertNull(x.host);
                    assertNull(y.images);
                    assertEquals(x.index, y.index);
                    assertEquals(x.size, y.size, "batch " + x.index);
                    assertArrayEquals(java.util.Arrays.copyOf(x.labels, x.size), java.util.Arrays.copyOf(y.labels, y.size));
                    for (int k = 0; k < x.size * floats; k++) {
                        assertEquals(Float.floatToRawIntBits(x.images[k]), y.host.segment().getAtIndex(ValueLayout.JAVA_INT, k),
                                "batch " + x.index + ", float " + k);
                    }
                }
            }
            assertNull(buffers.next());
            assertEquals(arrays.skipped(), buffers.skipped());
            assertEquals(arrays.skippedItems().stream().sorted().toList(), buffers.skippedItems().stream().sorted().toList());
        }
        assertEquals(dropLast ? order.length / batchSize : (order.length + batchSize - 1) / batchSize, batches);
        host.assertAllFreed();
    }

    /** A closed batch's host buffer is refilled only after the copies still reading it are done. */
    @Test
    void aHostBufferIsRefilledOnlyOnceItsCopiesAreDone() throws Exception {
        Allocations host = new Allocations();
        Bits data = new Bits(40, Set.of());
        CountDownLatch copyDone = new CountDownLatch(1);
        AtomicBoolean awaited = new AtomicBoolean();
        // prefetch 1: two buffers, so batch 2 needs batch 0's buffer back
        try (BatchLoader loader = new BatchLoader(data, 10, BatchLoader.sequential(40), true, 1, 1, false, host::allocate)) {
            BatchLoader.Batch first = loader.next();
            HostBuffer buffer = first.host;
            int before = buffer.segment().get(ValueLayout.JAVA_INT, 0);
            // what a GPU backend does: a fence on the buffer that is passed once its (slow) copy has read it
            buffer.fence(this, () -> new HostBuffer.Fence() {
                public void await() {
                    try {
                        assertTrue(copyDone.await(10, TimeUnit.SECONDS));
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                    awaited.set(true);
                }
                public void close() {}
            });
            first.close();                       // returns at once
            loader.next().close();               // batch 1; batch 2 is now waiting for batch 0's copy
            Thread.sleep(200);
            assertEquals(before, buffer.segment().get(ValueLayout.JAVA_INT, 0), "not refilled while the copy may read it");
            copyDone.countDown();
            try (BatchLoader.Batch third = loader.next()) {
                assertSame(buffer, third.host);
                assertTrue(awaited.get());
                float[] want = new float[data.imageFloats()];
                data.image(20, want, 0);
                assertEquals(Float.floatToRawIntBits(want[0]), buffer.segment().get(ValueLayout.JAVA_INT, 0));
            }
        }
        host.assertAllFreed();
    }
}
