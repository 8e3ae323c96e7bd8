package dev.alexnetffm.engine.backend.cuda;

import dev.alexnetffm.engine.backend.ConvSpec;
import dev.alexnetffm.engine.tensor.Shape;
import dev.alexnetffm.engine.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The convolution kernels' row tiles (64, 96, 128, 48 output channels per block, and the backward kernels' 64, 128
 * and 48 held to 128 registers): each agrees with the CPU, every one gives the same bits (forward, data gradient,
 * weight gradient direct and split), and tuning picks one of the candidates without changing a bit. (A forward pass
 * with few output pixels splits its reduction instead, in one tile: there the tiles trivially agree; the first two
 * cases have enough pixels for the tiles to run.)
 */
@Tag("gpu")
class ConvRowTilesGpuTest extends GpuAgainstCpu {
    record Case(String name, int n, int c, int h, int k, int r, int stride, int pad, int groups) {
        Shape input() {
            return Shape.of(n, c, h, h);
        }

        Shape weight() {
            return Shape.of(k, c / groups, r, r);
        }

        Shape output() {
            int p = (h + 2 * pad - r) / stride + 1;
            return Shape.of(n, k, p, p);
        }

        ConvSpec spec() {
            return new ConvSpec(stride, pad, groups);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        // The forward pass splits its reduction below half an SM count of 128-pixel column tiles (conv2d.cu v3, one
        // tile): the first case has 67 of them, so that its forward pass runs, and is tuned over, the row tiles.
        return Stream.of(
                new Case("96 filters on 92 x 92 pixels (67 column tiles: an unsplit forward pass)", 1, 3, 92, 96, 3, 1, 1, 1),
                new Case("2 x 50 filters, 16 channels, on 92 x 92 pixels (unsplit forward)", 1, 16, 92, 100, 3, 1, 1, 2),
                new Case("conv1's filters, small image (96 rows; split weight gradient)", 1, 3, 63, 96, 11, 4, 0, 1),
                new Case("conv2's groups of 48 input channels (split weight gradient)", 2, 96, 27, 256, 5, 1, 2, 2),
                new Case("conv4's 192 filters per group", 1, 384, 13, 384, 3, 1, 1, 2),
                new Case("odd: 150 filters, 37 channels, stride 2", 1, 37, 15, 150, 3, 2, 1, 1),
                new Case("odd: 2 x 70 filters", 2, 10, 9, 140, 3, 1, 1, 2));
    }

    @AfterEach
    void chooseAsUsual() {
        if (gpu != null) {
            gpu.forceConvRowTile(0);
            gpu.setConvTuning(false);
        }
    }

    /** The three convolution ops on the GPU with the given tile: output, data gradient, weight and bias gradients. */
    record Results(float[] out, float[] dIn, float[] dWeight, float[] dBias) {}

