// Attention over the F16 paged KV cache: the scalar reference against a
// double-precision softmax-attention formula, every SIMD path against the
// scalar reference on awkward shapes (head dims, GQA groups, block sizes,
// runs of query tokens across block boundaries), the F16 block layout and its
// conversions, and the result's independence from the thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/random.h"
#include "kernels/attention.h"
#include "kernels/thread_pool.h"
#include "tensor/quant.h"

using namespace ridge;
using kernels::KernelPath;
using ridge::test::randn;

namespace {

// One sequence's K/V for one layer, stored through store_kv_slot into blocks
// that are deliberately not in position order in memory. Blocks are vectors
// of 32-bit words, enough for either element type.
struct PagedSequence {
  kernels::KvBlockShape shape;
  int64_t n_pos = 0;
  std::vector<std::vector<uint32_t>> k_store, v_store;  // one vector per block
  std::vector<const void*> k_ptrs, v_ptrs;               // in position order
  std::vector<float> k, v;                               // [pos][heads * hd], as stored (F16-rounded)

  PagedSequence(kernels::KvBlockShape s, int64_t positions, uint32_t seed, float k_scale = 1.f) : shape(s) {
    n_pos = positions;
    const int64_t row = static_cast<int64_t>(s.n_kv_heads) * s.head_dim;
    const int64_t n_blocks = (positions + s.block_size - 1) / s.block_size;
    // NaN (F16 and F32 alike) in every slot no position is written to: the kernels must not read them.
    k_store.assign(n_blocks, std::vector<uint32_t>(static_cast<size_t>(kernels::kv_block_elements(s)), 0x7fc07e00u));
    v_store = k_store;
    // Block b of the sequence lives in storage block n_blocks - 1 - b.
    std::vector<int64_t> order(n_blocks);
    std::iota(order.begin(), order.end(), 0);
    std::reverse(order.begin(), order.end());
    for (int64_t b = 0; b < n_blocks; ++b) {
      k_ptrs.push_back(k_store[order[b]].data());
      v_ptrs.push_back(v_store[order[b]].data());
    }
    const auto kin = randn(static_cast<size_t>(positions * row), seed, k_scale);
    const auto vin = randn(static_cast<size_t>(positions * row), seed + 1);
    k.resize(kin.size());
    v.resize(vin.size());
    for (int64_t p = 0; p < positions; ++p) {
      uint32_t* kb = k_store[order[p / s.block_size]].data();
      uint32_t* vb = v_store[order[p / s.block_size]].data();
      const int slot = static_cast<int>(p % s.block_size);
      kernels::store_kv_slot(s, &kin[p * row], &vin[p * row], slot, kb, vb, KernelPath::Scalar);
      kernels::load_kv_slot(s, kb, vb, slot, &k[p * row], &v[p * row]);
    }
  }

  kernels::PagedKv view() const { return {k_ptrs.data(), v_ptrs.data(), shape}; }
};

// softmax(q . k * scale) . v in double precision, causal, for n_tokens query
// tokens starting at first_pos; q and the result are [token][n_head * hd].
std::vector<double> reference_attention(const std::vector<float>& q, const PagedSequence& kv, int n_head,
                                        int64_t first_pos, int64_t n_tokens, float scale) {
  const int hd = kv.shape.head_dim, n_kv = kv.shape.n_kv_heads, group = n_head / n_kv;
  const int64_t row = static_cast<int64_t>(n_kv) * hd, q_row = static_cast<int64_t>(n_head) * hd;
  std::vector<double> out(static_cast<size_t>(n_tokens * q_row));
  for (int64_t i = 0; i < n_tokens; ++i)
    for (int h = 0; h < n_head; ++h) {
      const int64_t seen = first_pos + i + 1;
      const int64_t kv_off = static_cast<int64_t>(h / group) * hd;
      std::vector<double> s(static_cast<size_t>(seen));
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t p = 0; p < seen; ++p) {
        double d = 0;
        for (int j = 0; j < hd; ++j) d += double(q[i * q_row + h * hd + j]) * kv.k[p * row + kv_off + j];
        s[p] = d * scale;
        mx = std::max(mx, s[p]);
      }
      double sum = 0;
      for (auto& e : s) sum += (e = std::exp(e - mx));
      for (int j = 0; j < hd; ++j) {
        double o = 0;
        for (int64_t p = 0; p < seen; ++p) o += s[p] * kv.v[p * row + kv_off + j];
        out[i * q_row + h * hd + j] = o / sum;
      }
    }
  return out;
}

