// The GEMM over weights repacked at load time (repack.h), for every type with
// a packed layout and every kernel path that has a packed kernel, on awkward
// shapes (rows not a multiple of the 16-row panel, 1..9 and 64+ tokens, 1..5
// blocks per row, and rows of several chunks with a last group of fewer than 8
// panels, see repack.h):
//  - against a double-precision dot of the dequantized weights with the same
//    8-bit activations the kernel multiplies, and against the same path's
//    unpacked SIMD kernel (both within float rounding of the term magnitudes);
//  - bitwise independence of a result from the other tokens in the call (tile
//    widths, the 64-token chunks) and from the thread count;
//  - nothing written past the last row; NaN propagation; paths without a
//    packed kernel still read the original rows; packing rejects what it
//    cannot pack and matmul a packed copy of another matrix.
#include <gtest/gtest.h>

#include "common/packed_checks.h"
#include "common/random.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <random>
#include <string>
#include <vector>

#include "kernels/activation_quant.h"
#include "kernels/cpu_features.h"
#include "kernels/ops.h"
#include "kernels/prefetch.h"
#include "kernels/repack.h"
#include "kernels/thread_pool.h"
#include "tensor/quant.h"

using namespace ridge;
using kernels::KernelPath;

namespace {

using ridge::test::packed_paths;
using ridge::test::randn;

// Quantized Gaussian weights, or random block bytes (every level pattern,
// including Q8_0's -128) with small random f16 scales at byte 0 of each block.
std::vector<uint8_t> make_weights(GgmlType type, int64_t rows, int64_t cols, uint32_t seed, bool random_bytes) {
  if (!random_bytes) {
    auto w = randn(static_cast<size_t>(rows * cols), seed);
    return tensor::quantize(type, w.data(), rows, cols);
  }
  const auto tr = ggml_type_traits(type);
  std::vector<uint8_t> bytes(ggml_row_bytes(type, cols) * rows);
  std::mt19937 g(seed);
  for (auto& b : bytes) b = static_cast<uint8_t>(g());
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  for (size_t blk = 0; blk < bytes.size() / tr.block_bytes; ++blk) {
    const uint16_t h = tensor::fp32_to_fp16(scale(g));
    std::memcpy(&bytes[blk * tr.block_bytes], &h, 2);
  }
  return bytes;
}

struct Shape {
  int64_t rows, blocks, tokens;
};

// Extra floats after the output, which must come back untouched.
constexpr int64_t kGuard = 37;

void check_packed(KernelPath path, GgmlType type, const Shape& s, uint32_t seed, bool random_bytes,
                  kernels::ThreadPool& pool) {
  SCOPED_TRACE(std::string(kernels::kernel_path_name(path)) + " " + std::string(ggml_type_name(type)) +
               " rows=" + std::to_string(s.rows) + " blocks=" + std::to_string(s.blocks) +
               " tokens=" + std::to_string(s.tokens) + (random_bytes ? " (random bytes)" : ""));
  const int64_t cols = s.blocks * 32;
  auto bytes = make_weights(type, s.rows, cols, seed, random_bytes);
  kernels::WeightMatrix W{type, bytes.data(), cols, s.rows, ggml_row_bytes(type, cols)};
  auto packed = kernels::pack_weights(W);
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
  kernels::quantize_activations(x.data(), s.tokens, cols, 32, qx);
  std::vector<float> wrow(static_cast<size_t>(cols));
  for (int64_t r = 0; r < s.rows; ++r) {
    kernels::get_row(W, r, wrow.data());
    for (int64_t t = 0; t < s.tokens; ++t) {
      double same = 0, mag = 0;
      for (int64_t b = 0; b < s.blocks; ++b) {
        const double d = qx.d[static_cast<size_t>(t * s.blocks + b)];
        for (int64_t c = b * 32; c < (b + 1) * 32; ++c) {
          const double term = wrow[c] * d * qx.q[static_cast<size_t>(t * cols + c)];
          same += term;
          mag += std::abs(term);
        }
      }
      const size_t i = static_cast<size_t>(t * s.rows + r);
      ASSERT_NEAR(got[i], same, 2e-6 * mag + 1e-6) << "row " << r << " token " << t << " (double reference)";
      ASSERT_NEAR(got[i], plain[i], 2e-6 * mag + 1e-6) << "row " << r << " token " << t << " (unpacked kernel)";
    }
  }
}

// The packed types with blocks of 32 (the K types' packed kernels are tested in
// packed_kquant_test.cpp).
const std::vector<GgmlType> kPackedTypes = {GgmlType::Q4_0, GgmlType::Q8_0};

}  // namespace

