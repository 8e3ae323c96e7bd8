// A minimal CUDA emulator for checking kernel logic on a machine without a GPU: one block at a time, __shared__ is
// shared by the block's threads, __syncthreads is a barrier. Two ways to run a block's threads:
//   default        each thread a std::thread, __syncthreads a std::barrier (works under AddressSanitizer: test.cpp);
//   EMU_FIBERS     each thread a fiber on the caller's thread, created once per launch and reused for every block;
//                  __syncthreads switches to the next fiber (fast: the emulated driver, driver.cpp, uses this).
//                  A thread that has returned counts as arrived at later barriers, as on current GPUs.
// Under ThreadSanitizer (-fsanitize=thread) with EMU_FIBERS, each fiber is a TSan fiber and switches carry no
// ordering: the only happens-before edges between a block's threads are its barriers (everything a thread did before
// a barrier, or before it returned, is ordered before everything any thread does after it). TSan then reports the
// hazards compute-sanitizer's racecheck looks for: two threads of a block touching the same shared (or global)
// memory between the same two barriers, one of them writing (a missing or misplaced __syncthreads). Blocks are
// ordered one after another, and the host's work before and after a launch is ordered with it (run.sh runs it).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <barrier>
#include <vector>
#include <algorithm>
using std::min; using std::max;
struct dim3 { unsigned x = 1, y = 1, z = 1; };
struct alignas(16) float4 { float x, y, z, w; };
inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
inline dim3 blockDim, gridDim;
inline std::vector<double> g_shfl;
#ifdef EMU_FIBERS
#include <csetjmp>
#include <ucontext.h>
#include <sys/mman.h>
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define EMU_TSAN 1
// The emulator's own bookkeeping (fiber states, threadIdx, the scheduler) is shared by all fibers without barriers:
// not instrumented, so that TSan sees only the kernels' accesses.
#define EMU_UNCHECKED __attribute__((no_sanitize("thread")))
#else
#define EMU_UNCHECKED
#endif
inline dim3 threadIdx, blockIdx;  // set by the scheduler before it resumes a fiber
namespace emu_fibers {
enum State { RUNNING, AT_BARRIER, AT_WARP_BARRIER, BLOCK_DONE };
struct Fiber { ucontext_t start; jmp_buf resume; bool started; State state; void* tsan; };
inline std::vector<Fiber> fibers;
inline char* stacks = nullptr;
inline size_t stackCount = 0;
constexpr size_t STACK = 256 * 1024;
inline jmp_buf scheduler;
inline int current = 0;
inline void (*body)(void*) = nullptr;
inline void* bodyArg = nullptr;
#ifdef EMU_TSAN
// Synchronisation objects (only their addresses matter): the host's work before a block is released on blockStart
// and acquired by each thread as it starts the block; each thread releases on blockDone as it returns, which the host
// acquires after the block. Barriers alternate between two objects, so that the threads released at barrier b are
// acquired after barrier b only, never by a thread still before barrier b + 1. A shuffle's exchange orders only the
// threads of one warp (warpSync): the emulator runs it as a round of its own, but on a GPU it orders nothing else.
inline char blockStart, blockDone, barrierSync[2], warpSync[2][32];
inline unsigned barrierRound = 0;  // the scheduler's rounds within a block: one per barrier
inline void* schedulerFiber = nullptr;
#endif
// Back to the scheduler, in state s; returns when the scheduler resumes this fiber.
EMU_UNCHECKED inline void yield(State s) {
    Fiber& me = fibers[current];
    me.state = s;
#ifdef EMU_TSAN
    char* sync = s == AT_WARP_BARRIER ? &warpSync[barrierRound & 1][current / 32 % 32] : &barrierSync[barrierRound & 1];
    __tsan_release(sync);
    if (s == BLOCK_DONE) __tsan_release(&blockDone);
    if (!_setjmp(me.resume)) { __tsan_switch_to_fiber(schedulerFiber, __tsan_switch_to_fiber_no_sync); _longjmp(scheduler, 1); }
    __tsan_acquire(s == BLOCK_DONE ? &blockStart : sync);
#else
    if (!_setjmp(me.resume)) _longjmp(scheduler, 1);
#endif
}
EMU_UNCHECKED inline void entry() {
#ifdef EMU_TSAN
    __tsan_acquire(&blockStart);
#endif
    for (;;) {  // one kernel body per block; parked in BLOCK_DONE between blocks, abandoned after the last
        body(bodyArg);
        yield(BLOCK_DONE);
    }
}
}  // namespace emu_fibers
inline void __syncthreads() { emu_fibers::yield(emu_fibers::AT_BARRIER); }
// The emulated shuffle's exchange: every thread of the block takes part (as in __syncthreads), but only a warp's
// threads are ordered by it.
inline void emu_warp_exchange() { emu_fibers::yield(emu_fibers::AT_WARP_BARRIER); }
#else
inline thread_local dim3 threadIdx, blockIdx;
inline std::barrier<>* g_bar;
inline void __syncthreads() { g_bar->arrive_and_wait(); }
inline void emu_warp_exchange() { g_bar->arrive_and_wait(); }
#endif
inline float __fmul_rn(float a, float b) { volatile float r = a * b; return r; }
inline float __fadd_rn(float a, float b) { volatile float r = a + b; return r; }
inline float __fsub_rn(float a, float b) { volatile float r = a - b; return r; }
inline float __fdiv_rn(float a, float b) { volatile float r = a / b; return r; }
template <class T> inline T __shfl_xor_sync(unsigned, T v, int m) {
    int t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    g_shfl[t] = v; emu_warp_exchange(); T r = (T)g_shfl[t ^ m]; emu_warp_exchange(); return r;
}
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#pragma GCC diagnostic ignored "-Wunused-variable"

