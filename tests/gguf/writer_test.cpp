// Writer: byte layout against a hand-built image of the spec, and refusal of
// inputs that would make an invalid file.
#include <gtest/gtest.h>

#include "common/testdata.h"
#include "gguf/gguf.h"
#include "raw_gguf.h"

namespace ridge::gguf {
namespace {

using test::RawGguf;

template <class F>
void expect_writer_error(F&& f, std::string_view part) {
  try {
    f();
    ADD_FAILURE() << "expected gguf::Error mentioning \"" << part << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(GgufWriter, LayoutMatchesTheSpecByteForByte) {
  Writer w(3, 64);
  w.set("general.architecture", Value::string("llama"));
  w.set("n", Value::i32_array({1, -2}));
  std::vector<uint8_t> a(12, 0xAA), b(2, 0xBB);
  w.add_tensor("a", GgmlType::F32, {3}, a);
  w.add_tensor("b", GgmlType::F16, {1, 1}, b);

  RawGguf r;
  r.header(2, 3)
      .kv_string("general.architecture", "llama")
      .kv_array("n", ValueType::INT32, 2)
      .i32(1)
      .i32(-2)
      .kv_u32("general.alignment", 64)  // non-default alignment: written by the writer
      .tensor_info("a", {3}, 0, 0)
      .tensor_info("b", {1, 1}, 1, 64)  // a's 12 bytes padded to 64
      .pad_to(64);
  r.bytes.insert(r.bytes.end(), a.begin(), a.end());
  r.pad_to(64);
  r.bytes.insert(r.bytes.end(), b.begin(), b.end());
  r.pad_to(64);
  EXPECT_EQ(w.to_bytes(), r.bytes);
}

TEST(GgufWriter, Version2HeaderAndDefaultAlignmentNotWritten) {
  Writer w(2);
  w.add_tensor("t", GgmlType::F32, {1}, std::vector<uint8_t>(4, 1));
  const auto bytes = w.to_bytes();
  RawGguf r;
  r.header(1, 0, 2).tensor_info("t", {1}, 0, 0).pad_to(32);
  r.bytes.insert(r.bytes.end(), 4, 1);
  r.pad_to(32);
  EXPECT_EQ(bytes, r.bytes);
}

TEST(GgufWriter, RefusesBadConstruction) {
  expect_writer_error([] { Writer w(1); }, "version 1");
  expect_writer_error([] { Writer w(4); }, "version 4");
  expect_writer_error([] { Writer w(3, 0); }, "alignment 0");
  expect_writer_error([] { Writer w(3, 48); }, "alignment 48");
  expect_writer_error([] { Writer w(3, kMaxAlignment * 2); }, "power of two");
  EXPECT_NO_THROW(Writer(3, kMaxAlignment));
}

TEST(GgufWriter, RefusesBadTensors) {
  Writer w;
  const std::vector<uint8_t> f32x4(16);
  expect_writer_error([&] { w.add_tensor("t", GgmlType::F32, {5}, f32x4); }, "takes 20");
  expect_writer_error([&] { w.add_tensor("t", GgmlType::Q4_0, {16}, std::vector<uint8_t>(9)); }, "block size 32");
  expect_writer_error([&] { w.add_tensor("t", GgmlType::F32, {}, f32x4); }, "0 dimensions");
  expect_writer_error([&] { w.add_tensor("t", GgmlType::F32, {1, 1, 1, 1, 4}, f32x4); }, "5 dimensions");
  expect_writer_error([&] { w.add_tensor("t", GgmlType::F32, {4, 0}, f32x4); }, "dimension 1 is 0");
  expect_writer_error([&] { w.add_tensor("t", GgmlType::F32, {-4}, f32x4); }, "dimension 0 is -4");
  expect_writer_error([&] { w.add_tensor("t", GgmlType::F32, {int64_t{1} << 40, int64_t{1} << 40}, f32x4); },
                      "overflows");
  expect_writer_error([&] { w.add_tensor("t", static_cast<GgmlType>(4), {4}, f32x4); }, "retired");
  expect_writer_error([&] { w.add_tensor("t", static_cast<GgmlType>(99), {4}, f32x4); }, "unknown");
  expect_writer_error([&] { w.add_tensor("", GgmlType::F32, {4}, f32x4); }, "empty tensor name");
  expect_writer_error([&] { w.add_tensor(std::string(64, 'x'), GgmlType::F32, {4}, f32x4); }, "limit of 63");
  expect_writer_error([&] { w.add_tensor("bad\xFF", GgmlType::F32, {4}, f32x4); }, "UTF-8");
  EXPECT_NO_THROW(w.add_tensor(std::string(63, 'x'), GgmlType::F32, {4}, f32x4));
  EXPECT_NO_THROW(w.add_tensor("t", GgmlType::F32, {4}, f32x4));
  expect_writer_error([&] { w.add_tensor("t", GgmlType::F32, {4}, f32x4); }, "duplicate");
  EXPECT_EQ(File::from_bytes(w.to_bytes()).tensors().size(), 2u);
}

TEST(GgufWriter, RefusesBadMetadata) {
  Writer w(3, 64);
  expect_writer_error([&] { w.set("", Value::u8(1)); }, "empty metadata key");
  expect_writer_error([&] { w.set("k\xC3", Value::u8(1)); }, "UTF-8");
  Value bad_u8 = Value::u8(0);
  bad_u8.u = 300;
  expect_writer_error([&] { w.set("k", bad_u8); }, "300 does not fit uint8");
  Value bad_i16 = Value::i16(0);
  bad_i16.i = -40000;
  expect_writer_error([&] { w.set("k", bad_i16); }, "does not fit int16");
  Value bad_bool = Value::boolean(true);
  bad_bool.u = 2;
  expect_writer_error([&] { w.set("k", bad_bool); }, "does not fit bool");
  EXPECT_NO_THROW(w.set("k", Value::f64(1e300)));
  Value f32_overflow = Value::f32(0);
  f32_overflow.f = 1e300;
  expect_writer_error([&] { w.set("k", f32_overflow); }, "does not fit float32");
  Value mixed = Value::string_array({"a"});
  mixed.ints = {1};
  expect_writer_error([&] { w.set("k", mixed); }, "holds elements of another type");
  Value bad_elem = Value::i32_array({1});
  bad_elem.ints[0] = int64_t{1} << 40;
  expect_writer_error([&] { w.set("k", bad_elem); }, "does not fit int32");
  Value bad_type;
  bad_type.type = static_cast<ValueType>(13);
  expect_writer_error([&] { w.set("k", bad_type); }, "value type id 13");
  Value deep = Value::i32_array({1});
  for (int d = 0; d < kMaxArrayDepth; ++d) deep = Value::array_of_arrays({deep});
  expect_writer_error([&] { w.set("k", deep); }, "nested deeper");
  expect_writer_error([&] { w.set("general.alignment", Value::u32(32)); }, "general.alignment");
  expect_writer_error([&] { w.set("general.alignment", Value::u64(64)); }, "general.alignment");
  EXPECT_NO_THROW(w.set("general.alignment", Value::u32(64)));
}

TEST(GgufWriter, ThrowsOnUnwritablePath) {
  const auto dir = ridge::test::scratch_dir("gguf-writer");
  expect_writer_error([&] { Writer().write((dir / "no" / "such" / "dir.gguf").string()); }, "cannot create");
}

}  // namespace
}  // namespace ridge::gguf
