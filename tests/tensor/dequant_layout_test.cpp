// Dequantization of hand-built blocks: bytes written from the GGUF/ggml block
// layouts, expected values worked out by hand from the same layouts (comments show
// the arithmetic). These anchor our decoders to the file format itself, not to our
// own encoders.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "tensor/quant.h"

namespace ridge::tensor {
namespace {

std::vector<float> decode(GgmlType t, const std::vector<uint8_t>& bytes, int64_t n) {
  EXPECT_EQ(bytes.size(), ggml_row_bytes(t, n)) << "test block has the wrong size";
  std::vector<float> out(static_cast<size_t>(n), -12345.0f);
  dequantize_row(t, bytes.data(), out.data(), n);
  return out;
}

void put_u16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v & 0xff);
  b[at + 1] = static_cast<uint8_t>(v >> 8);
}

// Every element equals `base_of(sub-block)` except the listed ones.
void expect_values(const std::vector<float>& got, int sub_block_size, const std::map<int, float>& base_by_sub,
                   const std::map<int, float>& exceptions) {
  for (size_t e = 0; e < got.size(); ++e) {
    float want;
    if (auto it = exceptions.find(static_cast<int>(e)); it != exceptions.end()) {
      want = it->second;
    } else {
      auto b = base_by_sub.find(static_cast<int>(e) / sub_block_size);
      want = b == base_by_sub.end() ? 0.0f : b->second;
    }
    EXPECT_EQ(got[e], want) << "element " << e;
  }
}

TEST(DequantLayout, F32F16Bf16) {
  const float f32_values[2] = {1.5f, -0.0f};
  std::vector<uint8_t> f32(8);
  std::memcpy(f32.data(), f32_values, 8);
  auto out = decode(GgmlType::F32, f32, 2);
  EXPECT_EQ(out[0], 1.5f);
  EXPECT_TRUE(std::signbit(out[1]));

  // 0x3c00 = 1, 0xc000 = -2, 0x0001 = 2^-24, 0x7c00 = +inf, 0x3555 = 0.333251953125
  out = decode(GgmlType::F16, {0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c, 0x55, 0x35}, 5);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
  EXPECT_EQ(out[2], 0x1p-24f);
  EXPECT_TRUE(std::isinf(out[3]) && out[3] > 0);
  EXPECT_EQ(out[4], 0.333251953125f);

  // bf16 0x3f80 = 1, 0xc040 = -3, 0x0001 = smallest float subnormal * 2^16
  out = decode(GgmlType::BF16, {0x80, 0x3f, 0x40, 0xc0, 0x01, 0x00}, 3);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -3.0f);
  EXPECT_EQ(out[2], 0x1p-133f);
}

TEST(DequantLayout, Q4_0TwoBlocks) {
  std::vector<uint8_t> b(36, 0x88);  // nibble 8 decodes to 0 in both blocks
  // Block 0: d = 2.0 (f16 0x4000).
  put_u16(b, 0, 0x4000);
  b[2 + 0] = 0x0f;  // element 0: (15-8)*2 = 14;  element 16: (0-8)*2 = -16
  b[2 + 1] = 0x80;  // element 1: (0-8)*2 = -16;  element 17: (8-8)*2 = 0
  // Block 1 (bytes 18..35): d = -0.5 (0xb800); nibbles 7 -> (7-8)*-0.5 = 0.5.
  put_u16(b, 18, 0xb800);
  for (int j = 0; j < 16; ++j) b[20 + j] = 0x77;
  b[20 + 15] = 0xf1;  // element 32+15: (1-8)*-0.5 = 3.5; element 32+31: (15-8)*-0.5 = -3.5
  const auto out = decode(GgmlType::Q4_0, b, 64);
  expect_values(out, 32, {{0, 0.0f}, {1, 0.5f}}, {{0, 14.0f}, {16, -16.0f}, {1, -16.0f}, {47, 3.5f}, {63, -3.5f}});
}

