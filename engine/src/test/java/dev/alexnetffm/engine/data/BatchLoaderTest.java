package dev.alexnetffm.engine.data;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.HashSet;
import java.util.Set;

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
}
