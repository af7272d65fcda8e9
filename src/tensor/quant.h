#pragma once
// Element types' block layouts, bit-compatible with GGUF files made by
// llama.cpp: dequantization for every supported type, quantization for the
// types the writer and `ridge quantize` produce, and half-precision helpers.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gguf/types.h"

namespace ridge::tensor {

float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);    // round to nearest even, like ggml
float bf16_to_fp32(uint16_t h);
uint16_t fp32_to_bf16(float f);    // round to nearest even, NaN kept quiet

bool can_dequantize(GgmlType t);   // F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K..Q6_K Q8_K
bool can_quantize(GgmlType t);     // at least F32 F16 BF16 Q8_0 Q4_0 Q4_K Q6_K

// n must be a multiple of the type's block size; throws std::invalid_argument otherwise
// or when the type is not supported.
void dequantize_row(GgmlType t, const void* src, float* dst, int64_t n);
void quantize_row(GgmlType t, const float* src, void* dst, int64_t n);

// Convenience: quantize a whole [rows x n] matrix into a fresh byte buffer.
std::vector<uint8_t> quantize(GgmlType t, const float* src, int64_t rows, int64_t n);

}  // namespace ridge::tensor
