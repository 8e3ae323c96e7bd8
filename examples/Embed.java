// Embedding alexnet-ffm in your own program: open an engine, build (or load) a network, run a batch, close.
// Run it from the repository root after a build (./alexnet info builds):
//   java --enable-native-access=ALL-UNNAMED -cp engine/target/alexnet-ffm.jar examples/Embed.java
import dev.alexnetffm.engine.Classifier;
import dev.alexnetffm.engine.Engine;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

public class Embed {
    public static void main(String[] args) throws Exception {
        try (Engine engine = Engine.open()) {                       // GPU 0 if there is one, else the CPU
            System.out.println("engine: " + engine.description());
            AlexNet net = engine.newModel(AlexNetConfig.paper(), 42); // the paper's network and initialisation

            int batch = 2;
            float[] images = new float[net.inputShape(batch).intSize()]; // (2, 3, 227, 227), NCHW, mean subtracted
            for (int i = 0; i < images.length; i++) images[i] = (float) Math.sin(i * 0.001) * 50;
            float[] probabilities = net.probabilities(images, batch);   // (2, 1000)
            System.out.printf("image 0: class %d with p = %.4f%n", argmax(probabilities, 0, 1000), max(probabilities, 0, 1000));

            // The same batch from off-heap memory, e.g. filled by a decoder or another library.
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment segment = arena.allocateFrom(ValueLayout.JAVA_FLOAT, images);
                float[] logits = net.logits(segment, batch);
                System.out.printf("image 1: top logit %.5f%n", max(logits, 1000, 1000));
            }

            // Weights as safetensors; the configuration travels in the file's metadata.
            Path file = Files.createTempFile("alexnet", ".safetensors");
            net.save(file);
            AlexNet loaded = engine.loadModel(file);
            System.out.println("reloaded " + AlexNet.parameterCount(loaded.config()) + " parameters, same output: "
                    + java.util.Arrays.equals(probabilities, loaded.probabilities(images, batch)));

            // A trained network (a weights file or a train --run folder) as an image classifier: each file prepared
            // as the network's training images were, the classes named as its training named them (here: indices).
            Classifier classifier = engine.loadClassifier(file);
            Path photo = Files.createTempFile("photo", ".png");
            BufferedImage gradient = new BufferedImage(320, 240, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 240; y++) for (int x = 0; x < 320; x++) gradient.setRGB(x, y, (x * 255 / 319) << 16 | (y * 255 / 239) << 8);
            ImageIO.write(gradient, "png", photo.toFile());
            for (Classifier.Prediction p : classifier.classify(photo, 3)) System.out.println(p);  // e.g. "  1.09%  653"
            Files.delete(photo);
            Files.delete(file);
        }                                                            // closes the networks, then the backend
    }

    static int argmax(float[] a, int from, int n) {
        int best = from;
        for (int i = from; i < from + n; i++) if (a[i] > a[best]) best = i;
        return best - from;
    }

    static float max(float[] a, int from, int n) {
        return a[from + argmax(a, from, n)];
    }
}
