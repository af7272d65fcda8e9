// quantize -> dequantize on random data of awkward sizes (several blocks, several
// rows), with per-type error bounds; zeros, constant rows and outliers; and the
// error figures per type, printed for the record.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tensor/quant.h"

namespace ridge::tensor {
namespace {

struct TypeBound {
  GgmlType type;
  // Bound on sqrt(sum (x - y)^2 / sum x^2) for N(0, 1) data. Measured values are
  // printed by ErrorFigures; the bounds leave ~15% headroom over them.
  double max_relative_rms;
};

constexpr TypeBound kQuantizedTypes[] = {
    {GgmlType::Q8_0, 0.0062}, {GgmlType::Q8_K, 0.0080}, {GgmlType::Q6_K, 0.0195}, {GgmlType::Q5_1, 0.0440},
    {GgmlType::Q5_0, 0.0500}, {GgmlType::Q5_K, 0.0410}, {GgmlType::Q4_1, 0.0900}, {GgmlType::Q4_0, 0.0990},
    {GgmlType::Q4_K, 0.0820}, {GgmlType::Q3_K, 0.1650}, {GgmlType::Q2_K, 0.3100},
};

int64_t block_size(GgmlType t) { return ggml_type_traits(t).block_size; }

std::vector<float> normal_data(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> x(n);
  for (auto& v : x) v = dist(rng);
  return x;
}

std::vector<float> roundtrip_rows(GgmlType t, const std::vector<float>& x, int64_t rows) {
  const int64_t n = static_cast<int64_t>(x.size()) / rows;
  const auto bytes = quantize(t, x.data(), rows, n);
  EXPECT_EQ(bytes.size(), static_cast<size_t>(rows) * ggml_row_bytes(t, n));
  std::vector<float> y(x.size());
  const size_t row_bytes = ggml_row_bytes(t, n);
  for (int64_t r = 0; r < rows; ++r)
    dequantize_row(t, bytes.data() + static_cast<size_t>(r) * row_bytes, y.data() + r * n, n);
  return y;
}

double relative_rms(const std::vector<float>& x, const std::vector<float>& y, size_t begin = 0, size_t end = SIZE_MAX) {
  end = std::min(end, x.size());
  double err = 0.0, sig = 0.0;
  for (size_t i = begin; i < end; ++i) {
    err += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
    sig += static_cast<double>(x[i]) * x[i];
  }
  return std::sqrt(err / sig);
}

std::string name_of(GgmlType t) { return std::string(ggml_type_name(t)); }

TEST(QuantizeRoundTrip, RandomNormalWithinPerTypeBounds) {
  for (const auto& [type, bound] : kQuantizedTypes) {
    // 3 rows of an awkward number of blocks (7 super-blocks or 37 small blocks).
    const int64_t n = block_size(type) == 256 ? 256 * 7 : 32 * 37;
    const auto x = normal_data(static_cast<size_t>(3 * n), 42);
    const auto y = roundtrip_rows(type, x, 3);
    const double rel = relative_rms(x, y);
    EXPECT_LT(rel, bound) << name_of(type);
    EXPECT_GT(rel, 0.0) << name_of(type) << ": lossy type came back exact on random data";
    for (size_t i = 0; i < y.size(); ++i) ASSERT_TRUE(std::isfinite(y[i])) << name_of(type) << " element " << i;
  }
}

TEST(QuantizeRoundTrip, ScaleInvariantAcrossMagnitudes) {
  // The same data at 1e-3 and 1e3 times the size keeps its relative error (the f16
  // scales have the range for it).
  for (const auto& [type, bound] : kQuantizedTypes) {
    const int64_t n = block_size(type) * 4;
    for (float sigma : {1e-3f, 1e3f}) {
      const auto x = normal_data(static_cast<size_t>(n), 7, sigma);
      const auto y = roundtrip_rows(type, x, 1);
      EXPECT_LT(relative_rms(x, y), bound * 1.3) << name_of(type) << " sigma " << sigma;
    }
  }
}

TEST(QuantizeRoundTrip, LegacyTypesStayWithinHalfAStepPerElement) {
  // For the 32-element types every element is within half a quantization step of its
  // input (a full step for Q4_0/Q5_0's clamped top level), step = the block's d.
  const auto x = normal_data(32 * 41, 9);
  for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q4_1, GgmlType::Q5_1, GgmlType::Q4_0, GgmlType::Q5_0}) {
    const auto bytes = quantize(t, x.data(), 1, static_cast<int64_t>(x.size()));
    std::vector<float> y(x.size());
    dequantize_row(t, bytes.data(), y.data(), static_cast<int64_t>(x.size()));
    const size_t block_bytes = ggml_type_traits(t).block_bytes;
    const bool symmetric_clamp = t == GgmlType::Q4_0 || t == GgmlType::Q5_0;
    for (size_t b = 0; b < x.size() / 32; ++b) {
      const uint16_t d_bits = static_cast<uint16_t>(bytes[b * block_bytes] | (bytes[b * block_bytes + 1] << 8));
      const double step = std::fabs(fp16_to_fp32(d_bits));
      // The levels were computed with the unrounded d; the stored f16 d is off by at
      // most 2^-11 relative, which moves level q by up to |q| * 2^-11 steps (|q| <= 128).
      const double bound = (symmetric_clamp ? 1.0 : 0.5) * step + 128 * step * 0x1p-11;
      for (size_t j = 0; j < 32; ++j) {
        const size_t i = b * 32 + j;
        ASSERT_LE(std::fabs(static_cast<double>(x[i]) - y[i]), bound) << name_of(t) << " element " << i;
      }
    }
  }
}

