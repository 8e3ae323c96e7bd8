package dev.alexnetffm.engine.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which row tile (output channels per block) each convolution GEMM gets: the least padding, 64 on a tie. */
class ConvRowTileTest {
    @Test
    void alexNetsLayersGetTilesWithoutEmptyRows() {
        assertEquals(96, CudaBackend.convRowTile(96));   // conv1's filters (forward, weight gradient)
        assertEquals(48, CudaBackend.convRowTile(48));   // conv2's input channels per group (data gradient); each tower's conv1
        assertEquals(64, CudaBackend.convRowTile(128));  // conv2, conv5 per group
        assertEquals(64, CudaBackend.convRowTile(192));  // conv4 per group: three 64-row tiles, as good as two of 96
        assertEquals(64, CudaBackend.convRowTile(256));  // conv3's data gradient
        assertEquals(64, CudaBackend.convRowTile(384));  // conv3
    }

    @Test
    void everyRowCountGetsTheLeastPaddedTile() {
        for (int rows = 1; rows <= 1000; rows++) {
            int tile = CudaBackend.convRowTile(rows);
            int padded = (rows + tile - 1) / tile * tile;
            for (int other : new int[] {48, 64, 96}) {
                int otherPadded = (rows + other - 1) / other * other;
                assertTrue(padded <= otherPadded, rows + " rows: tile " + tile + " pads to " + padded + ", " + other + " to " + otherPadded);
                if (padded == otherPadded && other == 64) assertEquals(64, tile, rows + " rows: a tie goes to 64");
            }
        }
        assertEquals(96, CudaBackend.convRowTile(65));  // 96 rows against 128
        assertEquals(48, CudaBackend.convRowTile(1));
    }
}
