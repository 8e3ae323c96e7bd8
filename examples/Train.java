// Training from your own program: a network learns a sample of Fashion-MNIST on whatever the engine opened (a GPU,
// or slowly the CPU), writes checkpoints and curves into its run folder, and is read back as a model.
// Needs Debian's dataset-fashion-mnist (or FASHION_MNIST_DIR). Run it from the repository root after a build:
//   java --enable-native-access=ALL-UNNAMED -cp engine/target/alexnet-ffm.jar examples/Train.java
import dev.alexnetffm.engine.Engine;
import dev.alexnetffm.engine.data.Dataset;
import dev.alexnetffm.engine.data.FashionMnist;
import dev.alexnetffm.engine.data.Subset;
import dev.alexnetffm.engine.model.AlexNet;
import dev.alexnetffm.engine.model.AlexNetConfig;
import dev.alexnetffm.engine.train.Trainer;

import java.nio.file.Files;
import java.nio.file.Path;

public class Train {
    public static void main(String[] args) throws Exception {
        int size = 67;  // the input size: 227 is the paper's; 67 trains in seconds on a CPU
        Path data = FashionMnist.defaultDir();
        Dataset train = new Subset(FashionMnist.train(data, 3, size), 256, 1);  // 256 training images, seeded
        Dataset val = new Subset(FashionMnist.test(data, 3, size), 128, 2);
        AlexNetConfig config = AlexNetConfig.paper().withClasses(10).withInput(3, size).withHidden(256);
        Path run = Files.createTempDirectory("alexnet-run");
        Trainer.Options options = Trainer.Options.paper(1, run)   // the paper's SGD, one epoch
                .withBatchSize(32).withInit(AlexNet.Init.KAIMING);  // He et al.'s start: no plateau at this scale

        try (Engine engine = Engine.open()) {
            System.out.println("engine: " + engine.description());
            Trainer.Result result = new Trainer(engine.backend(), train, val, options, System.out).run(config);
            System.out.printf("validation top-1 error %.1f%% (chance: 90%%), run folder %s%n", 100 * result.valTop1(), result.runDir());
            AlexNet trained = engine.loadModel(run);  // the run's last checkpoint
            float[] image = new float[trained.inputShape(1).intSize()];
            val.image(0, image, 0);
            float[] p = trained.probabilities(image, 1);
            int best = 0;
            for (int k = 1; k < p.length; k++) if (p[k] > p[best]) best = k;
            System.out.printf("first validation image: %s (p = %.2f), labelled %s%n", FashionMnist.CLASS_NAMES[best], p[best],
                    FashionMnist.CLASS_NAMES[val.label(0)]);
        }
    }
}
