package dev.alexnetffm.engine.backend.cuda;

import dev.alexnetffm.cuda.ComputeCapability;
import dev.alexnetffm.cuda.CudaException;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class KernelLibraryTest {
    final KernelLibrary library = KernelLibrary.load();

    @Test
    void defaultBuildCoversAmpereAndHopper() {
        assertTrue(library.archs().contains(80), library.archs().toString());
        assertTrue(library.archs().contains(90), library.archs().toString());
        assertTrue(library.modules().containsAll(List.of("elementwise", "launch")), library.modules().toString());
        assertTrue(library.archs().containsAll(library.sassArchs()), "a cubin is only built beside its PTX: " + library.sassArchs());
    }

    @Test
    void picksTheHighestTargetTheDeviceCanRun() {
        assertEquals(90, library.bestArch(new ComputeCapability(9, 0)));
        assertEquals(80, library.bestArch(new ComputeCapability(8, 9)));
        assertEquals(80, library.bestArch(new ComputeCapability(8, 0)));
        assertEquals(90, library.bestArch(new ComputeCapability(12, 0)));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> library.bestArch(new ComputeCapability(7, 5)));
        assertTrue(e.getMessage().contains("-Dcuda.archs=75"), e.getMessage());
    }

    @Test
    void ptxIsTextForTheRightTarget() {
        String ptx = library.ptx("elementwise", 90);
        assertTrue(ptx.contains(".target sm_90"), ptx.substring(0, 300));
        assertTrue(ptx.contains(".entry relu_forward"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> library.ptx("nope", 90));
        assertTrue(e.getMessage().contains("no kernel module 'nope'"), e.getMessage());
    }

    @Test
    void machineCodeOnlyForExactlyTheArchitectureItWasBuiltFor() {
        assumeFalse(library.sassArchs().isEmpty(), "the kernels were built without ptxas: no cubins");
        KernelLibrary sass = library.withSass(true), ptxOnly = library.withSass(false);
        for (int arch : library.sassArchs()) {
            ComputeCapability exact = new ComputeCapability(arch / 10, arch % 10);
            assertTrue(sass.loadsSass(exact), "sm_" + arch);
            assertFalse(ptxOnly.loadsSass(exact), "sm_" + arch + " with ptx only");
        }
        // sm_89 and sm_120 have no cubin of their own: they JIT-compile the PTX of sm_80 and sm_90.
        assertFalse(sass.loadsSass(new ComputeCapability(8, 9)));
        assertFalse(sass.loadsSass(new ComputeCapability(12, 0)));
        assertTrue(sass.cubin("elementwise", 75).isEmpty());
    }

    /** Each cubin is a CUDA ELF file for its architecture whose kernels are exactly the entries of its PTX. */
    @Test
    void everyCubinHoldsItsPtxsKernelsForItsArchitecture() {
        assumeFalse(library.sassArchs().isEmpty(), "the kernels were built without ptxas: no cubins");
        Pattern entry = Pattern.compile("\\.entry\\s+(\\w+)");
        for (int arch : library.sassArchs()) {
            for (String module : library.modules()) {
                String where = "sm_" + arch + "/" + module + ".cubin";
                ByteBuffer elf = ByteBuffer.wrap(library.cubin(module, arch).orElseThrow()).order(ByteOrder.LITTLE_ENDIAN);
                assertEquals(0x464c457f, elf.getInt(0), where + ": not an ELF file");
                assertEquals(190, elf.getShort(18), where + ": e_machine is not EM_CUDA");
                int flags = elf.getInt(48);
                int elfArch = elf.get(8) >= 8 ? (flags >> 8) & 0xff : flags & 0xff;  // ELF ABI 8 moved the field
                assertEquals(arch, elfArch, where + ": machine code for another architecture");

                Set<String> ptxEntries = new TreeSet<>();
                Matcher m = entry.matcher(library.ptx(module, arch));
                while (m.find()) ptxEntries.add(m.group(1));
                assertFalse(ptxEntries.isEmpty(), module);
                assertEquals(ptxEntries, kernels(elf), where + ": its kernels are not its PTX's entries");
            }
        }
    }

    /** The global functions marked as kernel entries (STO_CUDA_ENTRY, 0x10 in st_other) in the ELF symbol table. */
    private static Set<String> kernels(ByteBuffer elf) {
        long shoff = elf.getLong(40);
        int shentsize = elf.getShort(58), shnum = elf.getShort(60);
        Set<String> names = new TreeSet<>();
        for (int i = 0; i < shnum; i++) {
            int sh = Math.toIntExact(shoff + (long) i * shentsize);
            if (elf.getInt(sh + 4) != 2) continue;  // SHT_SYMTAB
            int symOff = Math.toIntExact(elf.getLong(sh + 24)), symSize = Math.toIntExact(elf.getLong(sh + 32));
            int symEnt = Math.toIntExact(elf.getLong(sh + 56));
            int strSh = Math.toIntExact(shoff + (long) elf.getInt(sh + 40) * shentsize);
            int strOff = Math.toIntExact(elf.getLong(strSh + 24));
            for (int at = symOff; at + symEnt <= symOff + symSize; at += symEnt) {
                int info = elf.get(at + 4) & 0xff, other = elf.get(at + 5) & 0xff;
                if ((info & 0xf) == 2 && (info >> 4) == 1 && (other & 0x10) != 0) names.add(cString(elf, strOff + elf.getInt(at)));
            }
        }
        return names;
    }

    private static String cString(ByteBuffer elf, int at) {
        int end = at;
        while (elf.get(end) != 0) end++;
        byte[] bytes = new byte[end - at];
        elf.get(at, bytes);
        return new String(bytes, StandardCharsets.US_ASCII);
    }

    @Test
    void aRefusedCubinFallsBackToPtxAndAFailingPtxCarriesTheRefusal() {
        CudaException refused = new CudaException("cuModuleLoadDataEx(conv2d binary on cuda:0)", 209,
                "CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available for execution on the device", null);
        assertEquals("sass", KernelLibrary.preferring(() -> "sass", () -> fail("not needed")));
        assertEquals("ptx", KernelLibrary.preferring(() -> { throw refused; }, () -> "ptx"));
        CudaException jit = new CudaException("cuModuleLoadDataEx(conv2d PTX on cuda:0)", 222,
                "CUDA_ERROR_UNSUPPORTED_PTX_VERSION", "the provided PTX was compiled with an unsupported toolchain", null);
        CudaException e = assertThrows(CudaException.class,
                () -> KernelLibrary.preferring(() -> { throw refused; }, () -> { throw jit; }));
        assertSame(jit, e);
        assertArrayEquals(new Throwable[] {refused}, e.getSuppressed());
        // Only the driver's refusal falls back: a bug on the Java side is not hidden behind the PTX.
        assertThrows(IllegalStateException.class,
                () -> KernelLibrary.preferring(() -> { throw new IllegalStateException("bug"); }, () -> "ptx"));
    }

    @Test
    void theSettingIsAutoOrPtxAndAnythingElseIsAClearError() {
        assertTrue(KernelLibrary.parseSetting("ALEXNET_KERNELS", null));
        assertTrue(KernelLibrary.parseSetting("ALEXNET_KERNELS", " Auto "));
        assertFalse(KernelLibrary.parseSetting("ALEXNET_KERNELS", "ptx"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KernelLibrary.parseSetting("system property alexnet.kernels", "sass"));
        assertTrue(e.getMessage().startsWith("system property alexnet.kernels is 'sass': use auto"), e.getMessage());
    }
}