TEST(DequantLayout, Q4_1) {
  std::vector<uint8_t> b(20, 0);
  put_u16(b, 0, 0x3800);  // d = 0.5
  put_u16(b, 2, 0xbc00);  // m = -1
  b[4 + 0] = 0x3a;        // element 0: 10*0.5-1 = 4;  element 16: 3*0.5-1 = 0.5
  b[4 + 15] = 0xf0;       // element 15: -1;           element 31: 15*0.5-1 = 6.5
  const auto out = decode(GgmlType::Q4_1, b, 32);
  expect_values(out, 32, {{0, -1.0f}}, {{0, 4.0f}, {16, 0.5f}, {31, 6.5f}});
}

TEST(DequantLayout, Q5_0) {
  std::vector<uint8_t> b(22, 0x88);
  put_u16(b, 0, 0x3c00);  // d = 1
  // qh = 0x80010001: fifth bits of elements 0, 16 and 31.
  b[2] = 0x01;
  b[3] = 0x00;
  b[4] = 0x01;
  b[5] = 0x80;
  b[6 + 0] = 0x21;   // element 0: (1|16)-16 = 1;   element 16: (2|16)-16 = 2
  b[6 + 15] = 0xf0;  // element 15: 0-16 = -16;     element 31: (15|16)-16 = 15
  // Everything else: nibble 8, no fifth bit: 8-16 = -8.
  const auto out = decode(GgmlType::Q5_0, b, 32);
  expect_values(out, 32, {{0, -8.0f}}, {{0, 1.0f}, {16, 2.0f}, {15, -16.0f}, {31, 15.0f}});
}

TEST(DequantLayout, Q5_1) {
  std::vector<uint8_t> b(24, 0);
  put_u16(b, 0, 0x3400);  // d = 0.25
  put_u16(b, 2, 0x4000);  // m = 2
  // qh = 0x00100008: fifth bits of elements 3 and 20.
  b[4] = 0x08;
  b[6] = 0x10;
  b[8 + 3] = 0x5c;  // element 3: (12|16)*0.25+2 = 9;  element 19: 5*0.25+2 = 3.25
  b[8 + 4] = 0x31;  // element 4: 1*0.25+2 = 2.25;     element 20: (3|16)*0.25+2 = 6.75
  const auto out = decode(GgmlType::Q5_1, b, 32);
  expect_values(out, 32, {{0, 2.0f}}, {{3, 9.0f}, {19, 3.25f}, {4, 2.25f}, {20, 6.75f}});
}

TEST(DequantLayout, Q8_0) {
  std::vector<uint8_t> b(34, 0);
  put_u16(b, 0, 0x3000);  // d = 0.125
  for (int j = 0; j < 32; ++j) b[2 + j] = static_cast<uint8_t>(j);
  b[2 + 0] = 0x80;  // -128 -> -16
  b[2 + 1] = 0x7f;  // 127  -> 15.875
  b[2 + 2] = 0xff;  // -1   -> -0.125
  const auto out = decode(GgmlType::Q8_0, b, 32);
  std::map<int, float> want{{0, -16.0f}, {1, 15.875f}, {2, -0.125f}};
  for (int j = 3; j < 32; ++j) want[j] = 0.125f * static_cast<float>(j);
  expect_values(out, 32, {}, want);
}

TEST(DequantLayout, Q8_0SubnormalScale) {
  std::vector<uint8_t> b(34, 0);
  put_u16(b, 0, 0x0001);  // d = 2^-24
  b[2 + 5] = 0x03;
  const auto out = decode(GgmlType::Q8_0, b, 32);
  expect_values(out, 32, {}, {{5, 3 * 0x1p-24f}});
}

