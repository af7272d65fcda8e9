// The GEMM over packed Q4_K / Q6_K weights (repack_kquant.h), on every kernel
// path that has a packed kernel for them, on awkward shapes (rows not a
// multiple of the 16-row panel, 1..9 and 64+ tokens, 1..3 super-blocks):
//  - against a double-precision sum over the weights' own decomposition
//    (d * scale * level - dmin * min, or d * scale * (level - 32)) times the
//    same 8-bit activations the kernel multiplies, and against the same path's
//    unpacked SIMD kernel, both within float rounding of the magnitudes of the
//    terms the kernels add up; for quantized Gaussian weights and for random
//    block bytes (every scale, min and level pattern);
//  - bitwise independence of a result from the other tokens in the call and
//    from the thread count; NaN propagation; nothing written past the output;
//  - pack_weights_all packs K types (mixed with Q4_0) byte for byte as
//    pack_weights does, with and without a reader; widths that are not whole
//    super-blocks are refused. (That paths without a packed kernel ignore the
//    copy is tested for every packable type in packed_matmul_test.cpp.)
#include <gtest/gtest.h>

#include "common/packed_checks.h"
#include "common/random.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/activation_quant.h"
#include "kernels/cpu_features.h"
#include "kernels/ops.h"
#include "kernels/repack.h"
#include "kernels/thread_pool.h"
#include "tensor/quant.h"

using namespace ridge;
using kernels::KernelPath;

