package dev.alexnetffm.engine.cli;

import dev.alexnetffm.cuda.CudaDriver;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.*;

class MainTest {
    record Result(int status, String out, String err) {}

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void infoDescribesTheMachineWithOrWithoutAGpu() {
        Result r = run("info");
        assertTrue(r.out().contains("kernel modules packaged: "), r.out());
        if (CudaDriver.isAvailable()) {
            assertEquals(0, r.status(), r.out());
            assertTrue(r.out().contains("CUDA driver: "), r.out());
            assertTrue(r.out().contains("elementwise  loaded"), r.out());
        } else {
            assertEquals(0, r.status());
            assertTrue(r.out().contains("CUDA: not available."), r.out());
        }
    }

    @Test
    void badUsageSaysWhatWasWrong() {
        Result r = run("frobnicate");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("unknown command 'frobnicate'"), r.err());
        assertTrue(r.err().contains("usage: alexnet"), r.err());
        r = run("info", "--bogus");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("takes no arguments"), r.err());
        assertEquals(2, run().status());
        assertEquals(0, run("help").status());
    }
}
