#pragma once
// e^x on 8 floats for x <= 0, shared by the SIMD files that need it (silu in
// matmul_isa_body.h, the AVX2 softmax in attention_avx2.cpp). Include it ONLY
// from files compiled with AVX2+FMA or wider: the function has internal
// linkage, so each including file gets its own copy, built with its own flags.
//
// Method: 2^(x log2 e) split into an integer power (built in the exponent
// bits) and e^r, |r| <= ln2/2, by Taylor terms to r^7 (relative error a few
// 1e-8). Results below 2^-126 (x below about -87.3) flush to 0, so -inf gives
// 0; NaN stays NaN.
#include <immintrin.h>

namespace ridge::kernels::isa {
namespace {

inline __m256 exp_nonpositive(__m256 x) {
  x = _mm256_max_ps(_mm256_set1_ps(-104.0f), x);  // NaN in x is kept (second operand)
  const __m256 t = _mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f));
  const __m256 n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // r = x - n ln2 in two steps (ln2 split into a short high part and the rest) keeps r exact enough.
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);
  __m256 p = _mm256_set1_ps(1.0f / 5040);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i pow2 = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  // n = -126 and below would need a subnormal power: flush to 0 (NaN compares unordered and is kept).
  const __m256 normal = _mm256_cmp_ps(n, _mm256_set1_ps(-126.0f), _CMP_NLT_UQ);
  return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(pow2)), normal);
}

}  // namespace
}  // namespace ridge::kernels::isa