namespace {

using ridge::test::packed_paths;
using ridge::test::randn;

size_t super_block_bytes(GgmlType type) { return type == GgmlType::Q4_K ? 144 : 210; }

// Quantized Gaussian weights, or random block bytes with small random f16
// super-block scales (d, and dmin for Q4_K) so no scale is inf or NaN.
std::vector<uint8_t> make_weights(GgmlType type, int64_t rows, int64_t cols, uint32_t seed, bool random_bytes) {
  if (!random_bytes) {
    auto w = randn(static_cast<size_t>(rows * cols), seed);
    return tensor::quantize(type, w.data(), rows, cols);
  }
  std::vector<uint8_t> bytes(ggml_row_bytes(type, cols) * static_cast<size_t>(rows));
  std::mt19937 g(seed);
  for (auto& b : bytes) b = static_cast<uint8_t>(g());
  std::uniform_real_distribution<float> scale(-0.01f, 0.01f);
  const size_t sb = super_block_bytes(type);
  for (size_t at = 0; at < bytes.size(); at += sb) {
    const uint16_t d = tensor::fp32_to_fp16(scale(g)), dmin = tensor::fp32_to_fp16(scale(g));
    if (type == GgmlType::Q4_K) {
      std::memcpy(&bytes[at], &d, 2);
      std::memcpy(&bytes[at + 2], &dmin, 2);
    } else {
      std::memcpy(&bytes[at + 208], &d, 2);
    }
  }
  return bytes;
}

// One super-block decomposed: element e = scale_e * level_e * d - min_e * dmin
// (Q6_K: level_e = u - 32, no min). Written from the layouts in
// tensor/k_dequant.cpp, independently of the packing code.
struct Decomposed {
  double d = 0, dmin = 0;
  int scale[256], level[256], min[256];
};

Decomposed decompose(GgmlType type, const uint8_t* blk) {
  Decomposed out;
  if (type == GgmlType::Q4_K) {
    out.d = tensor::fp16_to_fp32(static_cast<uint16_t>(blk[0] | blk[1] << 8));
    out.dmin = tensor::fp16_to_fp32(static_cast<uint16_t>(blk[2] | blk[3] << 8));
    const uint8_t* p = blk + 4;
    for (int j = 0; j < 8; ++j) {
      const int sc = j < 4 ? (p[j] & 63) : ((p[j + 4] & 15) | ((p[j - 4] >> 6) << 4));
      const int mn = j < 4 ? (p[j + 4] & 63) : ((p[j + 4] >> 4) | ((p[j] >> 6) << 4));
      for (int l = 0; l < 32; ++l) {
        const int e = 32 * j + l;
        const uint8_t q = blk[16 + 32 * (j / 2) + l];
        out.scale[e] = sc;
        out.min[e] = mn;
        out.level[e] = (j % 2 == 0) ? (q & 15) : (q >> 4);
      }
    }
  } else {
    out.d = tensor::fp16_to_fp32(static_cast<uint16_t>(blk[208] | blk[209] << 8));
    for (int e = 0; e < 256; ++e) {
      const int h = e / 128, k = (e % 128) / 32, l = e % 32;
      const int low = (blk[64 * h + 32 * (k % 2) + l] >> (4 * (k / 2))) & 15;
      const int top = (blk[128 + 32 * h + l] >> (2 * k)) & 3;
      out.level[e] = (low | top << 4) - 32;
      out.scale[e] = static_cast<int8_t>(blk[192 + e / 16]);
      out.min[e] = 0;
    }
  }
  return out;
}

struct Shape {
  int64_t rows, super_blocks, tokens;
};

constexpr int64_t kGuard = 37;

void check_packed(KernelPath path, GgmlType type, const Shape& s, uint32_t seed, bool random_bytes,
                  kernels::ThreadPool& pool) {
  SCOPED_TRACE(std::string(kernels::kernel_path_name(path)) + " " + std::string(ggml_type_name(type)) +
               " rows=" + std::to_string(s.rows) + " super_blocks=" + std::to_string(s.super_blocks) +
               " tokens=" + std::to_string(s.tokens) + (random_bytes ? " (random bytes)" : ""));
  const int64_t cols = s.super_blocks * 256;
  auto bytes = make_weights(type, s.rows, cols, seed, random_bytes);
  const size_t row_bytes = ggml_row_bytes(type, cols);
  kernels::WeightMatrix W{type, bytes.data(), cols, s.rows, row_bytes};
  auto packed = kernels::pack_weights(W);
  ASSERT_EQ(packed->blocks, s.super_blocks);
  kernels::WeightMatrix P = W;
  P.packed = packed.get();
  auto x = randn(static_cast<size_t>(s.tokens * cols), seed + 1000);
  for (size_t i = 0; i < x.size(); i += 37) x[i] *= 20.f;  // widely varying block scales

  const size_t n_out = static_cast<size_t>(s.tokens * s.rows);
  const float sentinel = -12345.f;
  std::vector<float> got(n_out + kGuard, sentinel), plain(n_out);
  kernels::matmul(P, x.data(), s.tokens, got.data(), pool, path);
  kernels::matmul(W, x.data(), s.tokens, plain.data(), pool, path);
  for (int64_t i = 0; i < kGuard; ++i) ASSERT_EQ(got[n_out + i], sentinel) << "written past the output";

  kernels::QuantizedActivationBuffer qx;
  kernels::quantize_activations(x.data(), s.tokens, cols, 256, qx);
  std::vector<float> wrow(static_cast<size_t>(cols));
  for (int64_t r = 0; r < s.rows; ++r) {
    std::vector<Decomposed> blocks;
    for (int64_t b = 0; b < s.super_blocks; ++b)
      blocks.push_back(decompose(type, bytes.data() + static_cast<size_t>(r) * row_bytes +
                                           static_cast<size_t>(b) * super_block_bytes(type)));
    kernels::get_row(W, r, wrow.data());
    for (int64_t t = 0; t < s.tokens; ++t) {
      double exact = 0, dequantized = 0, mag = 0;
      for (int64_t b = 0; b < s.super_blocks; ++b) {
        const Decomposed& k = blocks[static_cast<size_t>(b)];
        const double dx = qx.d[static_cast<size_t>(t * s.super_blocks + b)];
        for (int e = 0; e < 256; ++e) {
          const int64_t c = b * 256 + e;
          const double xq = dx * qx.q[static_cast<size_t>(t * cols + c)];
          const double scaled = k.d * k.scale[e] * k.level[e] * xq, shifted = k.dmin * k.min[e] * xq;
          exact += scaled - shifted;
          mag += std::abs(scaled) + std::abs(shifted);
          dequantized += wrow[static_cast<size_t>(c)] * xq;
        }
      }
      const double tol = 2e-6 * mag + 1e-6;
      // The test's own decoder agrees with the library's dequantizer.
      ASSERT_NEAR(dequantized, exact, tol) << "row " << r << " token " << t << " (test decoder)";
      const size_t i = static_cast<size_t>(t * s.rows + r);
      ASSERT_NEAR(got[i], exact, tol) << "row " << r << " token " << t << " (double reference)";
      ASSERT_NEAR(got[i], plain[i], 2 * tol) << "row " << r << " token " << t << " (unpacked kernel)";
    }
  }
}

const std::vector<GgmlType> kPackedKTypes = {GgmlType::Q4_K, GgmlType::Q6_K};

}  // namespace

