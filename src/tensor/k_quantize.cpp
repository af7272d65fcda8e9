// Quantizers for the 256-element "K" super-block types. Layouts are described in
// k_dequant.cpp; the bytes written here decode with llama.cpp's dequantizers.
//
// Every type has two levels of scales: each sub-block (16 or 32 elements) gets a
// least-squares fitted scale (and offset), then those scales are themselves
// quantized to 4, 6 or 8 bits against one f16 super-block scale, and finally each
// element is re-rounded against its sub-block's *quantized* scale, so the stored
// levels match what a reader will reconstruct. This follows ggml's reference
// structure; the sub-block search is our own (scale_fit.h), so the bytes may differ
// from llama.cpp's while the error is comparable.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "tensor/block_codecs.h"
#include "tensor/quant.h"
#include "tensor/scale_fit.h"

namespace ridge::tensor::codec {
namespace {

constexpr int kSuper = kSuperBlock;

float max_of(const float* v, int n) {
  float m = 0.0f;
  for (int i = 0; i < n; ++i) m = std::fmax(m, v[i]);
  return m;
}

// The value of largest magnitude, sign kept.
float signed_absmax(const float* v, int n) {
  float amax = 0.0f, extreme = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(v[i]) > amax) {
      amax = std::fabs(v[i]);
      extreme = v[i];
    }
  }
  return extreme;
}

// Stores a super-block scale as f16 and returns the float a reader will decode.
// Rounds away from zero rather than to nearest: the sub-block value that defined the
// scale then still fits the integer range (scale * top >= it) instead of clamping.
// In the normal f16 range this costs under 2^-11; where the scale is subnormal
// (small weights) nearest rounding could lose several percent on the largest
// sub-block.
float store_half(uint8_t* p, float value) {
  uint16_t h = fp32_to_fp16(value);
  const bool finite = (h & 0x7c00) != 0x7c00;
  if (finite && std::fabs(half_to_float(h)) < std::fabs(value) && (h & 0x7fff) != 0x7bff) ++h;
  store_u16(p, h);
  return half_to_float(h);
}

// Packs 2-bit levels (0..3): element 128h + 32k + l goes to bits 2k of qs[32h + l].
void pack_2bit(const uint8_t* levels, uint8_t* qs) {
  for (int h = 0; h < 2; ++h) {
    const uint8_t* L = levels + 128 * h;
    for (int l = 0; l < 32; ++l)
      qs[32 * h + l] = static_cast<uint8_t>(L[l] | (L[l + 32] << 2) | (L[l + 64] << 4) | (L[l + 96] << 6));
  }
}

// Q4_K/Q5_K: sub-block scales and mins already quantized to 6 bits (0..63).
void pack_scale_min_6bit(const uint8_t* scale, const uint8_t* min, uint8_t* packed) {
  std::memset(packed, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      packed[j] = scale[j];
      packed[j + 4] = min[j];
    } else {
      packed[j + 4] = static_cast<uint8_t>((scale[j] & 0x0f) | ((min[j] & 0x0f) << 4));
      packed[j - 4] |= static_cast<uint8_t>((scale[j] >> 4) << 6);
      packed[j] |= static_cast<uint8_t>((min[j] >> 4) << 6);
    }
  }
}

// Rounds non-negative sub-block values to integers 0..top against the super-block
// scale as stored (f16-rounded), so that the reader's d * integer is as close as
// possible to each fitted value; this matters where the f16 scale is subnormal.
void quantize_against(const float* values, int count, float stored_scale, int top, uint8_t* out) {
  const float inverse = stored_scale > 0.0f ? 1.0f / stored_scale : 0.0f;
  for (int j = 0; j < count; ++j) out[j] = static_cast<uint8_t>(round_even_clamped(values[j] * inverse, 0, top));
}