struct Case {
  int head_dim, n_kv_heads, group, block_size;
  int64_t n_pos, n_tokens;  // the run's tokens are the last n_tokens of n_pos positions
  GgmlType type = GgmlType::F16;
};

std::string describe(const Case& c) {
  return "hd " + std::to_string(c.head_dim) + " kv heads " + std::to_string(c.n_kv_heads) + " group " +
         std::to_string(c.group) + " block " + std::to_string(c.block_size) + " positions " +
         std::to_string(c.n_pos) + " tokens " + std::to_string(c.n_tokens) + " " + std::string(ggml_type_name(c.type));
}

std::vector<float> run_attention(const Case& c, const PagedSequence& kv, const std::vector<float>& q, float scale,
                                 KernelPath path, kernels::ThreadPool& pool) {
  const int n_head = c.n_kv_heads * c.group;
  std::vector<float> out(q.size(), std::numeric_limits<float>::quiet_NaN());
  kernels::AttentionRun run;
  run.q = q.data();
  run.out = out.data();
  run.n_tokens = c.n_tokens;
  run.first_pos = c.n_pos - c.n_tokens;
  run.kv = kv.view();
  const kernels::AttentionRun runs[] = {run};
  kernels::attention(runs, {n_head, c.n_kv_heads, c.head_dim, scale}, pool, path);
  return out;
}

}  // namespace

TEST(Attention, ScalarReferenceMatchesDoublePrecisionFormula) {
  kernels::ThreadPool pool(2);
  for (const Case c : {Case{64, 2, 4, 16, 37, 5}, Case{48, 1, 1, 5, 23, 23}, Case{12, 2, 3, 4, 9, 1},
                       Case{128, 1, 8, 16, 40, 3}, Case{64, 2, 4, 16, 37, 5, GgmlType::F32},
                       Case{20, 1, 2, 3, 11, 4, GgmlType::F32}}) {
    const PagedSequence kv({c.block_size, c.n_kv_heads, c.head_dim, c.type}, c.n_pos, 10 + c.head_dim);
    const int n_head = c.n_kv_heads * c.group;
    const auto q = randn(static_cast<size_t>(c.n_tokens * n_head * c.head_dim), 20 + c.head_dim);
    const float scale = 1.f / std::sqrt(float(c.head_dim));
    const auto got = run_attention(c, kv, q, scale, KernelPath::Scalar, pool);
    const auto want = reference_attention(q, kv, n_head, c.n_pos - c.n_tokens, c.n_tokens, scale);
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 2e-5) << describe(c) << " at " << i;
  }
}