class PackedKQuant : public ::testing::TestWithParam<GgmlType> {};

TEST_P(PackedKQuant, MatchesReferenceAndUnpackedKernelOnAwkwardShapes) {
  const GgmlType type = GetParam();
  ASSERT_TRUE(kernels::can_pack(type));
  const auto paths = packed_paths(type);
  if (paths.empty()) GTEST_SKIP() << "no kernel path on this CPU has a packed kernel for this type";
  kernels::ThreadPool pool(3);
  uint32_t seed = 1;
  for (KernelPath path : paths) {
    for (int64_t sbs = 1; sbs <= 3; ++sbs)
      for (int64_t tokens : {1, 2, 3, 4, 5, 6, 7, 8, 9, 64})
        for (int64_t rows : {1, 5, 16, 17, 31, 33}) {
          if ((sbs + tokens + rows) % 2 == 0 && tokens > 2 && tokens != 64) continue;  // thin the grid
          check_packed(path, type, {rows, sbs, tokens}, seed++, false, pool);
          if (HasFatalFailure()) return;
        }
    for (int64_t tokens : {1, 2, 8, 9, 70}) {
      check_packed(path, type, {23, 3, tokens}, seed++, true, pool);
      if (HasFatalFailure()) return;
      check_packed(path, type, {16, 1, tokens}, seed++, true, pool);
      if (HasFatalFailure()) return;
    }
    // More than kWholePackTokens (repack_kernels.h): the activations packed a chunk at a time.
    check_packed(path, type, {17, 1, 1030}, seed++, true, pool);
    if (HasFatalFailure()) return;
  }
}

TEST_P(PackedKQuant, ResultsIndependentOfBatchAndThreads) {
  const GgmlType type = GetParam();
  const auto paths = packed_paths(type);
  if (paths.empty()) GTEST_SKIP() << "no kernel path on this CPU has a packed kernel for this type";
  const int64_t rows = 45, cols = 2 * 256, tokens = 75;
  auto bytes = make_weights(type, rows, cols, 91, false);
  const auto pm = ridge::test::packed_matrix(type, bytes, rows, cols);
  const kernels::WeightMatrix& W = pm.W;
  auto x = randn(static_cast<size_t>(tokens * cols), 92);
  for (KernelPath path : paths) {
    SCOPED_TRACE(kernels::kernel_path_name(path));
    ridge::test::expect_independent_of_batch_and_threads(W, x, tokens, {1, 2, 3, 11}, path);
    if (HasFatalFailure()) return;
  }
}

