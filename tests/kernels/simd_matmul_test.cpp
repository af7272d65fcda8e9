// Every SIMD kernel path this CPU supports against references on random inputs
// of awkward sizes (rows not a multiple of the row tile, 1..9 tokens, 1..5
// blocks per row), for every weight type:
//  - quantized weights against a double-precision dot of the dequantized
//    weights with the same 8-bit activations the kernel multiplies (tight), and
//    against the float activations within a bound computed from the activation
//    rounding itself (each level is within d/2 of its value);
//  - float weights (F32, F16, BF16) against the double dot of the float inputs.
// Plus the activation quantizer's contract, bitwise independence of a result
// from batch composition and thread count, kernel-path selection, and the
// per-token vector kernels against the scalar path.
#include <cpuid.h>
#include <gtest/gtest.h>

#include "common/random.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/activation_quant.h"
#include "kernels/cpu_features.h"
#include "kernels/prefetch.h"
#include "kernels/ops.h"
#include "kernels/thread_pool.h"
#include "tensor/quant.h"

using namespace ridge;
using kernels::KernelPath;

namespace {

using ridge::test::randn;

std::vector<KernelPath> simd_paths() {
  std::vector<KernelPath> out;
  for (KernelPath p : kernels::supported_kernel_paths())
    if (p != KernelPath::Scalar) out.push_back(p);
  return out;
}

// Offsets of the f16 scale fields in one block, so random block bytes can be
// given sane scales (random bits elsewhere exercise every level pattern).
std::vector<size_t> half_fields(GgmlType t) {
  switch (t) {
    case GgmlType::Q4_0:
    case GgmlType::Q5_0:
    case GgmlType::Q8_0: return {0};
    case GgmlType::Q4_1:
    case GgmlType::Q5_1:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K: return {0, 2};
    case GgmlType::Q6_K: return {208};
    case GgmlType::Q2_K: return {80, 82};
    case GgmlType::Q3_K: return {108};
    default: return {};
  }
}

bool is_float_type(GgmlType t) { return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16; }

// Weights for a test: quantized from Gaussian floats, or (for block types)
// random bytes with small random scales.
std::vector<uint8_t> make_weights(GgmlType type, int64_t rows, int64_t cols, uint32_t seed, bool random_bytes) {
  if (!random_bytes || is_float_type(type)) {
    auto w = randn(static_cast<size_t>(rows * cols), seed);
    return tensor::quantize(type, w.data(), rows, cols);
  }
  const auto tr = ggml_type_traits(type);
  std::vector<uint8_t> bytes(ggml_row_bytes(type, cols) * rows);
  std::mt19937 g(seed);
  for (auto& b : bytes) b = static_cast<uint8_t>(g());
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  for (size_t blk = 0; blk < bytes.size() / tr.block_bytes; ++blk)
    for (size_t off : half_fields(type)) {
      const uint16_t h = tensor::fp32_to_fp16(scale(g));
      std::memcpy(&bytes[blk * tr.block_bytes + off], &h, 2);
    }
  return bytes;
}

// The activation block a SIMD matmul quantizes to for `type` (0: none).
int64_t activation_block(GgmlType t) {
  switch (t) {
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q5_0:
    case GgmlType::Q5_1:
    case GgmlType::Q8_0: return 32;
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K: return 256;
    default: return 0;
  }
}

struct Shape {
  int64_t rows, blocks, tokens;
};

std::string describe(KernelPath p, GgmlType t, const Shape& s) {
  return std::string(kernels::kernel_path_name(p)) + " " + std::string(ggml_type_name(t)) + " rows=" +
         std::to_string(s.rows) + " blocks=" + std::to_string(s.blocks) + " tokens=" + std::to_string(s.tokens);
}

// Runs one shape on `path` and checks it against both references.
void check_matmul(KernelPath path, GgmlType type, const Shape& s, uint32_t seed, bool random_bytes,
                  kernels::ThreadPool& pool) {
  SCOPED_TRACE(describe(path, type, s) + (random_bytes ? " (random bytes)" : ""));
  const auto tr = ggml_type_traits(type);
  // Float types get widths that are not a multiple of any vector width.
  const int64_t cols = is_float_type(type) ? s.blocks * 13 + 2 : s.blocks * tr.block_size;
  auto bytes = make_weights(type, s.rows, cols, seed, random_bytes);
  kernels::WeightMatrix W{type, bytes.data(), cols, s.rows, ggml_row_bytes(type, cols)};
  auto x = randn(static_cast<size_t>(s.tokens * cols), seed + 1000);
  // A few large activations, as real models have, so block scales vary widely.
  for (size_t i = 0; i < x.size(); i += 37) x[i] *= 20.f;
  std::vector<float> y(static_cast<size_t>(s.tokens * s.rows), std::numeric_limits<float>::quiet_NaN());
  kernels::matmul(W, x.data(), s.tokens, y.data(), pool, path);

  const bool quantizes = kernels::matmul_quantizes_activations(type, path);
  const int64_t ab = activation_block(type);
  ASSERT_EQ(quantizes, ab > 0);
  kernels::QuantizedActivationBuffer qx;
  if (quantizes) kernels::quantize_activations(x.data(), s.tokens, cols, ab, qx);

  std::vector<float> wrow(static_cast<size_t>(cols));
  for (int64_t r = 0; r < s.rows; ++r) {
    kernels::get_row(W, r, wrow.data());
    for (int64_t t = 0; t < s.tokens; ++t) {
      const float* xt = &x[static_cast<size_t>(t * cols)];
      const float got = y[static_cast<size_t>(t * s.rows + r)];
      double exact = 0, mag = 0;
      for (int64_t c = 0; c < cols; ++c) {
        exact += static_cast<double>(wrow[c]) * xt[c];
        mag += std::abs(static_cast<double>(wrow[c]) * xt[c]);
      }
      if (!quantizes) {
        ASSERT_NEAR(got, exact, 1e-5 * mag + 1e-6) << "row " << r << " token " << t;
        continue;
      }
      // Same 8-bit activations as the kernel: only float rounding may differ.
      double same = 0, same_mag = 0, bound = 0;
      for (int64_t b = 0; b < cols / ab; ++b) {
        const size_t bi = static_cast<size_t>(t * (cols / ab) + b);
        const double d = qx.d[bi];
        double wabs = 0;
        for (int64_t c = b * ab; c < (b + 1) * ab; ++c) {
          const double xq = d * qx.q[static_cast<size_t>(t * cols + c)];
          same += wrow[c] * xq;
          same_mag += std::abs(wrow[c] * xq);
          wabs += std::abs(static_cast<double>(wrow[c]));
        }
        bound += d / 2 * wabs;  // |x - d q| <= d / 2 for every element
      }
      ASSERT_NEAR(got, same, 2e-6 * same_mag + 1e-6) << "row " << r << " token " << t << " (same activations)";
      ASSERT_NEAR(got, exact, bound * 1.001 + 1e-5 * mag + 1e-6) << "row " << r << " token " << t << " (float)";
    }
  }
}

const std::vector<GgmlType> kAllTypes = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0,
                                         GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                                         GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q2_K,
                                         GgmlType::Q3_K};

}  // namespace

