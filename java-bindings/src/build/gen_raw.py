#!/usr/bin/env python3
"""Writes internal/CuDriver.java: one holder class per CUDA driver function, jextract's shape.

Each entry: C signature (quoted in the Javadoc), symbol names (newest first), Java carrier types.
Run from the repository root:  python3 java-bindings/src/build/gen_raw.py
"""
FUNCS = [
    ("CUresult cuInit(unsigned int Flags)", ["cuInit"], "i"),
    ("CUresult cuDriverGetVersion(int *driverVersion)", ["cuDriverGetVersion"], "p"),
    ("CUresult cuGetErrorName(CUresult error, const char **pStr)", ["cuGetErrorName"], "ip"),
    ("CUresult cuGetErrorString(CUresult error, const char **pStr)", ["cuGetErrorString"], "ip"),
    ("CUresult cuDeviceGetCount(int *count)", ["cuDeviceGetCount"], "p"),
    ("CUresult cuDeviceGet(CUdevice *device, int ordinal)", ["cuDeviceGet"], "pi"),
    ("CUresult cuDeviceGetName(char *name, int len, CUdevice dev)", ["cuDeviceGetName"], "pii"),
    ("CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev)", ["cuDeviceGetAttribute"], "pii"),
    ("CUresult cuDeviceTotalMem(size_t *bytes, CUdevice dev)", ["cuDeviceTotalMem_v2"], "pi"),
    ("CUresult cuDeviceCanAccessPeer(int *canAccessPeer, CUdevice dev, CUdevice peerDev)", ["cuDeviceCanAccessPeer"], "pii"),
    ("CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)", ["cuDevicePrimaryCtxRetain"], "pi"),
    ("CUresult cuDevicePrimaryCtxRelease(CUdevice dev)", ["cuDevicePrimaryCtxRelease_v2"], "i"),
    ("CUresult cuCtxSetCurrent(CUcontext ctx)", ["cuCtxSetCurrent"], "p"),
    ("CUresult cuCtxGetCurrent(CUcontext *pctx)", ["cuCtxGetCurrent"], "p"),
    ("CUresult cuCtxSynchronize(void)", ["cuCtxSynchronize"], ""),
    ("CUresult cuCtxEnablePeerAccess(CUcontext peerContext, unsigned int Flags)", ["cuCtxEnablePeerAccess"], "pi"),
    ("CUresult cuCtxDisablePeerAccess(CUcontext peerContext)", ["cuCtxDisablePeerAccess"], "p"),
    ("CUresult cuMemGetInfo(size_t *free, size_t *total)", ["cuMemGetInfo_v2"], "pp"),
    ("CUresult cuMemAlloc(CUdeviceptr *dptr, size_t bytesize)", ["cuMemAlloc_v2"], "pl"),
    ("CUresult cuMemFree(CUdeviceptr dptr)", ["cuMemFree_v2"], "l"),
    ("CUresult cuMemHostAlloc(void **pp, size_t bytesize, unsigned int Flags)", ["cuMemHostAlloc"], "pli"),
    ("CUresult cuMemFreeHost(void *p)", ["cuMemFreeHost"], "p"),
    ("CUresult cuMemsetD8(CUdeviceptr dstDevice, unsigned char uc, size_t N)", ["cuMemsetD8_v2"], "lbl"),
    ("CUresult cuMemsetD32(CUdeviceptr dstDevice, unsigned int ui, size_t N)", ["cuMemsetD32_v2"], "lil"),
    ("CUresult cuMemsetD32Async(CUdeviceptr dstDevice, unsigned int ui, size_t N, CUstream hStream)", ["cuMemsetD32Async"], "lilp"),
    ("CUresult cuMemcpyHtoD(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount)", ["cuMemcpyHtoD_v2"], "lpl", "critical"),
    ("CUresult cuMemcpyDtoH(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount)", ["cuMemcpyDtoH_v2"], "pll", "critical"),
    ("CUresult cuMemcpyDtoD(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount)", ["cuMemcpyDtoD_v2"], "lll"),
    ("CUresult cuMemcpyHtoDAsync(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount, CUstream hStream)", ["cuMemcpyHtoDAsync_v2"], "lplp"),
    ("CUresult cuMemcpyDtoHAsync(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream)", ["cuMemcpyDtoHAsync_v2"], "pllp"),
    ("CUresult cuMemcpyDtoDAsync(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream)", ["cuMemcpyDtoDAsync_v2"], "lllp"),
    ("CUresult cuMemcpyPeer(CUdeviceptr dstDevice, CUcontext dstContext, CUdeviceptr srcDevice, CUcontext srcContext, size_t ByteCount)", ["cuMemcpyPeer"], "lplpl"),
    ("CUresult cuMemcpyPeerAsync(CUdeviceptr dstDevice, CUcontext dstContext, CUdeviceptr srcDevice, CUcontext srcContext, size_t ByteCount, CUstream hStream)", ["cuMemcpyPeerAsync"], "lplplp"),
    ("CUresult cuStreamCreate(CUstream *phStream, unsigned int Flags)", ["cuStreamCreate"], "pi"),
    ("CUresult cuStreamDestroy(CUstream hStream)", ["cuStreamDestroy_v2"], "p"),
    ("CUresult cuStreamSynchronize(CUstream hStream)", ["cuStreamSynchronize"], "p"),
    ("CUresult cuStreamQuery(CUstream hStream)", ["cuStreamQuery"], "p"),
    ("CUresult cuStreamWaitEvent(CUstream hStream, CUevent hEvent, unsigned int Flags)", ["cuStreamWaitEvent"], "ppi"),
    ("CUresult cuStreamBeginCapture(CUstream hStream, CUstreamCaptureMode mode)", ["cuStreamBeginCapture_v2"], "pi"),
    ("CUresult cuStreamEndCapture(CUstream hStream, CUgraph *phGraph)", ["cuStreamEndCapture"], "pp"),
    ("CUresult cuEventCreate(CUevent *phEvent, unsigned int Flags)", ["cuEventCreate"], "pi"),
    ("CUresult cuEventDestroy(CUevent hEvent)", ["cuEventDestroy_v2"], "p"),
    ("CUresult cuEventRecord(CUevent hEvent, CUstream hStream)", ["cuEventRecord"], "pp"),
    ("CUresult cuEventSynchronize(CUevent hEvent)", ["cuEventSynchronize"], "p"),
    ("CUresult cuEventQuery(CUevent hEvent)", ["cuEventQuery"], "p"),
    ("CUresult cuEventElapsedTime(float *pMilliseconds, CUevent hStart, CUevent hEnd)", ["cuEventElapsedTime_v2", "cuEventElapsedTime"], "ppp"),
    ("CUresult cuModuleLoadDataEx(CUmodule *module, const void *image, unsigned int numOptions, CUjit_option *options, void **optionValues)", ["cuModuleLoadDataEx"], "ppipp"),
    ("CUresult cuModuleUnload(CUmodule hmod)", ["cuModuleUnload"], "p"),
    ("CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name)", ["cuModuleGetFunction"], "ppp"),
    ("CUresult cuFuncGetAttribute(int *pi, CUfunction_attribute attrib, CUfunction hfunc)", ["cuFuncGetAttribute"], "pip"),
    ("CUresult cuFuncSetAttribute(CUfunction hfunc, CUfunction_attribute attrib, int value)", ["cuFuncSetAttribute"], "pii"),
    ("CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream, void **kernelParams, void **extra)", ["cuLaunchKernel"], "piiiiiiippp"),
    ("CUresult cuGraphInstantiate(CUgraphExec *phGraphExec, CUgraph hGraph, unsigned long long flags)", ["cuGraphInstantiateWithFlags"], "ppl"),
    ("CUresult cuGraphLaunch(CUgraphExec hGraphExec, CUstream hStream)", ["cuGraphLaunch"], "pp"),
    ("CUresult cuGraphExecDestroy(CUgraphExec hGraphExec)", ["cuGraphExecDestroy"], "p"),
    ("CUresult cuGraphDestroy(CUgraph hGraph)", ["cuGraphDestroy"], "p"),
]
LAYOUT = {"i": "JAVA_INT", "l": "JAVA_LONG", "p": "ADDRESS", "b": "JAVA_BYTE", "f": "JAVA_FLOAT"}
JTYPE = {"i": "int", "l": "long", "p": "MemorySegment", "b": "byte", "f": "float"}
import re, pathlib

