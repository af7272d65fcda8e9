#pragma once
// Register-resident FP32 fused multiply-add loops, one per instruction set,
// for the FP32 FMA roofline of `ridge bench`. Each lives in a file compiled for
// its ISA (bench_peak_avx2.cpp, bench_peak_avx512.cpp); call one only when the
// CPU supports it. Each keeps many independent accumulators in flight so the
// FMA units, not the instruction latency, bound the rate.
#include <cstdint>

namespace ridge::model {

// Each runs `iterations` rounds and returns a value derived from every
// accumulator (so the work cannot be optimized away). One round is
// fma_peak_flops_per_round_*() floating-point operations (an FMA counts 2).
float fma_peak_loop_avx2(int64_t iterations);
float fma_peak_loop_avx512(int64_t iterations);
int64_t fma_peak_flops_per_round_avx2();
int64_t fma_peak_flops_per_round_avx512();

}  // namespace ridge::model