TEST(Attention, EveryPathMatchesScalarOnAwkwardShapes) {
  kernels::ThreadPool pool(3);
  std::vector<Case> cases;
  for (int hd : {64, 128, 48, 67})
    for (int group : {1, 4, 8})
      for (int64_t n_pos : {1, 15, 16, 17, 100, 300}) {
        const int block = hd == 67 ? 5 : 16;
        cases.push_back({hd, 2, group, block, n_pos, 1});                        // decode
        cases.push_back({hd, 2, group, block, n_pos, std::min<int64_t>(n_pos, 19)});  // tiles of tokens
      }
  cases.push_back({64, 4, 8, 32, 300, 300});  // a whole prefill, bigger blocks (two softmax segments)
  cases.push_back({64, 2, 1, 16, 1100, 1});   // a long decode: softmax segments of 512 keys, the last one partial
  cases.push_back({64, 2, 8, 16, 1100, 1});
  cases.push_back({64, 1, 2, 7, 61, 61});     // blocks that split key chunks
  // F32 blocks: the same kernels with plain loads.
  cases.push_back({64, 2, 4, 16, 100, 19, GgmlType::F32});
  cases.push_back({67, 2, 1, 5, 61, 17, GgmlType::F32});
  cases.push_back({48, 1, 8, 16, 17, 1, GgmlType::F32});
  for (const Case& c : cases) {
    const PagedSequence kv({c.block_size, c.n_kv_heads, c.head_dim, c.type}, c.n_pos, 100 + c.head_dim);
    const int n_head = c.n_kv_heads * c.group;
    const auto q = randn(static_cast<size_t>(c.n_tokens * n_head * c.head_dim), 200 + c.group);
    const float scale = 1.f / std::sqrt(float(c.head_dim));
    const auto want = run_attention(c, kv, q, scale, KernelPath::Scalar, pool);
    for (KernelPath path : kernels::supported_kernel_paths()) {
      if (path == KernelPath::Scalar) continue;
      const auto got = run_attention(c, kv, q, scale, path, pool);
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], want[i], 2e-5 + 2e-5 * std::abs(want[i]))
            << kernels::kernel_path_name(path) << " " << describe(c) << " at " << i;
    }
  }
}

TEST(Attention, LargeLogitsStayFiniteAndAgree) {
  // Scores in the thousands: exp would overflow without the running maximum,
  // and almost every weight underflows to 0.
  kernels::ThreadPool pool(2);
  const Case c{64, 2, 4, 16, 90, 12};
  const PagedSequence kv({c.block_size, c.n_kv_heads, c.head_dim, c.type}, c.n_pos, 7, 30.f);
  const int n_head = c.n_kv_heads * c.group;
  const auto q = randn(static_cast<size_t>(c.n_tokens * n_head * c.head_dim), 8, 30.f);
  const float scale = 0.125f;
  const auto want = reference_attention(q, kv, n_head, c.n_pos - c.n_tokens, c.n_tokens, scale);
  for (KernelPath path : kernels::supported_kernel_paths()) {
    const auto got = run_attention(c, kv, q, scale, path, pool);
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_TRUE(std::isfinite(got[i])) << kernels::kernel_path_name(path) << " at " << i;
      ASSERT_NEAR(got[i], want[i], 1e-4 + 1e-4 * std::abs(want[i])) << kernels::kernel_path_name(path) << " at " << i;
    }
  }
}

TEST(Attention, SeveralRunsInOneCallEqualSeparateCalls) {
  // Two sequences (a prefill chunk and a decode token) plus a second run of the
  // first sequence, as a continuous-batching step packs them.
  kernels::ThreadPool pool(2);
  const kernels::KvBlockShape shape{16, 2, 64};
  const kernels::AttentionShape att{8, 2, 64, 0.125f};
  const PagedSequence a(shape, 70, 1), b(shape, 33, 2);
  const int64_t q_row = 8 * 64;
  for (KernelPath path : kernels::supported_kernel_paths()) {
    const auto q = randn(static_cast<size_t>(12 * q_row), 3);
    std::vector<float> together(q.size()), apart(q.size());
    auto make = [&](const PagedSequence& kv, int64_t first_token, int64_t n, int64_t first_pos, float* out) {
      kernels::AttentionRun r;
      r.q = q.data() + first_token * q_row;
      r.out = out + first_token * q_row;
      r.n_tokens = n;
      r.first_pos = first_pos;
      r.kv = kv.view();
      return r;
    };
    const kernels::AttentionRun runs[] = {make(a, 0, 10, 50, together.data()), make(b, 10, 1, 32, together.data()),
                                          make(a, 11, 1, 69, together.data())};
    kernels::attention(runs, att, pool, path);
    const kernels::AttentionRun r0[] = {make(a, 0, 10, 50, apart.data())};
    const kernels::AttentionRun r1[] = {make(b, 10, 1, 32, apart.data())};
    const kernels::AttentionRun r2[] = {make(a, 11, 1, 69, apart.data())};
    kernels::attention(r0, att, pool, path);
    kernels::attention(r1, att, pool, path);
    kernels::attention(r2, att, pool, path);
    for (size_t i = 0; i < q.size(); ++i) ASSERT_EQ(together[i], apart[i]) << kernels::kernel_path_name(path) << i;
  }
}

