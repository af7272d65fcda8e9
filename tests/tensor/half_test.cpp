// fp16 / bf16 conversions checked against independent formulas: every one of the
// 65536 inputs for decoding, round-trips, ties-to-even and the special values.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "tensor/quant.h"

namespace ridge::tensor {
namespace {

// binary16 value from the IEEE definition, computed in double with ldexp.
double half_value_by_definition(uint16_t h) {
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  double magnitude;
  if (exponent == 0)
    magnitude = std::ldexp(static_cast<double>(mantissa), -24);
  else if (exponent == 31)
    magnitude = mantissa ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  else
    magnitude = std::ldexp(static_cast<double>(1024 + mantissa), exponent - 25);
  return (h & 0x8000) ? -magnitude : magnitude;
}

bool is_half_nan(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0; }

// Nearest binary16 to a finite double by search over all finite positive halves
// (ties to the even bit pattern), then infinity when beyond the rounding limit.
class NearestHalf {
 public:
  NearestHalf() {
    for (uint16_t h = 0; h <= 0x7bff; ++h) values_.push_back(half_value_by_definition(h));
  }
  uint16_t operator()(double v) const {
    const uint16_t sign = std::signbit(v) ? 0x8000 : 0;
    const double a = std::fabs(v);
    if (a >= 65520.0) return sign | 0x7c00;  // at or past the midpoint between 65504 and 2^16
    const auto it = std::lower_bound(values_.begin(), values_.end(), a);
    size_t hi = static_cast<size_t>(it - values_.begin());
    if (hi == values_.size()) return sign | 0x7bff;
    if (values_[hi] == a || hi == 0) return sign | static_cast<uint16_t>(hi);
    const size_t lo = hi - 1;
    const double dlo = a - values_[lo], dhi = values_[hi] - a;
    if (dlo < dhi) return sign | static_cast<uint16_t>(lo);
    if (dhi < dlo) return sign | static_cast<uint16_t>(hi);
    return sign | static_cast<uint16_t>((lo % 2 == 0) ? lo : hi);
  }

 private:
  std::vector<double> values_;
};

TEST(Fp16ToFp32, MatchesTheDefinitionForAll65536Inputs) {
  for (uint32_t i = 0; i < 65536; ++i) {
    const auto h = static_cast<uint16_t>(i);
    const float got = fp16_to_fp32(h);
    const double want = half_value_by_definition(h);
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got)) << std::hex << i;
      ASSERT_EQ(std::signbit(got), (h & 0x8000) != 0) << std::hex << i;
      // The payload moves to the top of the float mantissa.
      ASSERT_EQ((std::bit_cast<uint32_t>(got) >> 13) & 0x3ff, h & 0x3ffu) << std::hex << i;
    } else {
      ASSERT_EQ(static_cast<double>(got), want) << std::hex << i;
      ASSERT_EQ(std::signbit(got), (h & 0x8000) != 0) << std::hex << i;  // -0 stays -0
    }
  }
}

TEST(Fp32ToFp16, EveryHalfRoundTrips) {
  for (uint32_t i = 0; i < 65536; ++i) {
    const auto h = static_cast<uint16_t>(i);
    const uint16_t back = fp32_to_fp16(fp16_to_fp32(h));
    if (is_half_nan(h)) {
      ASSERT_TRUE(is_half_nan(back)) << std::hex << i;
      ASSERT_EQ(back & 0x8000, h & 0x8000) << std::hex << i;
    } else {
      ASSERT_EQ(back, h) << std::hex << i;
    }
  }
}

TEST(Fp32ToFp16, MidpointsBetweenNeighboursRoundToEven) {
  const NearestHalf nearest;
  for (uint16_t h = 0; h < 0x7bff; ++h) {
    // The midpoint of two adjacent halves needs 12 significant bits: exact in float.
    const double mid = (half_value_by_definition(h) + half_value_by_definition(h + 1)) / 2;
    const auto midf = static_cast<float>(mid);
    ASSERT_EQ(static_cast<double>(midf), mid);
    const uint16_t even = (h % 2 == 0) ? h : static_cast<uint16_t>(h + 1);
    ASSERT_EQ(fp32_to_fp16(midf), even) << std::hex << h;
    ASSERT_EQ(fp32_to_fp16(-midf), even | 0x8000) << std::hex << h;
    // One float step either side decides it.
    ASSERT_EQ(fp32_to_fp16(std::nextafter(midf, 0.0f)), h) << std::hex << h;
    ASSERT_EQ(fp32_to_fp16(std::nextafter(midf, 1e9f)), h + 1) << std::hex << h;
    ASSERT_EQ(fp32_to_fp16(midf), nearest(mid));
  }
}

TEST(Fp32ToFp16, RandomFloatsRoundToTheNearestHalf) {
  const NearestHalf nearest;
  std::mt19937 rng(1234);
  std::uniform_real_distribution<double> exponent(-28.0, 17.0);
  std::uniform_int_distribution<uint32_t> bits;
  for (int i = 0; i < 200000; ++i) {
    // Log-uniform magnitudes from below the subnormals to past the overflow point,
    // with random low mantissa bits so that most inputs are not representable.
    float f = static_cast<float>(std::exp2(exponent(rng)));
    f = std::bit_cast<float>((std::bit_cast<uint32_t>(f) & ~0xfffu) | (bits(rng) & 0xfffu));
    if (bits(rng) & 1) f = -f;
    ASSERT_EQ(fp32_to_fp16(f), nearest(f)) << f;
  }
}

