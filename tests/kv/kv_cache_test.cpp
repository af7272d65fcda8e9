// The paged KV cache: block accounting, per-sequence tables, full-cache errors.
#include <gtest/gtest.h>

#include <cmath>

#include "kv/kv_cache.h"
#include "tensor/quant.h"

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
  // Small integers are exact in F16.
  auto value = [](int l, int s, int p, int i) { return float(l * 1000 + s * 100 + p * 10 + i); };
  for (int l = 0; l < 2; ++l)
    for (int s = 1; s <= 2; ++s)
      for (int p = 0; p < 9; ++p) {
        float k[8], v[8];
        for (int i = 0; i < 8; ++i) k[i] = value(l, s, p, i), v[i] = -value(l, s, p, i);
        c.write(l, s, p, k, v);
      }
  for (int l = 0; l < 2; ++l)
    for (int s = 1; s <= 2; ++s) {
      const auto view = c.view(l, s);
      for (int p = 0; p < 9; ++p) {
        float k[8], v[8];
        c.read(l, s, p, k, v);
        float vk[8], vv[8];  // the same position through the kernel's view
        ridge::kernels::load_kv_slot(view.shape, view.k_blocks[p / 4], view.v_blocks[p / 4], p % 4, vk, vv);
        for (int i = 0; i < 8; ++i) {
          ASSERT_EQ(k[i], value(l, s, p, i));
          ASSERT_EQ(v[i], -value(l, s, p, i));
          ASSERT_EQ(vk[i], k[i]);
          ASSERT_EQ(vv[i], v[i]);
        }
      }
    }
}

TEST(KvCache, StoresF16AndReadsItBack) {
  KvCache c(cfg(2));
  c.reserve(3, 5);
  const float k[8] = {0.1f, -3.14159f, 65504.f, 1e-6f, 70000.f, 0.f, -0.f, 1234.5678f};
  float v[8];
  for (int i = 0; i < 8; ++i) v[i] = k[7 - i] * 0.5f;
  c.write(1, 3, 4, k, v);
  float kb[8], vb[8];
  c.read(1, 3, 4, kb, vb);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(kb[i], ridge::tensor::fp16_to_fp32(ridge::tensor::fp32_to_fp16(k[i]))) << i;
    EXPECT_EQ(vb[i], ridge::tensor::fp16_to_fp32(ridge::tensor::fp32_to_fp16(v[i]))) << i;
  }
  EXPECT_TRUE(std::isinf(kb[4]));  // beyond the half range
}

TEST(KvCache, F32CacheKeepsValuesExactly) {
  auto c32 = cfg(2);
  c32.kv_type = ridge::GgmlType::F32;
  KvCache c(c32);
  c.reserve(3, 5);
  const float k[8] = {0.1f, -3.14159f, 65504.f, 1e-6f, 70000.f, 0.f, -0.f, 1234.5678f};
  float v[8];
  for (int i = 0; i < 8; ++i) v[i] = k[7 - i] * 0.5f;
  c.write(0, 3, 1, k, v);
  float kb[8], vb[8];
  c.read(0, 3, 1, kb, vb);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(kb[i], k[i]) << i;
    EXPECT_EQ(vb[i], v[i]) << i;
  }
  EXPECT_EQ(c.view(0, 3).shape.type, ridge::GgmlType::F32);
}

TEST(KvCache, RejectsElementTypesOtherThanF16AndF32) {
  auto bad = cfg(2);
  bad.kv_type = ridge::GgmlType::Q4_0;
  EXPECT_THROW(KvCache{bad}, std::invalid_argument);
}

TEST(KvCache, PositionsOutsideTheReservationThrow) {
  KvCache c(cfg(4));
  c.reserve(1, 3);  // one block: positions 0..3
  const float row[8] = {};
  float out[8];
  EXPECT_NO_THROW(c.write(0, 1, 3, row, row));
  EXPECT_THROW(c.write(0, 1, 4, row, row), std::out_of_range);
  EXPECT_THROW(c.write(0, 1, -1, row, row), std::out_of_range);
  EXPECT_THROW(c.write(2, 1, 0, row, row), std::out_of_range);  // layer
  EXPECT_THROW(c.read(0, 5, 0, out, out), std::out_of_range);   // sequence
  EXPECT_THROW(c.view(2, 1), std::out_of_range);
}

TEST(KvCache, FullCacheThrowsAndTakesNothing) {
  KvCache c(cfg(3));
  c.reserve(1, 8);
  EXPECT_THROW(c.reserve(2, 8), ridge::kv::KvCacheFull);
  EXPECT_EQ(c.n_used_blocks(), 2);
  EXPECT_FALSE(c.has_sequence(2));
  EXPECT_THROW(c.reserve(1, 13), ridge::kv::KvCacheFull);
  EXPECT_EQ(c.capacity(1), 8);
  float row[8] = {};
  EXPECT_THROW(c.write(0, 7, 0, row, row), std::out_of_range);
}

TEST(KvCache, RejectsAbsurdConfig) {
  EXPECT_THROW(KvCache(cfg(0)), std::invalid_argument);
}