class SimdMatmul : public ::testing::TestWithParam<GgmlType> {};

TEST_P(SimdMatmul, MatchesReferencesOnAwkwardShapes) {
  const GgmlType type = GetParam();
  const auto paths = simd_paths();
  if (paths.empty()) GTEST_SKIP() << "this CPU supports no SIMD kernel path";
  kernels::ThreadPool pool(3);
  uint32_t seed = 1;
  for (KernelPath path : paths) {
    for (int64_t blocks = 1; blocks <= 5; ++blocks)
      for (int64_t tokens : {1, 2, 3, 4, 5, 6, 7, 8, 9})
        for (int64_t rows : {1, 3, 6, 13}) {
          if ((blocks + tokens + rows) % 2 == 0 && tokens > 2) continue;  // thin the grid, keep every value
          check_matmul(path, type, {rows, blocks, tokens}, seed++, false, pool);
          if (HasFatalFailure()) return;
        }
    if (!is_float_type(type)) {
      for (int64_t tokens : {1, 4, 9}) {
        check_matmul(path, type, {7, 3, tokens}, seed++, true, pool);
        if (HasFatalFailure()) return;
      }
    }
  }
}

// A (row, token) result must not depend on which other tokens share the call
// (batched decode vs alone) or on the thread count: the same bits either way.
TEST_P(SimdMatmul, ResultsIndependentOfBatchAndThreads) {
  const GgmlType type = GetParam();
  const auto tr = ggml_type_traits(type);
  const int64_t rows = 29, cols = is_float_type(type) ? 203 : 3 * tr.block_size, tokens = 9;
  auto bytes = make_weights(type, rows, cols, 77, false);
  kernels::WeightMatrix W{type, bytes.data(), cols, rows, ggml_row_bytes(type, cols)};
  auto x = randn(static_cast<size_t>(tokens * cols), 78);
  kernels::ThreadPool one(1), three(3);
  for (KernelPath path : kernels::supported_kernel_paths()) {
    SCOPED_TRACE(kernels::kernel_path_name(path));
    std::vector<float> all(static_cast<size_t>(tokens * rows)), all3(all.size()), alone(static_cast<size_t>(rows));
    kernels::matmul(W, x.data(), tokens, all.data(), one, path);
    kernels::matmul(W, x.data(), tokens, all3.data(), three, path);
    for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], all3[i]) << "index " << i;
    for (int64_t t = 0; t < tokens; ++t) {
      kernels::matmul(W, &x[static_cast<size_t>(t * cols)], 1, alone.data(), three, path);
      for (int64_t r = 0; r < rows; ++r) ASSERT_EQ(alone[r], all[static_cast<size_t>(t * rows + r)]) << r << "," << t;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, SimdMatmul, ::testing::ValuesIn(kAllTypes),
                         [](const auto& info) { return std::string(ggml_type_name(info.param)); });