class PackedMatmul : public ::testing::TestWithParam<GgmlType> {};

TEST_P(PackedMatmul, MatchesReferenceAndUnpackedKernelOnAwkwardShapes) {
  const GgmlType type = GetParam();
  const auto paths = packed_paths(type);
  if (paths.empty()) GTEST_SKIP() << "no kernel path on this CPU has a packed kernel for this type";
  kernels::ThreadPool pool(3);
  uint32_t seed = 1;
  for (KernelPath path : paths) {
    for (int64_t blocks = 1; blocks <= 5; ++blocks)
      for (int64_t tokens : {1, 2, 3, 4, 5, 6, 7, 8, 9, 64})
        for (int64_t rows : {1, 5, 16, 17, 31, 33}) {
          if ((blocks + tokens + rows) % 2 == 0 && tokens > 2 && tokens != 64) continue;  // thin the grid
          check_packed(path, type, {rows, blocks, tokens}, seed++, false, pool);
          if (HasFatalFailure()) return;
        }
    for (int64_t tokens : {1, 8, 9, 70}) {
      check_packed(path, type, {23, 3, tokens}, seed++, true, pool);
      if (HasFatalFailure()) return;
    }
    // Several chunks per row (64 blocks of Q4_0, 32 of Q8_0), an odd last one.
    // More than kWholePackTokens (repack_kernels.h): the activations packed a chunk at a time.
    for (const Shape s : {Shape{150, 131, 1}, Shape{150, 131, 3}, Shape{17, 65, 9}, Shape{40, 33, 2}, Shape{17, 3, 1030}}) {
      check_packed(path, type, s, seed++, false, pool);
      if (HasFatalFailure()) return;
    }
  }
}

// A (row, token) result must not depend on the other tokens of the call (tile
// width, position in the 64-token chunk) or on the thread count: the same bits.
TEST_P(PackedMatmul, ResultsIndependentOfBatchAndThreads) {
  const GgmlType type = GetParam();
  const auto paths = packed_paths(type);
  if (paths.empty()) GTEST_SKIP() << "no kernel path on this CPU has a packed kernel for this type";
  // One chunk per row, and several chunks (split between threads mid-group).
  for (const Shape s : {Shape{45, 4, 75}, Shape{150, 131, 19}}) {
    const int64_t rows = s.rows, cols = s.blocks * 32, tokens = s.tokens;
    SCOPED_TRACE("rows " + std::to_string(rows) + " blocks " + std::to_string(s.blocks));
    auto bytes = make_weights(type, rows, cols, 91, false);
    const auto pm = ridge::test::packed_matrix(type, bytes, rows, cols);
    const kernels::WeightMatrix& W = pm.W;
    auto x = randn(static_cast<size_t>(tokens * cols), 92);
    for (KernelPath path : paths) {
      SCOPED_TRACE(kernels::kernel_path_name(path));
      ridge::test::expect_independent_of_batch_and_threads(W, x, tokens, {1, 3, 11}, path);
      if (HasFatalFailure()) return;
    }
  }
}

// The packed kernels of different instruction sets compute the same integer
// sums and the same float operations (repack_matmul_avx2.cpp): the same bits.
TEST_P(PackedMatmul, PathsWithPackedKernelsAgreeBitwise) {
  const GgmlType type = GetParam();
  const auto paths = packed_paths(type);
  if (paths.size() < 2) GTEST_SKIP() << "fewer than two kernel paths on this CPU have a packed kernel for this type";
  kernels::ThreadPool pool(3);
  for (const Shape s : {Shape{37, 5, 1}, Shape{64, 3, 7}, Shape{21, 64, 2}, Shape{50, 2, 70}, Shape{150, 131, 3}}) {
    const int64_t cols = s.blocks * 32;
    auto bytes = make_weights(type, s.rows, cols, 300 + static_cast<uint32_t>(s.rows), true);
    const auto pm = ridge::test::packed_matrix(type, bytes, s.rows, cols);
    const kernels::WeightMatrix& W = pm.W;
    auto x = randn(static_cast<size_t>(s.tokens * cols), 400 + static_cast<uint32_t>(s.tokens));
    ridge::test::expect_paths_agree_bitwise(W, x, s.tokens, paths, pool,
                                            "rows " + std::to_string(s.rows) + " blocks " + std::to_string(s.blocks) +
                                                " tokens " + std::to_string(s.tokens));
    if (HasFatalFailure()) return;
  }
}

