package dev.alexnetffm.cuda;

import dev.alexnetffm.cuda.internal.DriverLibrary;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** On a machine without the NVIDIA driver: clear exceptions, never UnsatisfiedLinkError or a crash. */
class NoDriverTest {

    @Test
    void everyEntryPointExplainsThatTheDriverIsMissing() {
        assumeFalse(DriverLibrary.loaded(), "the driver is installed here");
        assertFalse(CudaDriver.isAvailable());
        String reason = CudaDriver.unavailableReason().orElseThrow();
        assertTrue(reason.contains("libcuda.so.1"), reason);
        assertTrue(reason.contains("CPU backend"), "the message should say what to do: " + reason);

        CudaUnavailableException init = assertThrows(CudaUnavailableException.class, CudaDriver::init);
        assertTrue(init.getMessage().contains("libcuda.so.1"), init.getMessage());
        // a second attempt says the same thing rather than failing differently
        assertThrows(CudaUnavailableException.class, CudaDriver::init);
        assertThrows(CudaUnavailableException.class, () -> CudaDriver.device(0));
        assertThrows(CudaUnavailableException.class, CudaDriver::version);
        assertThrows(CudaUnavailableException.class, CudaDriver::deviceCount);
    }
}
