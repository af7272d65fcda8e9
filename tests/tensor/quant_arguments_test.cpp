// Argument checking of the public (de)quantization API: which types are supported,
// row lengths that are not whole blocks, unsupported and unknown type ids.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tensor/quant.h"

namespace ridge::tensor {
namespace {

const GgmlType kDequantizable[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0,
                                   GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q2_K, GgmlType::Q3_K,
                                   GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_K};
const GgmlType kUnsupported[] = {GgmlType::Q8_1,  GgmlType::IQ2_XXS, GgmlType::IQ4_NL, GgmlType::IQ4_XS,
                                 GgmlType::I8,    GgmlType::I32,     GgmlType::F64,    GgmlType::TQ1_0,
                                 GgmlType::MXFP4, static_cast<GgmlType>(4), static_cast<GgmlType>(1000)};

// The message of the invalid_argument thrown by f, or "" when none was thrown.
template <typename F>
std::string invalid_argument_message(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(QuantArguments, SupportTable) {
  for (GgmlType t : kDequantizable) {
    EXPECT_TRUE(can_dequantize(t)) << ggml_type_name(t);
    EXPECT_TRUE(can_quantize(t)) << ggml_type_name(t);
  }
  for (GgmlType t : kUnsupported) {
    EXPECT_FALSE(can_dequantize(t)) << static_cast<uint32_t>(t);
    EXPECT_FALSE(can_quantize(t)) << static_cast<uint32_t>(t);
  }
}

TEST(QuantArguments, RowLengthMustBeWholeBlocks) {
  std::vector<uint8_t> bytes(4096, 0);
  std::vector<float> floats(4096, 0.0f);
  for (GgmlType t : kDequantizable) {
    const int64_t bs = ggml_type_traits(t).block_size;
    std::vector<int64_t> bad{-1, -bs};
    if (bs > 1) bad.insert(bad.end(), {1, bs - 1, bs + 1, 3 * bs + bs / 2});
    for (int64_t n : bad) {
      const std::string msg = invalid_argument_message([&] { dequantize_row(t, bytes.data(), floats.data(), n); });
      EXPECT_NE(msg.find(std::string(ggml_type_name(t))), std::string::npos) << "n=" << n << ": " << msg;
      EXPECT_NE(msg.find(std::to_string(n)), std::string::npos) << msg;
      EXPECT_THROW(quantize_row(t, floats.data(), bytes.data(), n), std::invalid_argument) << n;
      if (n >= 0) {
        EXPECT_THROW(quantize(t, floats.data(), 2, n), std::invalid_argument) << n;
      }
    }
    // Zero elements is a valid, empty row.
    EXPECT_NO_THROW(dequantize_row(t, nullptr, nullptr, 0));
    EXPECT_NO_THROW(quantize_row(t, nullptr, nullptr, 0));
  }
}

TEST(QuantArguments, UnsupportedTypesAreRejectedByName) {
  std::vector<uint8_t> bytes(4096, 0);
  std::vector<float> floats(4096, 0.0f);
  for (GgmlType t : kUnsupported) {
    const std::string msg = invalid_argument_message([&] { dequantize_row(t, bytes.data(), floats.data(), 256); });
    EXPECT_NE(msg.find("not supported"), std::string::npos) << msg;
    EXPECT_THROW(quantize_row(t, floats.data(), bytes.data(), 256), std::invalid_argument);
    EXPECT_THROW(quantize(t, floats.data(), 1, 256), std::invalid_argument);
  }
  EXPECT_NE(invalid_argument_message([&] { dequantize_row(GgmlType::IQ2_XXS, bytes.data(), floats.data(), 256); })
                .find("iq2_xxs"),
            std::string::npos);
  EXPECT_NE(invalid_argument_message([&] {
              dequantize_row(static_cast<GgmlType>(1000), bytes.data(), floats.data(), 256);
            }).find("1000"),
            std::string::npos);
}

TEST(QuantArguments, NullBuffersAndBadRowCounts) {
  std::vector<float> floats(256, 0.0f);
  std::vector<uint8_t> bytes(256, 0);
  EXPECT_THROW(dequantize_row(GgmlType::Q4_K, nullptr, floats.data(), 256), std::invalid_argument);
  EXPECT_THROW(dequantize_row(GgmlType::Q4_K, bytes.data(), nullptr, 256), std::invalid_argument);
  EXPECT_THROW(quantize_row(GgmlType::Q8_0, nullptr, bytes.data(), 32), std::invalid_argument);
  EXPECT_THROW(quantize(GgmlType::Q8_0, floats.data(), -1, 32), std::invalid_argument);
  EXPECT_THROW(quantize(GgmlType::Q8_0, nullptr, 2, 32), std::invalid_argument);
  // A size whose byte count cannot exist is refused before allocating.
  EXPECT_THROW(quantize(GgmlType::F32, floats.data(), int64_t{1} << 62, int64_t{1} << 40), std::invalid_argument);
}

}  // namespace
}  // namespace ridge::tensor
