// The 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0): layouts and the
// quantizers, which follow ggml's reference quantizers step for step so that a
// file written here holds the same bytes llama.cpp would write.
//
// Layouts (little-endian, f16 = IEEE half):
//   Q4_0 (18 B): f16 d, u8 qs[16]          x[j] = (lo4(qs[j]) - 8) d, x[j+16] = (hi4(qs[j]) - 8) d
//   Q4_1 (20 B): f16 d, f16 m, u8 qs[16]   x = q d + m, nibbles as Q4_0
//   Q5_0 (22 B): f16 d, u32 qh, u8 qs[16]  5th bit of element j is bit j of qh; q - 16
//   Q5_1 (24 B): f16 d, f16 m, u32 qh, u8 qs[16]  x = q d + m
//   Q8_0 (34 B): f16 d, i8 qs[32]          x = q d
#include <cmath>
#include <cstdint>
#include <cstring>

#include "tensor/block_codecs.h"
#include "tensor/quant.h"

namespace ridge::tensor::codec {
namespace {

constexpr int kBlock = 32;
constexpr int kHalf = kBlock / 2;

// The element with the largest magnitude, sign kept (the symmetric quantizers map
// it to the most negative level, which has one step more room than the positive side).
float signed_absmax(const float* x) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < kBlock; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void min_max(const float* x, float& min, float& max) {
  min = x[0];
  max = x[0];
  for (int j = 1; j < kBlock; ++j) {
    if (x[j] < min) min = x[j];
    if (x[j] > max) max = x[j];
  }
}

}  // namespace

void dequantize_q4_0(const uint8_t* __restrict src, float* __restrict dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += 18, dst += kBlock) {
    const float d = load_half(src);
    const uint8_t* qs = src + 2;
    for (int j = 0; j < kHalf; ++j) {
      dst[j] = static_cast<float>((qs[j] & 0x0f) - 8) * d;
      dst[j + kHalf] = static_cast<float>((qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_q4_1(const uint8_t* __restrict src, float* __restrict dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += 20, dst += kBlock) {
    const float d = load_half(src);
    const float m = load_half(src + 2);
    const uint8_t* qs = src + 4;
    for (int j = 0; j < kHalf; ++j) {
      dst[j] = static_cast<float>(qs[j] & 0x0f) * d + m;
      dst[j + kHalf] = static_cast<float>(qs[j] >> 4) * d + m;
    }
  }
}

void dequantize_q5_0(const uint8_t* __restrict src, float* __restrict dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += 22, dst += kBlock) {
    const float d = load_half(src);
    const uint32_t qh = load_u32(src + 2);
    const uint8_t* qs = src + 6;
    for (int j = 0; j < kHalf; ++j) {
      const int high_lo = static_cast<int>((qh >> j) & 1u) << 4;
      const int high_hi = static_cast<int>((qh >> (j + kHalf)) & 1u) << 4;
      dst[j] = static_cast<float>(((qs[j] & 0x0f) | high_lo) - 16) * d;
      dst[j + kHalf] = static_cast<float>(((qs[j] >> 4) | high_hi) - 16) * d;
    }
  }
}

void dequantize_q5_1(const uint8_t* __restrict src, float* __restrict dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += 24, dst += kBlock) {
    const float d = load_half(src);
    const float m = load_half(src + 2);
    const uint32_t qh = load_u32(src + 4);
    const uint8_t* qs = src + 8;
    for (int j = 0; j < kHalf; ++j) {
      const int high_lo = static_cast<int>((qh >> j) & 1u) << 4;
      const int high_hi = static_cast<int>((qh >> (j + kHalf)) & 1u) << 4;
      dst[j] = static_cast<float>((qs[j] & 0x0f) | high_lo) * d + m;
      dst[j + kHalf] = static_cast<float>((qs[j] >> 4) | high_hi) * d + m;
    }
  }
}

void dequantize_q8_0(const uint8_t* __restrict src, float* __restrict dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += 34, dst += kBlock) {
    const float d = load_half(src);
    const auto* qs = reinterpret_cast<const int8_t*>(src + 2);
    for (int j = 0; j < kBlock; ++j) dst[j] = static_cast<float>(qs[j]) * d;
  }
}

// The quantizers compute levels with the exact float scale and store its f16
// rounding, as ggml's reference code does; the levels are therefore ggml's.

void quantize_q4_0(const float* src, uint8_t* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kBlock, dst += 18) {
    const float d = signed_absmax(src) / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_u16(dst, fp32_to_fp16(d));
    for (int j = 0; j < kHalf; ++j) {
      const int lo = truncate_clamped(src[j] * id + 8.5f, 15);
      const int hi = truncate_clamped(src[j + kHalf] * id + 8.5f, 15);
      dst[2 + j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void quantize_q4_1(const float* src, uint8_t* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kBlock, dst += 20) {
    float min, max;
    min_max(src, min, max);
    const float d = (max - min) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_u16(dst, fp32_to_fp16(d));
    store_u16(dst + 2, fp32_to_fp16(min));
    for (int j = 0; j < kHalf; ++j) {
      const int lo = truncate_clamped((src[j] - min) * id + 0.5f, 15);
      const int hi = truncate_clamped((src[j + kHalf] - min) * id + 0.5f, 15);
      dst[4 + j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void quantize_q5_0(const float* src, uint8_t* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kBlock, dst += 22) {
    const float d = signed_absmax(src) / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_u16(dst, fp32_to_fp16(d));
    uint32_t qh = 0;
    for (int j = 0; j < kHalf; ++j) {
      const int lo = truncate_clamped(src[j] * id + 16.5f, 31);
      const int hi = truncate_clamped(src[j + kHalf] * id + 16.5f, 31);
      dst[6 + j] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
      qh |= static_cast<uint32_t>(lo >> 4) << j;
      qh |= static_cast<uint32_t>(hi >> 4) << (j + kHalf);
    }
    store_u32(dst + 2, qh);
  }
}

void quantize_q5_1(const float* src, uint8_t* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kBlock, dst += 24) {
    float min, max;
    min_max(src, min, max);
    const float d = (max - min) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_u16(dst, fp32_to_fp16(d));
    store_u16(dst + 2, fp32_to_fp16(min));
    uint32_t qh = 0;
    for (int j = 0; j < kHalf; ++j) {
      const int lo = truncate_clamped((src[j] - min) * id + 0.5f, 31);
      const int hi = truncate_clamped((src[j + kHalf] - min) * id + 0.5f, 31);
      dst[8 + j] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
      qh |= static_cast<uint32_t>(lo >> 4) << j;
      qh |= static_cast<uint32_t>(hi >> 4) << (j + kHalf);
    }
    store_u32(dst + 4, qh);
  }
}

void quantize_q8_0(const float* src, uint8_t* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kBlock, dst += 34) {
    float amax = 0.0f;
    for (int j = 0; j < kBlock; ++j) amax = std::fmax(amax, std::fabs(src[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_u16(dst, fp32_to_fp16(d));
    for (int j = 0; j < kBlock; ++j) {
      // roundf: halves away from zero, as ggml's reference does for Q8_0.
      const float v = std::round(src[j] * id);
      const int q = v != v ? 0 : (v < -127.0f ? -127 : (v > 127.0f ? 127 : static_cast<int>(v)));
      dst[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(q));
    }
  }
}

}  // namespace ridge::tensor::codec
