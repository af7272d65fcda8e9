// Half-precision conversions (IEEE binary16 and bfloat16) for tensor/quant.h.
#include <bit>
#include <cstdint>

#include "tensor/block_codecs.h"
#include "tensor/quant.h"

namespace ridge::tensor {

float fp16_to_fp32(uint16_t h) { return codec::half_to_float(h); }

uint16_t fp32_to_fp16(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  const auto sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t magnitude = bits & 0x7fffffffu;

  if (magnitude > 0x7f800000u)  // NaN: stay NaN, quiet, keep the payload's top bits
    return static_cast<uint16_t>(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
  // 65520 is halfway between 65504 (largest half, odd mantissa) and 2^16: ties go
  // to even, which is infinity. Everything at or above it (and +-inf) is infinity.
  if (magnitude >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);

  if (magnitude >= 0x38800000u) {  // a normal half (>= 2^-14)
    // Round the 23-bit mantissa to 10 bits, nearest-even; a carry ripples into the
    // exponent, which is exactly the right result at a binade boundary.
    const uint32_t rounded = magnitude + 0xfffu + ((magnitude >> 13) & 1u);
    return static_cast<uint16_t>(sign | ((rounded >> 13) - ((127u - 15u) << 10)));
  }
  // Subnormal half (or zero): the result is round(value * 2^24). At most 2^-25
  // rounds to zero (2^-25 itself is a tie that goes to the even zero).
  if (magnitude <= 0x33000000u) return sign;
  const uint32_t exponent = magnitude >> 23;                        // 102..112
  const uint32_t significand = (magnitude & 0x7fffffu) | 0x800000u;  // 24 bits
  const uint32_t shift = 126u - exponent;                            // 14..24
  uint32_t quotient = significand >> shift;
  const uint32_t remainder = significand & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1u);
  if (remainder > half || (remainder == half && (quotient & 1u))) ++quotient;
  return static_cast<uint16_t>(sign | quotient);  // 0x400 (smallest normal) is correct too
}

float bf16_to_fp32(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

uint16_t fp32_to_bf16(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  // NaN: truncating could leave an all-zero mantissa (infinity); force the quiet bit.
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

}  // namespace ridge::tensor