TEST(DequantLayout, Q2_K) {
  // scales[16] @0, qs[64] @16, f16 d @80, f16 dmin @82.
  std::vector<uint8_t> b(84, 0);
  put_u16(b, 80, 0x3c00);  // d = 1
  put_u16(b, 82, 0x3800);  // dmin = 0.5
  b[0] = 0x21;   // sub 0 (elements 0..15): scale 1, min 2 -> q - 1
  b[1] = 0x03;   // sub 1 (16..31): scale 3, min 0      -> 3q
  b[5] = 0xf2;   // sub 5 (80..95): scale 2, min 15     -> 2q - 7.5
  b[15] = 0x1f;  // sub 15 (240..255): scale 15, min 1  -> 15q - 0.5
  // Element 128h + 32k + l is bits 2k of qs[32h + l].
  b[16 + 5] = 0x03;   // element 5 (h0 k0 l5): q 3 -> 3 - 1 = 2
  b[16 + 20] = 0x02;  // element 20 (h0 k0 l20): q 2 -> 6
  b[16 + 21] = 0x10;  // element 85 (h0 k2 l21): q 1 -> 2 - 7.5 = -5.5
  b[16 + 58] = 0xc0;  // element 250 (h1 k3 l26): q 3 -> 45 - 0.5 = 44.5
  const auto out = decode(GgmlType::Q2_K, b, 256);
  expect_values(out, 16, {{0, -1.0f}, {5, -7.5f}, {15, -0.5f}},
                {{5, 2.0f}, {20, 6.0f}, {85, -5.5f}, {250, 44.5f}});
}

TEST(DequantLayout, Q3_K) {
  // hmask[32] @0, qs[64] @32, scales[12] @96, f16 d @108.
  std::vector<uint8_t> b(110, 0);
  for (int i = 0; i < 32; ++i) b[i] = 0xff;  // high bit set everywhere: level = low two bits
  put_u16(b, 108, 0x3800);                   // d = 0.5
  uint8_t* packed = b.data() + 96;
  // 6-bit scales stored +32. Sub 0: 33 (+1): low 1 in byte 0, high bits 2 in byte 8 bits 0-1.
  packed[0] = 0x01;
  packed[8] = 0x02;
  // Sub 6: 37 (+5): low 5 in byte 6, high bits 2 in byte 10 bits 2-3.
  packed[6] = 0x05;
  packed[10] = 0x08;
  // Sub 9: 20 (-12): low 4 in the high nibble of byte 1, high bits 1 in byte 9 bits 4-5.
  packed[1] = 0x40;
  packed[9] = 0x10;
  // Sub 15: 63 (+31): low 15 in the high nibble of byte 7, high bits 3 in byte 11 bits 6-7.
  packed[7] = 0xf0;
  packed[11] = 0xc0;
  // Element 128h + 32k + l: low bits at bits 2k of qs[32h + l], third bit at bit e/32
  // of hmask[e % 32] (clear means minus 4).
  b[32 + 3] = 0x03;          // element 3, sub 0: level 3 -> 0.5*1*3 = 1.5
  b[32 + 7] = 0x01;          // element 7, sub 0: level 1-4 = -3 -> -1.5
  b[7] &= ~0x01;
  b[32 + 4] = 0x40;          // element 100 (h0 k3 l4), sub 6: level 1-4 = -3 -> 0.5*5*-3 = -7.5
  b[4] &= ~0x08;
  b[32 + 54] = 0x02;         // element 150 (h1 k0 l22), sub 9: level 2-4 = -2 -> 0.5*-12*-2 = 12
  b[22] &= ~0x10;
  b[32 + 63] = 0xc0;         // element 255 (h1 k3 l31), sub 15: level 3 -> 0.5*31*3 = 46.5
  const auto out = decode(GgmlType::Q3_K, b, 256);
  expect_values(out, 16, {}, {{3, 1.5f}, {7, -1.5f}, {100, -7.5f}, {150, 12.0f}, {255, 46.5f}});

  // With every high bit clear and all low bits zero, each element is level -4:
  // sub 1 has scale 0-32 = -32 (all its bits are zero) -> 0.5*-32*-4 = 64.
  std::fill(b.begin(), b.begin() + 32, 0);
  std::fill(b.begin() + 32, b.begin() + 96, 0);
  const auto all_low = decode(GgmlType::Q3_K, b, 256);
  EXPECT_EQ(all_low[16], 64.0f);   // sub 1
  EXPECT_EQ(all_low[0], -2.0f);    // sub 0: 0.5*1*-4
  EXPECT_EQ(all_low[255], -62.0f); // sub 15: 0.5*31*-4
}

