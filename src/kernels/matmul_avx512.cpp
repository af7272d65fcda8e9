// The SIMD kernels compiled for AVX512 (flags from CMakeLists.txt by file name),
// exported as plain functions; see matmul_isa_body.h.
// GCC 12's AVX-512 headers build some results from _mm512_undefined_*(), which
// its own -Wuninitialized then reports at every use (a known false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define RIDGE_ISA_AVX512 1
#include "kernels/matmul_isa_body.h"

namespace ridge::kernels::isa {

void matmul_rows_avx512(const MatmulTask& task, int64_t row_begin, int64_t row_end) {
  matmul_rows(task, row_begin, row_end);
}
void scale_mul_f32_avx512(const float* x, float s, const float* w, float* out, int64_t n) {
  scale_mul_f32(x, s, w, out, n);
}
double sum_squares_avx512(const float* x, int64_t n) { return sum_squares(x, n); }
void silu_mul_avx512(float* g, const float* u, int64_t n) { silu_mul(g, u, n); }

void quantize_row_q8_avx512(const float* x, int64_t cols, int64_t block, int8_t* q, float* d, int32_t* sum,
                        float* dsum, int16_t* bsum16, int16_t* bsum32) {
  quantize_row_q8(x, cols, block, q, d, sum, dsum, bsum16, bsum32);
}

}  // namespace ridge::kernels::isa
