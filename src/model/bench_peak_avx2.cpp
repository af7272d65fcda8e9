// AVX2+FMA peak loop: 12 independent 8-wide accumulators, enough to cover the
// FMA latency (4-5 cycles) on two FMA pipes.
#include <immintrin.h>

#include "kernels/prefetch.h"
#include "model/bench_peak.h"

namespace ridge::model {

namespace {
constexpr int kAccumulators = 12;
}

float fma_peak_loop_avx2(int64_t iterations) {
  __m256 acc[kAccumulators];
  for (int i = 0; i < kAccumulators; ++i) acc[i] = _mm256_set1_ps(0.001f * static_cast<float>(i + 1));
  // acc * a + b converges to b / (1 - a) = 0.1: no overflow, no denormals.
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < kAccumulators; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 sum = acc[0];
  for (int i = 1; i < kAccumulators; ++i) sum = _mm256_add_ps(sum, acc[i]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  float s = 0;
  for (float v : lanes) s += v;
  return s;
}

int64_t fma_peak_flops_per_round_avx2() { return int64_t{kAccumulators} * 8 * 2; }

uint64_t read_sum_avx2(const uint64_t* begin, const uint64_t* end, int line_hint) {
  __m256i s[8];
  for (auto& v : s) v = _mm256_setzero_si256();
  for (const uint64_t* p = begin; p + 32 <= end; p += 32) {
    // Each page touched a few pages early and each line asked for a few KiB
    // early, as the decode kernels do (kernels/prefetch.h): without the
    // touches this loop streams 15-25% slower than the decode in some
    // virtual machines, without the line requests 2-3% slower on Zen 5
    // (median of 12 passes of 1 GiB, 2 threads: 80.2 against 82.1 GB/s), and
    // either way would understate the roofline.
    kernels::isa::prefetch_pages_ahead(reinterpret_cast<const uint8_t*>(p), 256);
    kernels::isa::prefetch_lines(reinterpret_cast<const uint8_t*>(p), 256, line_hint);
    for (int k = 0; k < 8; ++k)
      s[k] = _mm256_add_epi64(s[k], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 4 * k)));
  }
  for (int k = 1; k < 8; ++k) s[0] = _mm256_add_epi64(s[0], s[k]);
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s[0]);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

}  // namespace ridge::model