    static Results run(Case tc, ConvRowTiles.Variant v, Tensor x, Tensor w, Tensor b, Tensor dy) {
        gpu.forceConvKernel(v);
        try (Tensor out = gpu.allocate(tc.output()); Tensor dx = gpu.allocate(tc.input()); Tensor dw = gpu.allocate(tc.weight());
             Tensor db = gpu.allocate(Shape.of(tc.k()))) {
            for (Tensor t : List.of(out, dx, dw, db)) gpu.fill(t, Float.NaN);
            gpu.conv2d(out, x, w, b, tc.spec(), true);
            gpu.conv2dBackwardData(dx, dy, w, tc.spec());
            gpu.conv2dBackwardWeight(dw, db, dy, x, tc.spec());
            return new Results(out.toArray(), dx.toArray(), dw.toArray(), db.toArray());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void everyTileGivesTheSameBitsAsTheCpuWithinRounding(Case tc) {
        Random r = random(tc);
        Pair x = Pair.of(tc.input(), gaussian(r, 1, tc.input().size()));
        Pair w = Pair.of(tc.weight(), gaussian(r, 0.1, tc.weight().size()));
        Pair b = Pair.of(Shape.of(tc.k()), gaussian(r, 0.1, tc.k()));
        Pair dy = Pair.of(tc.output(), gaussian(r, 1, tc.output().size()));
        Pair out = Pair.poisoned(tc.output()), dx = Pair.poisoned(tc.input()), dw = Pair.poisoned(tc.weight()),
                db = Pair.poisoned(Shape.of(tc.k()));
        try {
            cpu.conv2d(out.onCpu(), x.onCpu(), w.onCpu(), b.onCpu(), tc.spec(), true);
            cpu.conv2dBackwardData(dx.onCpu(), dy.onCpu(), w.onCpu(), tc.spec());
            cpu.conv2dBackwardWeight(dw.onCpu(), db.onCpu(), dy.onCpu(), x.onCpu(), tc.spec());
            Results first = null;
            // the backward ops' variants: every tile, each followed by its 128-register entry if any (the forward op
            // runs its plain tile then)
            for (ConvRowTiles.Variant v : ConvRowTiles.Op.BACKWARD_DATA.variants()) {
                Results got = run(tc, v, x.onGpu(), w.onGpu(), b.onGpu(), dy.onGpu());
                String what = tc + ", row tile " + v;
                assertClose(what + ": output", got.out(), out.onCpu().toArray());
                assertClose(what + ": data gradient", got.dIn(), dx.onCpu().toArray());
                assertClose(what + ": weight gradient", got.dWeight(), dw.onCpu().toArray());
                assertClose(what + ": bias gradient", got.dBias(), db.onCpu().toArray());
                if (first == null) {
                    first = got;
                } else {
                    assertSame(what + ": output against tile " + ConvRowTiles.TILES[0], got.out(), first.out());
                    assertSame(what + ": data gradient against tile " + ConvRowTiles.TILES[0], got.dIn(), first.dIn());
                    assertSame(what + ": weight gradient against tile " + ConvRowTiles.TILES[0], got.dWeight(), first.dWeight());
                    assertSame(what + ": bias gradient against tile " + ConvRowTiles.TILES[0], got.dBias(), first.dBias());
                }
            }
        } finally {
            closeAll(x, w, b, dy, out, dx, dw, db);
        }
    }

    @Test
    void tuningTimesTheCandidatesOncePerShapeAndChangesNoBit() {
        Case tc = cases().findFirst().orElseThrow();  // 96 filters, an unsplit forward pass: four candidates for it
        Random r = random(tc);
        try (Tensor x = gpu.fromArray(tc.input(), gaussian(r, 1, tc.input().size()));
             Tensor w = gpu.fromArray(tc.weight(), gaussian(r, 0.1, tc.weight().size()));
             Tensor b = gpu.fromArray(Shape.of(tc.k()), gaussian(r, 0.1, tc.k()));
             Tensor dy = gpu.fromArray(tc.output(), gaussian(r, 1, tc.output().size()))) {
            gpu.setConvTuning(false);
            Results untuned = run(tc, null, x, w, b, dy);
            assertTrue(gpu.convRowTiles().keySet().stream().noneMatch(s -> s.contains(tc.weight().toString())), "untuned: nothing timed");
            gpu.setConvTuning(true);
            Results tuned = run(tc, null, x, w, b, dy);
            var chosen = gpu.convRowTiles();
            String forward = chosen.keySet().stream().filter(s -> s.startsWith("conv2d in " + tc.input())).findFirst()
                    .orElseThrow(() -> new AssertionError("no tuned forward shape in " + chosen));
            assertTrue(ConvRowTiles.candidates(ConvRowTiles.Op.FORWARD, tc.k()).stream().map(Object::toString).toList()
                    .contains(chosen.get(forward)), chosen.toString());
            String weight = chosen.keySet().stream().filter(s -> s.startsWith("conv2dBackwardWeight in " + tc.input())).findFirst()
                    .orElseThrow(() -> new AssertionError("no tuned weight gradient shape in " + chosen));
            assertTrue(ConvRowTiles.candidates(ConvRowTiles.Op.BACKWARD_WEIGHT, tc.k()).stream().map(Object::toString).toList()
                    .contains(chosen.get(weight)), chosen.toString());
            assertSame("tuned output", tuned.out(), untuned.out());
            assertSame("tuned data gradient", tuned.dIn(), untuned.dIn());
            assertSame("tuned weight gradient", tuned.dWeight(), untuned.dWeight());
            assertSame("tuned bias gradient", tuned.dBias(), untuned.dBias());
            Results again = run(tc, null, x, w, b, dy);  // the same shapes: the tuned tiles, no timing
            assertEquals(chosen, gpu.convRowTiles());
            assertSame("second tuned output", again.out(), untuned.out());
        }
    }
}
