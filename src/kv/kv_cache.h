#pragma once
// Paged KV cache: K and V rows live in fixed-size blocks taken from a shared
// pool through a free list; each sequence owns a block table mapping its
// positions to blocks, so sequences of any length share one allocation and a
// finished sequence returns its blocks at once. Values are stored as F16 by
// default (half the memory and bandwidth of F32, as llama.cpp keeps them), or
// F32, in the block layout of kernels/attention.h, which the attention kernel
// reads directly.
//
// Blocks are reference-counted so several sequences can share the blocks of a
// common prompt prefix. The prefix cache remembers full, computed blocks by a
// hash of their tokens chained with the previous block's hash; a block that no
// sequence holds any more but the prefix cache still remembers stays out of
// the free list ("cached-free") until the pool runs short, when such blocks are
// evicted least recently released first. Shared blocks are always full and
// never written again (positions are only appended), so no copy-on-write is
// needed.
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "kernels/attention.h"

namespace ridge::kv {

struct KvCacheConfig {
  int n_layers = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int block_size = 16;   // positions per block
  int64_t n_blocks = 0;  // blocks in the pool (capacity = n_blocks * block_size positions)
  // F16 (rounds every K/V value to 11 significant bits) or F32 (exact: for
  // comparisons against float references).
  GgmlType kv_type = GgmlType::F16;
};

class KvCacheFull : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class KvCache {
 public:
  explicit KvCache(const KvCacheConfig& cfg);

  const KvCacheConfig& config() const { return cfg_; }
  // Blocks on the free list (cached-free blocks are not counted: they are in use by the prefix cache).
  int64_t n_free_blocks() const { return static_cast<int64_t>(free_.size()); }
  int64_t n_used_blocks() const { return cfg_.n_blocks - n_free_blocks(); }
  // Blocks held only by the prefix cache: reclaimable when the pool runs short.
  int64_t n_cached_free_blocks() const { return static_cast<int64_t>(evictable_.size()); }
  // What reserve() can still hand out: free plus evictable blocks.
  int64_t n_available_blocks() const { return n_free_blocks() + n_cached_free_blocks(); }

  // Makes positions [0, n_positions) of `seq` writable, taking blocks from the
  // pool as needed (evicting cached-free blocks when the free list is empty).
  // Throws KvCacheFull (taking nothing) if the pool is short.
  void reserve(int32_t seq, int64_t n_positions);
  // Positions [0, n) that have blocks for `seq` (0 for an unknown sequence).
  int64_t capacity(int32_t seq) const;
  // Lets go of every block of `seq`: a block no other sequence holds returns to
  // the pool, or stays cached-free if the prefix cache remembers it. Unknown
  // sequences are ignored.
  void release(int32_t seq);
  bool has_sequence(int32_t seq) const { return tables_.count(seq) != 0; }
  // The block ids of `seq` in position order (empty for an unknown sequence).
  const std::vector<int64_t>& block_table(int32_t seq) const;
  // How many sequences hold `block`.
  int32_t block_refs(int64_t block) const { return meta_.at(block).refs; }

  // Stores the K and V rows (n_kv_heads * head_dim floats each) of `seq` at
  // `pos` in `layer`, in the cache's type; pos must be reserved (std::out_of_range
  // otherwise, as for an unknown sequence or layer).
  void write(int layer, int32_t seq, int64_t pos, const float* k, const float* v);
  // Reads them back as floats.
  void read(int layer, int32_t seq, int64_t pos, float* k, float* v) const;

  // One layer of one sequence for the attention kernel. The pointer tables
  // stay valid until the sequence's next reserve() or release().
  kernels::PagedKv view(int layer, int32_t seq) const;

  // ---- Prefix cache.
  // How many leading full blocks of `tokens` (at most `max_blocks`) the prefix
  // cache holds, in a chain from position 0. No side effects.
  int64_t match_prefix(std::span<const int32_t> tokens, int64_t max_blocks) const;
  // Attaches those blocks (shared, reference-counted) to `seq`, which must not
  // hold any block yet; returns the number of positions whose K/V they provide.
  int64_t attach_prefix(int32_t seq, std::span<const int32_t> tokens, int64_t max_blocks);
  // Remembers the full blocks of `seq` covering `tokens` (the sequence's tokens
  // from position 0, whose K/V must already be computed). A block whose prefix
  // is already cached under another block is left out.
  void register_prefix(int32_t seq, std::span<const int32_t> tokens);
  // Forgets every entry; cached-free blocks return to the free list.
  void clear_prefix_cache();
  // Entries in the prefix cache (blocks held by sequences included).
  int64_t n_cached_blocks() const { return static_cast<int64_t>(cached_by_hash_.size()); }

 private:
  struct Table {
    std::vector<int64_t> blocks;
    // Per layer, base pointers of the blocks, for the kernels.
    std::vector<std::vector<const void*>> k_ptrs, v_ptrs;
  };
  struct BlockMeta {
    int32_t refs = 0;
    bool cached = false;
    uint64_t hash = 0;
    uint64_t parent = 0;
    std::vector<int32_t> tokens;           // kept to rule out hash collisions
    std::list<int64_t>::iterator lru;      // valid while cached and refs == 0
  };
  std::byte* block_base(bool is_v, int layer, int64_t block);
  const std::byte* block_base(bool is_v, int layer, int64_t block) const;
  Table& table(int32_t seq);
  const Table& table(int32_t seq) const;
  // The block holding `pos` of `seq`, and the position's slot in it.
  int64_t block_of(int layer, int32_t seq, int64_t pos, int* slot) const;
  Table& new_or_existing_table(int32_t seq);
  void append_block(Table& t, int64_t block);
  int64_t take_block();
  void uncache(int64_t block);
  // Follows the chain for `tokens`; returns the matched blocks.
  std::vector<int64_t> find_chain(std::span<const int32_t> tokens, int64_t max_blocks) const;

  KvCacheConfig cfg_;
  kernels::KvBlockShape shape_;
  size_t block_bytes_;
  // [layer][block][block_bytes_], on huge pages (kernels::allocate_huge_pages):
  // a decode step's attention reads a few KiB from each block of every layer.
  std::shared_ptr<uint8_t> k_, v_;
  std::vector<int64_t> free_;
  std::unordered_map<int32_t, Table> tables_;
  std::vector<BlockMeta> meta_;
  std::unordered_map<uint64_t, int64_t> cached_by_hash_;
  std::list<int64_t> evictable_;  // cached-free blocks; front: released longest ago
};

}  // namespace ridge::kv
