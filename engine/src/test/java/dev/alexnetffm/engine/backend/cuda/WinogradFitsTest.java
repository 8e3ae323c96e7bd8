package dev.alexnetffm.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.alexnetffm.engine.backend.ConvSpec;
import org.junit.jupiter.api.Test;

/** Which convolutions {@link CudaBackend#setWinograd Winograd} takes: 3x3, stride 1, padding 0-2 (conv3-5). */
class WinogradFitsTest {
    @Test
    void onlyThreeByThreeStrideOneFits() {
        assertTrue(CudaBackend.winogradFits(3, 3, new ConvSpec(1, 1, 2)));
        assertTrue(CudaBackend.winogradFits(3, 3, new ConvSpec(1, 0, 1)));
        assertTrue(CudaBackend.winogradFits(3, 3, new ConvSpec(1, 2, 1)));
        assertFalse(CudaBackend.winogradFits(3, 3, new ConvSpec(2, 1, 1)));  // strided
        assertFalse(CudaBackend.winogradFits(5, 5, new ConvSpec(1, 2, 2)));  // conv2
        assertFalse(CudaBackend.winogradFits(11, 11, new ConvSpec(4, 0, 1))); // conv1
        assertFalse(CudaBackend.winogradFits(3, 1, new ConvSpec(1, 1, 1)));
        assertFalse(CudaBackend.winogradFits(3, 3, new ConvSpec(1, 3, 1)));  // the data gradient would need padding -1
    }
}
