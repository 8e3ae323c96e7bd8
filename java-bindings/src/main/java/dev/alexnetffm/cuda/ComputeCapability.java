package dev.alexnetffm.cuda;

/** A device's compute capability, e.g. 9.0 for an H100. */
public record ComputeCapability(int major, int minor) implements Comparable<ComputeCapability> {
    /** As the number in {@code sm_90}: major * 10 + minor. */
    public int smVersion() {
        return major * 10 + minor;
    }

    @Override
    public int compareTo(ComputeCapability o) {
        return Integer.compare(smVersion(), o.smVersion());
    }

    @Override
    public String toString() {
        return major + "." + minor;
    }
}