// Shared by Q4_K and Q5_K: fits eight 32-element sub-blocks with levels 0..nmax,
// writes d, dmin and the 12 packed scale bytes at dst, and leaves the final levels.
void quantize_affine_super_block(const float* x, int nmax, uint8_t* dst, uint8_t* levels) {
  float scales[8], offsets[8];
  for (int j = 0; j < 8; ++j) scales[j] = fit_affine_scale(x + 32 * j, 32, nmax, offsets[j]);
  const float d = store_half(dst, max_of(scales, 8) / 63.0f);
  const float dmin = store_half(dst + 2, max_of(offsets, 8) / 63.0f);
  uint8_t scale6[8], offset6[8];
  quantize_against(scales, 8, d, 63, scale6);
  quantize_against(offsets, 8, dmin, 63, offset6);
  pack_scale_min_6bit(scale6, offset6, dst + 4);

  for (int j = 0; j < 8; ++j) {
    const float step = d * static_cast<float>(scale6[j]);
    const float offset = dmin * static_cast<float>(offset6[j]);
    for (int i = 0; i < 32; ++i) {
      // A zero step decodes every level to -offset; level 0 is as good as any.
      levels[32 * j + i] = step != 0.0f
                               ? static_cast<uint8_t>(round_even_clamped((x[32 * j + i] + offset) / step, 0, nmax))
                               : 0;
    }
  }
}

// Shared by Q3_K and Q6_K: fits sixteen 16-element sub-blocks with levels
// -nmax..nmax-1, stores the f16 super-block scale d at d_at and quantizes the
// sub-block scales against it to signed integers in [-scale_max, scale_max - 1]
// (into `scale_q`). Returns the stored d (0 for a zero block).
float quantize_symmetric_scales(const float* x, int nmax, int scale_max, uint8_t* d_at, int* scale_q) {
  float scales[16];
  for (int j = 0; j < 16; ++j) scales[j] = fit_symmetric_scale(x + 16 * j, 16, nmax);
  // The largest-magnitude scale maps to -scale_max, the level with the most room.
  const float extreme = signed_absmax(scales, 16);
  const float d = store_half(d_at, extreme != 0.0f ? extreme / -static_cast<float>(scale_max) : 0.0f);
  const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < 16; ++j) scale_q[j] = round_even_clamped(inverse * scales[j], -scale_max, scale_max - 1);
  return d;
}

// Rounds every element against its sub-block's quantized step d * scale_q, storing
// level + nmax (unsigned).
void requantize_symmetric(const float* x, float d, const int* scale_q, int nmax, uint8_t* levels) {
  for (int j = 0; j < 16; ++j) {
    const float step = d * static_cast<float>(scale_q[j]);
    for (int i = 0; i < 16; ++i) {
      const int q = step != 0.0f ? round_even_clamped(x[16 * j + i] / step, -nmax, nmax - 1) : 0;
      levels[16 * j + i] = static_cast<uint8_t>(q + nmax);
    }
  }
}

}  // namespace

void quantize_q2_k(const float* src, uint8_t* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kSuper, dst += 84) {
    float scales[16], offsets[16];
    for (int j = 0; j < 16; ++j) scales[j] = fit_affine_scale(src + 16 * j, 16, 3, offsets[j]);
    const float d = store_half(dst + 80, max_of(scales, 16) / 15.0f);
    const float dmin = store_half(dst + 82, max_of(offsets, 16) / 15.0f);
    uint8_t scale4[16], offset4[16];
    quantize_against(scales, 16, d, 15, scale4);
    quantize_against(offsets, 16, dmin, 15, offset4);
    for (int j = 0; j < 16; ++j) dst[j] = static_cast<uint8_t>(scale4[j] | (offset4[j] << 4));

    uint8_t levels[kSuper];
    for (int j = 0; j < 16; ++j) {
      const float step = d * static_cast<float>(scale4[j]);
      const float offset = dmin * static_cast<float>(offset4[j]);
      for (int i = 0; i < 16; ++i)
        levels[16 * j + i] =
            step != 0.0f ? static_cast<uint8_t>(round_even_clamped((src[16 * j + i] + offset) / step, 0, 3)) : 0;
    }
    pack_2bit(levels, dst + 16);
  }
}

