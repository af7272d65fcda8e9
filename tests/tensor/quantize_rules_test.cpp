// Quantizer output checked byte by byte where the result is fixed by ggml's
// reference rules (the 32-element types and Q8_K), and exact reconstruction of
// data that lies on a type's grid (every type: this exercises every level value,
// the high-bit planes and the packed scales through quantize -> dequantize).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "tensor/quant.h"

namespace ridge::tensor {
namespace {

std::vector<uint8_t> quantize_one_row(GgmlType t, const std::vector<float>& x) {
  std::vector<uint8_t> out(ggml_row_bytes(t, static_cast<int64_t>(x.size())), 0xcd);
  quantize_row(t, x.data(), out.data(), static_cast<int64_t>(x.size()));
  return out;
}

std::vector<float> roundtrip(GgmlType t, const std::vector<float>& x) {
  const auto bytes = quantize_one_row(t, x);
  std::vector<float> y(x.size());
  dequantize_row(t, bytes.data(), y.data(), static_cast<int64_t>(x.size()));
  return y;
}

uint16_t u16_at(const std::vector<uint8_t>& b, size_t at) {
  return static_cast<uint16_t>(b[at] | (b[at + 1] << 8));
}

TEST(QuantizeRules, Q8_0RoundsHalfAwayFromZero) {
  // amax 127 -> d = 1 exactly; roundf sends 2.5 to 3 and -2.5 to -3.
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;
  x[1] = 2.5f;
  x[2] = -2.5f;
  x[3] = 0.5f;
  x[4] = -126.4f;
  const auto b = quantize_one_row(GgmlType::Q8_0, x);
  EXPECT_EQ(u16_at(b, 0), 0x3c00);
  EXPECT_EQ(static_cast<int8_t>(b[2 + 0]), 127);
  EXPECT_EQ(static_cast<int8_t>(b[2 + 1]), 3);
  EXPECT_EQ(static_cast<int8_t>(b[2 + 2]), -3);
  EXPECT_EQ(static_cast<int8_t>(b[2 + 3]), 1);
  EXPECT_EQ(static_cast<int8_t>(b[2 + 4]), -126);
  EXPECT_EQ(b[2 + 5], 0);
}

TEST(QuantizeRules, Q8_0ScaleIsAmaxOver127) {
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);  // amax 16 (element 0)
  const auto b = quantize_one_row(GgmlType::Q8_0, x);
  // d = 16/127 = 0.1259843 -> f16 0x3008 (1.0078125 * 2^-3); levels use 127/16 = 7.9375.
  EXPECT_EQ(u16_at(b, 0), 0x3008);
  EXPECT_EQ(static_cast<int8_t>(b[2 + 0]), -127);
  EXPECT_EQ(static_cast<int8_t>(b[2 + 17]), 8);     // 1 * 7.9375
  EXPECT_EQ(static_cast<int8_t>(b[2 + 18]), 16);    // 2 * 7.9375 = 15.875
  EXPECT_EQ(static_cast<int8_t>(b[2 + 31]), 119);   // 15 * 7.9375 = 119.06
  EXPECT_EQ(static_cast<int8_t>(b[2 + 16]), 0);
}

TEST(QuantizeRules, Q4_0MapsTheSignedMaximumToLevelZero) {
  // Largest magnitude is -8 (element 0) -> d = -8 / -8 = 1; level = trunc(x + 8.5), max 15.
  std::vector<float> x(32, 0.0f);
  x[0] = -8.0f;   // 0.5  -> 0
  x[1] = 7.9f;    // 16.4 -> 15 (clamped)
  x[2] = 4.2f;    // 12.7 -> 12
  x[3] = -0.5f;   // 8.0  -> 8
  x[4] = 0.5f;    // 9.0  -> 9 (halves go up)
  x[5] = -0.49f;  // 8.01 -> 8
  x[16] = 3.0f;   // 11.5 -> 11 (high nibble of byte 0)
  const auto b = quantize_one_row(GgmlType::Q4_0, x);
  EXPECT_EQ(u16_at(b, 0), 0x3c00);
  EXPECT_EQ(b[2 + 0], 0xb0);
  EXPECT_EQ(b[2 + 1], 0x8f);
  EXPECT_EQ(b[2 + 2], 0x8c);
  EXPECT_EQ(b[2 + 3], 0x88);
  EXPECT_EQ(b[2 + 4], 0x89);
  EXPECT_EQ(b[2 + 5], 0x88);

  // A positive maximum gives a negative d; the first of equal magnitudes wins.
  std::vector<float> y(32, 0.0f);
  y[3] = 8.0f;
  y[5] = -8.0f;
  const auto c = quantize_one_row(GgmlType::Q4_0, y);
  EXPECT_EQ(u16_at(c, 0), 0xbc00);  // d = -1
  EXPECT_EQ(c[2 + 3] & 0x0f, 0);    // 8 * -1 + 8.5 -> 0
  EXPECT_EQ(c[2 + 5] & 0x0f, 15);   // -8 * -1 + 8.5 = 16.5 -> clamped 15
}

TEST(QuantizeRules, Q4_1UsesMinAndRangeOver15) {
  std::vector<float> x(32, -1.0f);
  x[31] = 2.0f;  // d = 3/15 = 0.2 (f16 0x3266), m = -1 (0xbc00), 1/d = 5
  x[1] = 0.0f;   // (0+1)*5 + 0.5 = 5.5 -> 5
  x[2] = 0.5f;   // 1.5*5 + 0.5 = 8
  x[17] = 1.0f;  // 2*5 + 0.5 = 10.5 -> 10 (high nibble of byte 1)
  const auto b = quantize_one_row(GgmlType::Q4_1, x);
  EXPECT_EQ(u16_at(b, 0), 0x3266);
  EXPECT_EQ(u16_at(b, 2), 0xbc00);
  EXPECT_EQ(b[4 + 0], 0x00);
  EXPECT_EQ(b[4 + 1], 0xa5);
  EXPECT_EQ(b[4 + 2], 0x08);
  EXPECT_EQ(b[4 + 15], 0xf0);
}

TEST(QuantizeRules, Q5_0SplitsTheFifthBitIntoQh) {
  // Largest magnitude +4 (element 20) -> d = 4 / -16 = -0.25; level = trunc(x * -4 + 16.5).
  std::vector<float> x(32, 0.0f);  // 0 -> 16: nibble 0, fifth bit 1
  x[20] = 4.0f;    // 0.5  -> 0
  x[0] = -3.75f;   // 31.5 -> 31
  x[1] = 1.0f;     // 12.5 -> 12
  const auto b = quantize_one_row(GgmlType::Q5_0, x);
  EXPECT_EQ(u16_at(b, 0), 0xb400);
  uint32_t qh;
  std::memcpy(&qh, b.data() + 2, 4);
  // Every element has the fifth bit except element 1 (12) and element 20 (0).
  EXPECT_EQ(qh, 0xffffffffu & ~(1u << 1) & ~(1u << 20));
  EXPECT_EQ(b[6 + 0], 0x0f);  // element 0: 31 & 15; element 16: 16 & 15
  EXPECT_EQ(b[6 + 1], 0x0c);
  EXPECT_EQ(b[6 + 4], 0x00);  // element 20 high nibble 0, element 4 low nibble 0
}

TEST(QuantizeRules, Q5_1UsesMinAndRangeOver31) {
  std::vector<float> x(32, 0.0f);
  x[0] = -1.0f;
  x[9] = 2.875f;  // d = 3.875/31 = 0.125, m = -1
  // 0 -> (1)*8 + 0.5 = 8.5 -> 8; -1 -> 0; 2.875 -> 31.5 -> 31
  const auto b = quantize_one_row(GgmlType::Q5_1, x);
  EXPECT_EQ(u16_at(b, 0), 0x3000);
  EXPECT_EQ(u16_at(b, 2), 0xbc00);
  uint32_t qh;
  std::memcpy(&qh, b.data() + 4, 4);
  EXPECT_EQ(qh, 1u << 9);
  EXPECT_EQ(b[8 + 0], 0x80);  // element 0: 0; element 16: 8
  EXPECT_EQ(b[8 + 9], 0x8f);  // element 9: 31 & 15; element 25: 8
}

TEST(QuantizeRules, Q8_KMapsTheSignedMaximumToMinus127AndStoresBlockSums) {
  std::vector<float> x(256, 0.0f);
  x[0] = 1.984375f;   // extreme (127/64): d = max / -127 = -1/64, levels = round-half-even(x * -64)
  x[1] = -1.0f;       // 64
  x[2] = 0.5f;        // -32
  x[3] = -1.984375f;  // same magnitude, not the first: 127
  x[4] = 3.0f / 128.0f;  // -1.5 -> -2 (half to even)
  x[5] = 5.0f / 128.0f;  // -2.5 -> -2 (half to even)
  const auto b = quantize_one_row(GgmlType::Q8_K, x);
  float d;
  std::memcpy(&d, b.data(), 4);
  EXPECT_EQ(d, -1.0f / 64.0f);
  const auto* qs = reinterpret_cast<const int8_t*>(b.data() + 4);
  EXPECT_EQ(qs[0], -127);
  EXPECT_EQ(qs[1], 64);
  EXPECT_EQ(qs[2], -32);
  EXPECT_EQ(qs[3], 127);
  EXPECT_EQ(qs[4], -2);
  EXPECT_EQ(qs[5], -2);
  int16_t bsum0;
  std::memcpy(&bsum0, b.data() + 260, 2);
  EXPECT_EQ(bsum0, -127 + 64 - 32 + 127 - 2 - 2);
  int16_t bsum15;
  std::memcpy(&bsum15, b.data() + 260 + 30, 2);
  EXPECT_EQ(bsum15, 0);
}

// --- Data on the type's own grid comes back exactly. ---

TEST(QuantizeExactGrid, LegacyTypes) {
  std::vector<float> q4_0(32), q5_0(32), q8_0(32), q4_1(32), q5_1(32);
  for (int j = 0; j < 32; ++j) {
    q4_0[j] = static_cast<float>((j * 7) % 16 - 8) * -0.5f;  // levels 0..15, extreme 4 at level 0
    q5_0[j] = static_cast<float>(j - 16) * -0.25f;            // levels 0..31
    q4_1[j] = -1.0f + 0.125f * static_cast<float>((j * 5) % 16);
    q5_1[j] = -1.0f + 0.0625f * static_cast<float>((j * 13) % 32);
    q8_0[j] = static_cast<float>(j * 8 - 127) / 64.0f;       // -127..121 in steps of 8, d = 1/64
  }
  q8_0[31] = 127.0f / 64.0f;
  EXPECT_EQ(roundtrip(GgmlType::Q4_0, q4_0), q4_0);
  EXPECT_EQ(roundtrip(GgmlType::Q5_0, q5_0), q5_0);
  EXPECT_EQ(roundtrip(GgmlType::Q4_1, q4_1), q4_1);
  EXPECT_EQ(roundtrip(GgmlType::Q5_1, q5_1), q5_1);
  EXPECT_EQ(roundtrip(GgmlType::Q8_0, q8_0), q8_0);
}

// Affine K types: sub-block j holds scale_j * q - min_j with every q in 0..nmax,
// scale_j = d * ls_j and min_j = dmin * lm_j (ls, lm on the type's scale grid with
// the largest exactly at its top, so d and dmin are what the quantizer must pick).
std::vector<float> affine_grid(int sub_size, int nmax, float d, float dmin, const std::vector<int>& ls,
                               const std::vector<int>& lm, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> x;
  for (size_t j = 0; j < ls.size(); ++j) {
    std::vector<int> q(static_cast<size_t>(sub_size));
    for (int i = 0; i < sub_size; ++i) q[static_cast<size_t>(i)] = i % (nmax + 1);
    std::shuffle(q.begin(), q.end(), rng);
    for (int v : q) x.push_back(d * static_cast<float>(ls[j]) * static_cast<float>(v) - dmin * static_cast<float>(lm[j]));
  }
  return x;
}

TEST(QuantizeExactGrid, Q4_K) {
  const auto x = affine_grid(32, 15, 1.0f / 128, 1.0f / 256, {63, 10, 1, 40, 63, 5, 17, 0},
                             {0, 63, 12, 7, 63, 1, 0, 50}, 1);
  EXPECT_EQ(roundtrip(GgmlType::Q4_K, x), x);
}

TEST(QuantizeExactGrid, Q5_K) {
  const auto x = affine_grid(32, 31, 1.0f / 64, 1.0f / 32, {2, 63, 31, 32, 1, 60, 9, 44},
                             {63, 0, 1, 62, 33, 8, 0, 5}, 2);
  EXPECT_EQ(roundtrip(GgmlType::Q5_K, x), x);
}

TEST(QuantizeExactGrid, Q2_K) {
  const auto x = affine_grid(16, 3, 0.0625f, 0.03125f, {15, 1, 7, 8, 2, 15, 3, 9, 11, 4, 5, 6, 12, 13, 14, 10},
                             {0, 15, 3, 1, 7, 9, 15, 2, 0, 4, 6, 8, 10, 11, 12, 13}, 3);
  EXPECT_EQ(roundtrip(GgmlType::Q2_K, x), x);
}

// Symmetric K types: sub-block j holds d * k_j * q with every q in -nmax..nmax-1, the
// most negative level being each sub-block's extreme; the k_j of largest magnitude
// is -scale_max so that d is what the quantizer must pick.
std::vector<float> symmetric_grid(int nmax, float d, const std::vector<int>& k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> x;
  for (int kj : k) {
    std::vector<int> q(16);
    for (int i = 0; i < 16; ++i) q[static_cast<size_t>(i)] = -nmax + (i * (2 * nmax) / 16);
    q[0] = -nmax;
    q[15] = nmax - 1;
    std::shuffle(q.begin(), q.end(), rng);
    for (int v : q) x.push_back(d * static_cast<float>(kj) * static_cast<float>(v));
  }
  return x;
}

TEST(QuantizeExactGrid, Q6_K) {
  const auto x = symmetric_grid(32, -1.0f / 64,
                                {-128, 100, 37, -5, 1, -1, 64, -64, 127, 3, -100, 20, -128, 7, 90, -33}, 4);
  EXPECT_EQ(roundtrip(GgmlType::Q6_K, x), x);
}

TEST(QuantizeExactGrid, Q3_K) {
  std::vector<float> x;
  // Every 3-bit level in every sub-block: q = -4..3 twice.
  std::mt19937 rng(5);
  const std::vector<int> k{-32, 31, 5, -7, 1, -1, 16, -16, 9, 3, -20, 12, -32, 2, 30, -11};
  for (int kj : k) {
    std::vector<int> q;
    for (int i = 0; i < 16; ++i) q.push_back(i % 8 - 4);
    std::shuffle(q.begin(), q.end(), rng);
    for (int v : q) x.push_back(0.125f * static_cast<float>(kj) * static_cast<float>(v));
  }
  EXPECT_EQ(roundtrip(GgmlType::Q3_K, x), x);
}

TEST(QuantizeExactGrid, Q8_K) {
  std::vector<float> x(512);
  // Levels -127..127 times 0.5: the extreme (+-63.5) is level -127 exactly.
  for (int j = 0; j < 512; ++j) x[j] = static_cast<float>((j * 37) % 255 - 127) * 0.5f;
  EXPECT_EQ(roundtrip(GgmlType::Q8_K, x), x);
}

TEST(QuantizeExactGrid, FloatTypes) {
  const std::vector<float> x{1.0f, -2.5f, 0.0f, 65504.0f, 0x1p-24f, -0.125f, 3.0f, 1e-3f};
  EXPECT_EQ(roundtrip(GgmlType::F32, x), x);
  const auto f16 = roundtrip(GgmlType::F16, x);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(f16[i], fp16_to_fp32(fp32_to_fp16(x[i])));
  EXPECT_EQ(f16[1], -2.5f);
  const auto bf16 = roundtrip(GgmlType::BF16, x);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(bf16[i], bf16_to_fp32(fp32_to_bf16(x[i])));
  EXPECT_EQ(bf16[6], 3.0f);
}

}  // namespace
}  // namespace ridge::tensor