#ifdef EMU_FIBERS
// Not reentrant: one launch at a time (the emulated driver holds a lock around it).
template <class F> EMU_UNCHECKED void launch(dim3 grid, dim3 block, F f) {
    using namespace emu_fibers;
    gridDim = grid; blockDim = block;
    const int nt = block.x * block.y * block.z;
    g_shfl.assign(nt, 0.0);
#ifdef EMU_TSAN
    for (auto& fb : fibers) __tsan_destroy_fiber(fb.tsan);
    schedulerFiber = __tsan_get_current_fiber();
#endif
    if (stackCount < (size_t)nt) {
        if (stacks) munmap(stacks, stackCount * STACK);
        void* m = mmap(nullptr, nt * STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) { perror("emu: fiber stacks"); abort(); }
        stacks = (char*)m; stackCount = nt;
    }
    fibers.assign(nt, Fiber{});
    body = [](void* p) { (*(F*)p)(); };
    bodyArg = &f;
    for (int t = 0; t < nt; t++) {
        getcontext(&fibers[t].start);
        fibers[t].start.uc_stack.ss_sp = stacks + (size_t)t * STACK;
        fibers[t].start.uc_stack.ss_size = STACK;
        fibers[t].start.uc_link = nullptr;
        makecontext(&fibers[t].start, entry, 0);
#ifdef EMU_TSAN
        fibers[t].tsan = __tsan_create_fiber(0);
#endif
    }
    const long long blocks = (long long)grid.x * grid.y * grid.z;
    for (long long b = 0; b < blocks; b++) {
        blockIdx = {unsigned(b % grid.x), unsigned(b / grid.x % grid.y), unsigned(b / ((long long)grid.x * grid.y))};
        for (auto& fb : fibers) fb.state = RUNNING;
#ifdef EMU_TSAN
        __tsan_release(&blockStart);
        barrierRound = 0;
#endif
        for (bool again = true; again;) {  // one round per barrier: resume every fiber that has not finished the block
            again = false;
            for (int t = 0; t < nt; t++) {
                if (fibers[t].state == BLOCK_DONE) continue;
                current = t;
                threadIdx = {unsigned(t % block.x), unsigned(t / block.x % block.y), unsigned(t / (block.x * block.y))};
                if (!_setjmp(scheduler)) {
#ifdef EMU_TSAN
                    __tsan_switch_to_fiber(fibers[t].tsan, __tsan_switch_to_fiber_no_sync);
#endif
                    if (!fibers[t].started) { fibers[t].started = true; setcontext(&fibers[t].start); }
                    else _longjmp(fibers[t].resume, 1);
                }
                if (fibers[t].state == AT_BARRIER || fibers[t].state == AT_WARP_BARRIER) again = true;
            }
#ifdef EMU_TSAN
            barrierRound++;
#endif
        }
#ifdef EMU_TSAN
        __tsan_acquire(&blockDone);
#endif
    }
}
#else
template <class F> void launch(dim3 grid, dim3 block, F f) {
    gridDim = grid; blockDim = block;
    int nt = block.x * block.y * block.z;
    g_shfl.assign(nt, 0.0);
    for (unsigned bz = 0; bz < grid.z; bz++) for (unsigned by = 0; by < grid.y; by++) for (unsigned bx = 0; bx < grid.x; bx++) {
        std::barrier<> bar(nt); g_bar = &bar;
        std::vector<std::thread> ths;
        for (int t = 0; t < nt; t++) ths.emplace_back([&, t] {
            threadIdx = {unsigned(t % block.x), unsigned(t / block.x % block.y), unsigned(t / (block.x * block.y))};
            blockIdx = {bx, by, bz};
            f();
        });
        for (auto& th : ths) th.join();
    }
}
#endif
