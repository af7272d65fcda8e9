// The attention kernels compiled for AVX-512 (flags from CMakeLists.txt by file
// name): 16 keys per chunk, one zmm of scores per query row. Exported through
// the plain functions of attention_isa.h; the algorithm is attention_isa_body.h.
// GCC 12's AVX-512 headers build some results from _mm512_undefined_*(), which
// its own -Wuninitialized then reports at every use (a known false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/attention_isa.h"

namespace ridge::kernels::isa {
namespace {

constexpr int kLanes = 16;
using Vec = __m512;
// Rows per scoring / accumulating pass and column vectors per accumulating
// pass: 4 x 4 accumulators, plus the operands, in the 32 vector registers.
constexpr int kRowBlock = 4;
constexpr int kAccVectors = 4;

__mmask16 first_lanes(int n) { return static_cast<__mmask16>((1u << n) - 1u); }

Vec vzero() { return _mm512_setzero_ps(); }
Vec vset1(float x) { return _mm512_set1_ps(x); }
Vec vload(const float* p) { return _mm512_loadu_ps(p); }
void vstore(float* p, Vec v) { _mm512_storeu_ps(p, v); }
Vec vadd(Vec a, Vec b) { return _mm512_add_ps(a, b); }
Vec vmul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
Vec vmax(Vec a, Vec b) { return _mm512_max_ps(a, b); }
Vec vfmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
float hmax(Vec v) { return _mm512_reduce_max_ps(v); }
float hsum(Vec v) { return _mm512_reduce_add_ps(v); }
float first_lane(Vec v) { return _mm512_cvtss_f32(v); }

// exp(x) for x <= 0: 2^(x log2 e) split into an integer power n (built in the
// exponent bits) and e^r, |r| <= ln2/2, by Taylor terms to r^7 (relative error
// a few 1e-8). Below -87 the power would be subnormal: the result is 0, which
// is also what exp(-infinity) (a masked key) gives. NaN stays NaN.
Vec exp_nonpositive(Vec x) {
  x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x);  // NaN in x is kept (second operand)
  const Vec t = _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f));
  const Vec n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  Vec r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), r);
  Vec p = _mm512_set1_ps(1.0f / 5040);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  const __m512i pow2 = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  const __mmask16 normal = _mm512_cmp_ps_mask(n, _mm512_set1_ps(-126.0f), _CMP_NLT_UQ);
  return _mm512_maskz_mul_ps(normal, p, _mm512_castsi512_ps(pow2));
}

Vec load_halves(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
Vec load_halves_partial(const uint16_t* p, int n) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(first_lanes(n), p));
}
Vec load_floats_partial(const float* p, int n) { return _mm512_maskz_loadu_ps(first_lanes(n), p); }
Vec mask_keys(Vec s, int n) { return _mm512_mask_blend_ps(first_lanes(n), _mm512_set1_ps(-__builtin_inff()), s); }

void store_halves(uint16_t* y, Vec v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(y), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
}
void store_halves_partial(uint16_t* y, const float* x, int n) {
  const __mmask16 m = first_lanes(n);
  _mm256_mask_storeu_epi16(y, m, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x), _MM_FROUND_TO_NEAREST_INT));
}

#include "kernels/attention_isa_body.h"

}  // namespace

void attention_tile_avx512(const AttentionTile& tile) { attention_tile(tile); }
void fp32_to_fp16_avx512(const float* x, uint16_t* y, int64_t n) { fp32_to_fp16_row(x, y, n); }

}  // namespace ridge::kernels::isa
