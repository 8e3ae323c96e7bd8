package dev.alexnetffm.engine.backend.cuda;

import dev.alexnetffm.cuda.Dim3;
import dev.alexnetffm.cuda.KernelSignature;
import dev.alexnetffm.engine.Setting;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.ToDoubleFunction;

/**
 * Which row tile each convolution kernel runs with. conv2d.cu's kernels come in row tiles of 64, 48, 96 and 128
 * output channels (GEMM rows) per block, with twice as many threads, and the backward kernels' tiles 64, 128 and 48
 * also in an entry held to 128 registers per thread (more resident blocks per SM, a few spilled bytes); every variant sums
 * each output in the same order, so the choice changes the speed, never the bits.
 *
 * <p>Untuned (the library's default), a shape gets the plain tile that pads its rows least, 64 on a tie
 * ({@link #leastPadding}). Tuned (like cuDNN's benchmark mode; the command line and the benchmarks turn it on): on the
 * first call of each shape, every tile that pads the rows by at most a third ({@link #candidates}), and its 128-register
 * entry where the op has one, is launched once to warm up and then timed over {@value #TIMED_LAUNCHES} launches, and
 * the fastest is kept for that shape; a tie keeps the untuned choice. Tuning synchronises the stream once per shape.
 */
final class ConvRowTiles {
    /**
     * One kernel of an op: its row tile, and whether it is the entry with as many resident blocks per SM as 128
     * registers per thread allow (conv2d.cu's {@code _r128} entries, which the backward kernels have for the tiles 64,
     * 128 and 48).
     */
    record Variant(int tile, boolean r128) {
        static Variant of(int tile) {
            return new Variant(tile, false);
        }

        @Override
        public String toString() {
            return r128 ? tile + " r128" : Integer.toString(tile);
        }
    }

    /** The three convolution kernels, each in every row tile. */
    enum Op {
        FORWARD(new KernelSignature[] {Kernels.CONV2D_FORWARD, Kernels.CONV2D_FORWARD_M96, Kernels.CONV2D_FORWARD_M128,
                Kernels.CONV2D_FORWARD_M48}, new KernelSignature[4]),
        BACKWARD_DATA(new KernelSignature[] {Kernels.CONV2D_BACKWARD_DATA, Kernels.CONV2D_BACKWARD_DATA_M96, Kernels.CONV2D_BACKWARD_DATA_M128,
                Kernels.CONV2D_BACKWARD_DATA_M48}, new KernelSignature[] {Kernels.CONV2D_BACKWARD_DATA_R128, null,
                Kernels.CONV2D_BACKWARD_DATA_M128_R128, Kernels.CONV2D_BACKWARD_DATA_M48_R128}),
        BACKWARD_WEIGHT(new KernelSignature[] {Kernels.CONV2D_BACKWARD_WEIGHT, Kernels.CONV2D_BACKWARD_WEIGHT_M96,
                Kernels.CONV2D_BACKWARD_WEIGHT_M128, Kernels.CONV2D_BACKWARD_WEIGHT_M48}, new KernelSignature[] {
                Kernels.CONV2D_BACKWARD_WEIGHT_R128, null, Kernels.CONV2D_BACKWARD_WEIGHT_M128_R128, Kernels.CONV2D_BACKWARD_WEIGHT_M48_R128});

        private final KernelSignature[] kernels;  // in the order of TILES
        private final KernelSignature[] r128;     // likewise, null where the tile has no 128-register entry

        Op(KernelSignature[] kernels, KernelSignature[] r128) {
            this.kernels = kernels;
            this.r128 = r128;
        }

        /** The kernel of this op for {@code v}. */
        KernelSignature kernel(Variant v) {
            if (!has(v)) {
                throw new IllegalArgumentException("no conv2d kernel " + v + " for " + this + " (row tiles " + Arrays.toString(TILES) + ")");
            }
            return (v.r128() ? r128 : kernels)[indexOf(v.tile())];
        }

        /** Whether this op has the kernel {@code v}. */
        boolean has(Variant v) {
            int i = indexOf(v.tile());
            return i >= 0 && (!v.r128() || r128[i] != null);
        }

        /** The kernels of this op with the given row tiles: each plain, followed by its 128-register entry if any. */
        List<Variant> variants(List<Integer> tiles) {
            List<Variant> all = new ArrayList<>();
            for (int tile : tiles) {
                all.add(Variant.of(tile));
                if (has(new Variant(tile, true))) all.add(new Variant(tile, true));
            }
            return all;
        }

        /** Every kernel of this op, in the order of TILES. */
        List<Variant> variants() {
            return variants(Arrays.stream(TILES).boxed().toList());
        }

        private static int indexOf(int tile) {
            for (int i = 0; i < TILES.length; i++) if (TILES[i] == tile) return i;
            return -1;
        }
    }

    /** The row tiles the kernels come in, in order of preference on ties (64, then the larger tiles). */
    static final int[] TILES = {64, 96, 128, 48};
    /** The tile whose block count sets the weight gradient's split (so that the split is the same for every tile). */
    static final int DEFAULT = 64;
    /** The smallest tile: the one with the most blocks along the grid's y. */
    static final int SMALLEST = 48;
    static final int TIMED_LAUNCHES = 3;

