package dev.alexnetffm.engine.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class StepLogTest {
    /** Four batches of 10 per epoch, two epochs; mistakes falling 8, 6, 4, 2, 1, 1, 0, 0. */
    static StepLog sample() {
        StepLog log = new StepLog();
        int[] wrong = {8, 6, 4, 2, 1, 1, 0, 0};
        for (int i = 0; i < wrong.length; i++) log.add(new StepLog.Step(i, (i + 1) / 4.0, 2.0 - 0.25 * i, 10, wrong[i], 1.5 * (i + 1)));
        return log;
    }

    @Test
    void theMovingErrorCoversTheLastWindowOfImages() {
        double[] e = sample().movingError(20);
        assertTrue(Double.isNaN(e[0]), "not a full window yet");
        assertEquals(14 / 20.0, e[1], 1e-12);
        assertEquals(10 / 20.0, e[2], 1e-12);
        assertEquals(6 / 20.0, e[3], 1e-12);
        assertEquals(0 / 20.0, e[7], 1e-12);
        assertArrayEquals(new double[] {0.8, 0.6, 0.4, 0.2, 0.1, 0.1, 0, 0}, sample().movingError(10), 1e-12);
    }

    @Test
    void epochsAndSecondsToATargetAreFractional() {
        StepLog log = sample();
        assertEquals(1.0, log.epochsTo(0.30, 20), 1e-12);    // (4 + 2) / 20 after the fourth step
        assertEquals(6.0, log.secondsTo(0.30, 20), 1e-12);
        assertEquals(1.25, log.epochsTo(0.15, 10), 1e-12);
        assertTrue(Double.isNaN(log.epochsTo(-0.1, 10)), "never reached");
    }

    @Test
    void theCsvReadsBackExactly() { // (values with at most six decimals, as the CSV keeps them)
        StepLog log = sample();
        StepLog back = StepLog.parse(log.csv());
        assertEquals(log.steps(), back.steps());
        assertThrows(IllegalArgumentException.class, () -> StepLog.parse(StepLog.CSV_HEADER + "\n1,2,3\n"));
    }
}
