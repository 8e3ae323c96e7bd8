// The race check's own check (run.sh): the emulator under ThreadSanitizer must report a block whose threads read
// each other's shared memory without a barrier between the write and the read, or within one warp exchange's reach
// only, and must report nothing for the same kernel with its barriers; else the race check proves nothing.
//   race-selftest ok | missing-barrier | warp-only
#include "emu.h"
#include <cstring>

// Each thread writes its slot, then reads its neighbour's (in another warp for thread 31 and the last thread).
__global__ void neighbours(float* out, const float* in, int mode) {
    __shared__ float s[64];
    const int t = threadIdx.x;
    s[t] = in[t];
    if (mode == 0) __syncthreads();
    if (mode == 2) (void)__shfl_xor_sync(0xffffffffu, 0.0f, 1);  // orders a warp's threads, not the block's
    out[blockIdx.x * 64 + t] = s[(t + 1) % 64];
}

int main(int argc, char** argv) {
    const char* modes[] = {"ok", "missing-barrier", "warp-only"};
    int mode = -1;
    for (int m = 0; m < 3; m++) if (argc > 1 && !strcmp(argv[1], modes[m])) mode = m;
    if (mode < 0) { fprintf(stderr, "usage: race-selftest ok | missing-barrier | warp-only\n"); return 2; }
    static float in[64], out[2 * 64];
    for (int i = 0; i < 64; i++) in[i] = i;
    launch(dim3(2), dim3(64), [&] { neighbours(out, in, mode); });
    for (int b = 0; b < 2; b++) for (int t = 0; t < 64; t++)
        if (out[b * 64 + t] != in[(t + 1) % 64] && mode == 0) { printf("wrong result at %d\n", t); return 1; }
    return 0;
}