TEST(QuantizeRoundTrip, ZerosComeBackAsZeros) {
  for (const auto& [type, bound] : kQuantizedTypes) {
    const int64_t n = block_size(type) * 3;
    const std::vector<float> x(static_cast<size_t>(n), 0.0f);
    const auto y = roundtrip_rows(type, x, 1);
    for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], 0.0f) << name_of(type) << " element " << i;
  }
}

TEST(QuantizeRoundTrip, ConstantRowsComeBackNearlyExactly) {
  // A constant needs one level; the only loss is the f16 rounding of the scale(s):
  // about 2^-11 relative, more for 1e-3 where the K types' super-block scale
  // (c / 4096 for Q6_K) is an f16 subnormal with only a few significant bits.
  struct Case {
    float value, tolerance;
  };
  for (const auto& [type, bound] : kQuantizedTypes) {
    const int64_t n = block_size(type) * 2;
    for (Case c : {Case{0.75f, 2e-3f}, Case{-2.5f, 2e-3f}, Case{300.0f, 2e-3f}, Case{1e-3f, 5e-3f}}) {
      const std::vector<float> x(static_cast<size_t>(n), c.value);
      const auto y = roundtrip_rows(type, x, 1);
      for (size_t i = 0; i < y.size(); ++i)
        ASSERT_NEAR(y[i], c.value, std::fabs(c.value) * c.tolerance)
            << name_of(type) << " constant " << c.value << " element " << i;
    }
  }
}

TEST(QuantizeRoundTrip, OutliersAreKeptAndOtherBlocksUnharmed) {
  // One huge value per row: it must survive (it sets its block's scale), blocks
  // without it keep their normal quality, and nothing overflows.
  for (const auto& [type, bound] : kQuantizedTypes) {
    const int64_t bs = block_size(type);
    const int64_t n = bs * 5;
    auto x = normal_data(static_cast<size_t>(2 * n), 11);
    const size_t outlier0 = static_cast<size_t>(bs * 2 + 5), outlier1 = static_cast<size_t>(n + bs - 1);
    x[outlier0] = 250.0f;
    x[outlier1] = -1000.0f;
    const auto y = roundtrip_rows(type, x, 2);
    EXPECT_NEAR(y[outlier0], 250.0f, 250.0f * 0.02) << name_of(type);
    EXPECT_NEAR(y[outlier1], -1000.0f, 1000.0f * 0.02) << name_of(type);
    // Row 0 blocks 0, 1, 3, 4 hold no outlier.
    for (int64_t b : {0, 1, 3, 4}) {
      const auto begin = static_cast<size_t>(b * bs);
      EXPECT_LT(relative_rms(x, y, begin, begin + static_cast<size_t>(bs)), bound * 1.5)
          << name_of(type) << " block " << b;
    }
  }
}

TEST(QuantizeRoundTrip, SparseAndOneSidedData) {
  // Mostly zeros with a few values, and all-positive / all-negative data: shapes where
  // a scale search can go wrong (empty sub-blocks, the min clamp at zero).
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(0.1f, 2.0f);
  for (const auto& [type, bound] : kQuantizedTypes) {
    const int64_t n = block_size(type) * 3;
    std::vector<float> sparse(static_cast<size_t>(n), 0.0f), positive(static_cast<size_t>(n)),
        negative(static_cast<size_t>(n));
    for (size_t i = 0; i < sparse.size(); i += 37) sparse[i] = uniform(rng) * ((i / 37) % 2 ? 1.0f : -1.0f);
    for (auto& v : positive) v = uniform(rng);
    for (auto& v : negative) v = -uniform(rng);
    // Generous: these shapes are easy for affine types, harder for symmetric ones.
    EXPECT_LT(relative_rms(sparse, roundtrip_rows(type, sparse, 1)), bound * 1.5) << name_of(type) << " sparse";
    EXPECT_LT(relative_rms(positive, roundtrip_rows(type, positive, 1)), bound * 1.5) << name_of(type) << " positive";
    EXPECT_LT(relative_rms(negative, roundtrip_rows(type, negative, 1)), bound * 1.5) << name_of(type) << " negative";
  }
}