TEST(Attention, ResultDoesNotDependOnTheThreadCount) {
  // A prefill chunk, and a decode token: with few tiles the query heads of a
  // group are split over several tiles (one thread: whole groups; three
  // threads: parts of 2, 3 and 3 heads), which must not change any bit.
  for (const Case c : {Case{64, 4, 8, 16, 200, 40}, Case{64, 4, 8, 16, 200, 1}}) {
    const PagedSequence kv({c.block_size, c.n_kv_heads, c.head_dim, c.type}, c.n_pos, 5);
    const auto q = randn(static_cast<size_t>(c.n_tokens * 32 * 64), 6);
    kernels::ThreadPool one(1), three(3);
    for (KernelPath path : kernels::supported_kernel_paths()) {
      const auto a = run_attention(c, kv, q, 0.125f, path, one);
      const auto b = run_attention(c, kv, q, 0.125f, path, three);
      for (size_t i = 0; i < a.size(); ++i)
        ASSERT_EQ(a[i], b[i]) << kernels::kernel_path_name(path) << " " << describe(c) << " at " << i;
    }
  }
}

TEST(Attention, TilesHoldEightToSixteenTokensForUsualShapes) {
  EXPECT_EQ(kernels::attention_tile_tokens({32, 4, 64, 0.125f}), 8);    // TinyLlama: 8 heads per KV head
  EXPECT_EQ(kernels::attention_tile_tokens({32, 32, 128, 0.1f}), 16);   // no GQA
  EXPECT_EQ(kernels::attention_tile_tokens({64, 1, 256, 0.1f}), 1);     // huge groups still get a tile
}

TEST(Attention, RejectsInconsistentShapes) {
  kernels::ThreadPool pool(1);
  const PagedSequence kv({16, 2, 64}, 4, 1);
  const std::vector<float> q(4 * 8 * 64);
  std::vector<float> out(q.size());
  kernels::AttentionRun run;
  run.q = q.data();
  run.out = out.data();
  run.n_tokens = 4;
  run.kv = kv.view();
  const kernels::AttentionRun runs[] = {run};
  EXPECT_THROW(kernels::attention(runs, {8, 3, 64, 1.f}, pool), std::invalid_argument);   // 8 % 3 heads
  EXPECT_THROW(kernels::attention(runs, {8, 4, 64, 1.f}, pool), std::invalid_argument);   // KV heads differ
  EXPECT_THROW(kernels::attention(runs, {8, 2, 32, 1.f}, pool), std::invalid_argument);   // head dim differs
  EXPECT_THROW(kernels::attention(runs, {0, 2, 64, 1.f}, pool), std::invalid_argument);
  kernels::AttentionRun bad = run;
  bad.first_pos = -1;
  const kernels::AttentionRun bad_runs[] = {bad};
  EXPECT_THROW(kernels::attention(bad_runs, {8, 2, 64, 1.f}, pool), std::invalid_argument);
  kernels::AttentionRun quantized = run;
  quantized.kv.shape.type = GgmlType::Q8_0;  // not a KV element type
  const kernels::AttentionRun quantized_runs[] = {quantized};
  EXPECT_THROW(kernels::attention(quantized_runs, {8, 2, 64, 1.f}, pool), std::invalid_argument);
  EXPECT_NO_THROW(kernels::attention(runs, {8, 2, 64, 1.f}, pool));
}