TEST(Fp32ToFp16, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(fp32_to_fp16(0.0f), 0x0000);
  EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
  EXPECT_EQ(fp32_to_fp16(1.0f), 0x3c00);
  EXPECT_EQ(fp32_to_fp16(-2.0f), 0xc000);
  EXPECT_EQ(fp32_to_fp16(1.0f / 3.0f), 0x3555);
  EXPECT_EQ(fp32_to_fp16(inf), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(-inf), 0xfc00);
  EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(65519.996f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);  // tie with 2^16 goes to the even pattern: inf
  EXPECT_EQ(fp32_to_fp16(1e30f), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::max()), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(0x1p-14f), 0x0400);                 // smallest normal
  EXPECT_EQ(fp32_to_fp16(0x1p-14f - 0x1p-25f), 0x0400);      // tie 0x3ff/0x400 -> even
  EXPECT_EQ(fp32_to_fp16(0x1p-24f), 0x0001);                 // smallest subnormal
  EXPECT_EQ(fp32_to_fp16(0x1p-25f), 0x0000);                 // tie with zero -> zero
  EXPECT_EQ(fp32_to_fp16(std::nextafter(0x1p-25f, 1.0f)), 0x0001);
  EXPECT_EQ(fp32_to_fp16(1.5f * 0x1p-24f), 0x0002);          // tie 1/2 -> 2
  EXPECT_EQ(fp32_to_fp16(2.5f * 0x1p-24f), 0x0002);          // tie 2/3 -> 2
  EXPECT_EQ(fp32_to_fp16(-3.5f * 0x1p-24f), 0x8004);         // tie 3/4 -> 4
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::denorm_min()), 0x0000);
  const uint16_t nan = fp32_to_fp16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(is_half_nan(nan));
  EXPECT_TRUE(nan & 0x0200) << "NaN should come out quiet";
  // A signalling NaN whose payload lives only in the low float bits must not
  // collapse to infinity.
  EXPECT_TRUE(is_half_nan(fp32_to_fp16(std::bit_cast<float>(0xff800001u))));
  EXPECT_EQ(fp32_to_fp16(std::bit_cast<float>(0xff800001u)) & 0x8000, 0x8000);
}

TEST(Bf16ToFp32, IsTheUpperHalfOfTheFloatForAllInputs) {
  for (uint32_t i = 0; i < 65536; ++i) {
    const float got = bf16_to_fp32(static_cast<uint16_t>(i));
    const int exponent = (i >> 7) & 0xff;
    const int mantissa = i & 0x7f;
    double want;
    if (exponent == 0)
      want = std::ldexp(static_cast<double>(mantissa), -133);
    else if (exponent == 255)
      want = mantissa ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
    else
      want = std::ldexp(static_cast<double>(128 + mantissa), exponent - 134);
    if (i & 0x8000) want = -want;
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got)) << std::hex << i;
    } else {
      ASSERT_EQ(static_cast<double>(got), want) << std::hex << i;
      ASSERT_EQ(std::signbit(got), (i & 0x8000) != 0) << std::hex << i;
    }
  }
}

TEST(Fp32ToBf16, RoundTripsAndRoundsToNearestEven) {
  for (uint32_t i = 0; i < 65536; ++i) {
    const auto h = static_cast<uint16_t>(i);
    const bool nan = (h & 0x7f80) == 0x7f80 && (h & 0x7f);
    if (!nan) {
      ASSERT_EQ(fp32_to_bf16(bf16_to_fp32(h)), h) << std::hex << i;
    }
  }
  // 1 + 2^-8 lies halfway between 0x3f80 (even) and 0x3f81.
  EXPECT_EQ(fp32_to_bf16(1.0f + 0x1p-8f), 0x3f80);
  EXPECT_EQ(fp32_to_bf16(std::nextafter(1.0f + 0x1p-8f, 2.0f)), 0x3f81);
  // 1 + 3 * 2^-8 lies halfway between 0x3f81 and 0x3f82 (even).
  EXPECT_EQ(fp32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);
  EXPECT_EQ(fp32_to_bf16(std::nextafter(1.0f + 3 * 0x1p-8f, 0.0f)), 0x3f81);
  EXPECT_EQ(fp32_to_bf16(-3.0f), 0xc040);
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // rounds past the largest bf16
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(fp32_to_bf16(-0.0f), 0x8000);
  // Truncating 0x7f800001 would give infinity; it must stay a (quiet) NaN.
  const uint16_t nan = fp32_to_bf16(std::bit_cast<float>(0x7f800001u));
  EXPECT_EQ(nan & 0x7f80, 0x7f80);
  EXPECT_NE(nan & 0x7f, 0);
  EXPECT_TRUE(nan & 0x40);
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0xffc00000u)), 0xffc0);
}

}  // namespace
}  // namespace ridge::tensor