TEST(SimdMatmul, RejectsWidthsThatAreNotWholeBlocks) {
  std::vector<uint8_t> bytes(1024);
  kernels::WeightMatrix W{GgmlType::Q4_0, bytes.data(), 48, 1, 27};
  std::vector<float> x(48), y(1);
  kernels::ThreadPool pool(1);
  for (KernelPath path : kernels::supported_kernel_paths())
    EXPECT_THROW(kernels::matmul(W, x.data(), 1, y.data(), pool, path), std::invalid_argument);
}

TEST(SimdMatmul, NonFiniteActivationsReachTheOutput) {
  const int64_t cols = 64, rows = 5;
  auto w = randn(rows * cols, 3);
  auto bytes = tensor::quantize(GgmlType::Q4_0, w.data(), rows, cols);
  kernels::WeightMatrix W{GgmlType::Q4_0, bytes.data(), cols, rows, ggml_row_bytes(GgmlType::Q4_0, cols)};
  auto x = randn(cols, 4);
  x[40] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> y(rows);
  kernels::ThreadPool pool(2);
  for (KernelPath path : kernels::supported_kernel_paths()) {
    kernels::matmul(W, x.data(), 1, y.data(), pool, path);
    for (float v : y) EXPECT_TRUE(std::isnan(v)) << kernels::kernel_path_name(path);
  }
}

// ---- activation quantization

TEST(ActivationQuant, LevelsAreNearestWithinHalfAStepAndSumsMatch) {
  for (int64_t block : {32, 256}) {
    const int64_t cols = block * 3, tokens = 4;
    auto x = randn(static_cast<size_t>(cols * tokens), 11 + block, 3.f);
    std::fill(x.begin() + block, x.begin() + 2 * block, 0.f);  // an all-zero block
    kernels::QuantizedActivationBuffer q;
    kernels::quantize_activations(x.data(), tokens, cols, block, q);
    const int64_t nb = cols / block;
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t b = 0; b < nb; ++b) {
        const size_t bi = static_cast<size_t>(t * nb + b);
        const double d = q.d[bi];
        int max_level = 0;
        int64_t sum = 0;
        for (int64_t i = 0; i < block; ++i) {
          const size_t e = static_cast<size_t>(t * cols + b * block + i);
          const int level = q.q[e];
          EXPECT_LE(std::abs(level), 127);
          EXPECT_LE(std::abs(x[e] - d * level), d / 2 * (1 + 1e-6) + 1e-30) << "element " << e;
          max_level = std::max(max_level, std::abs(level));
          sum += level;
        }
        if (t == 0 && b == 1) {
          EXPECT_EQ(d, 0.0);
          EXPECT_EQ(max_level, 0);
        } else {
          EXPECT_EQ(max_level, 127) << "the largest |x| maps to the top level";
        }
        if (block == 32) {
          EXPECT_EQ(q.sum[bi], sum);
          EXPECT_FLOAT_EQ(q.dsum[bi], static_cast<float>(d * sum));
        } else {
          int64_t s16 = 0;
          for (int g = 0; g < 16; ++g) {
            int expect = 0;
            for (int i = 0; i < 16; ++i) expect += q.q[static_cast<size_t>(t * cols + b * block + 16 * g + i)];
            EXPECT_EQ(q.bsum16[bi * 16 + g], expect);
            s16 += expect;
            if (g % 2 == 1) {
              EXPECT_EQ(q.bsum32[bi * 8 + g / 2], q.bsum16[bi * 16 + g - 1] + q.bsum16[bi * 16 + g]);
            }
          }
          EXPECT_EQ(s16, sum);
        }
      }
  }
}

