#include "kernels/repack_kquant.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include <vector>

#include "kernels/repack_kquant_kernels.h"
#include "tensor/quant.h"

namespace ridge::kernels {

namespace {

// Q4_K's twelve bytes of 6-bit scales and mins (the layout of
// tensor/k_dequant.cpp): sub-blocks 0..3 use the low 6 bits of bytes j and
// j + 4; sub-blocks 4..7 take their low 4 bits from byte j + 4 (scale: low
// nibble, min: high nibble) and the top 2 from bits 6..7 of bytes j - 4
// (scale) and j (min).
void unpack_q4k_scales(const uint8_t* p, uint8_t scale[8], uint8_t min[8]) {
  for (int j = 0; j < 4; ++j) {
    scale[j] = p[j] & 63;
    min[j] = p[j + 4] & 63;
  }
  for (int j = 4; j < 8; ++j) {
    scale[j] = static_cast<uint8_t>((p[j + 4] & 0x0f) | ((p[j - 4] >> 6) << 4));
    min[j] = static_cast<uint8_t>((p[j + 4] >> 4) | ((p[j] >> 6) << 4));
  }
}

// Q6_K's 6-bit levels u (0..63, value + 32) of one 210-byte super-block:
// element e = 128h + 32k + l has its low 4 bits in nibble k / 2 of
// ql[64h + 32(k % 2) + l] and its top 2 in bits 2k..2k+1 of qh[32h + l].
void unpack_q6k_levels(const uint8_t* blk, uint8_t u[256]) {
  const uint8_t* ql = blk;
  const uint8_t* qh = blk + 128;
  for (int h = 0; h < 2; ++h)
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < 32; ++l) {
        const uint8_t low = static_cast<uint8_t>((ql[64 * h + 32 * (k % 2) + l] >> (4 * (k / 2))) & 0x0f);
        const uint8_t top = static_cast<uint8_t>((qh[32 * h + l] >> (2 * k)) & 3);
        u[128 * h + 32 * k + l] = static_cast<uint8_t>(low | (top << 4));
      }
}

void pack_q4k_row(const uint8_t* blk, int i, uint8_t* out) {
  std::memcpy(out + 2 * i, blk, 2);            // d
  std::memcpy(out + 32 + 2 * i, blk + 2, 2);   // dmin
  uint8_t scale[8], min[8];
  unpack_q4k_scales(blk + 4, scale, min);
  for (int j = 0; j < 8; ++j) out[64 + 16 * j + i] = scale[j];
  for (int k = 0; k < 4; ++k) {
    out[192 + 32 * k + 2 * i] = min[2 * k];
    out[192 + 32 * k + 2 * i + 1] = min[2 * k + 1];
  }
  // qs[32p + c] holds column 64p + c (low nibble) and 64p + 32 + c (high):
  // its 4-byte groups go to lane i of the pair's nibble vectors unchanged.
  const uint8_t* qs = blk + 16;
  for (int p = 0; p < 4; ++p)
    for (int v = 0; v < 8; ++v) std::memcpy(out + 320 + 512 * p + 64 * v + 4 * i, qs + 32 * p + 4 * v, 4);
}

void pack_q6k_row(const uint8_t* blk, int i, uint8_t* out) {
  const float d = tensor::fp16_to_fp32(static_cast<uint16_t>(blk[208] | (blk[209] << 8)));
  std::memcpy(out + 4 * i, &d, 4);
  for (int j = 0; j < 16; ++j) out[64 + 16 * j + i] = blk[192 + j];
  uint8_t u[256];
  unpack_q6k_levels(blk, u);
  for (int p = 0; p < 4; ++p) {
    uint8_t* pair = out + 320 + 768 * p;
    const uint8_t* lo = u + 64 * p;       // columns 64p + 4v + b
    const uint8_t* hi = u + 64 * p + 32;  // columns 64p + 32 + 4v + b
    for (int v = 0; v < 8; ++v)
      for (int b = 0; b < 4; ++b)
        pair[64 * v + 4 * i + b] = static_cast<uint8_t>((lo[4 * v + b] & 0x0f) | ((hi[4 * v + b] & 0x0f) << 4));
    for (int w = 0; w < 4; ++w)
      for (int b = 0; b < 4; ++b) {
        const int c0 = 4 * w + b, c1 = 4 * (w + 4) + b;
        pair[512 + 64 * w + 4 * i + b] = static_cast<uint8_t>((lo[c0] >> 4) | ((hi[c0] >> 4) << 2) |
                                                              ((lo[c1] >> 4) << 4) | ((hi[c1] >> 4) << 6));
      }
  }
}

}  // namespace

bool is_packed_kquant(GgmlType type) { return type == GgmlType::Q4_K || type == GgmlType::Q6_K; }

size_t packed_kquant_block_bytes(GgmlType type) {
  if (type == GgmlType::Q4_K) return kPackedQ4KBytes;
  if (type == GgmlType::Q6_K) return kPackedQ6KBytes;
  throw std::invalid_argument("packing " + std::string(ggml_type_name(type)) + " weights: not a packed K type");
}

void pack_kquant_panel(const uint8_t* first_row, size_t row_bytes, int64_t n_rows, const PackedWeights& pw,
                       int64_t panel) {
  const bool q4 = pw.type == GgmlType::Q4_K;
  const size_t src_bytes = q4 ? 144 : 210;
  auto* out = const_cast<uint8_t*>(pw.levels) + static_cast<size_t>(panel * pw.blocks) * pw.block_bytes;
  for (int64_t s = 0; s < pw.blocks; ++s, out += pw.block_bytes)
    for (int64_t i = 0; i < n_rows; ++i) {
      const uint8_t* blk = first_row + static_cast<size_t>(i) * row_bytes + static_cast<size_t>(s) * src_bytes;
      if (q4) pack_q4k_row(blk, static_cast<int>(i), out);
      else pack_q6k_row(blk, static_cast<int>(i), out);
    }
}

}  // namespace ridge::kernels