def params(sig):
    inner = sig[sig.index("(") + 1: sig.rindex(")")]
    if inner.strip() == "void":
        return []
    return [re.split(r"[\s*]+", p.strip())[-1] for p in inner.split(",")]

out = []
out.append("""package dev.alexnetffm.cuda.internal;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.*;

/**
 * Raw downcalls into the CUDA driver API, one holder class per function (linked on first use), called with
 * {@code invokeExact}. Generated by {@code java-bindings/src/build/gen_raw.py}; edit that, not this.
 * Every method returns the raw {@code CUresult}; {@code dev.alexnetffm.cuda.Check} turns it into an exception.
 * Handles ({@code CUcontext}, {@code CUstream}, ...) are {@link MemorySegment} addresses; {@code CUdeviceptr}
 * and {@code size_t} are {@code long}.
 */
@SuppressWarnings("unused")
public final class CuDriver {
    private CuDriver() {}

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
""")
for entry in FUNCS:
    sig, names, types = entry[0], entry[1], entry[2]
    critical = len(entry) > 3
    cname = re.search(r"\s(\w+)\(", sig).group(1)
    pnames = params(sig)
    assert len(pnames) == len(types), (sig, pnames, types)
    desc = "FunctionDescriptor.of(JAVA_INT" + "".join(", " + LAYOUT[t] for t in types) + ")"
    syms = ", ".join('"%s"' % n for n in names)
    args = ", ".join("%s %s" % (JTYPE[t], n) for t, n in zip(types, pnames))
    call = ", ".join(pnames)
    out.append("""
    private static final class %s$h {
        static final MethodHandle HANDLE = DriverLibrary.link(%s, %s);
    }

    /** {@code %s} (symbol %s) */
    public static int %s(%s) {
        try {
            return (int) %s$h.HANDLE.invokeExact(%s);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
""" % (cname, desc, syms, sig, " or ".join(names), cname, args, cname, call))
    if critical:
        out.append("""
    private static final class %s$critical {
        static final MethodHandle HANDLE = DriverLibrary.link(%s,
                new Linker.Option[] {Linker.Option.critical(true)}, %s);
    }

    /**
     * {@code %s} as a critical downcall that accepts heap segments (a {@code float[]} viewed as a segment)
     * without a staging copy. The GC is held off for the copy's duration: use it for host-synchronous copies only.
     */
    public static int %sHeap(%s) {
        try {
            return (int) %s$critical.HANDLE.invokeExact(%s);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
""" % (cname, desc, syms, sig, cname, args, cname, call))
out.append("}\n")
pathlib.Path("java-bindings/src/main/java/dev/alexnetffm/cuda/internal/CuDriver.java").write_text("".join(out))