TEST(ActivationQuant, RoundsHalfToEven) {
  // amax 127 makes the scale exactly 1, so x itself is the level before rounding.
  std::vector<float> x(32, 0.f);
  x[0] = 127.f;
  x[1] = 2.5f;
  x[2] = -3.5f;
  x[3] = 0.5f;
  x[4] = 1.4999f;
  kernels::QuantizedActivationBuffer q;
  kernels::quantize_activations(x.data(), 1, 32, 32, q);
  EXPECT_EQ(q.d[0], 1.f);
  EXPECT_EQ(q.q[1], 2);
  EXPECT_EQ(q.q[2], -4);
  EXPECT_EQ(q.q[3], 0);
  EXPECT_EQ(q.q[4], 1);
}

// Every path's quantizer gives the scalar code's bytes exactly: Gaussian
// blocks, exact halves (ties), all-zero blocks, denormal-small blocks (whose
// 127 / amax overflows), huge values, NaN and infinities.
TEST(ActivationQuant, EverySimdPathEqualsTheScalarCodeBitForBit) {
  for (int64_t block : {32, 256}) {
    const int64_t blocks = 9, cols = block * blocks, tokens = 5;
    auto x = randn(static_cast<size_t>(cols * tokens), 21 + static_cast<uint32_t>(block), 2.f);
    for (int64_t t = 0; t < tokens; ++t) {
      float* row = x.data() + t * cols;
      std::fill(row + 1 * block, row + 2 * block, 0.f);
      for (int64_t i = 0; i < block; ++i) row[2 * block + i] = static_cast<float>(i % 7) * 1e-39f * (i % 2 ? 1 : -1);
      for (int64_t i = 0; i < block; ++i) row[3 * block + i] = (static_cast<float>(i) - 63.5f) * (i % 3 == 0 ? 1e30f : 1.f);
      for (int64_t i = 0; i < block; ++i) row[4 * block + i] = static_cast<float>(i % 5) - 2.f + 0.5f;  // ties
      row[4 * block] = 127.f;                                                                          // scale 1
      row[5 * block + 3] = std::numeric_limits<float>::quiet_NaN();
      row[6 * block + block - 1] = -std::numeric_limits<float>::infinity();
      row[7 * block] = std::numeric_limits<float>::max();
    }
    kernels::QuantizedActivationBuffer ref;
    kernels::quantize_activations(x.data(), tokens, cols, block, ref, nullptr, KernelPath::Scalar);
    for (KernelPath path : kernels::supported_kernel_paths()) {
      SCOPED_TRACE(std::string(kernels::kernel_path_name(path)) + " block " + std::to_string(block));
      kernels::QuantizedActivationBuffer q;
      kernels::quantize_activations(x.data(), tokens, cols, block, q, nullptr, path);
      ASSERT_EQ(q.q, ref.q);
      ASSERT_EQ(q.sum, ref.sum);
      ASSERT_EQ(q.bsum16, ref.bsum16);
      ASSERT_EQ(q.bsum32, ref.bsum32);
      ASSERT_EQ(q.d.size(), ref.d.size());
      for (size_t i = 0; i < q.d.size(); ++i) {
        ASSERT_EQ(std::memcmp(&q.d[i], &ref.d[i], sizeof(float)) == 0 || (std::isnan(q.d[i]) && std::isnan(ref.d[i])), true)
            << "d[" << i << "] " << q.d[i] << " vs " << ref.d[i];
        if (block == 32) {
          ASSERT_TRUE(std::memcmp(&q.dsum[i], &ref.dsum[i], sizeof(float)) == 0 ||
                      (std::isnan(q.dsum[i]) && std::isnan(ref.dsum[i])))
              << "dsum[" << i << "]";
        }
      }
      for (int64_t t = 0; t < tokens; ++t) {
        const size_t tiny = static_cast<size_t>((t * blocks + 2) * block);
        for (int64_t i = 0; i < block; ++i) ASSERT_EQ(q.q[tiny + static_cast<size_t>(i)], 0) << "denormal block";
      }
    }
  }
}