// The packed kernels of different instruction sets compute the same integer
// sums and the same float operations: the same bits.
TEST_P(PackedKQuant, PathsWithPackedKernelsAgreeBitwise) {
  const GgmlType type = GetParam();
  const auto paths = packed_paths(type);
  if (paths.size() < 2) GTEST_SKIP() << "fewer than two kernel paths on this CPU have a packed kernel for this type";
  kernels::ThreadPool pool(3);
  for (const Shape s : {Shape{37, 2, 1}, Shape{64, 1, 5}, Shape{21, 3, 2}, Shape{40, 1, 70}}) {
    const int64_t cols = s.super_blocks * 256;
    auto bytes = make_weights(type, s.rows, cols, 500 + static_cast<uint32_t>(s.rows), true);
    const auto pm = ridge::test::packed_matrix(type, bytes, s.rows, cols);
    const kernels::WeightMatrix& W = pm.W;
    auto x = randn(static_cast<size_t>(s.tokens * cols), 600 + static_cast<uint32_t>(s.tokens));
    ridge::test::expect_paths_agree_bitwise(W, x, s.tokens, paths, pool,
                                            "rows " + std::to_string(s.rows) + " super-blocks " +
                                                std::to_string(s.super_blocks) + " tokens " + std::to_string(s.tokens));
    if (HasFatalFailure()) return;
  }
}

// The AMX kernel (Q4_K, 32 tokens and more, where the CPU has AMX-INT8; Q6_K
// stays on the AVX-512 kernel) forms the same integer sums and float
// operations as the AVX-512 tile: the same bits, partial token tiles, partial
// panels and more than 512 tokens (two passes over a panel) included.
TEST_P(PackedKQuant, AmxAgreesBitwiseWithAvx512) {
  const GgmlType type = GetParam();
  if (!kernels::amx_int8_usable())
    GTEST_SKIP() << "no AMX-INT8 here (CPU, OS tile state, or RIDGE_AMX=0): the AMX kernel is not run";
  kernels::ThreadPool pool(3);
  for (const Shape s : {Shape{37, 2, 32}, Shape{16, 1, 47}, Shape{45, 3, 100}, Shape{20, 1, 530}}) {
    SCOPED_TRACE("rows " + std::to_string(s.rows) + " super-blocks " + std::to_string(s.super_blocks) + " tokens " +
                 std::to_string(s.tokens));
    const int64_t cols = s.super_blocks * 256;
    auto bytes = make_weights(type, s.rows, cols, 700 + static_cast<uint32_t>(s.rows), true);
    const auto pm = ridge::test::packed_matrix(type, bytes, s.rows, cols);
    auto x = randn(static_cast<size_t>(s.tokens * cols), 800 + static_cast<uint32_t>(s.tokens));
    for (size_t i = 0; i < x.size(); i += 37) x[i] *= 20.f;
    const size_t n_out = static_cast<size_t>(s.tokens * s.rows);
    std::vector<float> amx(n_out + kGuard, -7.f), avx512(n_out + kGuard, -7.f);
    kernels::matmul(pm.W, x.data(), s.tokens, amx.data(), pool, KernelPath::Avx512);
    kernels::allow_amx_int8(false);
    kernels::matmul(pm.W, x.data(), s.tokens, avx512.data(), pool, KernelPath::Avx512);
    kernels::allow_amx_int8(true);
    ASSERT_EQ(std::memcmp(amx.data(), avx512.data(), amx.size() * sizeof(float)), 0) << "AMX and AVX-512 differ";
    for (int64_t i = 0; i < kGuard; ++i) ASSERT_EQ(amx[n_out + static_cast<size_t>(i)], -7.f) << "written past the output";
  }
}

