// The paged KV cache: block accounting, per-sequence tables, full-cache errors.
#include <gtest/gtest.h>

#include "kv/kv_cache.h"

using ridge::kv::KvCache;
using ridge::kv::KvCacheConfig;

namespace {
KvCacheConfig cfg(int64_t blocks) {
  KvCacheConfig c;
  c.n_layers = 2;
  c.n_kv_heads = 2;
  c.head_dim = 4;
  c.block_size = 4;
  c.n_blocks = blocks;
  return c;
}
}  // namespace

TEST(KvCache, ReservesWholeBlocksAndReleasesThem) {
  KvCache c(cfg(8));
  c.reserve(1, 5);  // 2 blocks
  EXPECT_EQ(c.capacity(1), 8);
  EXPECT_EQ(c.n_used_blocks(), 2);
  c.reserve(1, 8);  // still 2
  EXPECT_EQ(c.n_used_blocks(), 2);
  c.reserve(2, 1);
  EXPECT_EQ(c.n_used_blocks(), 3);
  c.release(1);
  EXPECT_EQ(c.n_used_blocks(), 1);
  c.release(1);  // unknown now: ignored
  c.release(2);
  EXPECT_EQ(c.n_used_blocks(), 0);
}

TEST(KvCache, RowsOfDifferentSequencesAndLayersDoNotAlias) {
  KvCache c(cfg(8));
  c.reserve(1, 9);
  c.reserve(2, 9);
  for (int l = 0; l < 2; ++l)
    for (int s = 1; s <= 2; ++s)
      for (int p = 0; p < 9; ++p)
        for (int i = 0; i < 8; ++i) {
          c.k_row(l, s, p)[i] = float(l * 1000 + s * 100 + p * 10 + i);
          c.v_row(l, s, p)[i] = -float(l * 1000 + s * 100 + p * 10 + i);
        }
  for (int l = 0; l < 2; ++l)
    for (int s = 1; s <= 2; ++s) {
      auto kv = c.k_view(l, s);
      auto vv = c.v_view(l, s);
      for (int p = 0; p < 9; ++p)
        for (int i = 0; i < 8; ++i) {
          ASSERT_EQ(kv.row(p)[i], float(l * 1000 + s * 100 + p * 10 + i));
          ASSERT_EQ(vv.row(p)[i], -float(l * 1000 + s * 100 + p * 10 + i));
        }
    }
}

TEST(KvCache, FullCacheThrowsAndTakesNothing) {
  KvCache c(cfg(3));
  c.reserve(1, 8);
  EXPECT_THROW(c.reserve(2, 8), ridge::kv::KvCacheFull);
  EXPECT_EQ(c.n_used_blocks(), 2);
  EXPECT_FALSE(c.has_sequence(2));
  EXPECT_THROW(c.reserve(1, 13), ridge::kv::KvCacheFull);
  EXPECT_EQ(c.capacity(1), 8);
  EXPECT_THROW(c.k_row(0, 7, 0), std::out_of_range);
}

TEST(KvCache, RejectsAbsurdConfig) {
  EXPECT_THROW(KvCache(cfg(0)), std::invalid_argument);
}