TEST(ActivationQuant, NonFiniteBlockGetsNaNScaleAndBadSizesThrow) {
  std::vector<float> x(64, 1.f);
  x[33] = std::numeric_limits<float>::infinity();
  kernels::QuantizedActivationBuffer q;
  kernels::quantize_activations(x.data(), 1, 64, 32, q);
  EXPECT_EQ(q.d[0], 1.f / 127.f);
  EXPECT_TRUE(std::isnan(q.d[1]));
  EXPECT_THROW(kernels::quantize_activations(x.data(), 1, 48, 32, q), std::invalid_argument);
  EXPECT_THROW(kernels::quantize_activations(x.data(), 1, 64, 64, q), std::invalid_argument);
}

// ---- kernel path selection

TEST(KernelPathSelection, ResolvesRequestsAndFallsBackWithAWarning) {
  kernels::CpuFeatures none;
  kernels::CpuFeatures avx2 = none;
  avx2.avx = avx2.avx2 = avx2.fma = avx2.f16c = avx2.bmi2 = avx2.os_ymm = true;
  kernels::CpuFeatures all = avx2;
  all.avx512f = all.avx512bw = all.avx512vl = all.avx512dq = all.avx512vnni = all.avx512bf16 = all.os_zmm = true;
  kernels::CpuFeatures no_os_zmm = all;
  no_os_zmm.os_zmm = false;
  std::string warning;

  EXPECT_EQ(kernels::resolve_kernel_path(nullptr, all, &warning), KernelPath::Avx512);
  EXPECT_TRUE(warning.empty());
  EXPECT_EQ(kernels::resolve_kernel_path("", avx2, &warning), KernelPath::Avx2);
  EXPECT_EQ(kernels::resolve_kernel_path(nullptr, none, &warning), KernelPath::Scalar);
  EXPECT_EQ(kernels::resolve_kernel_path("scalar", all, &warning), KernelPath::Scalar);
  EXPECT_TRUE(warning.empty());
  EXPECT_EQ(kernels::resolve_kernel_path("avx2", all, &warning), KernelPath::Avx2);
  EXPECT_TRUE(warning.empty());

  EXPECT_EQ(kernels::resolve_kernel_path("avx512", avx2, &warning), KernelPath::Avx2);
  EXPECT_NE(warning.find("avx512"), std::string::npos);
  EXPECT_EQ(kernels::resolve_kernel_path("avx512", no_os_zmm, &warning), KernelPath::Avx2)
      << "AVX-512 without OS support for the zmm state must not be used";
  EXPECT_EQ(kernels::resolve_kernel_path("avx2", none, &warning), KernelPath::Scalar);
  EXPECT_FALSE(warning.empty());
  EXPECT_EQ(kernels::resolve_kernel_path("neon", avx2, &warning), KernelPath::Avx2);
  EXPECT_NE(warning.find("neon"), std::string::npos);

  kernels::CpuFeatures avx2_no_f16c = avx2;
  avx2_no_f16c.f16c = false;
  EXPECT_FALSE(kernels::kernel_path_supported(KernelPath::Avx2, avx2_no_f16c));
  kernels::CpuFeatures no_vnni = all;
  no_vnni.avx512vnni = false;
  EXPECT_EQ(kernels::best_kernel_path(no_vnni), KernelPath::Avx2);
}

TEST(KernelPathSelection, ActivePathIsSupportedAndNamed) {
  const KernelPath p = kernels::active_kernel_path();
  EXPECT_TRUE(kernels::kernel_path_supported(p));
  EXPECT_STREQ(kernels::kernel_path_name(), kernels::kernel_path_name(p));
  EXPECT_EQ(kernels::supported_kernel_paths().front(), KernelPath::Scalar);
  // The detected features agree with what the paths claim.
  const auto f = kernels::detect_cpu_features();
  EXPECT_EQ(kernels::kernel_path_supported(KernelPath::Avx512), kernels::kernel_path_supported(KernelPath::Avx512, f));
}