    private final Map<Object, Variant> tuned = new ConcurrentHashMap<>();
    private volatile boolean tuning;
    private volatile Variant forced;

    ConvRowTiles(boolean tuning) {
        this.tuning = tuning;
    }

    /** System property alexnet.autotune, else ALEXNET_AUTOTUNE: whether a new backend tunes (unset: no). */
    static final Setting AUTOTUNE = new Setting(CudaBackend.AUTOTUNE_PROPERTY, "ALEXNET_AUTOTUNE",
            "use 1 (time each convolution shape's kernel tiles on its first call) or 0 (the least padded tile)");

    /** Whether a new backend tunes, as {@link #AUTOTUNE} says; any other value than 1, true, on, yes, 0, false, off, no is an error. */
    static boolean tuningByDefault() {
        return AUTOTUNE.read(false, Setting.SWITCH);
    }

    static boolean parse(String setting, String value) {
        return AUTOTUNE.parse(setting, value, false, Setting.SWITCH);
    }

    /**
     * The tile for a GEMM of {@code rows} rows: the one that pads them least, in {@link #TILES}' order on a tie (conv1's
     * 96 filters: one 96-row tile instead of two 64-row tiles a quarter empty; conv2's 48 input channels per group,
     * in its data gradient: one 48-row tile).
     */
    static int leastPadding(int rows) {
        int best = TILES[0];
        for (int tile : TILES) if (padded(rows, tile) < padded(rows, best)) best = tile;
        return best;
    }

    /** The tiles worth timing for {@code rows} rows: the untuned choice first, then every tile padding at most a third. */
    static List<Integer> candidates(int rows) {
        List<Integer> list = new ArrayList<>(List.of(leastPadding(rows)));
        for (int tile : TILES) {
            if (!list.contains(tile) && 3L * padded(rows, tile) <= 4L * rows) list.add(tile);
        }
        return list;
    }

    /** The kernels of {@code op} worth timing for {@code rows} rows: each candidate tile, then its 128-register entry. */
    static List<Variant> candidates(Op op, int rows) {
        return op.variants(candidates(rows));
    }

    private static long padded(int rows, int tile) {
        return (long) Dim3.blocksFor(rows, tile) * tile;
    }

    boolean tuning() {
        return tuning;
    }

    void setTuning(boolean on) {
        tuning = on;
    }

    /**
     * Runs {@code launch} with the kernel of {@code op} for {@code shape} (the op and its shapes: the tuning's key, by
     * equality, and its description, by toString) of {@code rows} rows: the tuned one, timing the candidates first if
     * this shape is new; untuned, the least padded tile. {@code timeMillis} runs its argument on the stream and returns
     * its device time.
     */
    void launch(Object shape, Op op, int rows, Consumer<Variant> launch, ToDoubleFunction<Runnable> timeMillis) {
        Variant v;
        Variant f = forced;
        if (f != null) {
            v = op.has(f) ? f : Variant.of(f.tile());  // the forward kernel has no 128-register entries
        } else if (!tuning) {
            v = Variant.of(leastPadding(rows));
        } else {
            Variant known = tuned.get(shape);  // the common case: a lookup, nothing built or timed
            v = known != null ? known : tuned.computeIfAbsent(shape, key -> fastest(op, rows, launch, timeMillis));
        }
        launch.accept(v);
    }

    /** Tests: every launch uses row tile {@code tile}, plain (0: choose as usual). */
    void force(int tile) {
        force(tile == 0 ? null : Variant.of(tile));
    }

    /** Tests: every launch uses {@code v}, or its plain tile where the op has no such entry (null: choose as usual). */
    void force(Variant v) {
        if (v != null && Arrays.stream(Op.values()).noneMatch(op -> op.has(v))) {
            throw new IllegalArgumentException("no conv2d kernel " + v);
        }
        forced = v;
    }

    /** The fastest of the candidates of {@code op} for {@code rows} rows; a lone candidate is kept untimed. */
    private static Variant fastest(Op op, int rows, Consumer<Variant> launch, ToDoubleFunction<Runnable> timeMillis) {
        List<Variant> candidates = candidates(op, rows);
        if (candidates.size() == 1) return candidates.get(0);
        Variant best = null;
        double bestMillis = Double.POSITIVE_INFINITY;
        for (Variant v : candidates) {
            launch.accept(v);  // warm-up: module load, caches
            double ms = timeMillis.applyAsDouble(() -> {
                for (int i = 0; i < TIMED_LAUNCHES; i++) launch.accept(v);
            });
            if (ms < bestMillis) {
                best = v;
                bestMillis = ms;
            }
        }
        return best;
    }

    /**
     * The shapes met while tuning (described) and their kernels ("96", "128 r128"), sorted by description: the
     * timed choice, or the lone candidate of a shape that had nothing to time.
     */
    Map<String, String> choices() {
        Map<String, String> byName = new TreeMap<>();
        tuned.forEach((shape, v) -> byName.put(shape.toString(), v.toString()));
        return Collections.unmodifiableMap(byName);
    }
}
