// A minimal CUDA emulator for checking kernel logic on a machine without a GPU: each block's threads run as
// std::threads (one block at a time), __syncthreads is a barrier, __shared__ is shared by the block's threads.
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
inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;
inline std::barrier<>* g_bar;
inline std::vector<double> g_shfl;
inline void __syncthreads() { g_bar->arrive_and_wait(); }
inline float __fmul_rn(float a, float b) { volatile float r = a * b; return r; }
inline float __fadd_rn(float a, float b) { volatile float r = a + b; return r; }
inline float __fsub_rn(float a, float b) { volatile float r = a - b; return r; }
inline float __fdiv_rn(float a, float b) { volatile float r = a / b; return r; }
template <class T> inline T __shfl_xor_sync(unsigned, T v, int m) {
    int t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    g_shfl[t] = v; __syncthreads(); T r = (T)g_shfl[t ^ m]; __syncthreads(); return r;
}
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#pragma GCC diagnostic ignored "-Wunused-variable"

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
