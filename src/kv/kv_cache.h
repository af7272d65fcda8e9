#pragma once
// Paged KV cache: K and V rows live in fixed-size blocks taken from a shared
// pool through a free list; each sequence owns a block table mapping its
// positions to blocks, so sequences of any length share one allocation and a
// finished sequence returns its blocks at once.
#include <cstdint>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "kernels/ops.h"

namespace ridge::kv {

struct KvCacheConfig {
  int n_layers = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int block_size = 16;   // positions per block
  int64_t n_blocks = 0;  // blocks in the pool (capacity = n_blocks * block_size positions)
};

class KvCacheFull : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class KvCache {
 public:
  explicit KvCache(const KvCacheConfig& cfg);

  const KvCacheConfig& config() const { return cfg_; }
  int64_t n_free_blocks() const { return static_cast<int64_t>(free_.size()); }
  int64_t n_used_blocks() const { return cfg_.n_blocks - n_free_blocks(); }

  // Makes positions [0, n_positions) of `seq` writable, taking blocks from the
  // pool as needed. Throws KvCacheFull (taking nothing) if the pool is short.
  void reserve(int32_t seq, int64_t n_positions);
  // Positions [0, n) that have blocks for `seq` (0 for an unknown sequence).
  int64_t capacity(int32_t seq) const;
  // Returns every block of `seq` to the pool; unknown sequences are ignored.
  void release(int32_t seq);
  bool has_sequence(int32_t seq) const { return tables_.count(seq) != 0; }

  // The K / V row (n_kv_heads * head_dim floats) of `seq` at `pos` in `layer`; pos must be reserved.
  float* k_row(int layer, int32_t seq, int64_t pos);
  float* v_row(int layer, int32_t seq, int64_t pos);

  // Views of one layer of one sequence for the attention kernel. The pointer
  // tables stay valid until the sequence's next reserve() or release().
  kernels::PagedRows k_view(int layer, int32_t seq);
  kernels::PagedRows v_view(int layer, int32_t seq);

 private:
  struct Table {
    std::vector<int64_t> blocks;
    // Per layer, base pointers of the blocks, for the kernels.
    std::vector<std::vector<const float*>> k_ptrs, v_ptrs;
  };
  float* block_base(bool is_v, int layer, int64_t block);
  Table& table(int32_t seq);

  KvCacheConfig cfg_;
  int64_t row_floats_;
  int64_t block_floats_;
  std::vector<float> k_;  // [layer][block][row][n_kv_heads*head_dim]
  std::vector<float> v_;
  std::vector<int64_t> free_;
  std::unordered_map<int32_t, Table> tables_;
};

}  // namespace ridge::kv
