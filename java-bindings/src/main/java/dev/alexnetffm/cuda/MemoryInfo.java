package dev.alexnetffm.cuda;

/** Free and total device memory in bytes, as {@code cuMemGetInfo} reports them for the current context's device. */
public record MemoryInfo(long freeBytes, long totalBytes) {
    public long usedBytes() {
        return totalBytes - freeBytes;
    }
}