TEST(DequantLayout, Q4_K) {
  // f16 d @0, f16 dmin @2, scales[12] @4, qs[128] @16.
  std::vector<uint8_t> b(144, 0);
  put_u16(b, 0, 0x3c00);  // d = 1
  put_u16(b, 2, 0x3400);  // dmin = 0.25
  uint8_t* packed = b.data() + 4;
  packed[0] = 10;  // sub 0: scale 10
  packed[4] = 4;   //        min 4     -> 10q - 1
  packed[3] = 63;  // sub 3: scale 63, min 0 -> 63q
  // Sub 5: scale 37 = 0b10'0101, min 50 = 0b11'0010: low nibbles in byte 9, top bits
  // in bits 6-7 of byte 1 (scale) and byte 5 (min).  -> 37q - 12.5
  packed[9] = 0x25;
  packed[1] |= 0x80;
  packed[5] |= 0xc0;
  // Sub 7: scale 1, min 63: byte 11 = 0xf1, top bits of the min in byte 7. -> q - 15.75
  packed[11] = 0xf1;
  packed[7] |= 0xc0;
  // Element 64g + 32h + l is nibble h of qs[32g + l].
  uint8_t* qs = b.data() + 16;
  qs[0] = 0x07;         // element 0, sub 0: 70 - 1 = 69
  qs[32 + 4] = 0xf0;    // element 100, sub 3: 63*15 = 945
  qs[64 + 10] = 0x90;   // element 170, sub 5: 37*9 - 12.5 = 320.5
  qs[96 + 31] = 0xf0;   // element 255, sub 7: 15 - 15.75 = -0.75
  qs[96 + 0] = 0x2b;    // element 224, sub 7: 2 - 15.75 = -13.75 (element 192, sub 6: scale 0 -> 0)
  const auto out = decode(GgmlType::Q4_K, b, 256);
  expect_values(out, 32, {{0, -1.0f}, {5, -12.5f}, {7, -15.75f}},
                {{0, 69.0f}, {100, 945.0f}, {170, 320.5f}, {255, -0.75f}, {224, -13.75f}});
}

TEST(DequantLayout, Q5_K) {
  // f16 d @0, f16 dmin @2, scales[12] @4, qh[32] @16, qs[128] @48.
  std::vector<uint8_t> b(176, 0);
  put_u16(b, 0, 0x3800);  // d = 0.5
  put_u16(b, 2, 0x3c00);  // dmin = 1
  uint8_t* packed = b.data() + 4;
  // Sub 2: scale 3, min 1 -> 1.5q - 1. Sub 6: scale 20 = 0b01'0100, min 33 = 0b10'0001:
  // byte 10 = 0x14, top bits in byte 2 (scale: 1 -> 0x40) and byte 6 (min: 2 -> 0x80).
  packed[2] = 0x03 | 0x40;
  packed[6] = 0x01 | 0x80;
  packed[10] = 0x14;  // -> 10q - 33
  uint8_t* qh = b.data() + 16;
  uint8_t* qs = b.data() + 48;
  // Element 64g + 32h + l: nibble h of qs[32g + l], fifth bit = bit 2g + h of qh[l].
  qs[32 + 6] = 0x05;
  qh[6] |= 0x04;        // element 70, sub 2: q 21 -> 31.5 - 1 = 30.5
  qs[32 + 7] = 0x0f;    // element 71, sub 2: q 15 -> 22.5 - 1 = 21.5
  qh[28] |= 0x40;       // element 220, sub 6: q 16 -> 160 - 33 = 127
  qh[6] |= 0x08;        // element 102, sub 3: scale 0, min 0 -> 0 whatever q
  const auto out = decode(GgmlType::Q5_K, b, 256);
  expect_values(out, 32, {{2, -1.0f}, {6, -33.0f}}, {{70, 30.5f}, {71, 21.5f}, {220, 127.0f}});
}

