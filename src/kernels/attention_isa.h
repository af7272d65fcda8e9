#pragma once
// The boundary between attention.cpp and the attention kernels compiled for one
// instruction set (attention_avx2.cpp, attention_avx512.cpp): plain structs of
// raw pointers and plain, non-inline functions only, for the reason given in
// isa_kernels.h (an inline function instantiated in an AVX-512 file could be
// the copy the linker keeps for every caller). The ISA files include nothing
// else of the project. Callers check kernel_path_supported() first.
#include <cstdint>

namespace ridge::kernels::isa {

// One unit of attention work: query heads head_begin .. head_begin + n_heads - 1
// of the `group` that share KV head `kv_head`, for `n_tokens` query tokens at
// positions first_pos, first_pos + 1, ... of one sequence. Query row (token i,
// head g of the group) is q + i * q_stride + (kv_head * group + g) * head_dim;
// its output goes to the same offset of `out`. Token i attends to positions
// [0, first_pos + i].
//
// K and V are F16 (or F32 where `f32`) in blocks of block_size positions (see
// PagedKv in attention.h for the layout): position p is slot p % block_size of
// k_blocks[p / block_size] / v_blocks[p / block_size].
struct AttentionTile {
  const float* q = nullptr;
  float* out = nullptr;
  int64_t q_stride = 0;    // floats between consecutive tokens' rows (q and out)
  const void* const* k_blocks = nullptr;
  const void* const* v_blocks = nullptr;
  bool f32 = false;
  int block_size = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int group = 0;
  int head_begin = 0;
  int n_heads = 0;
  int kv_head = 0;
  int n_tokens = 0;
  int64_t first_pos = 0;
  float scale = 0.f;
  // Keys per softmax segment (a multiple of 16; see attention_segment_keys in attention.h).
  int segment_keys = 0;
  // At least attention_scratch_floats(n_tokens * n_heads, head_dim) floats (attention.h).
  float* scratch = nullptr;
};

// Key chunks (vectors of keys) a tile converts and processes together; the
// scratch (attention_scratch_floats) holds one such group's K and V.
inline constexpr int kAttentionGroupChunks = 4;

// Computes one tile (see AttentionTile) with online softmax.
void attention_tile_avx2(const AttentionTile& tile);
void attention_tile_avx512(const AttentionTile& tile);

// y[i] = fp16(x[i]) rounded to nearest even, bit for bit as tensor::fp32_to_fp16.
void fp32_to_fp16_avx2(const float* x, uint16_t* y, int64_t n);
void fp32_to_fp16_avx512(const float* x, uint16_t* y, int64_t n);

}  // namespace ridge::kernels::isa
