// An emulated CUDA driver: a libcuda.so.1 for machines without a GPU that exports the driver API functions the
// engine binds (java-bindings/src/build/gen_raw.py) and runs the engine's own kernels, compiled from the .cu
// files through emu.h, on the CPU. With it the whole Java -> FFM -> driver path (contexts, streams, events,
// copies, peer access, graphs, launches with their parameter lists) runs, and the gpu-tagged tests check it
// against the CPU reference, so the Java side's bugs show before a GPU is at hand. It proves the Java side's use of
// the driver and the kernels' logic, never speed or the GPU's memory model: the GPU tests on a real GPU remain the
// judge. scripts/emulated-gpu-tests builds it and runs the tests.
//
// What it emulates, and checks more strictly than a GPU would report:
//   - ALEXNET_EMU_DEVICES (default 2) devices shaped like an H100 (compute capability 9.0, 132 multiprocessors, so
//     that the engine picks the same tilings and split-K counts as on one), ALEXNET_EMU_MEMORY_MB (default 8192)
//     each, peer access between every pair unless ALEXNET_EMU_PEER=0.
//   - A context current per thread (cuCtxSetCurrent); calls that need one fail with CUDA_ERROR_INVALID_CONTEXT
//     without it; a stream or event used from another context than the current one is CUDA_ERROR_INVALID_HANDLE.
//   - Device memory is host memory that ends at a PROT_NONE page: a kernel that reads or writes past the end of a
//     buffer crashes the process at that access. Copies and memsets must stay inside one live allocation; a kernel's
//     pointer arguments must point into memory of its device or of a peer whose access is enabled.
//   - Each stream is a worker thread that runs its queue in order, later than the call that queued it (kernels are
//     slow here), so a missing stream synchronisation or event wait reads stale data, as on a GPU. Copies from
//     pageable host memory read the source before the call returns (as the driver does); copies to pageable memory
//     complete before it returns; copies from and to pinned memory run in their stream's turn. Synchronous copies
//     and memsets do not wait for (non-blocking) streams. cuMemFree waits for every stream, as the driver does.
//     ALEXNET_EMU_JITTER=N adds a random delay of up to N microseconds before each queued operation.
//   - One kernel runs at a time, its blocks one after another, a block's threads as fibers (emu.h).
//   - Stream capture records the queued operations; a graph launch queues them again.
//   - Modules load from PTX text or from a cubin (an ELF file whose architecture and kernel entries are read from
//     it): machine code for another architecture than sm_90 is CUDA_ERROR_NO_BINARY_FOR_GPU, as on an H100.
#define EMU_FIBERS 1
#include "emu.h"
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <unistd.h>
#include <utility>

#include "conv2d.cu"
#include "gemm.cu"
#include "lrn.cu"
#include "pool.cu"
#include "softmax.cu"
#include "elementwise.cu"
#include "dropout.cu"
#include "sgd.cu"
#include "launch.cu"
#include "winograd.cu"

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
enum : int {
    SUCCESS = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, NOT_INITIALIZED = 3, INVALID_DEVICE = 101,
    INVALID_IMAGE = 200, INVALID_CONTEXT = 201, NO_BINARY_FOR_GPU = 209, PEER_ACCESS_UNSUPPORTED = 217,
    INVALID_PTX = 218, INVALID_HANDLE = 400, NOT_FOUND = 500, NOT_READY = 600, LAUNCH_OUT_OF_RESOURCES = 701, PEER_ACCESS_ALREADY_ENABLED = 704,
    PEER_ACCESS_NOT_ENABLED = 705,
    STREAM_CAPTURE_UNSUPPORTED = 900, STREAM_CAPTURE_INVALIDATED = 901, NOT_SUPPORTED = 801,
};

