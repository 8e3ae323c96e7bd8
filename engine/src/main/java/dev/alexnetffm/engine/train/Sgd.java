package dev.alexnetffm.engine.train;

/**
 * The paper's optimiser settings: batch 128, learning rate 0.01 divided by 10 when validation error stops
 * improving, momentum 0.9, weight decay 0.0005 (DESIGN.md).
 */
public record Sgd(float learningRate, float momentum, float weightDecay) {
    public Sgd {
        if (!(learningRate > 0)) throw new IllegalArgumentException("learning rate must be positive, got " + learningRate);
        if (!(momentum >= 0 && momentum < 1)) throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
    }

    public static Sgd paper() {
        return new Sgd(0.01f, 0.9f, 0.0005f);
    }

    public Sgd withLearningRate(float lr) {
        return new Sgd(lr, momentum, weightDecay);
    }
}
