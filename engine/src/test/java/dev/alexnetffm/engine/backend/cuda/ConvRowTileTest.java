package dev.alexnetffm.engine.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which row tile (output channels per block) each convolution GEMM gets: the least padding, 64 on a tie. */
class ConvRowTileTest {
    @Test
    void alexNetsLayersGetTilesWithoutEmptyRows() {
        assertEquals(96, ConvRowTiles.leastPadding(96));   // conv1's filters (forward, weight gradient)
        assertEquals(48, ConvRowTiles.leastPadding(48));   // conv2's input channels per group (data gradient); each tower's conv1
        assertEquals(64, ConvRowTiles.leastPadding(128));  // conv2, conv5 per group
        assertEquals(64, ConvRowTiles.leastPadding(192));  // conv4 per group: three 64-row tiles, as good as two of 96
        assertEquals(64, ConvRowTiles.leastPadding(256));  // conv3's data gradient
        assertEquals(64, ConvRowTiles.leastPadding(384));  // conv3
    }

    @Test
    void everyRowCountGetsTheLeastPaddedTile() {
        for (int rows = 1; rows <= 1000; rows++) {
            int tile = ConvRowTiles.leastPadding(rows);
            int padded = (rows + tile - 1) / tile * tile;
            for (int other : ConvRowTiles.TILES) {
                int otherPadded = (rows + other - 1) / other * other;
                assertTrue(padded <= otherPadded, rows + " rows: tile " + tile + " pads to " + padded + ", " + other + " to " + otherPadded);
                if (padded == otherPadded && other == 64) assertEquals(64, tile, rows + " rows: a tie goes to 64");
            }
        }
        assertEquals(96, ConvRowTiles.leastPadding(65));  // 96 rows against 128
        assertEquals(48, ConvRowTiles.leastPadding(1));
    }

