package dev.alexnetffm.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** When a forward convolution splits its reduction (conv2d.cu v3), decided from the shapes and the SM count alone. */
class ConvForwardSplitTest {
    static final int H100_SMS = 132;

    /** Column tiles (128 output pixels each) of a layer's output at a batch. */
    static int columnTiles(int batch, int outSize) {
        return (batch * outSize * outSize + 127) / 128;
    }

    @Test
    void noAlexNetLayerSplitsAtBatch128() {
        // conv1 55x55 (C*R*S 363), conv2 27x27 (48*25), conv3 13x13 (256*9), conv4/5 13x13 (192*9)
        int[][] layers = {{55, 363}, {27, 1200}, {13, 2304}, {13, 1728}};
        for (int[] l : layers) assertEquals(l[1], CudaBackend.convForwardChunk(columnTiles(128, l[0]), l[1], H100_SMS), "batch 128");
    }

    @Test
    void batchOneSplitsEnoughToFillTheGpu() {
        // conv3 at batch 1: 169 pixels, two column tiles; split so that tiles x splits is about half the SMs
        int chunk = CudaBackend.convForwardChunk(columnTiles(1, 13), 2304, H100_SMS);
        int splits = (2304 + chunk - 1) / chunk;
        assertEquals(72, chunk);
        assertEquals(32, splits);
        assertTrue(2 * splits * (384 / 64) >= 2 * H100_SMS, "at least two blocks per SM: " + 2 * splits * 6);  // 2 tiles x 32 x 6 row tiles
        // conv2: six column tiles, chunks of 112 of 1200
        assertEquals(112, CudaBackend.convForwardChunk(columnTiles(1, 27), 1200, H100_SMS));
    }

    @Test
    void chunksAreWholeSlabsOfAtLeastEightAndNoSplitIsEmpty() {
        for (int tiles = 1; tiles <= 80; tiles++) {
            for (int crs = 1; crs <= 3000; crs += 7) {
                int chunk = CudaBackend.convForwardChunk(tiles, crs, H100_SMS);
                assertTrue(chunk >= 1 && chunk <= crs, tiles + " tiles, " + crs + ": " + chunk);
                if (chunk == crs) continue;  // no split
                assertEquals(0, chunk % 8, tiles + " tiles, " + crs + ": " + chunk);
                assertTrue(chunk >= 64, tiles + " tiles, " + crs + ": " + chunk);
                int splits = (crs + chunk - 1) / chunk;
                assertTrue((long) (splits - 1) * chunk < crs, "the last split has work");
                assertTrue(tiles < H100_SMS / 2, "only few column tiles split");
            }
        }
    }
}
