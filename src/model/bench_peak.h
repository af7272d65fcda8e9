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

// The streaming-read loop of the bandwidth roofline with 32-byte loads: on
// the CPUs measured so far the fastest way to stream memory (64-byte loads
// read 25-30% slower on Zen 5, 8- and 16-byte ones a few percent), and each
// 4 KiB page touched a few pages before it is read (the decode kernels' own
// trick, kernels::isa::prefetch_pages_ahead; 15-25% faster in this project's
// virtual machines), each line asked for a few KiB early with `line_hint`
// (kernels::isa::prefetch_lines; prefetch.h's kLines* values). Sums the
// 64-bit words of [begin, end), which must be a multiple of 32 words long.
uint64_t read_sum_avx2(const uint64_t* begin, const uint64_t* end, int line_hint);
// The same with 64-byte loads (AVX-512F): on an Intel Xeon the decode tiles
// stream faster with them, and a probe limited to 32-byte loads read below
// the decode's own rate there (Q8_0 at 102% of it).
uint64_t read_sum_avx512(const uint64_t* begin, const uint64_t* end, int line_hint);

}  // namespace ridge::model