    @Test
    void theTuningSettingIsReadStrictly() {
        assertTrue(ConvRowTiles.parse("ALEXNET_AUTOTUNE", "1"));
        assertTrue(ConvRowTiles.parse("ALEXNET_AUTOTUNE", "True"));
        assertEquals(false, ConvRowTiles.parse("ALEXNET_AUTOTUNE", "0"));
        assertEquals(false, ConvRowTiles.parse("ALEXNET_AUTOTUNE", null));
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ConvRowTiles.parse("ALEXNET_AUTOTUNE", "fast"));
        assertTrue(e.getMessage().startsWith("ALEXNET_AUTOTUNE is 'fast': use 1"), e.getMessage());
    }

    @Test
    void tuningTimesTheTilesThatPadAtMostAThird() {
        assertEquals(java.util.List.of(96, 64, 128, 48), ConvRowTiles.candidates(96));   // 96, 128, 128, 96 rows
        assertEquals(java.util.List.of(64, 96, 128, 48), ConvRowTiles.candidates(384));  // all exact
        assertEquals(java.util.List.of(64, 128, 48), ConvRowTiles.candidates(128));      // 96 would pad to 192
        assertEquals(java.util.List.of(48, 64), ConvRowTiles.candidates(48));
        assertEquals(java.util.List.of(48), ConvRowTiles.candidates(5));                // nothing to choose: no timing
        for (int rows = 1; rows <= 1000; rows++) {
            java.util.List<Integer> c = ConvRowTiles.candidates(rows);
            assertEquals(ConvRowTiles.leastPadding(rows), c.getFirst(), rows + " rows");
        }
    }

    @Test
    void theBackwardKernelsAlsoTimeTheirEntriesHeldTo128Registers() {
        ConvRowTiles.Variant r64 = new ConvRowTiles.Variant(64, true), r128 = new ConvRowTiles.Variant(128, true),
                r48 = new ConvRowTiles.Variant(48, true);
        var v = java.util.List.of(ConvRowTiles.Variant.of(96), ConvRowTiles.Variant.of(64), r64, ConvRowTiles.Variant.of(128), r128,
                ConvRowTiles.Variant.of(48), r48);
        assertEquals(v, ConvRowTiles.candidates(ConvRowTiles.Op.BACKWARD_WEIGHT, 96));
        assertEquals(v, ConvRowTiles.candidates(ConvRowTiles.Op.BACKWARD_DATA, 96));
        assertEquals(java.util.List.of(96, 64, 128, 48),
                ConvRowTiles.candidates(ConvRowTiles.Op.FORWARD, 96).stream().map(ConvRowTiles.Variant::tile).toList());
        assertEquals(java.util.List.of(ConvRowTiles.Variant.of(48), r48), ConvRowTiles.candidates(ConvRowTiles.Op.BACKWARD_DATA, 5));
        assertEquals(java.util.List.of(ConvRowTiles.Variant.of(48)), ConvRowTiles.candidates(ConvRowTiles.Op.FORWARD, 5));
        assertEquals(Kernels.CONV2D_BACKWARD_DATA_M128_R128, ConvRowTiles.Op.BACKWARD_DATA.kernel(r128));
        assertEquals(Kernels.CONV2D_BACKWARD_WEIGHT_R128, ConvRowTiles.Op.BACKWARD_WEIGHT.kernel(r64));
        assertEquals(Kernels.CONV2D_BACKWARD_WEIGHT_M48_R128, ConvRowTiles.Op.BACKWARD_WEIGHT.kernel(r48));
        assertEquals(Kernels.CONV2D_BACKWARD_WEIGHT_M96, ConvRowTiles.Op.BACKWARD_WEIGHT.kernel(ConvRowTiles.Variant.of(96)));
        assertEquals(7, ConvRowTiles.Op.BACKWARD_DATA.variants().size());
        assertEquals(4, ConvRowTiles.Op.FORWARD.variants().size());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> ConvRowTiles.Op.FORWARD.kernel(r64));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ConvRowTiles.Op.BACKWARD_DATA.kernel(new ConvRowTiles.Variant(96, true)));
        assertEquals("128 r128", r128.toString());
    }

    @Test
    void tuningTimesEachShapeOnceKeepsTheFastestAndLeavesALoneCandidateUntimed() {
        ConvRowTiles tiles = new ConvRowTiles(true);
        java.util.List<ConvRowTiles.Variant> launched = new java.util.ArrayList<>();
        int[] timings = {0};
        // A stand-in device: a launch records its kernel; a timed run costs the row tile's milliseconds, so 48 wins.
        java.util.function.ToDoubleFunction<Runnable> time = run -> {
            timings[0]++;
            int before = launched.size();
            run.run();
            return launched.get(before).tile();
        };
        tiles.launch("conv 96", ConvRowTiles.Op.FORWARD, 96, launched::add, time);
        assertEquals(4, timings[0], "each of the four candidates timed once");
        assertEquals(ConvRowTiles.Variant.of(48), launched.getLast(), "the fastest runs the call itself");
        launched.clear();
        tiles.launch("conv 96", ConvRowTiles.Op.FORWARD, 96, launched::add, time);
        assertEquals(java.util.List.of(ConvRowTiles.Variant.of(48)), launched, "a known shape: one launch, no timing");
        assertEquals(4, timings[0]);

        launched.clear();
        tiles.launch("conv 5", ConvRowTiles.Op.FORWARD, 5, launched::add, time);
        tiles.launch("conv 5", ConvRowTiles.Op.FORWARD, 5, launched::add, time);
        assertEquals(java.util.List.of(ConvRowTiles.Variant.of(48), ConvRowTiles.Variant.of(48)), launched);
        assertEquals(4, timings[0], "a lone candidate is never timed");
        assertEquals(java.util.Map.of("conv 5", "48", "conv 96", "48"), tiles.choices());

        ConvRowTiles untuned = new ConvRowTiles(false);
        launched.clear();
        untuned.launch("conv 96", ConvRowTiles.Op.FORWARD, 96, launched::add, time);
        assertEquals(java.util.List.of(ConvRowTiles.Variant.of(96)), launched, "untuned: the least padded tile");
        assertEquals(4, timings[0]);
        assertTrue(untuned.choices().isEmpty());
    }
}