TEST(LinePrefetchSelection, VendorDefaultsAndRequests) {
  using kernels::LinePrefetch;
  kernels::CpuFeatures amd, intel, other;
  amd.vendor = kernels::CpuVendor::Amd;
  intel.vendor = kernels::CpuVendor::Intel;
  std::string warning = "stale";
  auto is = [](kernels::LinePrefetchPolicy p, LinePrefetch stream, LinePrefetch light) {
    return p.stream == stream && p.light == light;
  };
  EXPECT_TRUE(is(kernels::resolve_line_prefetch(nullptr, amd, &warning), LinePrefetch::Nta, LinePrefetch::None));
  EXPECT_TRUE(warning.empty());
  EXPECT_TRUE(is(kernels::resolve_line_prefetch("", intel, &warning), LinePrefetch::T1, LinePrefetch::T1));
  EXPECT_TRUE(is(kernels::resolve_line_prefetch(nullptr, other, &warning), LinePrefetch::T0, LinePrefetch::None));
  // A request sets every stream's hint, whatever the vendor.
  EXPECT_TRUE(is(kernels::resolve_line_prefetch("none", intel, &warning), LinePrefetch::None, LinePrefetch::None));
  EXPECT_TRUE(is(kernels::resolve_line_prefetch("nta", intel, &warning), LinePrefetch::Nta, LinePrefetch::Nta));
  EXPECT_TRUE(is(kernels::resolve_line_prefetch("t0", amd, &warning), LinePrefetch::T0, LinePrefetch::T0));
  EXPECT_TRUE(is(kernels::resolve_line_prefetch("t1", amd, &warning), LinePrefetch::T1, LinePrefetch::T1));
  EXPECT_TRUE(warning.empty());
  // An unknown name: the default, and a warning naming it.
  EXPECT_TRUE(is(kernels::resolve_line_prefetch("t2", amd, &warning), LinePrefetch::Nta, LinePrefetch::None));
  EXPECT_NE(warning.find("RIDGE_PREFETCH=t2"), std::string::npos);
  EXPECT_STREQ(kernels::line_prefetch_name(LinePrefetch::T1), "prefetcht1");
  EXPECT_STREQ(kernels::line_prefetch_name(LinePrefetch::None), "none");
  // What this process runs with is what the kernels read.
  const kernels::LinePrefetchPolicy active = kernels::active_line_prefetch();
  EXPECT_EQ(static_cast<int>(active.stream), kernels::isa::g_lines_hint);
  EXPECT_EQ(static_cast<int>(active.light), kernels::isa::g_lines_hint_light);
}

TEST(LinePrefetchSelection, VendorIsDetected) {
  unsigned a, b, c, d;
  ASSERT_TRUE(__get_cpuid(0, &a, &b, &c, &d));
  const auto f = kernels::detect_cpu_features();
  const bool intel = b == 0x756e6547u && d == 0x49656e69u && c == 0x6c65746eu;  // "Genu" "ineI" "ntel"
  const bool amd = b == 0x68747541u && d == 0x69746e65u && c == 0x444d4163u;    // "Auth" "enti" "cAMD"
  EXPECT_EQ(f.vendor == kernels::CpuVendor::Intel, intel);
  EXPECT_EQ(f.vendor == kernels::CpuVendor::Amd, amd);
}

// ---- per-token vector kernels against the scalar path

TEST(SimdVectorKernels, RmsNormSiluAndAttentionMatchScalar) {
  for (KernelPath path : simd_paths()) {
    SCOPED_TRACE(kernels::kernel_path_name(path));
    for (int64_t n : {1, 7, 8, 9, 31, 77, 256}) {
      auto x = randn(static_cast<size_t>(n), 5 + n), w = randn(static_cast<size_t>(n), 6 + n);
      std::vector<float> want(n), got(n);
      kernels::rmsnorm(x.data(), w.data(), n, 1e-5f, want.data(), KernelPath::Scalar);
      kernels::rmsnorm(x.data(), w.data(), n, 1e-5f, got.data(), path);
      for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(got[i], want[i], 1e-6 * std::abs(want[i]) + 1e-7) << n << " " << i;

      auto g = randn(static_cast<size_t>(n), 7 + n, 6.f), u = randn(static_cast<size_t>(n), 8 + n);
      g[0] = -100.f;  // exp(-g) overflows in float; silu is ~0
      if (n > 1) g[1] = 95.f;
      auto g_ref = g;
      kernels::silu_mul(g_ref.data(), u.data(), n, KernelPath::Scalar);
      kernels::silu_mul(g.data(), u.data(), n, path);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_NEAR(g[i], g_ref[i], 2e-6 * std::abs(g_ref[i]) + 1e-30) << n << " " << i;
    }
  }
}