// The AMX kernel (prefill, 32 tokens and more, where the CPU has AMX-INT8)
// forms the same integer sums as the AVX-512 VNNI tiles and the same float
// operations after them: the same bits, partial token tiles, partial panels,
// several chunks and odd block counts included; a non-finite activation
// reaches its token's outputs the same way; nothing past the output is written.
TEST_P(PackedMatmul, AmxAgreesBitwiseWithAvx512) {
  const GgmlType type = GetParam();
  if (!kernels::amx_int8_usable())
    GTEST_SKIP() << "no AMX-INT8 here (CPU, OS tile state, or RIDGE_AMX=0): the AMX kernel is not run";
  kernels::ThreadPool pool(3);
  for (const Shape s : {Shape{37, 5, 32}, Shape{150, 131, 35}, Shape{33, 64, 70}, Shape{17, 1, 100},
                        Shape{64, 3, 129}, Shape{200, 176, 47}}) {
    SCOPED_TRACE("rows " + std::to_string(s.rows) + " blocks " + std::to_string(s.blocks) + " tokens " +
                 std::to_string(s.tokens));
    const int64_t cols = s.blocks * 32;
    auto bytes = make_weights(type, s.rows, cols, 500 + static_cast<uint32_t>(s.rows), true);
    const auto pm = ridge::test::packed_matrix(type, bytes, s.rows, cols);
    auto x = randn(static_cast<size_t>(s.tokens * cols), 600 + static_cast<uint32_t>(s.tokens));
    for (size_t i = 0; i < x.size(); i += 41) x[i] *= 30.f;
    x[static_cast<size_t>((s.tokens / 2) * cols)] = std::numeric_limits<float>::infinity();
    const size_t n_out = static_cast<size_t>(s.tokens * s.rows);
    std::vector<float> amx(n_out + kGuard, -7.f), vnni(n_out + kGuard, -7.f);
    kernels::matmul(pm.W, x.data(), s.tokens, amx.data(), pool, KernelPath::Avx512);
    kernels::allow_amx_int8(false);
    kernels::matmul(pm.W, x.data(), s.tokens, vnni.data(), pool, KernelPath::Avx512);
    kernels::allow_amx_int8(true);
    ASSERT_EQ(std::memcmp(amx.data(), vnni.data(), amx.size() * sizeof(float)), 0) << "AMX and AVX-512 differ";
    for (int64_t i = 0; i < kGuard; ++i) ASSERT_EQ(amx[n_out + static_cast<size_t>(i)], -7.f) << "written past the output";
    const size_t nan_row = static_cast<size_t>((s.tokens / 2) * s.rows);
    EXPECT_FALSE(std::isfinite(amx[nan_row])) << "the infinite activation's token";
  }
}

// The AVX-512 tiles load a line of weights whole or in two halves by CPU
// vendor (g_whole_line_loads, prefetch.h): the same bits either way.
TEST_P(PackedMatmul, LineLoadWidthKeepsTheBits) {
  const GgmlType type = GetParam();
  if (!kernels::kernel_path_supported(KernelPath::Avx512)) GTEST_SKIP() << "no AVX-512 on this CPU";
  kernels::ThreadPool pool(2);
  const int saved = kernels::isa::g_whole_line_loads;
  for (const Shape s : {Shape{37, 5, 1}, Shape{50, 70, 3}, Shape{21, 4, 9}}) {
    const int64_t cols = s.blocks * 32;
    auto bytes = make_weights(type, s.rows, cols, 900 + static_cast<uint32_t>(s.rows), true);
    const auto pm = ridge::test::packed_matrix(type, bytes, s.rows, cols);
    auto x = randn(static_cast<size_t>(s.tokens * cols), 1000 + static_cast<uint32_t>(s.tokens));
    std::vector<float> halves(static_cast<size_t>(s.tokens * s.rows)), whole(halves.size());
    kernels::isa::g_whole_line_loads = 0;
    kernels::matmul(pm.W, x.data(), s.tokens, halves.data(), pool, KernelPath::Avx512);
    kernels::isa::g_whole_line_loads = 1;
    kernels::matmul(pm.W, x.data(), s.tokens, whole.data(), pool, KernelPath::Avx512);
    kernels::isa::g_whole_line_loads = saved;
    EXPECT_EQ(std::memcmp(halves.data(), whole.data(), halves.size() * sizeof(float)), 0)
        << "rows " << s.rows << " blocks " << s.blocks << " tokens " << s.tokens;
  }
}

