package dev.alexnetffm.engine.train;

import dev.alexnetffm.engine.backend.CpuBackend;
import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.data.augment.CentreCrop;
import dev.alexnetffm.engine.data.augment.RandomCropFlip;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class EvaluationTest {
    /** 3x256x256 noise images, label i % 3. */
    record Noise(int size) implements Dataset {
        public String name() { return "noise"; }
        public int classes() { return 3; }
        public int channels() { return 3; }
        public int imageSize() { return 256; }
        public int label(int i) { return i % 3; }
        public void image(int i, float[] out, int offset) {
            SplittableRandom r = new SplittableRandom(i);
            for (int j = 0; j < imageFloats(); j++) out[offset + j] = (float) (r.nextGaussian() * 40);
        }
    }

    @Test
    void centreCropResultsMatchTheCentreCropDataSetAndTenCropsAverageTheirRows() throws Exception {
        AlexNetConfig config = AlexNetConfig.paper().withClasses(3).withHidden(16);
        try (AlexNet net = AlexNet.initialize(new CpuBackend(), config, 5, AlexNet.Init.KAIMING)) {
            Noise data = new Noise(3);
            Evaluation.Result r = Evaluation.tenCrop(net, data, 2, 2);
            assertEquals(3, r.images());
            double[] centre = Trainer.evaluate(net, new CentreCrop(data, RandomCropFlip.paper()), 3, 1);
            assertEquals(centre[0], r.centreTop1(), 1e-12, "the centre crop is crop 4 of the ten");
            assertEquals(centre[1], r.centreTop5(), 1e-12);
            for (double e : new double[] {r.tenCropTop1(), r.tenCropTop5()}) assertTrue(e >= 0 && e <= 1);
            assertEquals(0, r.centreTop5(), "three classes: every label is in the top five");
            IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class,
                    () -> Evaluation.tenCrop(net, new CentreCrop(data, RandomCropFlip.paper()), 2, 1));
            assertTrue(wrong.getMessage().contains("3x256x256"), wrong.getMessage());
        }
    }
}