TEST_P(PackedKQuant, NonFiniteActivationsReachTheOutput) {
  const GgmlType type = GetParam();
  const int64_t cols = 512, rows = 19;
  auto bytes = make_weights(type, rows, cols, 5, false);
  const auto pm = ridge::test::packed_matrix(type, bytes, rows, cols);
  const kernels::WeightMatrix& W = pm.W;
  kernels::ThreadPool pool(2);
  for (int64_t at : {40, 300}) {
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
      auto x = randn(2 * cols, 6);
      x[static_cast<size_t>(cols + at)] = bad;  // second token only
      std::vector<float> y(2 * rows);
      for (KernelPath path : kernels::supported_kernel_paths()) {
        kernels::matmul(W, x.data(), 2, y.data(), pool, path);
        for (int64_t r = 0; r < rows; ++r) {
          EXPECT_TRUE(std::isfinite(y[static_cast<size_t>(r)])) << kernels::kernel_path_name(path) << " row " << r;
          EXPECT_FALSE(std::isfinite(y[static_cast<size_t>(rows + r)])) << kernels::kernel_path_name(path) << " row " << r;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(PackedKTypes, PackedKQuant, ::testing::ValuesIn(kPackedKTypes),
                         [](const auto& info) { return std::string(ggml_type_name(info.param)); });

// Model loads pack all matrices in one pack_weights_all call: K types among
// Q4_0 ones come out byte for byte as pack_weights makes them alone, with and
// without a pool, rows read in place or through a reader.
TEST(PackKQuant, AllAtOnceEqualsOneByOne) {
  struct Spec {
    GgmlType type;
    int64_t rows, cols;
  };
  const Spec specs[] = {{GgmlType::Q4_K, 17, 512}, {GgmlType::Q4_0, 33, 512}, {GgmlType::Q6_K, 40, 768},
                        {GgmlType::Q6_K, 3, 256},  {GgmlType::Q4_K, 300, 2048}};
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<kernels::WeightMatrix> ws;
  uint32_t seed = 3;
  for (const Spec& s : specs) bytes.push_back(make_weights(s.type, s.rows, s.cols, seed++, s.type != GgmlType::Q4_0));
  for (size_t i = 0; i < bytes.size(); ++i)
    ws.push_back({specs[i].type, bytes[i].data(), specs[i].cols, specs[i].rows, ggml_row_bytes(specs[i].type, specs[i].cols)});
  std::vector<const kernels::WeightMatrix*> ptrs;
  for (const auto& w : ws) ptrs.push_back(&w);
  const kernels::SourceReader read = [](const uint8_t* at, size_t n, uint8_t* dst) { std::memcpy(dst, at, n); };
  kernels::ThreadPool pool(3);
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE("variant " + std::to_string(variant));
    auto all = kernels::pack_weights_all(ptrs, variant == 0 ? nullptr : &pool, variant == 2 ? &read : nullptr);
    ASSERT_EQ(all.size(), ws.size());
    for (size_t i = 0; i < ws.size(); ++i) {
      auto one = kernels::pack_weights(ws[i]);
      ASSERT_EQ(all[i]->bytes(), one->bytes()) << "matrix " << i;
      ASSERT_EQ(all[i]->block_bytes, one->block_bytes) << "matrix " << i;
      const size_t level_bytes = static_cast<size_t>(one->panels * one->blocks) * one->block_bytes;
      EXPECT_EQ(std::memcmp(all[i]->levels, one->levels, level_bytes), 0) << "matrix " << i;
    }
  }
}

TEST(PackKQuant, RefusesWidthsThatAreNotWholeSuperBlocks) {
  std::vector<uint8_t> bytes(4096);
  for (GgmlType type : kPackedKTypes) {
    const kernels::WeightMatrix W{type, bytes.data(), 32, 2, 1024};
    EXPECT_THROW(kernels::pack_weights(W), std::invalid_argument) << ggml_type_name(type);
    const kernels::WeightMatrix short_rows{type, bytes.data(), 256, 2, super_block_bytes(type) - 1};
    EXPECT_THROW(kernels::pack_weights(short_rows), std::invalid_argument) << ggml_type_name(type);
  }
  EXPECT_FALSE(kernels::can_pack(GgmlType::Q5_K));
}
