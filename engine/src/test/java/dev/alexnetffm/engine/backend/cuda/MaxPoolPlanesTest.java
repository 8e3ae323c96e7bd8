package dev.alexnetffm.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/** How many (n, c) planes a block of maxpool_backward_planes takes (pool.cu), decided from the shapes and SM count. */
class MaxPoolPlanesTest {
    static final int H100_SMS = 132;

    @Test
    void alexNetPoolsAtBatch128() {
        // pool1 55x55 -> 27x27, pool2 27x27 -> 13x13, pool5 13x13 -> 6x6, each 3x3 stride 2
        assertEquals(1, CudaBackend.maxPoolPlanesPerBlock(128 * 96, 55 * 55, 27 * 27, H100_SMS));
        assertEquals(3, CudaBackend.maxPoolPlanesPerBlock(128 * 256, 27 * 27, 13 * 13, H100_SMS));
        assertEquals(13, CudaBackend.maxPoolPlanesPerBlock(128 * 256, 13 * 13, 6 * 6, H100_SMS));
    }

    @Test
    void smallBatchesKeepTwoBlocksPerSm() {
        assertEquals(1, CudaBackend.maxPoolPlanesPerBlock(256, 13 * 13, 6 * 6, H100_SMS));       // pool5 at batch 1
        assertEquals(13, CudaBackend.maxPoolPlanesPerBlock(32 * 256, 13 * 13, 6 * 6, H100_SMS)); // pool5 at batch 32: 631 blocks
        assertEquals(7, CudaBackend.maxPoolPlanesPerBlock(8 * 256, 13 * 13, 6 * 6, H100_SMS));   // batch 8: 293 blocks, not 158
    }

    @Test
    void windowsBeyondTheSharedMemoryTakeThePerElementKernel() {
        assertEquals(0, CudaBackend.maxPoolPlanesPerBlock(10, 140 * 140, 70 * 70, H100_SMS));
        assertEquals(1, CudaBackend.maxPoolPlanesPerBlock(10_000, 130 * 130, 64 * 64, H100_SMS));  // exactly full
    }

    @Test
    void choicesAlwaysFitAndBlocksCoverEveryPlane() {
        for (long planes = 1; planes <= 5000; planes += 37) {
            for (int side = 1; side <= 80; side += 3) {
                for (int window = 1; window <= Math.min(side, 4); window++) {
                    int out = (side - window) / 2 + 1, pq = out * out;
                    int perBlock = CudaBackend.maxPoolPlanesPerBlock(planes, side * side, pq, H100_SMS);
                    if (pq > CudaBackend.MAXPOOL_PLANES_WINDOWS) {
                        assertEquals(0, perBlock);
                        continue;
                    }
                    assertTrue(perBlock >= 1 && (long) perBlock * pq <= CudaBackend.MAXPOOL_PLANES_WINDOWS, planes + " " + side + ": " + perBlock);
                }
            }
        }
    }

    /** The host's limit is the kernel's: the PTX declares exactly that many ints of shared memory for the choices. */
    @Test
    void theKernelsSharedMemoryHoldsTheHostsLimit() {
        KernelLibrary library = KernelLibrary.load();
        for (int arch : library.archs()) {
            Matcher m = Pattern.compile("\\.shared\\s+\\.align\\s+4\\s+\\.b8\\s+\\w*maxpool_backward_planes\\w*chosen\\[(\\d+)]")
                    .matcher(library.ptx("pool", arch));
            assertTrue(m.find(), "sm_" + arch + ": no shared array for maxpool_backward_planes' choices in pool.ptx");
            assertEquals(4L * CudaBackend.MAXPOOL_PLANES_WINDOWS, Long.parseLong(m.group(1)), "sm_" + arch);
        }
    }
}
