#pragma once
// Causal attention of query tokens over a paged KV cache held in F16 (or F32),
// and the block layout that cache uses. The kernel keeps a running maximum and sum per
// query row (online softmax), so no row of scores is ever materialised; it
// works on tiles of (query tokens x the query heads sharing one KV head)
// against chunks of keys, so each K/V row is read and converted once per tile,
// not once per query head and token (GQA and prefill batching). Like ops.h it
// takes an optional KernelPath: the scalar code is the reference, AVX2 and
// AVX-512 the fast versions; a path the CPU lacks throws std::invalid_argument.
#include <cstdint>
#include <span>

#include "gguf/types.h"
#include "kernels/cpu_features.h"
#include "kernels/thread_pool.h"

namespace ridge::kernels {

// The geometry of one KV block: block_size positions of n_kv_heads heads of
// head_dim values each, for K and for V, as IEEE half floats (F16, the usual
// choice: half the memory and bandwidth) or as F32 (exact, for comparisons with
// float references).
//
// K is stored transposed per head: element (slot s, head h, dim d) is at
//   (h * head_dim + d) * block_size + s,
// so the keys of one block for one dimension are contiguous and the kernels
// score a whole chunk of keys with vector loads, without a transpose. V keeps
// its rows: element (s, h, d) is at (h * block_size + s) * head_dim + d, so one
// head's values of consecutive positions are contiguous too.
struct KvBlockShape {
  int block_size = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  GgmlType type = GgmlType::F16;  // F16 or F32
};

// Throws std::invalid_argument unless the sizes are positive and the type is F16 or F32.
void validate_kv_block_shape(const KvBlockShape& shape);
// Elements in one K block (the same for V), and bytes per element.
int64_t kv_block_elements(const KvBlockShape& shape);
size_t kv_element_bytes(const KvBlockShape& shape);

// Stores one position's K and V rows (n_kv_heads * head_dim floats each, head
// after head) at `slot` of the given K and V blocks; F16 rounds to nearest
// even, as tensor::fp32_to_fp16.
void store_kv_slot(const KvBlockShape& shape, const float* k, const float* v, int slot, void* k_block,
                   void* v_block);
void store_kv_slot(const KvBlockShape& shape, const float* k, const float* v, int slot, void* k_block,
                   void* v_block, KernelPath path);
// The inverse: the rows at `slot`, as floats (for tests and inspection).
void load_kv_slot(const KvBlockShape& shape, const void* k_block, const void* v_block, int slot, float* k, float* v);

// One layer of one sequence's K and V: position p lives at slot
// p % block_size of k_blocks[p / block_size] and v_blocks[p / block_size],
// blocks of shape.type elements.
struct PagedKv {
  const void* const* k_blocks = nullptr;
  const void* const* v_blocks = nullptr;
  KvBlockShape shape;
};

struct AttentionShape {
  int n_head = 0;      // query heads; a multiple of n_kv_heads
  int n_kv_heads = 0;  // query head h reads KV head h / (n_head / n_kv_heads)
  int head_dim = 0;
  float scale = 0.f;   // applied to q . k before the softmax
};

// Query tokens of one sequence at consecutive positions first_pos, first_pos
// + 1, ... (a prefill chunk, or one decode token). q and out hold n_tokens rows
// of n_head * head_dim floats, head after head; token i attends to positions
// [0, first_pos + i] of kv, whose blocks must cover them. out must not overlap q.
struct AttentionRun {
  const float* q = nullptr;
  float* out = nullptr;
  int64_t n_tokens = 0;
  int64_t first_pos = 0;
  PagedKv kv;
};

// out = softmax(q . K^T * scale) . V per query token and head, causal, for
// every run, fanned out over the pool by (run, KV head, tile of query tokens).
// Throws std::invalid_argument when a run's KV shape does not match `shape`
// or the shape is inconsistent.
void attention(std::span<const AttentionRun> runs, const AttentionShape& shape, ThreadPool& pool);
void attention(std::span<const AttentionRun> runs, const AttentionShape& shape, ThreadPool& pool,
               KernelPath path);

// Query tokens per tile for `shape` (each tile is that many tokens times the
// query heads of one KV head): enough rows to reuse each converted K/V chunk
// well, few enough that the tile's accumulators stay in the L1 cache.
int64_t attention_tile_tokens(const AttentionShape& shape);

// Keys per softmax segment for a tile of `rows` query rows on the SIMD paths
// (a multiple of 16, 16 to 512): a tile scores a whole segment of keys before
// one online-softmax update per row, so the horizontal maximum and sum and the
// rescale of the accumulators happen once per segment, not once per 16 keys.
// The segment's probabilities (rows x keys floats) stay within 64 KiB.
int attention_segment_keys(int64_t rows);

// Scratch floats one tile of `rows` query rows (tokens x heads) needs on the SIMD paths.
int64_t attention_scratch_floats(int64_t rows, int head_dim);

}  // namespace ridge::kernels
