// AVX-512 peak loop: 16 independent 16-wide accumulators (of 32 registers),
// enough to cover the FMA latency on two FMA pipes.
#include <immintrin.h>

#include "kernels/prefetch.h"
#include "model/bench_peak.h"

namespace ridge::model {

namespace {
constexpr int kAccumulators = 16;
}

float fma_peak_loop_avx512(int64_t iterations) {
  __m512 acc[kAccumulators];
  for (int i = 0; i < kAccumulators; ++i) acc[i] = _mm512_set1_ps(0.001f * static_cast<float>(i + 1));
  // acc * a + b converges to b / (1 - a) = 0.1: no overflow, no denormals.
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < kAccumulators; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 sum = acc[0];
  for (int i = 1; i < kAccumulators; ++i) sum = _mm512_add_ps(sum, acc[i]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, sum);
  float s = 0;
  for (float v : lanes) s += v;
  return s;
}

int64_t fma_peak_flops_per_round_avx512() { return int64_t{kAccumulators} * 16 * 2; }

uint64_t read_sum_avx512(const uint64_t* begin, const uint64_t* end, int line_hint) {
  __m512i s[4];
  for (auto& v : s) v = _mm512_setzero_si512();
  for (const uint64_t* p = begin; p + 32 <= end; p += 32) {
    // The same requests ahead as read_sum_avx2.
    kernels::isa::prefetch_pages_ahead(reinterpret_cast<const uint8_t*>(p), 256);
    kernels::isa::prefetch_lines(reinterpret_cast<const uint8_t*>(p), 256, line_hint);
    for (int k = 0; k < 4; ++k) s[k] = _mm512_add_epi64(s[k], _mm512_loadu_si512(p + 8 * k));
  }
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(lanes, _mm512_add_epi64(_mm512_add_epi64(s[0], s[1]), _mm512_add_epi64(s[2], s[3])));
  uint64_t sum = 0;
  for (uint64_t v : lanes) sum += v;
  return sum;
}

}  // namespace ridge::model
