#pragma once
// The boundary between baseline code and the kernels compiled for one
// instruction set (matmul_avx2.cpp, matmul_avx512.cpp). Only plain structs of
// raw pointers and plain, non-inline functions cross it: an inline function or
// template instantiated in an AVX-512 file could otherwise be merged by the
// linker into the copy every caller uses, and crash a machine without AVX-512.
// Callers check kernel_path_supported() before calling an ISA's functions.
#include <cstddef>
#include <cstdint>

#include "gguf/types.h"

namespace ridge::kernels::isa {

// Activations quantized once per matmul call for the integer dot products, one
// token after another. Levels are round(x * 127 / amax) per block (-127..127),
// so x ~= d * q. Blocks are 32 wide for the 32-element weight types and 256 wide
// (with sums per 16 and per 32) for the K types.
struct QuantizedActivations {
  int64_t cols = 0;
  int64_t block = 0;              // 32 or 256
  const int8_t* q = nullptr;      // [token][cols]
  const float* d = nullptr;       // [token][cols / block]
  const int32_t* sum = nullptr;   // block 32: sum of q per block, [token][cols / 32]
  const float* dsum = nullptr;    // block 32: d * sum per block
  const int16_t* bsum16 = nullptr;  // block 256: [token][cols / 256][16] sums of 16 levels
  const int16_t* bsum32 = nullptr;  // block 256: [token][cols / 256][8] sums of 32 levels
};

// One matmul: y[t * rows + r] = dot(W row r, token t). Float weights (F32, F16,
// BF16) read `x`; quantized ones read `qx`.
struct MatmulTask {
  GgmlType type = GgmlType::F32;
  const uint8_t* w = nullptr;
  int64_t cols = 0;
  int64_t rows = 0;
  size_t row_bytes = 0;
  int64_t n_tokens = 0;
  const float* x = nullptr;
  QuantizedActivations qx;
  float* y = nullptr;
};

// Rows are handed to threads in groups of this many, so each row's arithmetic
// (hence its result, to the bit) does not depend on the thread count.
inline constexpr int64_t kRowGroup = 4;

// Computes rows [row_begin, row_end) for every token. The type must be one of
// F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K.
void matmul_rows_avx2(const MatmulTask& task, int64_t row_begin, int64_t row_end);
void matmul_rows_avx512(const MatmulTask& task, int64_t row_begin, int64_t row_end);

// Per-token vector kernels with the semantics of their namesakes in ops.h.
void scale_mul_f32_avx2(const float* x, float s, const float* w, float* out, int64_t n);  // out = x*s*w
void scale_mul_f32_avx512(const float* x, float s, const float* w, float* out, int64_t n);
double sum_squares_avx2(const float* x, int64_t n);
double sum_squares_avx512(const float* x, int64_t n);
void silu_mul_avx2(float* g, const float* u, int64_t n);
void silu_mul_avx512(float* g, const float* u, int64_t n);

// One token's activations quantized as activation_quant.h describes (bit for
// bit the scalar code's result): cols floats in blocks of `block` (32 or 256)
// into levels q[cols] and scales d[cols / block]; block 32 also writes sum and
// dsum per block, block 256 bsum16 [16] and bsum32 [8] per block.
void quantize_row_q8_avx2(const float* x, int64_t cols, int64_t block, int8_t* q, float* d, int32_t* sum, float* dsum,
                          int16_t* bsum16, int16_t* bsum32);
void quantize_row_q8_avx512(const float* x, int64_t cols, int64_t block, int8_t* q, float* d, int32_t* sum,
                            float* dsum, int16_t* bsum16, int16_t* bsum32);

}  // namespace ridge::kernels::isa
