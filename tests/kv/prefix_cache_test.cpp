// Shared blocks and the prefix cache: reference counts, chained-hash lookup,
// cached-free accounting, and LRU eviction when the pool runs short.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "kv/block_hash.h"
#include "kv/kv_cache.h"

using ridge::kv::KvCache;
using ridge::kv::KvCacheConfig;

namespace {
KvCacheConfig cfg(int64_t blocks) {
  KvCacheConfig c;
  c.n_layers = 2;
  c.n_kv_heads = 1;
  c.head_dim = 2;
  c.block_size = 4;
  c.n_blocks = blocks;
  return c;
}
std::vector<int32_t> iota_tokens(int n, int start) {
  std::vector<int32_t> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}
}  // namespace

TEST(BlockHash, ChainsThroughThePreviousBlock) {
  const std::vector<int32_t> a{1, 2, 3, 4};
  const auto h1 = ridge::kv::chain_block_hash(ridge::kv::kPrefixRootHash, a);
  EXPECT_EQ(h1, ridge::kv::chain_block_hash(ridge::kv::kPrefixRootHash, a));
  EXPECT_NE(h1, ridge::kv::chain_block_hash(h1, a));  // same tokens, different prefix
  const std::vector<int32_t> b{1, 2, 4, 3};
  EXPECT_NE(h1, ridge::kv::chain_block_hash(ridge::kv::kPrefixRootHash, b));
}

TEST(PrefixCache, RegisteredBlocksAreFoundAndShared) {
  KvCache c(cfg(16));
  const auto toks = iota_tokens(14, 10);  // 3 full blocks + 2
  c.reserve(1, 14);
  for (int p = 0; p < 14; ++p) {
    std::vector<float> row(static_cast<size_t>(c.config().n_kv_heads * c.config().head_dim), float(p));
    c.write(1, 1, p, row.data(), row.data());
  }
  c.register_prefix(1, toks);
  EXPECT_EQ(c.n_cached_blocks(), 3);
  EXPECT_EQ(c.match_prefix(toks, 100), 3);
  EXPECT_EQ(c.match_prefix(toks, 2), 2);
  auto other = toks;
  other[5] = 999;  // second block differs: only the first matches
  EXPECT_EQ(c.match_prefix(other, 100), 1);

  EXPECT_EQ(c.attach_prefix(2, toks, 2), 8);
  EXPECT_EQ(c.capacity(2), 8);
  EXPECT_EQ(c.block_table(2)[0], c.block_table(1)[0]);
  EXPECT_EQ(c.block_refs(c.block_table(1)[0]), 2);
  {
    std::vector<float> k(static_cast<size_t>(c.config().n_kv_heads * c.config().head_dim)), v(k.size());
    c.read(1, 2, 6, k.data(), v.data());
    EXPECT_EQ(k[0], 6.f);  // sees seq 1's rows
    EXPECT_EQ(v[1], 6.f);
  }
  c.reserve(2, 10);  // grows with a private block
  EXPECT_NE(c.block_table(2)[2], c.block_table(1)[2]);
  EXPECT_EQ(c.n_used_blocks(), 5);
}

TEST(PrefixCache, ReleasedCachedBlocksStayUntilEvicted) {
  KvCache c(cfg(4));
  const auto toks = iota_tokens(8, 0);
  c.reserve(1, 9);  // 3 blocks, 2 full ones registered
  c.register_prefix(1, toks);
  c.release(1);
  EXPECT_EQ(c.n_used_blocks(), 2);  // the cached ones
  EXPECT_EQ(c.n_cached_free_blocks(), 2);
  EXPECT_EQ(c.n_available_blocks(), 4);
  EXPECT_EQ(c.attach_prefix(2, toks, 2), 8);
  EXPECT_EQ(c.n_cached_free_blocks(), 0);
  c.release(2);
  EXPECT_EQ(c.n_cached_free_blocks(), 2);

  // Pressure: a sequence wanting 3 blocks evicts one cached block (the deeper one first).
  c.reserve(3, 12);
  EXPECT_EQ(c.n_cached_free_blocks(), 1);
  EXPECT_EQ(c.match_prefix(toks, 2), 1);
  EXPECT_EQ(c.n_cached_blocks(), 1);
  EXPECT_THROW(c.reserve(4, 8), ridge::kv::KvCacheFull);  // needs 2, only the cached root is left
  EXPECT_EQ(c.match_prefix(toks, 2), 1);
}

