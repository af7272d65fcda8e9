// Dequantization of the 256-element "K" super-block types, bit-compatible with
// llama.cpp. Each layout is spelled out beside its decoder (little-endian; f16 is
// IEEE half; element indices are within the super-block).
#include <cstdint>

#include "tensor/block_codecs.h"

namespace ridge::tensor::codec {

namespace {

// Q4_K/Q5_K pack eight 6-bit scales and eight 6-bit mins into 12 bytes:
//   sub-blocks 0..3: scale = b[j] & 63,                     min = b[j+4] & 63
//   sub-blocks 4..7: scale = (b[j+4] & 15) | (b[j-4] >> 6) << 4,
//                    min   = (b[j+4] >> 4) | (b[j]   >> 6) << 4
inline void unpack_scale_min_6bit(const uint8_t* packed, int j, int& scale, int& min) {
  if (j < 4) {
    scale = packed[j] & 63;
    min = packed[j + 4] & 63;
  } else {
    scale = (packed[j + 4] & 0x0f) | ((packed[j - 4] >> 6) << 4);
    min = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
  }
}

}  // namespace

// Q2_K (84 B): u8 scales[16], u8 qs[64], f16 d, f16 dmin.
// Sixteen sub-blocks of 16; scales[s] low nibble = scale, high nibble = min.
// Element e = 128h + 32k + l (h < 2, k < 4, l < 32) is bits 2k..2k+1 of qs[32h + l];
// its sub-block is e / 16.  x = d * scale * q - dmin * min.
void dequantize_q2_k(const uint8_t* __restrict src, float* __restrict dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += 84) {
    const uint8_t* scales = src;
    const uint8_t* qs = src + 16;
    const float d = load_half(src + 80);
    const float dmin = load_half(src + 82);
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = qs + 32 * half;
      for (int k = 0; k < 4; ++k) {
        const int shift = 2 * k;
        for (int part = 0; part < 2; ++part) {  // two sub-blocks of 16 per 32 bytes
          const uint8_t sc = scales[8 * half + 2 * k + part];
          const float dl = d * static_cast<float>(sc & 0x0f);
          const float ml = dmin * static_cast<float>(sc >> 4);
          const uint8_t* qp = q + 16 * part;
          for (int l = 0; l < 16; ++l) *dst++ = dl * static_cast<float>((qp[l] >> shift) & 3) - ml;
        }
      }
    }
  }
}

// Q3_K (110 B): u8 hmask[32], u8 qs[64], u8 scales[12], f16 d.
// Low two bits as Q2_K; the third bit of element e is bit e/32 of hmask[e % 32],
// and a CLEAR bit subtracts 4 (q = low2 - (bit ? 0 : 4), in -4..3).
// Sixteen 6-bit scales, stored +32: low nibble of scale s is in scales[s] (s < 8)
// or the high nibble of scales[s-8]; its top two bits are bits 2(s/4)..+1 of
// scales[8 + s%4].  x = d * (scale - 32) * q.
void dequantize_q3_k(const uint8_t* __restrict src, float* __restrict dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += 110) {
    const uint8_t* hmask = src;
    const uint8_t* qs = src + 32;
    const uint8_t* packed = src + 96;
    const float d = load_half(src + 108);
    int scale[16];
    for (int s = 0; s < 16; ++s) {
      const int low = s < 8 ? (packed[s] & 0x0f) : (packed[s - 8] >> 4);
      const int high = (packed[8 + s % 4] >> (2 * (s / 4))) & 3;
      scale[s] = (low | (high << 4)) - 32;
    }
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = qs + 32 * half;
      for (int k = 0; k < 4; ++k) {
        const int shift = 2 * k;
        const uint8_t hbit = static_cast<uint8_t>(1u << (4 * half + k));
        for (int part = 0; part < 2; ++part) {
          const float dl = d * static_cast<float>(scale[8 * half + 2 * k + part]);
          const uint8_t* qp = q + 16 * part;
          const uint8_t* hp = hmask + 16 * part;
          for (int l = 0; l < 16; ++l) {
            const int level = ((qp[l] >> shift) & 3) - ((hp[l] & hbit) ? 0 : 4);
            *dst++ = dl * static_cast<float>(level);
          }
        }
      }
    }
  }
}