namespace {

// Says why a call failed (the Java side names the call and the code; this names the detail).
// With ALEXNET_EMU_ABORT=1 it then aborts, so that the JVM's crash report (hs_err_pid*.log) shows the Java stack.
void complain(const char* call, const std::string& why) {
    fprintf(stderr, "[emulated driver] %s: %s\n", call, why.c_str());
    static const bool abortOnComplaint = getenv("ALEXNET_EMU_ABORT") && *getenv("ALEXNET_EMU_ABORT") == '1';
    if (abortOnComplaint) abort();
}

int envInt(const char* name, int fallback) {
    const char* v = getenv(name);
    return v && *v ? atoi(v) : fallback;
}

std::atomic<bool> initialised{false};
const int deviceCount = std::max(1, envInt("ALEXNET_EMU_DEVICES", 2));
const size_t deviceMemory = (size_t)std::max(64, envInt("ALEXNET_EMU_MEMORY_MB", 8192)) << 20;
const bool peerAllowed = envInt("ALEXNET_EMU_PEER", 1) != 0;
const size_t pageSize = (size_t)sysconf(_SC_PAGESIZE);
// ALEXNET_EMU_JITTER=N: each stream sleeps up to N microseconds (at random) before each operation, so that the
// relative timing of streams and of the host changes from run to run and missing waits show.
const int jitterMicros = envInt("ALEXNET_EMU_JITTER", 0);
void jitter() {
    thread_local std::mt19937 random(std::random_device{}());
    std::this_thread::sleep_for(std::chrono::microseconds(random() % (jitterMicros + 1)));
}

struct Context;
struct Stream;

// ---- Memory -------------------------------------------------------------------------------------------------
struct Allocation {
    uintptr_t start;
    size_t size;
    int device;         // -1: pinned host memory
    void* mapping;
    size_t mappingSize;
};
std::mutex memoryLock;
std::map<uintptr_t, Allocation> allocations;  // by start
size_t used[64];

// Maps size bytes so that the buffer ends (rounded up to 16 bytes) where a PROT_NONE page begins.
Allocation mapGuarded(size_t size, int device) {
    const size_t rounded = (std::max<size_t>(size, 1) + 15) & ~size_t(15);
    const size_t body = (rounded + pageSize - 1) / pageSize * pageSize;
    void* m = mmap(nullptr, body + pageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return Allocation{0, 0, device, nullptr, 0};
    mprotect((char*)m + body, pageSize, PROT_NONE);
    return Allocation{(uintptr_t)m + body - rounded, size, device, m, body + pageSize};
}

// The live allocation holding [p, p + n), or null.
const Allocation* findLocked(uintptr_t p, size_t n) {
    auto it = allocations.upper_bound(p);
    if (it == allocations.begin()) return nullptr;
    --it;
    const Allocation& a = it->second;
    if (p < a.start || p + n > a.start + std::max<size_t>(a.size, 1) || p + n < p) return nullptr;
    return &a;
}
// The device of the allocation holding [p, p + n): >= 0 device memory, -1 pinned host, -2 none.
int deviceOf(uintptr_t p, size_t n) {
    std::lock_guard<std::mutex> g(memoryLock);
    const Allocation* a = findLocked(p, n);
    return a ? a->device : -2;
}

// ---- Events and streams ---------------------------------------------------------------------------------------
using Clock = std::chrono::steady_clock;
struct Event {
    Context* ctx;
    unsigned flags;
    std::mutex m;
    std::condition_variable cv;
    unsigned long long recorded = 0;   // records queued
    unsigned long long completed = 0;  // the latest record that ran
    Clock::time_point at;
};

using Op = std::function<void()>;
struct Graph { std::vector<Op> ops; };

struct Stream {
    Context* ctx;
    std::mutex m;
    std::condition_variable cv;
    std::deque<Op> queue;
    bool busy = false, stopping = false;
    Graph* capture = nullptr;
    const bool legacy;  // the legacy default stream (handle 0): runs each operation in the calling thread
    std::thread worker;
    explicit Stream(Context* c, bool legacyStream = false) : ctx(c), legacy(legacyStream) {
        if (!legacy) worker = std::thread([this] { run(); });
    }
    void run() {
        std::unique_lock<std::mutex> l(m);
        for (;;) {
            cv.wait(l, [&] { return stopping || !queue.empty(); });
            if (queue.empty()) return;
            Op op = std::move(queue.front());
            queue.pop_front();
            busy = true;
            l.unlock();
            if (jitterMicros > 0) jitter();
            op();
            l.lock();
            busy = false;
            cv.notify_all();
        }
    }
    void push(Op op) {
        if (legacy) {
            op();
            return;
        }
        std::lock_guard<std::mutex> g(m);
        if (capture) capture->ops.push_back(std::move(op));
        else queue.push_back(std::move(op));
        cv.notify_all();
    }
    void drain() {
        std::unique_lock<std::mutex> l(m);
        cv.wait(l, [&] { return queue.empty() && !busy; });
    }
    bool idle() {
        std::lock_guard<std::mutex> g(m);
        return queue.empty() && !busy;
    }
    ~Stream() {
        {
            std::lock_guard<std::mutex> g(m);
            stopping = true;
            cv.notify_all();
        }
        if (worker.joinable()) worker.join();
    }
};

// ---- Contexts, modules -----------------------------------------------------------------------------------------
struct Module;
struct Context {
    int device;
    int refs = 0;
    std::set<Context*> peers;  // contexts whose memory this one may access
    std::set<Stream*> streams;
    Stream* legacy = nullptr;  // made on first use
};
std::mutex stateLock;  // guards contexts' streams and peers, modules, the handle sets
Context contexts[64];
std::set<Stream*> liveStreams;
std::set<Event*> liveEvents;
std::set<Graph*> liveGraphs, liveExecs;
thread_local Context* current = nullptr;

// A kernel the emulator can run: queues it with a copy of its arguments, after checking its pointers.
using Binder = CUresult (*)(void* fn, void** params, dim3 grid, dim3 block, Context* ctx, Op* out, std::string* why);
struct KernelEntry { const char* name; void* fn; Binder bind; };
struct Module { Context* ctx; std::set<std::string> entries; };

// What ptxas gave each kernel for the architecture the emulator was built from (build-driver.sh): registers per
// thread, static shared memory, stack bytes per thread, and the largest block its launch bounds allow (0: no bounds).
// Empty where the build had no ptxas; a kernel missing here is held to the device's limits only.
struct KernelResources { const char* name; int registers, sharedBytes, stackBytes, boundThreads; };
const KernelResources resourceTable[] = {
#define RESOURCES(name, registers, shared, stack, bound) {#name, registers, shared, stack, bound},
#include "resources.inc"
#undef RESOURCES
    {nullptr, 0, 0, 0, 0}};
const KernelResources* resourcesOf(const char* name) {
    for (const KernelResources& r : resourceTable)
        if (r.name && !strcmp(r.name, name)) return &r;
    return nullptr;
}
constexpr int SHARED_PER_BLOCK = 49152, SHARED_PER_BLOCK_OPTIN = 232448, REGISTERS_PER_BLOCK = 65536;

// A kernel of a loaded module. maxDynamicShared is what CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES says: by
// default what the 48 KiB a block may have without opting in leaves beside the static shared memory.
struct Function {
    Module* module;
    const KernelEntry* kernel;
    const KernelResources* resources;
    int maxDynamicShared;
    Function(Module* m, const KernelEntry* k) : module(m), kernel(k), resources(resourcesOf(k->name)),
        maxDynamicShared(SHARED_PER_BLOCK - (resources ? resources->sharedBytes : 0)) {}
    // The largest block the GPU launches this kernel with (CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK): 1024, its
    // launch bounds, and as many warps as the register file holds (registers are given out per warp, 256 at a time).
    int maxThreads() const {
        int limit = 1024;
        if (!resources) return limit;
        if (resources->boundThreads) limit = std::min(limit, resources->boundThreads);
        int perWarp = (resources->registers * 32 + 255) / 256 * 256;
        if (perWarp) limit = std::min(limit, REGISTERS_PER_BLOCK / perWarp * 32);
        return limit;
    }
};
std::set<Module*> liveModules;
std::set<Function*> liveFunctions;

std::mutex kernelLock;  // emu.h runs one launch at a time

bool pointerOk(Context* ctx, const void* p, std::string* why, int index) {
    if (!p) return true;
    int d = deviceOf((uintptr_t)p, 1);
    if (d == ctx->device) return true;
    if (d >= 0) {
        std::lock_guard<std::mutex> g(stateLock);
        for (Context* peer : ctx->peers)
            if (peer->device == d) return true;
        *why = "argument " + std::to_string(index) + " points into device " + std::to_string(d) +
               "'s memory, and peer access from device " + std::to_string(ctx->device) + " to it is not enabled";
        return false;
    }
    *why = "argument " + std::to_string(index) + (d == -1 ? " points into pinned host memory" : " is not a device pointer");
    return false;
}

template <class T> bool checkArg(Context* ctx, const T& v, std::string* why, int index) {
    if constexpr (std::is_pointer_v<T>) return pointerOk(ctx, (const void*)v, why, index);
    else return true;
}

template <class... A, size_t... I>
CUresult bindImpl(void (*fn)(A...), void** params, dim3 grid, dim3 block, Context* ctx, Op* out, std::string* why,
                  std::index_sequence<I...>) {
    std::tuple<std::decay_t<A>...> args{*static_cast<std::decay_t<A>*>(params[I])...};
    bool ok = true;
    ((ok = ok && checkArg(ctx, std::get<I>(args), why, (int)I)), ...);
    if (!ok) return INVALID_VALUE;
    *out = [fn, args, grid, block] {
        std::lock_guard<std::mutex> g(kernelLock);
        launch(grid, block, [&] { std::apply(fn, args); });
    };
    return SUCCESS;
}
template <class... A>
CUresult bind(void* fn, void** params, dim3 grid, dim3 block, Context* ctx, Op* out, std::string* why) {
    auto f = reinterpret_cast<void (*)(A...)>(fn);
    return bindImpl(f, params, grid, block, ctx, out, why, std::index_sequence_for<A...>{});
}
template <class... A> KernelEntry entry(const char* name, void (*fn)(A...)) { return {name, (void*)fn, &bind<A...>}; }

// Every entry point of the PTX modules (generated from the PTX by build-driver.sh).
const KernelEntry kernelTable[] = {
#define ENTRY(name) entry(#name, &name),
#include "entries.inc"
#undef ENTRY
};

const KernelEntry* kernelNamed(const std::string& name) {
    for (const KernelEntry& k : kernelTable)
        if (name == k.name) return &k;
    return nullptr;
}

Context* requireCurrent(const char* call) {
    if (!current) complain(call, "no context is current on this thread");
    return current;
}

template <class T> bool live(const std::set<T*>& s, T* p) {
    std::lock_guard<std::mutex> g(stateLock);
    return s.count(p) != 0;
}

// The stream to queue on for a call made with the current context ctx; null with *rc set when it is unusable.
Stream* streamFor(const char* call, void* handle, Context* ctx, CUresult* rc) {
    if (!handle) {  // the legacy default stream: no implicit synchronisation with the (non-blocking) streams
        std::lock_guard<std::mutex> g(stateLock);
        if (!ctx->legacy) ctx->legacy = new Stream(ctx, true);
        return ctx->legacy;
    }
    Stream* s = (Stream*)handle;
    if (!live(liveStreams, s)) {
        complain(call, "not a live stream");
        *rc = INVALID_HANDLE;
        return nullptr;
    }
    if (s->ctx != ctx) {
        complain(call, "the stream belongs to device " + std::to_string(s->ctx->device) + "'s context, not the current one (device " +
                       std::to_string(ctx->device) + ")");
        *rc = INVALID_HANDLE;
        return nullptr;
    }
    return s;
}

void drainContext(Context* ctx) {
    std::vector<Stream*> ss;
    {
        std::lock_guard<std::mutex> g(stateLock);
        ss.assign(ctx->streams.begin(), ctx->streams.end());
    }
    for (Stream* s : ss) s->drain();
}
void drainAll() {
    for (int d = 0; d < deviceCount; d++) drainContext(&contexts[d]);
}

bool capturing(Stream* s) {
    std::lock_guard<std::mutex> g(s->m);
    return s->capture != nullptr;
}

// Checks that [p, p + n) lies in one device allocation (device >= 0) or one pinned block (device -1).
bool rangeOk(const char* call, const char* what, CUdeviceptr p, size_t n, bool mustBeDevice) {
    int d = deviceOf(p, n);
    if (d == -2 || (mustBeDevice && d < 0)) {
        char buf[160];
        snprintf(buf, sizeof buf, "%s [0x%llx, +%zu bytes) is not inside one live %s allocation", what, p, n,
                 mustBeDevice ? "device" : "device or pinned");
        complain(call, buf);
        return false;
    }
    return true;
}
bool pinned(const void* p, size_t n) { return deviceOf((uintptr_t)p, n) == -1; }

// The errors the emulator returns, with the driver's names and descriptions.
struct ErrorText {
    CUresult code;
    const char* name;
    const char* text;
};
const ErrorText errorTexts[] = {
    {0, "CUDA_SUCCESS", "no error"},
    {1, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {3, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {101, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {200, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {201, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {209, "CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available for execution on the device"},
    {217, "CUDA_ERROR_PEER_ACCESS_UNSUPPORTED", "peer access is not supported between these two devices"},
    {218, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {400, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {500, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {600, "CUDA_ERROR_NOT_READY", "device not ready"},
    {700, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"},
    {701, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"},
    {704, "CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED", "peer access is already enabled"},
    {705, "CUDA_ERROR_PEER_ACCESS_NOT_ENABLED", "peer access has not been enabled"},
    {801, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
    {900, "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED", "operation not permitted when stream is capturing"},
    {901, "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED", "operation failed due to a previous error during capture"},
};
const ErrorText* errorText(CUresult e) {
    for (const ErrorText& t : errorTexts)
        if (t.code == e) return &t;
    return nullptr;
}

// The kernel entries of a cubin (an ELF file of machine type EM_CUDA), in *entries; its architecture (sm_XX: XX)
// in *arch. An empty string on success, else what is wrong with the image.
std::string cubinEntries(const unsigned char* image, std::vector<std::string>* entries, int* arch) {
    auto u16 = [&](size_t at) { uint16_t v; memcpy(&v, image + at, 2); return v; };
    auto u32 = [&](size_t at) { uint32_t v; memcpy(&v, image + at, 4); return v; };
    auto u64 = [&](size_t at) { uint64_t v; memcpy(&v, image + at, 8); return v; };
    if (image[4] != 2 || image[5] != 1) return "not a 64-bit little-endian ELF file";
    if (u16(18) != 190) return "an ELF file, but not for a CUDA GPU (e_machine " + std::to_string(u16(18)) + ")";
    // ELF ABI version 8 (CUDA 12.8 on) keeps the architecture in bits 8-15 of e_flags; older cubins in bits 0-7.
    const uint32_t flags = u32(48);
    *arch = image[8] >= 8 ? (flags >> 8) & 0xff : flags & 0xff;
    const uint64_t shoff = u64(40);
    const uint16_t shentsize = u16(58), shnum = u16(60);
    for (uint16_t i = 0; i < shnum; i++) {
        const size_t sh = shoff + (size_t)i * shentsize;
        if (u32(sh + 4) != 2) continue;  // SHT_SYMTAB
        const uint64_t symOff = u64(sh + 24), symSize = u64(sh + 32), symEntSize = u64(sh + 56);
        const size_t strSh = shoff + (size_t)u32(sh + 40) * shentsize;  // sh_link: its string table
        const uint64_t strOff = u64(strSh + 24);
        for (uint64_t at = symOff; at + symEntSize <= symOff + symSize; at += symEntSize) {
            const unsigned char info = image[at + 4], other = image[at + 5];
            // A kernel: a global function marked as an entry (STO_CUDA_ENTRY, 0x10, in st_other).
            if ((info & 0xf) == 2 && (info >> 4) == 1 && (other & 0x10))
                entries->push_back((const char*)image + strOff + u32(at));
        }
        return "";
    }
    return "a CUDA ELF file without a symbol table";
}

}  // namespace

#define NEEDS_INIT \
    if (!initialised) return NOT_INITIALIZED
#define NEEDS_CONTEXT(call)                        \
    NEEDS_INIT;                                    \
    Context* ctx = requireCurrent(call);           \
    if (!ctx) return INVALID_CONTEXT
// Declares s, the current context's stream to queue on (handle 0: the legacy default stream).
#define NEEDS_STREAM(call, handle)                 \
    NEEDS_CONTEXT(call);                           \
    CUresult rc = SUCCESS;                         \
    Stream* s = streamFor(call, handle, ctx, &rc); \
    if (!s) return rc

extern "C" {

CUresult cuInit(unsigned flags) {
    if (flags) return INVALID_VALUE;
    for (int d = 0; d < deviceCount; d++) contexts[d].device = d;
    initialised = true;
    return SUCCESS;
}
CUresult cuDriverGetVersion(int* v) {
    if (!v) return INVALID_VALUE;
    *v = 13000;
    return SUCCESS;
}
CUresult cuGetErrorName(CUresult e, const char** s) {
    if (!s) return INVALID_VALUE;
    const ErrorText* t = errorText(e);
    *s = t ? t->name : nullptr;
    return t ? SUCCESS : INVALID_VALUE;
}
CUresult cuGetErrorString(CUresult e, const char** s) {
    if (!s) return INVALID_VALUE;
    const ErrorText* t = errorText(e);
    *s = t ? t->text : nullptr;
    return t ? SUCCESS : INVALID_VALUE;
}

// ---- Devices ----
CUresult cuDeviceGetCount(int* n) {
    NEEDS_INIT;
    if (!n) return INVALID_VALUE;
    *n = deviceCount;
    return SUCCESS;
}
CUresult cuDeviceGet(int* dev, int ordinal) {
    NEEDS_INIT;
    if (!dev) return INVALID_VALUE;
    if (ordinal < 0 || ordinal >= deviceCount) return INVALID_DEVICE;
    *dev = ordinal;
    return SUCCESS;
}
CUresult cuDeviceGetName(char* name, int len, int dev) {
    NEEDS_INIT;
    if (dev < 0 || dev >= deviceCount) return INVALID_DEVICE;
    if (!name || len <= 0) return INVALID_VALUE;
    snprintf(name, len, "Emulated GPU %d (alexnet-ffm CPU emulator)", dev);
    return SUCCESS;
}
CUresult cuDeviceGetAttribute(int* v, int attribute, int dev) {
    NEEDS_INIT;
    if (dev < 0 || dev >= deviceCount) return INVALID_DEVICE;
    if (!v) return INVALID_VALUE;
    switch (attribute) {
        case 1: *v = 1024; break;         // max threads per block
        case 2: *v = 1024; break;         // max block x
        case 3: *v = 1024; break;
        case 4: *v = 64; break;
        case 5: *v = 2147483647; break;   // max grid x
        case 6: *v = 65535; break;
        case 7: *v = 65535; break;
        case 8: *v = 49152; break;        // shared memory per block
        case 10: *v = 32; break;          // warp size
        case 12: *v = 65536; break;       // registers per block
        case 13: *v = 1000000; break;     // clock kHz
        case 16: *v = 132; break;         // multiprocessors: an H100's, so that split-K choices are the H100's
        case 33: *v = dev + 1; break;     // PCI bus
        case 34: *v = 0; break;           // PCI device
        case 36: *v = 1000000; break;     // memory clock kHz
        case 37: *v = 64; break;          // bus width
        case 38: *v = 1 << 20; break;     // L2
        case 39: *v = 2048; break;        // threads per multiprocessor
        case 40: *v = 2; break;           // async engines
        case 41: *v = 1; break;           // unified addressing
        case 50: *v = 0; break;           // PCI domain
        case 75: *v = 9; break;           // compute capability
        case 76: *v = 0; break;
        case 97: *v = 232448; break;      // shared memory per block, opt-in
        default: return INVALID_VALUE;
    }
    return SUCCESS;
}
CUresult cuDeviceTotalMem_v2(size_t* bytes, int dev) {
    NEEDS_INIT;
    if (dev < 0 || dev >= deviceCount) return INVALID_DEVICE;
    if (!bytes) return INVALID_VALUE;
    *bytes = deviceMemory;
    return SUCCESS;
}
CUresult cuDeviceCanAccessPeer(int* can, int dev, int peer) {
    NEEDS_INIT;
    if (dev < 0 || dev >= deviceCount || peer < 0 || peer >= deviceCount) return INVALID_DEVICE;
    if (!can) return INVALID_VALUE;
    *can = peerAllowed && dev != peer;
    return SUCCESS;
}

// ---- Contexts ----
CUresult cuDevicePrimaryCtxRetain(void** pctx, int dev) {
    NEEDS_INIT;
    if (dev < 0 || dev >= deviceCount) return INVALID_DEVICE;
    if (!pctx) return INVALID_VALUE;
    std::lock_guard<std::mutex> g(stateLock);
    contexts[dev].refs++;
    *pctx = &contexts[dev];
    return SUCCESS;
}
CUresult cuDevicePrimaryCtxRelease_v2(int dev) {
    NEEDS_INIT;
    if (dev < 0 || dev >= deviceCount) return INVALID_DEVICE;
    Context* c = &contexts[dev];
    {
        std::lock_guard<std::mutex> g(stateLock);
        if (c->refs == 0) return INVALID_CONTEXT;
        if (--c->refs > 0) return SUCCESS;
    }
    // The last release destroys the context and everything in it, as the driver does: later use of its memory,
    // streams, events or modules is an error.
    drainContext(c);
    std::vector<Stream*> streams;
    {
        std::lock_guard<std::mutex> g(stateLock);
        streams.assign(c->streams.begin(), c->streams.end());
        c->streams.clear();
        for (Stream* s : streams) liveStreams.erase(s);
        for (auto it = liveEvents.begin(); it != liveEvents.end();) it = (*it)->ctx == c ? liveEvents.erase(it) : ++it;
        for (auto it = liveModules.begin(); it != liveModules.end();) it = (*it)->ctx == c ? liveModules.erase(it) : ++it;
        c->peers.clear();
        for (int d = 0; d < deviceCount; d++) contexts[d].peers.erase(c);
    }
    for (Stream* s : streams) delete s;
    std::lock_guard<std::mutex> g(memoryLock);
    for (auto it = allocations.begin(); it != allocations.end();) {
        if (it->second.device == dev) {
            munmap(it->second.mapping, it->second.mappingSize);
            it = allocations.erase(it);
        } else {
            ++it;
        }
    }
    used[dev] = 0;
    return SUCCESS;
}
CUresult cuCtxSetCurrent(void* c) {
    NEEDS_INIT;
    if (!c) {
        current = nullptr;
        return SUCCESS;
    }
    Context* ctx = (Context*)c;
    if (ctx < contexts || ctx >= contexts + deviceCount) return INVALID_CONTEXT;
    {
        std::lock_guard<std::mutex> g(stateLock);
        if (ctx->refs == 0) return INVALID_CONTEXT;  // released: its handle no longer names a live context
    }
    current = ctx;
    return SUCCESS;
}
CUresult cuCtxGetCurrent(void** pctx) {
    NEEDS_INIT;
    if (!pctx) return INVALID_VALUE;
    *pctx = current;
    return SUCCESS;
}
CUresult cuCtxSynchronize() {
    NEEDS_CONTEXT("cuCtxSynchronize");
    drainContext(ctx);
    return SUCCESS;
}
CUresult cuCtxEnablePeerAccess(void* peer, unsigned flags) {
    NEEDS_CONTEXT("cuCtxEnablePeerAccess");
    if (flags) return INVALID_VALUE;
    Context* p = (Context*)peer;
    if (p < contexts || p >= contexts + deviceCount || p->refs == 0) return INVALID_CONTEXT;
    if (p == ctx || !peerAllowed) return PEER_ACCESS_UNSUPPORTED;
    std::lock_guard<std::mutex> g(stateLock);
    if (!ctx->peers.insert(p).second) return PEER_ACCESS_ALREADY_ENABLED;
    return SUCCESS;
}
CUresult cuCtxDisablePeerAccess(void* peer) {
    NEEDS_CONTEXT("cuCtxDisablePeerAccess");
    std::lock_guard<std::mutex> g(stateLock);
    if (!ctx->peers.erase((Context*)peer)) return PEER_ACCESS_NOT_ENABLED;
    return SUCCESS;
}

// ---- Memory ----
CUresult cuMemGetInfo_v2(size_t* free, size_t* total) {
    NEEDS_CONTEXT("cuMemGetInfo");
    if (!free || !total) return INVALID_VALUE;
    std::lock_guard<std::mutex> g(memoryLock);
    *total = deviceMemory;
    *free = deviceMemory - used[ctx->device];
    return SUCCESS;
}
CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes) {
    NEEDS_CONTEXT("cuMemAlloc");
    if (!p || bytes == 0) return INVALID_VALUE;
    std::lock_guard<std::mutex> g(memoryLock);
    const size_t charged = (bytes + 255) & ~size_t(255);
    if (charged > deviceMemory - used[ctx->device]) return OUT_OF_MEMORY;
    Allocation a = mapGuarded(bytes, ctx->device);
    if (!a.mapping) return OUT_OF_MEMORY;
    memset((void*)a.start, 0xA5, bytes);  // not zero: code that forgets to initialise memory should notice
    allocations[a.start] = a;
    used[ctx->device] += charged;
    *p = a.start;
    return SUCCESS;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
    NEEDS_INIT;
    drainAll();  // the driver synchronises before freeing
    std::lock_guard<std::mutex> g(memoryLock);
    auto it = allocations.find(p);
    if (it == allocations.end() || it->second.device < 0) {
        complain("cuMemFree", "not the start of a live device allocation");
        return INVALID_VALUE;
    }
    used[it->second.device] -= (it->second.size + 255) & ~size_t(255);
    munmap(it->second.mapping, it->second.mappingSize);
    allocations.erase(it);
    return SUCCESS;
}
CUresult cuMemHostAlloc(void** pp, size_t bytes, unsigned flags) {
    NEEDS_CONTEXT("cuMemHostAlloc");
    if (!pp || bytes == 0 || (flags & ~7u)) return INVALID_VALUE;
    std::lock_guard<std::mutex> g(memoryLock);
    Allocation a = mapGuarded(bytes, -1);
    if (!a.mapping) return OUT_OF_MEMORY;
    allocations[a.start] = a;
    *pp = (void*)a.start;
    return SUCCESS;
}
CUresult cuMemFreeHost(void* p) {
    NEEDS_INIT;
    drainAll();
    std::lock_guard<std::mutex> g(memoryLock);
    auto it = allocations.find((uintptr_t)p);
    if (it == allocations.end() || it->second.device != -1) {
        complain("cuMemFreeHost", "not the start of a live pinned allocation");
        return INVALID_VALUE;
    }
    munmap(it->second.mapping, it->second.mappingSize);
    allocations.erase(it);
    return SUCCESS;
}
CUresult cuMemsetD8_v2(CUdeviceptr d, unsigned char v, size_t n) {
    NEEDS_CONTEXT("cuMemsetD8");
    if (!rangeOk("cuMemsetD8", "destination", d, n, true)) return INVALID_VALUE;
    memset((void*)d, v, n);
    return SUCCESS;
}
CUresult cuMemsetD32_v2(CUdeviceptr d, unsigned v, size_t n) {
    NEEDS_CONTEXT("cuMemsetD32");
    if (d % 4) return INVALID_VALUE;
    if (!rangeOk("cuMemsetD32", "destination", d, n * 4, true)) return INVALID_VALUE;
    for (size_t i = 0; i < n; i++) ((unsigned*)d)[i] = v;
    return SUCCESS;
}
CUresult cuMemsetD32Async(CUdeviceptr d, unsigned v, size_t n, void* stream) {
    NEEDS_STREAM("cuMemsetD32Async", stream);
    if (d % 4) return INVALID_VALUE;
    if (!rangeOk("cuMemsetD32Async", "destination", d, n * 4, true)) return INVALID_VALUE;
    s->push([d, v, n] {
        for (size_t i = 0; i < n; i++) ((unsigned*)d)[i] = v;
    });
    return SUCCESS;
}
CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void* h, size_t n) {
    NEEDS_CONTEXT("cuMemcpyHtoD");
    if (!rangeOk("cuMemcpyHtoD", "destination", d, n, true) || (!h && n)) return INVALID_VALUE;
    memcpy((void*)d, h, n);
    return SUCCESS;
}
CUresult cuMemcpyDtoH_v2(void* h, CUdeviceptr d, size_t n) {
    NEEDS_CONTEXT("cuMemcpyDtoH");
    if (!rangeOk("cuMemcpyDtoH", "source", d, n, true) || (!h && n)) return INVALID_VALUE;
    memcpy(h, (const void*)d, n);
    return SUCCESS;
}
CUresult cuMemcpyDtoD_v2(CUdeviceptr d, CUdeviceptr s, size_t n) {
    NEEDS_CONTEXT("cuMemcpyDtoD");
    if (!rangeOk("cuMemcpyDtoD", "destination", d, n, true) || !rangeOk("cuMemcpyDtoD", "source", s, n, true)) return INVALID_VALUE;
    memmove((void*)d, (const void*)s, n);
    return SUCCESS;
}
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void* h, size_t n, void* stream) {
    NEEDS_STREAM("cuMemcpyHtoDAsync", stream);
    if (!rangeOk("cuMemcpyHtoDAsync", "destination", d, n, true) || (!h && n)) return INVALID_VALUE;
    if (pinned(h, n)) {
        s->push([d, h, n] { memcpy((void*)d, h, n); });
    } else {  // pageable: the driver stages the source before it returns
        auto staged = std::make_shared<std::vector<char>>((const char*)h, (const char*)h + n);
        s->push([d, staged, n] { memcpy((void*)d, staged->data(), n); });
    }
    return SUCCESS;
}
CUresult cuMemcpyDtoHAsync_v2(void* h, CUdeviceptr d, size_t n, void* stream) {
    NEEDS_STREAM("cuMemcpyDtoHAsync", stream);
    if (!rangeOk("cuMemcpyDtoHAsync", "source", d, n, true) || (!h && n)) return INVALID_VALUE;
    s->push([h, d, n] { memcpy(h, (const void*)d, n); });
    if (!pinned(h, n) && !capturing(s)) s->drain();  // pageable: complete before returning
    return SUCCESS;
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr src, size_t n, void* stream) {
    NEEDS_STREAM("cuMemcpyDtoDAsync", stream);
    if (!rangeOk("cuMemcpyDtoDAsync", "destination", d, n, true) || !rangeOk("cuMemcpyDtoDAsync", "source", src, n, true))
        return INVALID_VALUE;
    s->push([d, src, n] { memmove((void*)d, (const void*)src, n); });
    return SUCCESS;
}
static bool peerArgsOk(const char* call, CUdeviceptr d, void* dctx, CUdeviceptr s, void* sctx, size_t n) {
    Context* dc = (Context*)dctx;
    Context* sc = (Context*)sctx;
    if (dc < contexts || dc >= contexts + deviceCount || sc < contexts || sc >= contexts + deviceCount) {
        complain(call, "a context argument is not a context");
        return false;
    }
    if (!rangeOk(call, "destination", d, n, true) || !rangeOk(call, "source", s, n, true)) return false;
    if (deviceOf(d, n) != dc->device || deviceOf(s, n) != sc->device) {
        complain(call, "a pointer does not belong to the device of the context passed with it");
        return false;
    }
    return true;
}
CUresult cuMemcpyPeer(CUdeviceptr d, void* dctx, CUdeviceptr s, void* sctx, size_t n) {
    NEEDS_CONTEXT("cuMemcpyPeer");
    if (!peerArgsOk("cuMemcpyPeer", d, dctx, s, sctx, n)) return INVALID_VALUE;
    memmove((void*)d, (const void*)s, n);
    return SUCCESS;
}
CUresult cuMemcpyPeerAsync(CUdeviceptr d, void* dctx, CUdeviceptr src, void* sctx, size_t n, void* stream) {
    NEEDS_STREAM("cuMemcpyPeerAsync", stream);
    if (!peerArgsOk("cuMemcpyPeerAsync", d, dctx, src, sctx, n)) return INVALID_VALUE;
    s->push([d, src, n] { memmove((void*)d, (const void*)src, n); });
    return SUCCESS;
}

// ---- Streams ----
CUresult cuStreamCreate(void** ps, unsigned flags) {
    NEEDS_CONTEXT("cuStreamCreate");
    if (!ps || flags > 1) return INVALID_VALUE;
    Stream* s = new Stream(ctx);
    std::lock_guard<std::mutex> g(stateLock);
    liveStreams.insert(s);
    ctx->streams.insert(s);
    *ps = s;
    return SUCCESS;
}
CUresult cuStreamDestroy_v2(void* h) {
    NEEDS_INIT;
    Stream* s = (Stream*)h;
    {
        std::lock_guard<std::mutex> g(stateLock);
        if (!liveStreams.erase(s)) return INVALID_HANDLE;
        s->ctx->streams.erase(s);
    }
    s->drain();
    delete s;
    return SUCCESS;
}
CUresult cuStreamSynchronize(void* h) {
    NEEDS_INIT;
    Stream* s = (Stream*)h;
    if (!live(liveStreams, s)) return INVALID_HANDLE;
    if (capturing(s)) return STREAM_CAPTURE_UNSUPPORTED;
    s->drain();
    return SUCCESS;
}
CUresult cuStreamQuery(void* h) {
    NEEDS_INIT;
    Stream* s = (Stream*)h;
    if (!live(liveStreams, s)) return INVALID_HANDLE;
    if (capturing(s)) return STREAM_CAPTURE_UNSUPPORTED;
    return s->idle() ? SUCCESS : NOT_READY;
}
CUresult cuStreamWaitEvent(void* h, void* ev, unsigned flags) {
    NEEDS_INIT;
    Stream* s = (Stream*)h;
    Event* e = (Event*)ev;
    if (!live(liveStreams, s) || !live(liveEvents, e)) return INVALID_HANDLE;
    if (flags) return INVALID_VALUE;
    unsigned long long gen;
    {
        std::lock_guard<std::mutex> g(e->m);
        gen = e->recorded;
    }
    if (gen == 0) return SUCCESS;  // an event never recorded: nothing to wait for
    s->push([e, gen] {
        std::unique_lock<std::mutex> l(e->m);
        e->cv.wait(l, [&] { return e->completed >= gen; });
    });
    return SUCCESS;
}
CUresult cuStreamBeginCapture_v2(void* h, int mode) {
    NEEDS_INIT;
    Stream* s = (Stream*)h;
    if (!live(liveStreams, s)) return INVALID_HANDLE;
    if (mode < 0 || mode > 2) return INVALID_VALUE;
    std::lock_guard<std::mutex> g(s->m);
    if (s->capture) return STREAM_CAPTURE_UNSUPPORTED;
    s->capture = new Graph();
    return SUCCESS;
}
CUresult cuStreamEndCapture(void* h, void** graph) {
    NEEDS_INIT;
    Stream* s = (Stream*)h;
    if (!live(liveStreams, s) || !graph) return INVALID_VALUE;
    Graph* gph;
    {
        std::lock_guard<std::mutex> g(s->m);
        if (!s->capture) return STREAM_CAPTURE_INVALIDATED;
        gph = s->capture;
        s->capture = nullptr;
    }
    std::lock_guard<std::mutex> g(stateLock);
    liveGraphs.insert(gph);
    *graph = gph;
    return SUCCESS;
}

// ---- Events ----
CUresult cuEventCreate(void** pe, unsigned flags) {
    NEEDS_CONTEXT("cuEventCreate");
    if (!pe || (flags & ~7u)) return INVALID_VALUE;
    Event* e = new Event();
    e->ctx = ctx;
    e->flags = flags;
    std::lock_guard<std::mutex> g(stateLock);
    liveEvents.insert(e);
    *pe = e;
    return SUCCESS;
}
CUresult cuEventDestroy_v2(void* h) {
    NEEDS_INIT;
    Event* e = (Event*)h;
    {
        std::lock_guard<std::mutex> g(stateLock);
        if (!liveEvents.erase(e)) return INVALID_HANDLE;
    }
    // Queued waits and records may still refer to it: drain before freeing (the driver defers the release instead).
    drainAll();
    delete e;
    return SUCCESS;
}
CUresult cuEventRecord(void* h, void* stream) {
    NEEDS_INIT;
    Event* e = (Event*)h;
    if (!live(liveEvents, e)) return INVALID_HANDLE;
    CUresult rc = SUCCESS;
    Stream* s = streamFor("cuEventRecord", stream, e->ctx, &rc);
    if (!s) return rc;
    if (s->ctx != e->ctx) {
        complain("cuEventRecord", "the event and the stream belong to different contexts");
        return INVALID_HANDLE;
    }
    unsigned long long gen;
    {
        std::lock_guard<std::mutex> g(e->m);
        gen = ++e->recorded;
    }
    s->push([e, gen] {
        std::lock_guard<std::mutex> g(e->m);
        e->completed = std::max(e->completed, gen);
        e->at = Clock::now();
        e->cv.notify_all();
    });
    return SUCCESS;
}
CUresult cuEventSynchronize(void* h) {
    NEEDS_INIT;
    Event* e = (Event*)h;
    if (!live(liveEvents, e)) return INVALID_HANDLE;
    std::unique_lock<std::mutex> l(e->m);
    const unsigned long long gen = e->recorded;
    e->cv.wait(l, [&] { return e->completed >= gen; });
    return SUCCESS;
}
CUresult cuEventQuery(void* h) {
    NEEDS_INIT;
    Event* e = (Event*)h;
    if (!live(liveEvents, e)) return INVALID_HANDLE;
    std::lock_guard<std::mutex> g(e->m);
    return e->completed >= e->recorded ? SUCCESS : NOT_READY;
}
static CUresult elapsed(float* ms, void* a, void* b) {
    NEEDS_INIT;
    Event* s = (Event*)a;
    Event* e = (Event*)b;
    if (!ms || !live(liveEvents, s) || !live(liveEvents, e)) return INVALID_HANDLE;
    if ((s->flags & 2) || (e->flags & 2)) return INVALID_HANDLE;  // CU_EVENT_DISABLE_TIMING
    std::scoped_lock l(s->m, e->m);
    if (s->recorded == 0 || e->recorded == 0) return INVALID_HANDLE;
    if (s->completed < s->recorded || e->completed < e->recorded) return NOT_READY;
    *ms = std::chrono::duration<float, std::milli>(e->at - s->at).count();
    return SUCCESS;
}
CUresult cuEventElapsedTime_v2(float* ms, void* a, void* b) { return elapsed(ms, a, b); }
CUresult cuEventElapsedTime(float* ms, void* a, void* b) { return elapsed(ms, a, b); }

// ---- Modules and launches ----
CUresult cuModuleLoadDataEx(void** pm, const void* image, unsigned n, int* options, void** values) {
    NEEDS_CONTEXT("cuModuleLoadDataEx");
    if (!pm || !image) return INVALID_VALUE;
    char* errorLog = nullptr;
    size_t errorLogSize = 0;
    for (unsigned i = 0; i < n; i++) {
        if (options[i] == 5) errorLog = (char*)values[i];
        if (options[i] == 6) errorLogSize = (size_t)(uintptr_t)values[i];
    }
    auto fail = [&](CUresult code, const std::string& why) {
        if (errorLog && errorLogSize) snprintf(errorLog, errorLogSize, "%s (emulated) fatal   : %s",
                                               code == INVALID_PTX ? "ptxas" : "module loader", why.c_str());
        return code;
    };
    std::vector<std::string> names;
    const bool cubin = memcmp(image, "\x7f" "ELF", 4) == 0;
    if (cubin) {  // a cubin: machine code for one architecture
        int arch = 0;
        const std::string wrong = cubinEntries((const unsigned char*)image, &names, &arch);
        if (!wrong.empty()) return fail(INVALID_IMAGE, wrong);
        if (arch != 90) return fail(NO_BINARY_FOR_GPU, "the cubin is machine code for sm_" + std::to_string(arch) +
                                                           ", and this device is sm_90");
    } else {
        const std::string ptx((const char*)image);
        if (ptx.find(".version") == std::string::npos || ptx.find(".target") == std::string::npos)
            return fail(INVALID_PTX, "not PTX: no .version or .target directive");
        size_t t = ptx.find(".target sm_");
        if (t != std::string::npos && atoi(ptx.c_str() + t + 11) > 90)
            return fail(INVALID_PTX, "the PTX targets " + ptx.substr(t + 8, 6) + ", newer than this device (sm_90)");
        for (size_t at = ptx.find(".entry "); at != std::string::npos; at = ptx.find(".entry ", at + 7)) {
            size_t begin = at + 7, end = ptx.find_first_of("( \n", begin);
            names.push_back(ptx.substr(begin, end - begin));
        }
    }
    Module* m = new Module();
    m->ctx = ctx;
    for (const std::string& name : names) {
        if (!kernelNamed(name)) {
            delete m;
            return fail(cubin ? INVALID_IMAGE : INVALID_PTX,
                        "entry " + name + " is not among the kernels this emulator was built with: rebuild it");
        }
        m->entries.insert(name);
    }
    std::lock_guard<std::mutex> g(stateLock);
    liveModules.insert(m);
    *pm = m;
    return SUCCESS;
}
CUresult cuModuleUnload(void* h) {
    NEEDS_INIT;
    Module* m = (Module*)h;
    std::lock_guard<std::mutex> g(stateLock);
    if (!liveModules.erase(m)) return INVALID_HANDLE;
    for (auto it = liveFunctions.begin(); it != liveFunctions.end();) {
        if ((*it)->module == m) {
            delete *it;
            it = liveFunctions.erase(it);
        } else {
            ++it;
        }
    }
    delete m;
    return SUCCESS;
}
CUresult cuModuleGetFunction(void** pf, void* h, const char* name) {
    NEEDS_INIT;
    Module* m = (Module*)h;
    if (!pf || !name) return INVALID_VALUE;
    std::lock_guard<std::mutex> g(stateLock);
    if (!liveModules.count(m)) return INVALID_HANDLE;
    if (!m->entries.count(name)) return NOT_FOUND;
    Function* f = new Function(m, kernelNamed(name));
    liveFunctions.insert(f);
    *pf = f;
    return SUCCESS;
}
CUresult cuFuncGetAttribute(int* v, int attribute, void* h) {
    NEEDS_INIT;
    Function* f = (Function*)h;
    if (!v || !live(liveFunctions, f)) return INVALID_HANDLE;
    switch (attribute) {
        case 0: *v = f->maxThreads(); break;                              // max threads per block
        case 1: *v = f->resources ? f->resources->sharedBytes : 0; break;  // static shared memory
        case 2: *v = 0; break;                                            // constant memory
        case 3: *v = f->resources ? f->resources->stackBytes : 0; break;   // local memory per thread
        case 4: *v = f->resources ? f->resources->registers : 32; break;   // registers per thread
        case 5: *v = 90; break;    // PTX version
        case 6: *v = 90; break;    // binary version
        case 8: *v = f->maxDynamicShared; break;                          // dynamic shared memory allowed
        default: return INVALID_VALUE;
    }
    return SUCCESS;
}
CUresult cuFuncSetAttribute(void* h, int attribute, int value) {
    NEEDS_INIT;
    Function* f = (Function*)h;
    if (!live(liveFunctions, f)) return INVALID_HANDLE;
    if (attribute == 8) {  // MAX_DYNAMIC_SHARED_SIZE_BYTES: up to the opt-in limit, less the static shared memory
        if (value < 0 || value > SHARED_PER_BLOCK_OPTIN - (f->resources ? f->resources->sharedBytes : 0)) return INVALID_VALUE;
        f->maxDynamicShared = value;
    }
    return SUCCESS;
}
CUresult cuLaunchKernel(void* h, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, void* stream, void** params, void** extra) {
    NEEDS_CONTEXT("cuLaunchKernel");
    Function* f = (Function*)h;
    if (!live(liveFunctions, f)) return INVALID_HANDLE;
    if (f->module->ctx != ctx) {
        complain("cuLaunchKernel", std::string(f->kernel->name) + " was loaded in another context than the current one");
        return INVALID_CONTEXT;
    }
    CUresult rc = SUCCESS;
    Stream* s = streamFor("cuLaunchKernel", stream, ctx, &rc);
    if (!s) return rc;
    if (!gx || !gy || !gz || !bx || !by || !bz || gy > 65535 || gz > 65535 || bx > 1024 || by > 1024 || bz > 64 ||
        (unsigned long long)bx * by * bz > 1024 || shared > (unsigned)f->maxDynamicShared || extra) {
        complain("cuLaunchKernel", std::string(f->kernel->name) + ": launch configuration out of range");
        return INVALID_VALUE;
    }
    if (bx * by * bz > (unsigned)f->maxThreads()) {
        const KernelResources* r = f->resources;
        complain("cuLaunchKernel", std::string(f->kernel->name) + ": a block of " + std::to_string(bx * by * bz) +
                 " threads, more than the " + std::to_string(f->maxThreads()) + " its " + std::to_string(r->registers) +
                 " registers per thread" + (r->boundThreads ? " and launch bounds (" + std::to_string(r->boundThreads) + ")" : std::string()) +
                 " allow");
        return LAUNCH_OUT_OF_RESOURCES;
    }
    Op op;
    std::string why;
    rc = f->kernel->bind(f->kernel->fn, params, dim3{gx, gy, gz}, dim3{bx, by, bz}, ctx, &op, &why);
    if (rc != SUCCESS) {
        complain("cuLaunchKernel", std::string(f->kernel->name) + ": " + why);
        return rc;
    }
    s->push(std::move(op));
    return SUCCESS;
}

// ---- Graphs ----
CUresult cuGraphInstantiateWithFlags(void** pe, void* graph, unsigned long long flags) {
    NEEDS_INIT;
    Graph* g0 = (Graph*)graph;
    if (!pe || flags) return INVALID_VALUE;
    std::lock_guard<std::mutex> g(stateLock);
    if (!liveGraphs.count(g0)) return INVALID_HANDLE;
    Graph* exec = new Graph(*g0);
    liveExecs.insert(exec);
    *pe = exec;
    return SUCCESS;
}
CUresult cuGraphLaunch(void* exec, void* stream) {
    NEEDS_CONTEXT("cuGraphLaunch");
    Graph* e = (Graph*)exec;
    if (!live(liveExecs, e)) return INVALID_HANDLE;
    CUresult rc = SUCCESS;
    Stream* s = streamFor("cuGraphLaunch", stream, ctx, &rc);
    if (!s) return rc;
    for (const Op& op : e->ops) s->push(op);
    return SUCCESS;
}
CUresult cuGraphExecDestroy(void* exec) {
    NEEDS_INIT;
    drainAll();
    std::lock_guard<std::mutex> g(stateLock);
    if (!liveExecs.erase((Graph*)exec)) return INVALID_HANDLE;
    delete (Graph*)exec;
    return SUCCESS;
}
CUresult cuGraphDestroy(void* graph) {
    NEEDS_INIT;
    std::lock_guard<std::mutex> g(stateLock);
    if (!liveGraphs.erase((Graph*)graph)) return INVALID_HANDLE;
    delete (Graph*)graph;
    return SUCCESS;
}

}  // extern "C"
