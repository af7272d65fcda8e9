// The SIMD kernels compiled for AVX2 (flags from CMakeLists.txt by file name),
// exported as plain functions; see matmul_isa_body.h.
#define RIDGE_ISA_AVX512 0
#include "kernels/matmul_isa_body.h"

namespace ridge::kernels::isa {

void matmul_rows_avx2(const MatmulTask& task, int64_t row_begin, int64_t row_end) {
  matmul_rows(task, row_begin, row_end);
}
void scale_mul_f32_avx2(const float* x, float s, const float* w, float* out, int64_t n) {
  scale_mul_f32(x, s, w, out, n);
}
double sum_squares_avx2(const float* x, int64_t n) { return sum_squares(x, n); }
void silu_mul_avx2(float* g, const float* u, int64_t n) { silu_mul(g, u, n); }

void quantize_row_q8_avx2(const float* x, int64_t cols, int64_t block, int8_t* q, float* d, int32_t* sum,
                        float* dsum, int16_t* bsum16, int16_t* bsum32) {
  quantize_row_q8(x, cols, block, q, d, sum, dsum, bsum16, bsum32);
}

}  // namespace ridge::kernels::isa
