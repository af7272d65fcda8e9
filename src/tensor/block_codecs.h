#pragma once
// Internal to tensor/: per-type block codecs (one function per element type and
// direction, each over whole blocks) and the byte-level helpers they share. The
// public entry points in quant.h validate arguments and dispatch here once per row,
// so these loops stay free of checks and indirection.
//
// Blocks are read and written through byte pointers with memcpy, never through
// structs: rows inside an mmapped GGUF file are not guaranteed to be aligned for
// a block's f16/f32 fields (an 18-byte Q4_0 block, for example).
#include <bit>
#include <cstdint>
#include <cstring>

namespace ridge::tensor::codec {

static_assert(std::endian::native == std::endian::little,
              "GGUF block layouts are little-endian; a big-endian host needs byte swaps here");

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline float load_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store_u16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, sizeof v); }
inline void store_u32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, sizeof v); }
inline void store_f32(uint8_t* p, float v) { std::memcpy(p, &v, sizeof v); }

// IEEE half -> float, exact for every input (NaN payloads kept). Inline and
// branch-free so the dequantization loops vectorize. No float arithmetic touches a
// subnormal (it would be flushed under FTZ/DAZ): subnormal halves are built as
// 0.5 + m * 2^-24 (the mantissa dropped into a float whose ulp is 2^-24), minus 0.5.
inline float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t shifted = static_cast<uint32_t>(h & 0x7fffu) << 13;  // exponent + mantissa in float position
  const uint32_t exponent = shifted & 0x0f800000u;
  const uint32_t normal = shifted + ((127u - 15u) << 23);
  const uint32_t special = shifted + ((255u - 31u) << 23);  // inf / NaN
  const float subnormal = std::bit_cast<float>(0x3f000000u | (h & 0x3ffu)) - 0.5f;
  // Select with masks, not branches: GCC will not if-convert the ternary form.
  const uint32_t is_special = 0u - static_cast<uint32_t>(exponent == 0x0f800000u);
  const uint32_t is_small = 0u - static_cast<uint32_t>(exponent == 0);
  const uint32_t magnitude = (normal & ~(is_special | is_small)) | (special & is_special) |
                             (std::bit_cast<uint32_t>(subnormal) & is_small);
  return std::bit_cast<float>(sign | magnitude);
}

inline float load_half(const uint8_t* p) { return half_to_float(load_u16(p)); }

// Elements per K-quant super-block.
inline constexpr int kSuperBlock = 256;

// Dequantize `blocks` consecutive blocks from `src` into `dst` (which never overlap:
// the definitions mark them __restrict so the loops vectorize).
void dequantize_q4_0(const uint8_t* src, float* dst, int64_t blocks);
void dequantize_q4_1(const uint8_t* src, float* dst, int64_t blocks);
void dequantize_q5_0(const uint8_t* src, float* dst, int64_t blocks);
void dequantize_q5_1(const uint8_t* src, float* dst, int64_t blocks);
void dequantize_q8_0(const uint8_t* src, float* dst, int64_t blocks);
void dequantize_q2_k(const uint8_t* src, float* dst, int64_t blocks);
void dequantize_q3_k(const uint8_t* src, float* dst, int64_t blocks);
void dequantize_q4_k(const uint8_t* src, float* dst, int64_t blocks);
void dequantize_q5_k(const uint8_t* src, float* dst, int64_t blocks);
void dequantize_q6_k(const uint8_t* src, float* dst, int64_t blocks);
void dequantize_q8_k(const uint8_t* src, float* dst, int64_t blocks);

// Quantize `blocks` blocks of `src` into `dst`, byte for byte the GGUF layout.
void quantize_q4_0(const float* src, uint8_t* dst, int64_t blocks);
void quantize_q4_1(const float* src, uint8_t* dst, int64_t blocks);
void quantize_q5_0(const float* src, uint8_t* dst, int64_t blocks);
void quantize_q5_1(const float* src, uint8_t* dst, int64_t blocks);
void quantize_q8_0(const float* src, uint8_t* dst, int64_t blocks);
void quantize_q2_k(const float* src, uint8_t* dst, int64_t blocks);
void quantize_q3_k(const float* src, uint8_t* dst, int64_t blocks);
void quantize_q4_k(const float* src, uint8_t* dst, int64_t blocks);
void quantize_q5_k(const float* src, uint8_t* dst, int64_t blocks);
void quantize_q6_k(const float* src, uint8_t* dst, int64_t blocks);
void quantize_q8_k(const float* src, uint8_t* dst, int64_t blocks);

// Rounding helpers shared by the quantizers. Both are total: NaN and out-of-range
// inputs clamp instead of reaching an undefined float->int conversion.
// Round half to even (ggml's nearest_int), clamped to [lo, hi].
inline int round_even_clamped(float v, int lo, int hi) {
  if (v != v) return lo > 0 ? lo : (hi < 0 ? hi : 0);  // NaN: the level nearest zero
  if (v <= static_cast<float>(lo)) return lo;
  if (v >= static_cast<float>(hi)) return hi;
  // 1.5 * 2^23 pushes the fraction out of the mantissa with the FPU's
  // round-to-nearest-even; exact for |v| < 2^22; callers' ranges are a few hundred at most.
  const float shifted = v + 12582912.0f;
  return static_cast<int>(std::bit_cast<uint32_t>(shifted) & 0x7fffffu) - 0x400000;
}
// Truncation toward zero of a non-negative value, clamped to [0, hi] (the legacy
// quantizers' `(int8_t)(x + 8.5f)` idiom).
inline int truncate_clamped(float v, int hi) {
  if (!(v > 0.0f)) return 0;
  if (v >= static_cast<float>(hi)) return hi;
  return static_cast<int>(v);
}

}  // namespace ridge::tensor::codec