TEST_P(PackedMatmul, NonFiniteActivationsReachTheOutput) {
  const GgmlType type = GetParam();
  const int64_t cols = 64, rows = 19;
  auto bytes = make_weights(type, rows, cols, 5, false);
  const auto pm = ridge::test::packed_matrix(type, bytes, rows, cols);
  const kernels::WeightMatrix& W = pm.W;
  auto x = randn(cols, 6);
  x[40] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> y(rows);
  kernels::ThreadPool pool(2);
  for (KernelPath path : kernels::supported_kernel_paths()) {
    kernels::matmul(W, x.data(), 1, y.data(), pool, path);
    for (float v : y) EXPECT_TRUE(std::isnan(v)) << kernels::kernel_path_name(path);
  }
}

// Paths without a packed kernel ignore the copy: the same bits as without it.
// For every type with a packed layout, the K types (packed_kquant_test.cpp) included.
TEST(PackedMatmulAnyType, PathsWithoutPackedKernelReadTheOriginalRows) {
  const int64_t cols = 512, rows = 21, tokens = 3;  // whole blocks of 32 and 256
  auto x = randn(static_cast<size_t>(tokens * cols), 8);
  kernels::ThreadPool pool(2);
  for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q6_K}) {
    ASSERT_TRUE(kernels::can_pack(type)) << ggml_type_name(type);
    auto bytes = make_weights(type, rows, cols, 7, false);
    const kernels::WeightMatrix W{type, bytes.data(), cols, rows, ggml_row_bytes(type, cols)};
    auto packed = kernels::pack_weights(W);
    kernels::WeightMatrix P = W;
    P.packed = packed.get();
    for (KernelPath path : kernels::supported_kernel_paths()) {
      if (kernels::packed_matmul_supported(type, path)) continue;
      SCOPED_TRACE(std::string(kernels::kernel_path_name(path)) + " " + std::string(ggml_type_name(type)));
      std::vector<float> a(static_cast<size_t>(tokens * rows)), b(a.size());
      kernels::matmul(W, x.data(), tokens, a.data(), pool, path);
      kernels::matmul(P, x.data(), tokens, b.data(), pool, path);
      for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "index " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(PackedTypes, PackedMatmul, ::testing::ValuesIn(kPackedTypes),
                         [](const auto& info) { return std::string(ggml_type_name(info.param)); });

TEST(PackWeights, RejectsTypesWithoutLayoutAndMismatchedCopies) {
  std::vector<uint8_t> q4(ggml_row_bytes(GgmlType::Q4_0, 64) * 20), q8(ggml_row_bytes(GgmlType::Q8_0, 64) * 20);
  std::vector<float> f32(64 * 20);
  const kernels::WeightMatrix F{GgmlType::F32, reinterpret_cast<const uint8_t*>(f32.data()), 64, 20, 256};
  EXPECT_FALSE(kernels::can_pack(GgmlType::F32));
  EXPECT_FALSE(kernels::can_pack(GgmlType::Q5_K));
  EXPECT_THROW(kernels::pack_weights(F), std::invalid_argument);
  kernels::WeightMatrix short_rows{GgmlType::Q4_0, q4.data(), 64, 20, 20};
  EXPECT_THROW(kernels::pack_weights(short_rows), std::invalid_argument);

  const kernels::WeightMatrix A{GgmlType::Q4_0, q4.data(), 64, 20, ggml_row_bytes(GgmlType::Q4_0, 64)};
  const kernels::WeightMatrix B{GgmlType::Q8_0, q8.data(), 64, 20, ggml_row_bytes(GgmlType::Q8_0, 64)};
  auto pa = kernels::pack_weights(A);
  EXPECT_EQ(pa->panels, 2);
  EXPECT_EQ(pa->blocks, 2);
  kernels::WeightMatrix wrong = B;
  wrong.packed = pa.get();  // a Q4_0 copy on a Q8_0 matrix
  kernels::WeightMatrix fewer_rows = A;
  fewer_rows.rows = 19;
  fewer_rows.packed = pa.get();
  std::vector<float> x(64), y(20);
  kernels::ThreadPool pool(1);
  for (KernelPath path : kernels::supported_kernel_paths()) {
    EXPECT_THROW(kernels::matmul(wrong, x.data(), 1, y.data(), pool, path), std::invalid_argument);
    EXPECT_THROW(kernels::matmul(fewer_rows, x.data(), 1, y.data(), pool, path), std::invalid_argument);
  }
}

// One fan-out over several matrices (matmul_multi) gives, bit for bit, what
// separate matmul calls give: matrices of different types (32- and 256-wide
// activation blocks, float weights), packed and unpacked, row counts that are
// not whole panels, a matrix with no rows, on every kernel path and for decode
// (1 token, long contiguous runs per thread) and prefill-like token counts.
TEST(MatmulMulti, EqualsSeparateCallsBitwiseOnEveryPath) {
  const int64_t cols = 512;
  struct M {
    GgmlType type;
    int64_t rows;
    bool pack;
  };
  const std::vector<M> specs = {{GgmlType::Q4_0, 77, true},  {GgmlType::Q8_0, 33, true}, {GgmlType::Q4_K, 40, false},
                                {GgmlType::Q4_0, 0, false},  {GgmlType::F16, 19, false}, {GgmlType::Q6_K, 16, false},
                                {GgmlType::Q4_0, 130, false}, {GgmlType::Q4_K, 37, true}, {GgmlType::Q6_K, 21, true}};
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<kernels::WeightMatrix> ws;
  std::vector<std::unique_ptr<kernels::PackedWeights>> packs;
  uint32_t seed = 7;
  for (const M& m : specs)
    bytes.push_back(m.rows > 0 ? make_weights(m.type, m.rows, cols, seed++, false) : std::vector<uint8_t>(1));
  for (size_t i = 0; i < specs.size(); ++i) {
    kernels::WeightMatrix w{specs[i].type, bytes[i].data(), cols, specs[i].rows, ggml_row_bytes(specs[i].type, cols)};
    if (specs[i].pack && specs[i].rows > 0) {
      packs.push_back(kernels::pack_weights(w));
      w.packed = packs.back().get();
    }
    ws.push_back(w);
  }
  std::vector<const kernels::WeightMatrix*> wp;
  for (auto& w : ws) wp.push_back(&w);
  kernels::ThreadPool pool(3);
  for (KernelPath path : kernels::supported_kernel_paths())
    for (int64_t tokens : {1, 3, 9}) {
      SCOPED_TRACE(std::string(kernels::kernel_path_name(path)) + " tokens=" + std::to_string(tokens));
      auto x = randn(static_cast<size_t>(tokens * cols), 99 + static_cast<uint32_t>(tokens));
      std::vector<std::vector<float>> fused(ws.size()), separate(ws.size());
      std::vector<float*> ys;
      for (size_t i = 0; i < ws.size(); ++i) {
        fused[i].assign(static_cast<size_t>(tokens * ws[i].rows), -1.f);
        separate[i].assign(fused[i].size(), -2.f);
        ys.push_back(fused[i].data());
      }
      kernels::matmul_multi(wp, x.data(), tokens, ys, pool, path);
      for (size_t i = 0; i < ws.size(); ++i) kernels::matmul(ws[i], x.data(), tokens, separate[i].data(), pool, path);
      for (size_t i = 0; i < ws.size(); ++i)
        for (size_t j = 0; j < fused[i].size(); ++j)
          ASSERT_EQ(std::memcmp(&fused[i][j], &separate[i][j], sizeof(float)), 0)
              << "matrix " << i << " element " << j << ": " << fused[i][j] << " vs " << separate[i][j];
    }
}

TEST(MatmulMulti, RefusesMatricesOfDifferentWidthsAndMismatchedOutputs) {
  auto a = make_weights(GgmlType::Q8_0, 4, 64, 1, false), b = make_weights(GgmlType::Q8_0, 4, 96, 2, false);
  kernels::WeightMatrix A{GgmlType::Q8_0, a.data(), 64, 4, ggml_row_bytes(GgmlType::Q8_0, 64)};
  kernels::WeightMatrix B{GgmlType::Q8_0, b.data(), 96, 4, ggml_row_bytes(GgmlType::Q8_0, 96)};
  std::vector<float> x(96), y1(4), y2(4);
  kernels::ThreadPool pool(2);
  const kernels::WeightMatrix* ws[] = {&A, &B};
  float* ys[] = {y1.data(), y2.data()};
  try {
    kernels::matmul_multi(ws, x.data(), 1, ys, pool);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("64 and 96 columns"), std::string::npos) << e.what();
  }
  float* one[] = {y1.data()};
  EXPECT_THROW(kernels::matmul_multi(ws, x.data(), 1, std::span<float* const>(one), pool), std::invalid_argument);
}
