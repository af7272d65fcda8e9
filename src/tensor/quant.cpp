// Public (de)quantization entry points: argument checks and the per-type dispatch
// into the block codecs. The dispatch happens once per row, never per element.
#include "tensor/quant.h"

#include <bit>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "tensor/block_codecs.h"

namespace ridge::tensor {
namespace {

using DequantizeBlocks = void (*)(const uint8_t* src, float* dst, int64_t blocks);
using QuantizeBlocks = void (*)(const float* src, uint8_t* dst, int64_t blocks);

void dequantize_f32(const uint8_t* src, float* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}
void dequantize_f16(const uint8_t* __restrict src, float* __restrict dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = codec::load_half(src + 2 * i);
}
void dequantize_bf16(const uint8_t* __restrict src, float* __restrict dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = std::bit_cast<float>(static_cast<uint32_t>(codec::load_u16(src + 2 * i)) << 16);
}
void quantize_f32(const float* src, uint8_t* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}
void quantize_f16(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) codec::store_u16(dst + 2 * i, fp32_to_fp16(src[i]));
}
void quantize_bf16(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) codec::store_u16(dst + 2 * i, fp32_to_bf16(src[i]));
}

struct Codec {
  int64_t block_size;
  DequantizeBlocks dequantize;
  QuantizeBlocks quantize;  // nullptr: read-only type
};

// The codec of a type, or nullptr when tensor/ cannot handle it at all.
const Codec* codec_for(GgmlType t) {
  static constexpr Codec kF32{1, dequantize_f32, quantize_f32};
  static constexpr Codec kF16{1, dequantize_f16, quantize_f16};
  static constexpr Codec kBF16{1, dequantize_bf16, quantize_bf16};
  static constexpr Codec kQ4_0{32, codec::dequantize_q4_0, codec::quantize_q4_0};
  static constexpr Codec kQ4_1{32, codec::dequantize_q4_1, codec::quantize_q4_1};
  static constexpr Codec kQ5_0{32, codec::dequantize_q5_0, codec::quantize_q5_0};
  static constexpr Codec kQ5_1{32, codec::dequantize_q5_1, codec::quantize_q5_1};
  static constexpr Codec kQ8_0{32, codec::dequantize_q8_0, codec::quantize_q8_0};
  static constexpr Codec kQ2_K{256, codec::dequantize_q2_k, codec::quantize_q2_k};
  static constexpr Codec kQ3_K{256, codec::dequantize_q3_k, codec::quantize_q3_k};
  static constexpr Codec kQ4_K{256, codec::dequantize_q4_k, codec::quantize_q4_k};
  static constexpr Codec kQ5_K{256, codec::dequantize_q5_k, codec::quantize_q5_k};
  static constexpr Codec kQ6_K{256, codec::dequantize_q6_k, codec::quantize_q6_k};
  static constexpr Codec kQ8_K{256, codec::dequantize_q8_k, codec::quantize_q8_k};
  switch (t) {
    case GgmlType::F32: return &kF32;
    case GgmlType::F16: return &kF16;
    case GgmlType::BF16: return &kBF16;
    case GgmlType::Q4_0: return &kQ4_0;
    case GgmlType::Q4_1: return &kQ4_1;
    case GgmlType::Q5_0: return &kQ5_0;
    case GgmlType::Q5_1: return &kQ5_1;
    case GgmlType::Q8_0: return &kQ8_0;
    case GgmlType::Q2_K: return &kQ2_K;
    case GgmlType::Q3_K: return &kQ3_K;
    case GgmlType::Q4_K: return &kQ4_K;
    case GgmlType::Q5_K: return &kQ5_K;
    case GgmlType::Q6_K: return &kQ6_K;
    case GgmlType::Q8_K: return &kQ8_K;
    default: return nullptr;
  }
}

// "q4_K", or "id 4" for a number that names no current type.
std::string describe(GgmlType t) {
  if (auto traits = ggml_type_traits(static_cast<uint32_t>(t))) return std::string(traits->name);
  return "id " + std::to_string(static_cast<uint32_t>(t));
}

const Codec& checked_codec(const char* what, GgmlType t, bool for_quantize) {
  const Codec* c = codec_for(t);
  if (c == nullptr || (for_quantize && c->quantize == nullptr))
    throw std::invalid_argument(std::string(what) + ": element type " + describe(t) + " is not supported");
  return *c;
}

void check_length(const char* what, GgmlType t, const Codec& c, int64_t n, const void* src, const void* dst) {
  if (n < 0 || n % c.block_size != 0)
    throw std::invalid_argument(std::string(what) + ": " + describe(t) + " rows must hold a multiple of " +
                                std::to_string(c.block_size) + " elements, got " + std::to_string(n));
  if (n > 0 && (src == nullptr || dst == nullptr))
    throw std::invalid_argument(std::string(what) + ": null buffer for " + std::to_string(n) + " elements");
}

}  // namespace

bool can_dequantize(GgmlType t) { return codec_for(t) != nullptr; }

bool can_quantize(GgmlType t) {
  const Codec* c = codec_for(t);
  return c != nullptr && c->quantize != nullptr;
}

void dequantize_row(GgmlType t, const void* src, float* dst, int64_t n) {
  const Codec& c = checked_codec("dequantize_row", t, false);
  check_length("dequantize_row", t, c, n, src, dst);
  if (n == 0) return;  // buffers may be null then; memcpy must not see them
  c.dequantize(static_cast<const uint8_t*>(src), dst, n / c.block_size);
}

void quantize_row(GgmlType t, const float* src, void* dst, int64_t n) {
  const Codec& c = checked_codec("quantize_row", t, true);
  check_length("quantize_row", t, c, n, src, dst);
  if (n == 0) return;
  c.quantize(src, static_cast<uint8_t*>(dst), n / c.block_size);
}

std::vector<uint8_t> quantize(GgmlType t, const float* src, int64_t rows, int64_t n) {
  const Codec& c = checked_codec("quantize", t, true);
  check_length("quantize", t, c, n, src, src);
  if (rows < 0) throw std::invalid_argument("quantize: negative row count " + std::to_string(rows));
  const size_t row_bytes = ggml_row_bytes(t, n);
  if (rows > 0 && row_bytes > std::numeric_limits<size_t>::max() / static_cast<size_t>(rows))
    throw std::invalid_argument("quantize: " + std::to_string(rows) + " rows of " + std::to_string(row_bytes) +
                                " bytes overflow the address space");
  if (rows > 0 && n > 0 && src == nullptr) throw std::invalid_argument("quantize: null source");
  std::vector<uint8_t> out(row_bytes * static_cast<size_t>(rows));
  if (n == 0) return out;
  for (int64_t r = 0; r < rows; ++r)
    c.quantize(src + r * n, out.data() + static_cast<size_t>(r) * row_bytes, n / c.block_size);
  return out;
}

}  // namespace ridge::tensor
