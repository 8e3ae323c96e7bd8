package dev.alexnetffm.engine.cli;

import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.data.ImagePreprocessor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class TrainingSetupTest {
    @Test
    void aFoldersImagesArePreparedInProportionForASmallerNetwork(@TempDir Path dir) throws Exception {
        Path folder = dir.resolve("images"), image = InferCommandTest.framedImage(Files.createDirectories(folder.resolve("a")));
        Set<String> valued = Set.of("data", "val", "image-size", "augment");
        // without crops: the whole image at the input size, short side 76 and centre 67 (not 67 cut from 256)
        Args plain = new Args("train", new String[] {"--data", folder.toString(), "--val", folder.toString(), "--image-size", "67"}, valued, Set.of());
        Dataset val = TrainingSetup.data(plain, null).val();
        assertEquals(67, val.imageSize());
        assertArrayEquals(ImagePreprocessor.forInput(67, 67).load(image), imageOf(val));
        // with crops: the 76x76 square the crops are cut from, as 256x256 is for 227
        Args crops = new Args("train", new String[] {"--data", folder.toString(), "--val", folder.toString(), "--image-size", "67",
                "--augment", "crop-flip"}, valued, Set.of());
        TrainingSetup.Data data = TrainingSetup.data(crops, null);
        for (Dataset base : new Dataset[] {data.trainBase(), data.valBase()}) {
            assertEquals(76, base.imageSize());
            assertArrayEquals(ImagePreprocessor.forInput(67, 76).load(image), imageOf(base));
        }
        assertEquals(67, data.train().imageSize());
    }

    private static float[] imageOf(Dataset d) throws Exception {
        float[] out = new float[d.imageFloats()];
        d.image(0, out, 0);
        return out;
    }
}