TEST(DequantLayout, Q6_K) {
  // ql[128] @0, qh[64] @128, i8 scales[16] @192, f16 d @208.
  std::vector<uint8_t> b(210, 0);
  put_u16(b, 208, 0x3800);  // d = 0.5
  b[192 + 0] = 2;           // sub 0:  all-zero bits are q = -32 -> 0.5*2*-32 = -32
  b[192 + 5] = 0xfd;        // sub 5:  -3  -> 48
  b[192 + 10] = 100;        // sub 10: 100 -> -1600
  b[192 + 15] = 0x80;       // sub 15: -128 -> 2048
  uint8_t* ql = b.data();
  uint8_t* qh = b.data() + 128;
  // Element 128h + 32k + l: low four bits = nibble k/2 of ql[64h + 32(k%2) + l],
  // high two bits = bits 2k of qh[32h + l].
  ql[5] = 0x0f;
  qh[5] = 0x03;    // element 5 (h0 k0 l5): 63-32 = 31 -> 0.5*2*31 = 31
  ql[21] = 0xa0;
  qh[21] = 0x20;   // element 85 (h0 k2 l21): (10|32)-32 = 10 -> 0.5*-3*10 = -15
  ql[106] = 0x07;
  qh[42] = 0x08;   // element 170 (h1 k1 l10): (7|32)-32 = 7 -> 0.5*100*7 = 350
  ql[127] = 0x50;
  qh[63] = 0x40;   // element 255 (h1 k3 l31): (5|16)-32 = -11 -> 0.5*-128*-11 = 704
  const auto out = decode(GgmlType::Q6_K, b, 256);
  expect_values(out, 16, {{0, -32.0f}, {5, 48.0f}, {10, -1600.0f}, {15, 2048.0f}},
                {{5, 31.0f}, {85, -15.0f}, {170, 350.0f}, {255, 704.0f}});
}

TEST(DequantLayout, Q8_K) {
  // f32 d @0, i8 qs[256] @4, i16 bsums[16] @260 (ignored when decoding).
  std::vector<uint8_t> b(292, 0x01);
  const float d = 0.25f;
  std::memcpy(b.data(), &d, 4);
  b[4 + 0] = 0x80;    // -128 -> -32
  b[4 + 100] = 0xf9;  // -7   -> -1.75
  b[4 + 255] = 0x7f;  // 127  -> 31.75
  for (int i = 260; i < 292; ++i) b[i] = 0x7f;  // garbage bsums
  const auto out = decode(GgmlType::Q8_K, b, 256);
  expect_values(out, 256, {{0, 0.25f}}, {{0, -32.0f}, {100, -1.75f}, {255, 31.75f}});
}

TEST(DequantLayout, UnalignedSourceDecodesTheSame) {
  // Blocks inside a mapped file need not be aligned; decoding must not assume it.
  std::vector<uint8_t> aligned(144 * 2);
  for (size_t i = 0; i < aligned.size(); ++i) aligned[i] = static_cast<uint8_t>(i * 37 + 11);
  std::vector<uint8_t> shifted(aligned.size() + 1);
  std::memcpy(shifted.data() + 1, aligned.data(), aligned.size());
  std::vector<float> a(512), s(512);
  dequantize_row(GgmlType::Q4_K, aligned.data(), a.data(), 512);
  dequantize_row(GgmlType::Q4_K, shifted.data() + 1, s.data(), 512);
  EXPECT_EQ(0, std::memcmp(a.data(), s.data(), a.size() * sizeof(float)));
}

}  // namespace
}  // namespace ridge::tensor