TEST(KvBlockLayout, StoresF16RoundedToNearestEvenOnEveryPath) {
  // Values around every rounding hazard: ties, the largest half, overflow to
  // infinity, subnormal halves, underflow to zero, signed zero, infinities, NaN.
  std::vector<float> specials = {0.f, -0.f, 1.f, -1.f, 65504.f, 65519.f, 65520.f, -70000.f, 1e-5f, 6.1e-5f,
                                 5.96e-8f, 2.98e-8f, 2.99e-8f, 1e-9f,
                                 std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                                 std::numeric_limits<float>::quiet_NaN(),
                                 std::bit_cast<float>(0x7f800001u),  // signalling NaN
                                 1.f + 1.f / 2048, 1.f + 3.f / 2048};
  const auto noise = randn(300, 9, 100.f);
  specials.insert(specials.end(), noise.begin(), noise.end());
  const kernels::KvBlockShape shape{3, 4, 20};  // one row: 80 values
  const size_t row = 80;
  specials.resize((specials.size() + row - 1) / row * row, 0.5f);
  for (KernelPath path : kernels::supported_kernel_paths()) {
    for (size_t at = 0; at < specials.size(); at += row) {
      std::vector<float> k(specials.begin() + at, specials.begin() + at + row), v(k.rbegin(), k.rend());
      std::vector<uint16_t> kb(kernels::kv_block_elements(shape), 0), vb(kb.size(), 0);
      kernels::store_kv_slot(shape, k.data(), v.data(), 2, kb.data(), vb.data(), path);
      std::vector<float> k_back(row), v_back(row);
      kernels::load_kv_slot(shape, kb.data(), vb.data(), 2, k_back.data(), v_back.data());
      for (size_t i = 0; i < row; ++i) {
        const float kr = tensor::fp16_to_fp32(tensor::fp32_to_fp16(k[i]));
        const float vr = tensor::fp16_to_fp32(tensor::fp32_to_fp16(v[i]));
        ASSERT_EQ(std::bit_cast<uint32_t>(k_back[i]), std::bit_cast<uint32_t>(kr))
            << kernels::kernel_path_name(path) << " k " << k[i];
        ASSERT_EQ(std::bit_cast<uint32_t>(v_back[i]), std::bit_cast<uint32_t>(vr))
            << kernels::kernel_path_name(path) << " v " << v[i];
      }
      // Slots 0, 1 were not written.
      for (int h = 0; h < shape.n_kv_heads; ++h)
        for (int d = 0; d < shape.head_dim; ++d) {
          ASSERT_EQ(kb[(h * shape.head_dim + d) * shape.block_size + 0], 0);
          ASSERT_EQ(vb[(h * shape.block_size + 1) * shape.head_dim + d], 0);
        }
    }
  }
}

TEST(KvBlockLayout, KeysAreTransposedPerHeadAndValuesKeepTheirRows) {
  // The layout the SIMD kernels rely on, spelled out.
  const kernels::KvBlockShape shape{4, 2, 3};
  std::vector<uint16_t> kb(kernels::kv_block_elements(shape)), vb(kb.size());
  ASSERT_EQ(kb.size(), 4u * 2 * 3);
  for (int slot = 0; slot < 4; ++slot) {
    std::vector<float> k(6), v(6);
    for (int i = 0; i < 6; ++i) k[i] = v[i] = float(slot * 10 + i);
    kernels::store_kv_slot(shape, k.data(), v.data(), slot, kb.data(), vb.data(), KernelPath::Scalar);
  }
  for (int slot = 0; slot < 4; ++slot)
    for (int h = 0; h < 2; ++h)
      for (int d = 0; d < 3; ++d) {
        const float want = float(slot * 10 + h * 3 + d);
        EXPECT_EQ(tensor::fp16_to_fp32(kb[(h * 3 + d) * 4 + slot]), want);
        EXPECT_EQ(tensor::fp16_to_fp32(vb[(h * 4 + slot) * 3 + d]), want);
      }
}