TEST(PrefixCache, FullPoolCountsEvictableBlocksAndTakesNothingOnFailure) {
  KvCache c(cfg(3));
  const auto toks = iota_tokens(8, 0);
  c.reserve(1, 8);
  c.register_prefix(1, toks);
  c.release(1);
  EXPECT_THROW(c.reserve(2, 16), ridge::kv::KvCacheFull);
  EXPECT_EQ(c.n_cached_free_blocks(), 2);
  EXPECT_EQ(c.match_prefix(toks, 2), 2);
  c.reserve(2, 12);  // uses the free block then both cached ones
  EXPECT_EQ(c.n_free_blocks(), 0);
  EXPECT_EQ(c.n_cached_blocks(), 0);
  c.release(2);
  EXPECT_EQ(c.n_used_blocks(), 0);
}

TEST(PrefixCache, SharedBlockReturnsToPoolOnlyWhenLastHolderLeaves) {
  KvCache c(cfg(8));
  const auto toks = iota_tokens(8, 0);
  c.reserve(1, 8);
  c.register_prefix(1, toks);
  c.attach_prefix(2, toks, 1);
  c.clear_prefix_cache();  // entries forgotten; blocks still held
  EXPECT_EQ(c.n_used_blocks(), 2);
  c.release(1);
  EXPECT_EQ(c.n_used_blocks(), 1);  // block 0 still held by seq 2
  c.release(2);
  EXPECT_EQ(c.n_used_blocks(), 0);
  EXPECT_EQ(c.match_prefix(toks, 2), 0);
}

TEST(PrefixCache, ClearReturnsCachedFreeBlocks) {
  KvCache c(cfg(8));
  const auto toks = iota_tokens(16, 0);
  c.reserve(1, 16);
  c.register_prefix(1, toks);
  c.release(1);
  EXPECT_EQ(c.n_used_blocks(), 4);
  c.clear_prefix_cache();
  EXPECT_EQ(c.n_used_blocks(), 0);
  EXPECT_EQ(c.n_cached_free_blocks(), 0);
}

TEST(PrefixCache, DuplicateContentIsNotCachedTwiceButLaterBlocksStayReachable) {
  KvCache c(cfg(16));
  const auto toks = iota_tokens(12, 0);
  c.reserve(1, 8);
  c.register_prefix(1, std::span<const int32_t>(toks).first(8));
  c.reserve(2, 12);  // computed the same prefix independently, plus one more block
  c.register_prefix(2, toks);
  EXPECT_EQ(c.n_cached_blocks(), 3);
  EXPECT_EQ(c.match_prefix(toks, 3), 3);
  EXPECT_EQ(c.attach_prefix(3, toks, 3), 12);
  EXPECT_EQ(c.block_table(3)[0], c.block_table(1)[0]);
  EXPECT_EQ(c.block_table(3)[2], c.block_table(2)[2]);
}

TEST(PrefixCache, AttachToSequenceWithBlocksIsRefused) {
  KvCache c(cfg(8));
  const auto toks = iota_tokens(4, 0);
  c.reserve(1, 4);
  c.register_prefix(1, toks);
  c.reserve(2, 1);
  EXPECT_THROW(c.attach_prefix(2, toks, 1), std::logic_error);
}

TEST(PrefixCache, ManyDistinctPrefixesThroughASmallPoolNeverFail) {
  KvCache c(cfg(6));
  for (int r = 0; r < 200; ++r) {
    const auto toks = iota_tokens(12, r * 7);
    const int32_t seq = r;
    const int64_t reused = c.attach_prefix(seq, toks, 2);
    c.reserve(seq, 13);
    EXPECT_EQ(c.capacity(seq), 16);
    c.register_prefix(seq, toks);
    c.release(seq);
    EXPECT_LE(c.n_used_blocks(), 6);
    (void)reused;
  }
  EXPECT_EQ(c.n_used_blocks(), c.n_cached_free_blocks());
}
