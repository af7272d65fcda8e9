#pragma once
// ggml element types as numbered in GGUF files: ids, names and block layouts
// (elements per block, bytes per block). A format fact shared by the reader's
// size validation and by tensor/ (which knows how to (de)quantize them).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ridge {

enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3,
  // 4 (Q4_2) and 5 (Q4_3) are retired.
  Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21,
  IQ2_S = 22, IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28,
  IQ1_M = 29, BF16 = 30,
  // 31..33 (Q4_0_4_4, Q4_0_4_8, Q4_0_8_8) are retired.
  TQ1_0 = 34, TQ2_0 = 35,
  // 36..38 (IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8) are retired.
  MXFP4 = 39,
};

struct GgmlTypeTraits {
  GgmlType type;
  std::string_view name;    // as llama.cpp prints it: "f32", "q4_0", "q4_K"
  int64_t block_size;       // elements per block
  size_t block_bytes;       // bytes per block
};

// Traits of a type id read from a file; nullopt when the id is unknown or retired.
std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t id);
// Traits of a known type (never fails for a valid enumerator that is not retired).
GgmlTypeTraits ggml_type_traits(GgmlType type);
std::string_view ggml_type_name(GgmlType type);
// Case-insensitive lookup by name ("q4_0", "Q4_K", "bf16"); nullopt if unknown.
std::optional<GgmlType> ggml_type_from_name(std::string_view name);

// Bytes of a row of n elements; n must be a multiple of the block size.
inline size_t ggml_row_bytes(GgmlType type, int64_t n) {
  auto t = ggml_type_traits(type);
  return static_cast<size_t>(n / t.block_size) * t.block_bytes;
}

}  // namespace ridge
