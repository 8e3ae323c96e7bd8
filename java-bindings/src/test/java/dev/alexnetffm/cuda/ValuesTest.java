package dev.alexnetffm.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The parts of the bindings that need no driver. */
class ValuesTest {

    @Test
    void resultCodesMapBothWays() {
        assertEquals(CuResult.SUCCESS, CuResult.valueOf(0));
        assertEquals(CuResult.ERROR_OUT_OF_MEMORY, CuResult.valueOf(2));
        assertEquals(CuResult.ERROR_ILLEGAL_ADDRESS, CuResult.valueOf(700));
        assertEquals(CuResult.ERROR_UNKNOWN, CuResult.valueOf(999));
        assertEquals(CuResult.UNRECOGNIZED, CuResult.valueOf(123456));
        assertEquals("CUDA_ERROR_INVALID_VALUE", CuResult.ERROR_INVALID_VALUE.cName());
        for (CuResult r : CuResult.values()) {
            if (r != CuResult.UNRECOGNIZED) assertEquals(r, CuResult.valueOf(r.code()), r.name());
        }
    }

    @Test
    void exceptionMessageNamesCallErrorAndDescription() {
        CudaException e = new CudaException("cuMemAlloc_v2(1.00 GiB on cuda:0)", 2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory", "Use a smaller batch");
        assertEquals("cuMemAlloc_v2(1.00 GiB on cuda:0): CUDA_ERROR_OUT_OF_MEMORY (out of memory). Use a smaller batch", e.getMessage());
        assertEquals(CuResult.ERROR_OUT_OF_MEMORY, e.result());
    }

    @Test
    void launchDimensionsMustBePositive() {
        assertEquals(6, Dim3.of(1, 2, 3).count());
        assertEquals(4, Dim3.blocksFor(1000, 256));
        assertEquals(1, Dim3.blocksFor(0, 256));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Dim3.of(0));
        assertTrue(e.getMessage().contains("(0, 1, 1)"), e.getMessage());
    }

    @Test
    void signaturesPrintLikeDeclarations() {
        KernelSignature s = KernelSignature.of("elementwise", "relu_forward",
                KernelSignature.ptr("out"), KernelSignature.ptr("in"), KernelSignature.i64("n"));
        assertEquals("elementwise.relu_forward(ptr out, ptr in, i64 n)", s.toString());
    }

    @Test
    void byteCountsReadWell() {
        assertEquals("512 B", Bytes.format(512));
        assertEquals("1.50 KiB", Bytes.format(1536));
        assertEquals("2.00 GiB", Bytes.format(2L << 30));
    }

    @Test
    void computeCapabilityOrdersBySmVersion() {
        assertEquals(90, new ComputeCapability(9, 0).smVersion());
        assertTrue(new ComputeCapability(8, 6).compareTo(new ComputeCapability(9, 0)) < 0);
        assertEquals("8.6", new ComputeCapability(8, 6).toString());
    }
}