void quantize_q3_k(const float* src, uint8_t* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kSuper, dst += 110) {
    int scale_q[16];
    uint8_t levels[kSuper];
    const float d = quantize_symmetric_scales(src, 4, 32, dst + 108, scale_q);
    // Scales are stored +32 as 6 bits: low nibbles in bytes 0..7 (two per byte),
    // top two bits in bytes 8..11.
    uint8_t* packed = dst + 96;
    std::memset(packed, 0, 12);
    for (int j = 0; j < 16; ++j) {
      const int stored = scale_q[j] + 32;
      if (j < 8)
        packed[j] = static_cast<uint8_t>(stored & 0x0f);
      else
        packed[j - 8] |= static_cast<uint8_t>((stored & 0x0f) << 4);
      packed[8 + j % 4] |= static_cast<uint8_t>((stored >> 4) << (2 * (j / 4)));
    }
    requantize_symmetric(src, d, scale_q, 4, levels);
    // Levels 0..7: bit 2 goes to hmask (bit e/32 of hmask[e%32]), the rest to qs.
    uint8_t* hmask = dst;
    std::memset(hmask, 0, 32);
    for (int e = 0; e < kSuper; ++e) {
      if (levels[e] > 3) {
        hmask[e % 32] |= static_cast<uint8_t>(1u << (e / 32));
        levels[e] -= 4;
      }
    }
    pack_2bit(levels, dst + 32);
  }
}

void quantize_q4_k(const float* src, uint8_t* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kSuper, dst += 144) {
    uint8_t levels[kSuper];
    quantize_affine_super_block(src, 15, dst, levels);
    uint8_t* qs = dst + 16;
    for (int g = 0; g < 4; ++g)
      for (int l = 0; l < 32; ++l)
        qs[32 * g + l] = static_cast<uint8_t>(levels[64 * g + l] | (levels[64 * g + 32 + l] << 4));
  }
}

void quantize_q5_k(const float* src, uint8_t* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kSuper, dst += 176) {
    uint8_t levels[kSuper];
    quantize_affine_super_block(src, 31, dst, levels);
    uint8_t* qh = dst + 16;
    uint8_t* qs = dst + 48;
    std::memset(qh, 0, 32);
    for (int g = 0; g < 4; ++g) {
      for (int l = 0; l < 32; ++l) {
        const int lo = levels[64 * g + l], hi = levels[64 * g + 32 + l];
        qs[32 * g + l] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
        qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * g)) | ((hi >> 4) << (2 * g + 1)));
      }
    }
  }
}

void quantize_q6_k(const float* src, uint8_t* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kSuper, dst += 210) {
    int scale_q[16];
    uint8_t levels[kSuper];
    const float d = quantize_symmetric_scales(src, 32, 128, dst + 208, scale_q);
    for (int j = 0; j < 16; ++j) dst[192 + j] = static_cast<uint8_t>(static_cast<int8_t>(scale_q[j]));
    requantize_symmetric(src, d, scale_q, 32, levels);
    uint8_t* ql = dst;
    uint8_t* qh = dst + 128;
    for (int h = 0; h < 2; ++h) {
      const uint8_t* L = levels + 128 * h;
      for (int l = 0; l < 32; ++l) {
        ql[64 * h + l] = static_cast<uint8_t>((L[l] & 0x0f) | ((L[l + 64] & 0x0f) << 4));
        ql[64 * h + l + 32] = static_cast<uint8_t>((L[l + 32] & 0x0f) | ((L[l + 96] & 0x0f) << 4));
        qh[32 * h + l] = static_cast<uint8_t>((L[l] >> 4) | ((L[l + 32] >> 4) << 2) | ((L[l + 64] >> 4) << 4) |
                                              ((L[l + 96] >> 4) << 6));
      }
    }
  }
}

// Q8_K is ggml's activation format for K-quant dot products; this matches ggml's
// current reference exactly: f32 d = max / -127 (older ggml used -128; it moved to
// -127 so that levels fit the SIMD dot products), levels rounded half to even.
void quantize_q8_k(const float* src, uint8_t* dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += kSuper, dst += 292) {
    const float extreme = signed_absmax(src, kSuper);
    auto* qs = reinterpret_cast<int8_t*>(dst + 4);
    if (!(std::fabs(extreme) > 0.0f)) {
      std::memset(dst, 0, 292);
      continue;
    }
    const float inverse = -127.0f / extreme;
    for (int j = 0; j < kSuper; ++j) qs[j] = static_cast<int8_t>(round_even_clamped(inverse * src[j], -128, 127));
    for (int s = 0; s < 16; ++s) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += qs[16 * s + i];
      store_u16(dst + 4 + kSuper + 2 * s, static_cast<uint16_t>(static_cast<int16_t>(sum)));
    }
    store_f32(dst, 1.0f / inverse);
  }
}

}  // namespace ridge::tensor::codec
