package dev.alexnetffm.engine.parallel;

import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.tensor.Shape;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.alexnetffm.engine.parallel.ExchangePlan.Direction.A_TO_B;
import static dev.alexnetffm.engine.parallel.ExchangePlan.Direction.B_TO_A;
import static dev.alexnetffm.engine.parallel.ExchangePlan.Pass.BACKWARD;
import static dev.alexnetffm.engine.parallel.ExchangePlan.Pass.FORWARD;
import static org.junit.jupiter.api.Assertions.*;

/** The paper's split at batch 128: which halves cross, their sizes and their order. */
class ExchangePlanTest {
    @Test
    void trainingStepMovesTheHalvesThePapersSplitNeeds() {
        ExchangePlan plan = ExchangePlan.trainingStep(AlexNetConfig.paper(), 128);
        List<ExchangePlan.Copy> c = plan.copies();
        assertEquals(18, c.size());
        assertEquals(new ExchangePlan.Copy(FORWARD, "conv3", "pool2[A]", A_TO_B, Shape.of(128, 128, 13, 13)), c.get(0));
        assertEquals(new ExchangePlan.Copy(FORWARD, "conv3", "pool2[B]", B_TO_A, Shape.of(128, 128, 13, 13)), c.get(1));
        assertEquals(new ExchangePlan.Copy(FORWARD, "fc6", "pool5[A]", A_TO_B, Shape.of(128, 128, 6, 6)), c.get(2));
        assertEquals(new ExchangePlan.Copy(FORWARD, "fc7", "fc6[B]", B_TO_A, Shape.of(128, 2048)), c.get(5));
        assertEquals(new ExchangePlan.Copy(FORWARD, "fc8", "fc7[B]", B_TO_A, Shape.of(128, 2048)), c.get(7));
        assertEquals(new ExchangePlan.Copy(FORWARD, "loss", "logits[B]", B_TO_A, Shape.of(128, 500)), c.get(8));
        assertEquals(new ExchangePlan.Copy(BACKWARD, "fc8", "dLogits[B]", A_TO_B, Shape.of(128, 500)), c.get(9));
        // backward mirrors the forward exchanges in reverse order, each the other way
        assertEquals(new ExchangePlan.Copy(BACKWARD, "fc8", "dfc7[B]", A_TO_B, Shape.of(128, 2048)), c.get(10));
        assertEquals(new ExchangePlan.Copy(BACKWARD, "conv3", "dpool2[A]", B_TO_A, Shape.of(128, 128, 13, 13)), c.get(17));

        // per direction of one forward exchange set: 128 x (128*13*13 + 128*6*6 + 2048 + 2048) floats
        long perWay = 128L * (128 * 13 * 13 + 128 * 6 * 6 + 2048 + 2048) * 4;
        long logits = 128L * 500 * 4;
        assertEquals(2 * perWay + logits, plan.bytes(FORWARD));
        assertEquals(2 * perWay + logits, plan.bytes(BACKWARD));
        assertEquals(4 * perWay + 2 * logits, plan.bytes()); // 62.6 MB per step
        assertEquals(62_640_128L, plan.bytes());
    }

    @Test
    void inferenceMovesTheForwardHalvesAndTheLogits() {
        ExchangePlan plan = ExchangePlan.inference(AlexNetConfig.paper(), 1);
        assertEquals(9, plan.copies().size());
        assertEquals(0, plan.bytes(BACKWARD));
        assertEquals(2L * (128 * 13 * 13 + 128 * 6 * 6 + 2048 + 2048) * 4 + 500 * 4, plan.bytes());
        assertThrows(IllegalArgumentException.class, () -> ExchangePlan.trainingStep(AlexNetConfig.paper().withClasses(7), 4));
    }
}
