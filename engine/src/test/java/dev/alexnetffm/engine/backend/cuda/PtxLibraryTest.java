package dev.alexnetffm.engine.backend.cuda;

import dev.alexnetffm.cuda.ComputeCapability;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class PtxLibraryTest {
    final PtxLibrary library = PtxLibrary.load();

    @Test
    void defaultBuildCoversAmpereAndHopper() {
        assertTrue(library.archs().contains(80), library.archs().toString());
        assertTrue(library.archs().contains(90), library.archs().toString());
        assertTrue(library.modules().containsAll(java.util.List.of("elementwise", "launch")), library.modules().toString());
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
}