TEST(QuantizeRoundTrip, NonFiniteInputDoesNotCrash) {
  // Garbage in is allowed to give garbage out, but never undefined behaviour or a
  // crash; finite blocks next to the bad one stay good.
  for (const auto& [type, bound] : kQuantizedTypes) {
    const int64_t bs = block_size(type);
    auto x = normal_data(static_cast<size_t>(bs * 2), 5);
    x[3] = std::numeric_limits<float>::quiet_NaN();
    x[4] = std::numeric_limits<float>::infinity();
    x[5] = -std::numeric_limits<float>::infinity();
    const auto y = roundtrip_rows(type, x, 1);
    const auto begin = static_cast<size_t>(bs);
    EXPECT_LT(relative_rms(x, y, begin, begin + static_cast<size_t>(bs)), bound * 1.5) << name_of(type);
  }
}

TEST(QuantizeRoundTrip, FloatTypes) {
  const auto x = normal_data(1000, 1);
  EXPECT_EQ(roundtrip_rows(GgmlType::F32, x, 4), x);
  EXPECT_LT(relative_rms(x, roundtrip_rows(GgmlType::F16, x, 5)), 0x1p-11);
  EXPECT_LT(relative_rms(x, roundtrip_rows(GgmlType::BF16, x, 2)), 0x1p-8);
}

TEST(QuantizeRoundTrip, QuantizeMatchesRowByRowQuantizeRow) {
  const auto x = normal_data(256 * 2 * 3, 77);
  for (GgmlType t : {GgmlType::Q4_K, GgmlType::Q8_0, GgmlType::F16}) {
    const auto whole = quantize(t, x.data(), 3, 512);
    const size_t row_bytes = ggml_row_bytes(t, 512);
    for (int r = 0; r < 3; ++r) {
      std::vector<uint8_t> row(row_bytes);
      quantize_row(t, x.data() + r * 512, row.data(), 512);
      EXPECT_TRUE(std::equal(row.begin(), row.end(), whole.begin() + static_cast<ptrdiff_t>(r * row_bytes)))
          << name_of(t) << " row " << r;
    }
  }
  EXPECT_TRUE(quantize(GgmlType::Q4_0, x.data(), 0, 64).empty());
}

TEST(QuantizeRoundTrip, PassesLlamaCppQualityGateOnItsSyntheticData) {
  // llama.cpp's test-quantize-fns gate, same data, metric and limits: 4096 values
  // 0.1 + 2 cos(i), error sqrt(sum d^2) / n, limit 0.002 (0.004 for 3-bit, 0.0075
  // for 2-bit types). Puts our own K-quant search on equal footing with theirs.
  constexpr size_t n = 32 * 128;
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = 0.1f + 2.0f * std::cos(static_cast<float>(i));
  for (const auto& [type, bound] : kQuantizedTypes) {
    const auto y = roundtrip_rows(type, x, 1);
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) sum += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
    const double error = std::sqrt(sum) / static_cast<double>(n);
    const double limit = type == GgmlType::Q2_K ? 0.0075 : type == GgmlType::Q3_K ? 0.0040 : 0.002;
    std::printf("[ figures  ] %-5s llama.cpp-gate error %.6f (limit %.4f)\n", name_of(type).c_str(), error, limit);
    EXPECT_LT(error, limit) << name_of(type);
  }
}

TEST(QuantizeRoundTrip, ErrorFigures) {
  // Relative RMS error on N(0, 1) data, for the record (see the report / docs).
  const auto x = normal_data(256 * 64, 2024);
  for (const auto& [type, bound] : kQuantizedTypes) {
    const auto y = roundtrip_rows(type, x, 1);
    const double rel = relative_rms(x, y);
    std::printf("[ figures  ] %-5s relative RMS error %.5f (bound %.4f, %.2f bits/weight)\n", name_of(type).c_str(),
                rel, bound, 8.0 * static_cast<double>(ggml_type_traits(type).block_bytes) / block_size(type));
    RecordProperty(name_of(type), std::to_string(rel));
    EXPECT_LT(rel, bound);
  }
}

}  // namespace
}  // namespace ridge::tensor
