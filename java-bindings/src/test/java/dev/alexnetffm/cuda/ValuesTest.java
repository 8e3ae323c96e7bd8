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
    void aBinaryModuleMustBeACubinOrAFatbinNeverText() {
        byte[] elf = new byte[64];
        elf[0] = 0x7f;
        elf[1] = 'E';
        elf[2] = 'L';
        elf[3] = 'F';
        CuModule.checkBinary("conv2d", elf);
        CuModule.checkBinary("conv2d", new byte[] {0x50, (byte) 0xed, 0x55, (byte) 0xba, 1, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        byte[] ptx = ".version 9.0\n.target sm_90\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CuModule.checkBinary("conv2d", ptx));
        assertTrue(e.getMessage().startsWith("module conv2d: 27 bytes that are neither a cubin"), e.getMessage());
        assertTrue(e.getMessage().contains("loadModule(name, String)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CuModule.checkBinary("conv2d", new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> CuModule.checkBinary("conv2d", java.util.Arrays.copyOf(elf, 20)));
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