// Q4_K (144 B): f16 d, f16 dmin, u8 scales[12] (6-bit packing above), u8 qs[128].
// Eight sub-blocks of 32. Element e = 64g + 32h + l: nibble h (0 low, 1 high) of
// qs[32g + l], sub-block 2g + h.  x = d * scale * q - dmin * min.
void dequantize_q4_k(const uint8_t* __restrict src, float* __restrict dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += 144) {
    const float d = load_half(src);
    const float dmin = load_half(src + 2);
    const uint8_t* packed = src + 4;
    const uint8_t* qs = src + 16;
    for (int g = 0; g < 4; ++g, qs += 32) {
      int sc0, m0, sc1, m1;
      unpack_scale_min_6bit(packed, 2 * g, sc0, m0);
      unpack_scale_min_6bit(packed, 2 * g + 1, sc1, m1);
      const float d0 = d * static_cast<float>(sc0), min0 = dmin * static_cast<float>(m0);
      const float d1 = d * static_cast<float>(sc1), min1 = dmin * static_cast<float>(m1);
      for (int l = 0; l < 32; ++l) *dst++ = d0 * static_cast<float>(qs[l] & 0x0f) - min0;
      for (int l = 0; l < 32; ++l) *dst++ = d1 * static_cast<float>(qs[l] >> 4) - min1;
    }
  }
}

// Q5_K (176 B): f16 d, f16 dmin, u8 scales[12], u8 qh[32], u8 qs[128].
// As Q4_K plus a fifth bit: element e = 64g + 32h + l has it in bit 2g + h of qh[l].
void dequantize_q5_k(const uint8_t* __restrict src, float* __restrict dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += 176) {
    const float d = load_half(src);
    const float dmin = load_half(src + 2);
    const uint8_t* packed = src + 4;
    const uint8_t* qh = src + 16;
    const uint8_t* qs = src + 48;
    for (int g = 0; g < 4; ++g, qs += 32) {
      int sc0, m0, sc1, m1;
      unpack_scale_min_6bit(packed, 2 * g, sc0, m0);
      unpack_scale_min_6bit(packed, 2 * g + 1, sc1, m1);
      const float d0 = d * static_cast<float>(sc0), min0 = dmin * static_cast<float>(m0);
      const float d1 = d * static_cast<float>(sc1), min1 = dmin * static_cast<float>(m1);
      const int bit0 = 2 * g, bit1 = 2 * g + 1;
      for (int l = 0; l < 32; ++l)
        *dst++ = d0 * static_cast<float>((qs[l] & 0x0f) | (((qh[l] >> bit0) & 1) << 4)) - min0;
      for (int l = 0; l < 32; ++l)
        *dst++ = d1 * static_cast<float>((qs[l] >> 4) | (((qh[l] >> bit1) & 1) << 4)) - min1;
    }
  }
}

// Q6_K (210 B): u8 ql[128], u8 qh[64], i8 scales[16], f16 d.
// Element e = 128h + 32k + l (h < 2, k < 4, l < 32): low four bits are nibble
// k/2 of ql[64h + 32(k%2) + l], high two bits are bits 2k..2k+1 of qh[32h + l];
// q = that 6-bit value - 32; sub-block (scale) index e / 16.  x = d * scale * q.
void dequantize_q6_k(const uint8_t* __restrict src, float* __restrict dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += 210) {
    const uint8_t* ql = src;
    const uint8_t* qh = src + 128;
    const auto* scales = reinterpret_cast<const int8_t*>(src + 192);
    const float d = load_half(src + 208);
    for (int half = 0; half < 2; ++half, ql += 64, qh += 32, scales += 8, dst += 128) {
      for (int sub = 0; sub < 2; ++sub) {  // 16 elements share each scale
        // (d * scale) * q, the same rounding order as ggml's decoder.
        const float s0 = d * static_cast<float>(scales[sub]), s1 = d * static_cast<float>(scales[sub + 2]);
        const float s2 = d * static_cast<float>(scales[sub + 4]), s3 = d * static_cast<float>(scales[sub + 6]);
        for (int l = 16 * sub; l < 16 * sub + 16; ++l) {
          const int q0 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
          const int q1 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
          const int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
          const int q3 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
          dst[l] = s0 * static_cast<float>(q0);
          dst[l + 32] = s1 * static_cast<float>(q1);
          dst[l + 64] = s2 * static_cast<float>(q2);
          dst[l + 96] = s3 * static_cast<float>(q3);
        }
      }
    }
  }
}

// Q8_K (292 B): f32 d, i8 qs[256], i16 bsums[16] (sums of 16 quants, used only by
// dot products).  x = d * q.
void dequantize_q8_k(const uint8_t* __restrict src, float* __restrict dst, int64_t blocks) {
  for (int64_t b = 0; b < blocks; ++b, src += 292, dst += kSuperBlock) {
    const float d = load_f32(src);
    const auto* qs = reinterpret_cast<const int8_t*>(src + 4);
    for (int j = 0; j < kSuperBlock; ++j) dst[j] = d * static_cast<float>(qs[j]);
  }
}

}  // namespace ridge::tensor::codec
