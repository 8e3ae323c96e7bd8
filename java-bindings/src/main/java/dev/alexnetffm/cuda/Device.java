package dev.alexnetffm.cuda;

import dev.alexnetffm.cuda.internal.CuDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** A GPU as the driver numbers it. A value: holds no native resource. */
public record Device(int ordinal, int handle) {

    /** The {@code CUdevice_attribute} values this engine reads. */
    public enum Attribute {
        MAX_THREADS_PER_BLOCK(1),
        MAX_SHARED_MEMORY_PER_BLOCK(8),
        WARP_SIZE(10),
        MAX_REGISTERS_PER_BLOCK(12),
        CLOCK_RATE_KHZ(13),
        MULTIPROCESSOR_COUNT(16),
        PCI_BUS_ID(33),
        PCI_DEVICE_ID(34),
        MEMORY_CLOCK_RATE_KHZ(36),
        GLOBAL_MEMORY_BUS_WIDTH_BITS(37),
        L2_CACHE_SIZE(38),
        MAX_THREADS_PER_MULTIPROCESSOR(39),
        ASYNC_ENGINE_COUNT(40),
        UNIFIED_ADDRESSING(41),
        PCI_DOMAIN_ID(50),
        COMPUTE_CAPABILITY_MAJOR(75),
        COMPUTE_CAPABILITY_MINOR(76),
        MAX_SHARED_MEMORY_PER_BLOCK_OPTIN(97);

        final int code;

        Attribute(int code) {
            this.code = code;
        }
    }

    public String name() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(256);
            Check.check(CuDriver.cuDeviceGetName(buf, 256, handle), "cuDeviceGetName(" + ordinal + ")");
            return buf.getString(0);
        }
    }

    public int attribute(Attribute attribute) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            Check.check(CuDriver.cuDeviceGetAttribute(out, attribute.code, handle),
                    "cuDeviceGetAttribute(" + attribute + ", device " + ordinal + ")");
            return out.get(JAVA_INT, 0);
        }
    }

    public ComputeCapability computeCapability() {
        return new ComputeCapability(attribute(Attribute.COMPUTE_CAPABILITY_MAJOR), attribute(Attribute.COMPUTE_CAPABILITY_MINOR));
    }

    public int multiprocessors() {
        return attribute(Attribute.MULTIPROCESSOR_COUNT);
    }

    public long totalMemory() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            Check.check(CuDriver.cuDeviceTotalMem(out, handle), "cuDeviceTotalMem_v2(device " + ordinal + ")");
            return out.get(JAVA_LONG, 0);
        }
    }

    /** PCI address as nvidia-smi prints it, e.g. 0000:1B:00.0. */
    public String pciAddress() {
        return String.format("%04X:%02X:%02X.0", attribute(Attribute.PCI_DOMAIN_ID), attribute(Attribute.PCI_BUS_ID),
                attribute(Attribute.PCI_DEVICE_ID));
    }

    /** Whether this device can read and write {@code peer}'s memory directly (always false for itself). */
    public boolean canAccessPeer(Device peer) {
        if (peer.handle == handle) return false;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            Check.check(CuDriver.cuDeviceCanAccessPeer(out, handle, peer.handle),
                    "cuDeviceCanAccessPeer(" + ordinal + ", " + peer.ordinal + ")");
            return out.get(JAVA_INT, 0) != 0;
        }
    }

    /**
     * Retains this device's primary context (the one the CUDA runtime and PyTorch share). Close it to release
     * the reference; the driver destroys the context when the last reference goes.
     */
    public Context primaryContext() {
        return Context.retainPrimary(this);
    }

    @Override
    public String toString() {
        return "cuda:" + ordinal;
    }
}
