// The attention kernels compiled for AVX2 + FMA + F16C (flags from
// CMakeLists.txt by file name): 8 keys per chunk, one ymm of scores per query
// row. Exported through the plain functions of attention_isa.h; the algorithm
// is attention_isa_body.h.
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/attention_isa.h"
#include "kernels/exp_f32x8.h"

namespace ridge::kernels::isa {
namespace {

constexpr int kLanes = 8;
// Rows per scoring / accumulating pass and column vectors per accumulating
// pass: 2 x 4 accumulators, plus the operands, in the 16 vector registers.
constexpr int kRowBlock = 2;
constexpr int kAccVectors = 4;
using Vec = __m256;

Vec vzero() { return _mm256_setzero_ps(); }
Vec vset1(float x) { return _mm256_set1_ps(x); }
Vec vload(const float* p) { return _mm256_loadu_ps(p); }
void vstore(float* p, Vec v) { _mm256_storeu_ps(p, v); }
Vec vadd(Vec a, Vec b) { return _mm256_add_ps(a, b); }
Vec vmul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
Vec vmax(Vec a, Vec b) { return _mm256_max_ps(a, b); }
Vec vfmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
float first_lane(Vec v) { return _mm256_cvtss_f32(v); }

float hmax(Vec v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

float hsum(Vec v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// exp_nonpositive comes from exp_f32x8.h.
Vec load_halves(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
Vec load_halves_partial(const uint16_t* p, int n) {
  alignas(16) uint16_t tmp[kLanes] = {};
  for (int i = 0; i < n; ++i) tmp[i] = p[i];
  return load_halves(tmp);
}
Vec load_floats_partial(const float* p, int n) {
  alignas(32) float tmp[kLanes] = {};
  for (int i = 0; i < n; ++i) tmp[i] = p[i];
  return vload(tmp);
}
Vec mask_keys(Vec s, int n) {
  const Vec lane = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
  const Vec keep = _mm256_cmp_ps(lane, _mm256_set1_ps(static_cast<float>(n)), _CMP_LT_OQ);
  return _mm256_blendv_ps(_mm256_set1_ps(-__builtin_inff()), s, keep);
}

void store_halves(uint16_t* y, Vec v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(y), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
}
void store_halves_partial(uint16_t* y, const float* x, int n) {
  alignas(32) float in[kLanes] = {};
  alignas(16) uint16_t out[kLanes];
  for (int i = 0; i < n; ++i) in[i] = x[i];
  store_halves(out, vload(in));
  for (int i = 0; i < n; ++i) y[i] = out[i];
}

#include "kernels/attention_isa_body.h"

}  // namespace

void attention_tile_avx2(const AttentionTile& tile) { attention_tile(tile); }
void fp32_to_fp16_avx2(const float* x, uint16_t* y, int64_t n) { fp32_to_fp16_row(x, y, n); }

}  // namespace ridge::kernels::isa
