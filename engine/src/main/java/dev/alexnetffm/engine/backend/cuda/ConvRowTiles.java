package dev.alexnetffm.engine.backend.cuda;

import dev.alexnetffm.cuda.Dim3;
import dev.alexnetffm.cuda.KernelSignature;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntConsumer;
import java.util.function.ToDoubleFunction;

/**
 * Which row tile each convolution kernel runs with. conv2d.cu's kernels come in row tiles of 64, 48, 96 and 128
 * output channels (GEMM rows) per block, with twice as many threads; every tile sums each output in the same order,
 * so the choice changes the speed, never the bits.
 *
 * <p>Untuned (the library's default), a shape gets the tile that pads its rows least, 64 on a tie
 * ({@link #leastPadding}). Tuned (like cuDNN's benchmark mode; the command line and the benchmarks turn it on): on the
 * first call of each shape, every tile that pads the rows by at most a third ({@link #candidates}) is launched once
 * to warm up and then timed over {@value #TIMED_LAUNCHES} launches, and the fastest is kept for that shape; a tie
 * keeps the untuned choice. Tuning synchronises the stream once per shape.
 */
final class ConvRowTiles {
    /** The three convolution kernels, each in every row tile. */
    enum Op {
        FORWARD(Kernels.CONV2D_FORWARD, Kernels.CONV2D_FORWARD_M96, Kernels.CONV2D_FORWARD_M128, Kernels.CONV2D_FORWARD_M48),
        BACKWARD_DATA(Kernels.CONV2D_BACKWARD_DATA, Kernels.CONV2D_BACKWARD_DATA_M96, Kernels.CONV2D_BACKWARD_DATA_M128,
                Kernels.CONV2D_BACKWARD_DATA_M48),
        BACKWARD_WEIGHT(Kernels.CONV2D_BACKWARD_WEIGHT, Kernels.CONV2D_BACKWARD_WEIGHT_M96, Kernels.CONV2D_BACKWARD_WEIGHT_M128,
                Kernels.CONV2D_BACKWARD_WEIGHT_M48);

        private final KernelSignature[] kernels;  // in the order of TILES

        Op(KernelSignature... kernels) {
            this.kernels = kernels;
        }

        /** The kernel of this op with row tile {@code tile}. */
        KernelSignature kernel(int tile) {
            for (int i = 0; i < TILES.length; i++) if (TILES[i] == tile) return kernels[i];
            throw new IllegalArgumentException("no conv2d row tile of " + tile + "; there are " + java.util.Arrays.toString(TILES));
        }
    }

    /** The row tiles the kernels come in, in order of preference on ties (64, then the larger tiles). */
    static final int[] TILES = {64, 96, 128, 48};
    /** The tile whose block count sets the weight gradient's split (so that the split is the same for every tile). */
    static final int DEFAULT = 64;
    /** The smallest tile: the one with the most blocks along the grid's y. */
    static final int SMALLEST = 48;
    static final int TIMED_LAUNCHES = 3;

    private final Map<Object, Integer> tuned = new ConcurrentHashMap<>();
    private volatile boolean tuning;
    private volatile int forced;

    ConvRowTiles(boolean tuning) {
        this.tuning = tuning;
    }

    /**
     * Whether a new backend tunes: system property alexnet.autotune, else the environment's ALEXNET_AUTOTUNE (1, true,
     * on or yes; 0, false, off or no; unset: no). Any other value is an error naming the setting.
     */
    static boolean tuningByDefault() {
        String property = System.getProperty(CudaBackend.AUTOTUNE_PROPERTY);
        return property != null ? parse("system property " + CudaBackend.AUTOTUNE_PROPERTY, property)
                : parse("ALEXNET_AUTOTUNE", System.getenv("ALEXNET_AUTOTUNE"));
    }

    static boolean parse(String setting, String value) {
        if (value == null) return false;
        return switch (value.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "1", "true", "on", "yes" -> true;
            case "0", "false", "off", "no", "" -> false;
            default -> throw new IllegalArgumentException(setting + " is '" + value
                    + "': use 1 (time each convolution shape's kernel tiles on its first call) or 0 (the least padded tile)");
        };
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
     * Runs {@code launch} with the tile for {@code shape} (the op and its shapes: the tuning's key, by equality, and
     * its description, by toString) of {@code rows} rows: the tuned one, timing the candidates first if this shape is
     * new; untuned, the least padded. {@code timeMillis} runs its argument on the stream and returns its device time.
     */
    void launch(Object shape, int rows, IntConsumer launch, ToDoubleFunction<Runnable> timeMillis) {
        int tile;
        if (forced != 0) {
            tile = forced;
        } else if (!tuning) {
            tile = leastPadding(rows);
        } else {
            Integer known = tuned.get(shape);  // the common case: no candidate list built on every launch
            tile = known != null ? known : candidates(rows).size() == 1 ? leastPadding(rows)
                    : tuned.computeIfAbsent(shape, key -> fastest(rows, launch, timeMillis));
        }
        launch.accept(tile);
    }

    /** Tests: every launch uses {@code tile} (0: choose as usual). */
    void force(int tile) {
        if (tile != 0) Op.FORWARD.kernel(tile);  // validates
        forced = tile;
    }

    private static int fastest(int rows, IntConsumer launch, ToDoubleFunction<Runnable> timeMillis) {
        int best = -1;
        double bestMillis = Double.POSITIVE_INFINITY;
        for (int tile : candidates(rows)) {
            launch.accept(tile);  // warm-up: module load, caches
            double ms = timeMillis.applyAsDouble(() -> {
                for (int i = 0; i < TIMED_LAUNCHES; i++) launch.accept(tile);
            });
            if (ms < bestMillis) {
                best = tile;
                bestMillis = ms;
            }
        }
        return best;
    }

    /** The tuned shapes (described) and their tiles, sorted by description. */
    Map<String, Integer> choices() {
        Map<String, Integer> byName = new TreeMap<>();
        tuned.forEach((shape, tile) -> byName.put(shape.toString(), tile));
        return Collections.unmodifiableMap(byName);
    }
}
