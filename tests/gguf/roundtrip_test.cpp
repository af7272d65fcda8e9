// Writer -> reader round trips: every value type, nested arrays, both file
// versions, non-default alignments and tensors of block-quantized types.
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "common/testdata.h"
#include "gguf/gguf.h"

namespace ridge::gguf {
namespace {

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

Writer writer_with_every_type(uint32_t version, uint64_t alignment) {
  Writer w(version, alignment);
  w.set("t.u8", Value::u8(250));
  w.set("t.i8", Value::i8(-120));
  w.set("t.u16", Value::u16(65000));
  w.set("t.i16", Value::i16(-32000));
  w.set("t.u32", Value::u32(4000000000u));
  w.set("t.i32", Value::i32(-2000000000));
  w.set("t.f32", Value::f32(1.5e-5f));
  w.set("t.bool.true", Value::boolean(true));
  w.set("t.bool.false", Value::boolean(false));
  w.set("t.string", Value::string("héllo, \xF0\x9F\x98\x80 world"));
  w.set("t.string.empty", Value::string(""));
  w.set("t.u64", Value::u64(std::numeric_limits<uint64_t>::max()));
  w.set("t.i64", Value::i64(std::numeric_limits<int64_t>::min()));
  w.set("t.f64", Value::f64(-3.141592653589793));
  w.set("a.string", Value::string_array({"<unk>", "<s>", "", "\xE2\x96\x81the"}));
  w.set("a.f32", Value::f32_array({0.0f, -1.25f, 3.0e38f}));
  w.set("a.i32", Value::i32_array({-1, 0, 2147483647}));
  w.set("a.u8", Value::int_array(ValueType::UINT8, {0, 255, 7}));
  w.set("a.i8", Value::int_array(ValueType::INT8, {-128, 127}));
  w.set("a.u16", Value::int_array(ValueType::UINT16, {65535}));
  w.set("a.i16", Value::int_array(ValueType::INT16, {-32768, 32767}));
  w.set("a.u32", Value::int_array(ValueType::UINT32, {4294967295LL}));
  w.set("a.u64", Value::int_array(ValueType::UINT64, {-1, 5}));  // bit-cast: -1 is 2^64-1
  w.set("a.i64", Value::int_array(ValueType::INT64, {std::numeric_limits<int64_t>::min(), 9}));
  w.set("a.bool", Value::int_array(ValueType::BOOL, {1, 0, 1}));
  Value f64s;
  f64s.type = ValueType::ARRAY;
  f64s.elem = ValueType::FLOAT64;
  f64s.floats = {1e300, -0.0};
  w.set("a.f64", f64s);
  w.set("a.empty", Value::string_array({}));
  w.set("a.nested", Value::array_of_arrays({Value::i32_array({1, 2}), Value::string_array({"x"}),
                                            Value::array_of_arrays({Value::f32_array({0.5f})})}));
  return w;
}

void expect_every_type(const File& f) {
  EXPECT_EQ(f.get_u32("t.u8"), 250u);
  EXPECT_EQ(f.find("t.u8")->type, ValueType::UINT8);
  EXPECT_EQ(f.get_i64("t.i8"), -120);
  EXPECT_EQ(f.find("t.i8")->type, ValueType::INT8);
  EXPECT_EQ(f.get_u32("t.u16"), 65000u);
  EXPECT_EQ(f.get_i64("t.i16"), -32000);
  EXPECT_EQ(f.get_u32("t.u32"), 4000000000u);
  EXPECT_EQ(f.get_i64("t.i32"), -2000000000);
  EXPECT_EQ(f.find("t.f32")->type, ValueType::FLOAT32);
  EXPECT_EQ(f.get_f64("t.f32"), static_cast<double>(1.5e-5f));
  EXPECT_TRUE(f.get_bool("t.bool.true"));
  EXPECT_FALSE(f.get_bool("t.bool.false"));
  EXPECT_EQ(f.get_string("t.string"), "héllo, \xF0\x9F\x98\x80 world");
  EXPECT_EQ(f.get_string("t.string.empty"), "");
  EXPECT_EQ(f.get_u64("t.u64"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(f.get_i64("t.i64"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(f.find("t.f64")->type, ValueType::FLOAT64);
  EXPECT_EQ(f.get_f64("t.f64"), -3.141592653589793);

  EXPECT_EQ(f.get_string_array("a.string"), (std::vector<std::string>{"<unk>", "<s>", "", "\xE2\x96\x81the"}));
  EXPECT_EQ(f.get_float_array("a.f32"), (std::vector<double>{0.0, -1.25, static_cast<double>(3.0e38f)}));
  EXPECT_EQ(f.get_int_array("a.i32"), (std::vector<int64_t>{-1, 0, 2147483647}));
  EXPECT_EQ(f.get_int_array("a.u8"), (std::vector<int64_t>{0, 255, 7}));
  EXPECT_EQ(f.find("a.u8")->elem, ValueType::UINT8);
  EXPECT_EQ(f.get_int_array("a.i8"), (std::vector<int64_t>{-128, 127}));
  EXPECT_EQ(f.get_int_array("a.u16"), (std::vector<int64_t>{65535}));
  EXPECT_EQ(f.get_int_array("a.i16"), (std::vector<int64_t>{-32768, 32767}));
  EXPECT_EQ(f.get_int_array("a.u32"), (std::vector<int64_t>{4294967295LL}));
  EXPECT_EQ(f.get_int_array("a.u64"), (std::vector<int64_t>{-1, 5}));
  EXPECT_EQ(f.find("a.u64")->elem, ValueType::UINT64);
  EXPECT_EQ(f.get_int_array("a.i64"), (std::vector<int64_t>{std::numeric_limits<int64_t>::min(), 9}));
  const Value* bools = f.find("a.bool");
  ASSERT_NE(bools, nullptr);
  EXPECT_EQ(bools->elem, ValueType::BOOL);
  EXPECT_EQ(bools->ints, (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(f.get_float_array("a.f64"), (std::vector<double>{1e300, -0.0}));
  EXPECT_TRUE(std::signbit(f.get_float_array("a.f64")[1]));
  EXPECT_EQ(f.find("a.empty")->array_size(), 0u);
  EXPECT_EQ(f.find("a.empty")->elem, ValueType::STRING);

  const Value* nested = f.find("a.nested");
  ASSERT_NE(nested, nullptr);
  ASSERT_EQ(nested->elem, ValueType::ARRAY);
  ASSERT_EQ(nested->arrays.size(), 3u);
  EXPECT_EQ(nested->arrays[0].elem, ValueType::INT32);
  EXPECT_EQ(nested->arrays[0].ints, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(nested->arrays[1].strings, (std::vector<std::string>{"x"}));
  ASSERT_EQ(nested->arrays[2].arrays.size(), 1u);
  EXPECT_EQ(nested->arrays[2].arrays[0].floats, (std::vector<double>{0.5}));
}

TEST(GgufRoundTrip, EveryValueTypeVersion3) {
  const auto bytes = writer_with_every_type(3, 32).to_bytes();
  File f = File::from_bytes(bytes, "v3.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_FALSE(f.has("general.alignment"));  // the default is not written
  expect_every_type(f);
  // File order is kept.
  ASSERT_GE(f.metadata().size(), 2u);
  EXPECT_EQ(f.metadata()[0].first, "t.u8");
  EXPECT_EQ(f.metadata().back().first, "a.nested");
}

TEST(GgufRoundTrip, EveryValueTypeVersion2) {
  const auto bytes = writer_with_every_type(2, 32).to_bytes();
  EXPECT_EQ(bytes[4], 2);
  File f = File::from_bytes(bytes, "v2.gguf");
  EXPECT_EQ(f.version(), 2u);
  expect_every_type(f);
}

TEST(GgufRoundTrip, WriterBytesAreStableAcrossReadAndRewrite) {
  // Reading a file and writing its metadata and tensors back gives the same bytes.
  Writer w = writer_with_every_type(3, 64);
  w.add_tensor("w", GgmlType::Q8_0, {64, 3}, random_bytes(34 * 2 * 3, 1));
  const auto bytes = w.to_bytes();
  File f = File::from_bytes(bytes);
  Writer again(f.version(), f.alignment());
  for (const auto& [k, v] : f.metadata()) again.set(k, v);
  for (const auto& t : f.tensors())
    again.add_tensor(t.name, t.type, std::vector<int64_t>(t.ne, t.ne + t.n_dims),
                     std::vector<uint8_t>(t.data, t.data + t.n_bytes));
  EXPECT_EQ(again.to_bytes(), bytes);
}

TEST(GgufRoundTrip, TensorsOfSeveralTypesAndAlignments) {
  for (uint64_t alignment : {uint64_t{1}, uint64_t{8}, uint64_t{32}, uint64_t{64}, uint64_t{4096}}) {
    SCOPED_TRACE("alignment " + std::to_string(alignment));
    struct Spec {
      const char* name;
      GgmlType type;
      std::vector<int64_t> ne;
      size_t bytes;
    };
    const std::vector<Spec> specs = {
        {"f32.vec", GgmlType::F32, {7}, 28},
        {"f16.mat", GgmlType::F16, {5, 3}, 30},
        {"q4_0.mat", GgmlType::Q4_0, {64, 2}, 18 * 2 * 2},
        {"q8_0.3d", GgmlType::Q8_0, {32, 2, 3}, 34 * 6},
        {"q4_K.4d", GgmlType::Q4_K, {256, 1, 2, 2}, 144 * 4},
        {"bf16.mat", GgmlType::BF16, {3, 3}, 18},
        {"i8.vec", GgmlType::I8, {1}, 1},
    };
    Writer w(3, alignment);
    w.set("general.architecture", Value::string("test"));
    std::vector<std::vector<uint8_t>> datas;
    for (size_t k = 0; k < specs.size(); ++k) {
      datas.push_back(random_bytes(specs[k].bytes, static_cast<uint32_t>(k + 1)));
      w.add_tensor(specs[k].name, specs[k].type, specs[k].ne, datas.back());
    }
    const auto bytes = w.to_bytes();
    File f = File::from_bytes(bytes);
    EXPECT_EQ(f.alignment(), alignment);
    if (alignment != 32) {
      EXPECT_EQ(f.get_u32("general.alignment"), alignment);
    }
    EXPECT_EQ(f.data_offset() % alignment, 0u);
    ASSERT_EQ(f.tensors().size(), specs.size());
    uint64_t expected_offset = 0;
    for (size_t k = 0; k < specs.size(); ++k) {
      const TensorInfo& t = f.tensors()[k];
      EXPECT_EQ(t.name, specs[k].name);
      EXPECT_EQ(t.type, specs[k].type);
      EXPECT_EQ(t.n_dims, specs[k].ne.size());
      for (size_t d = 0; d < 4; ++d) EXPECT_EQ(t.ne[d], d < specs[k].ne.size() ? specs[k].ne[d] : 1);
      EXPECT_EQ(t.n_bytes, specs[k].bytes);
      EXPECT_EQ(t.offset, expected_offset);  // packed in order, each padded to the alignment
      EXPECT_EQ(t.offset % alignment, 0u);
      // Views into the File's own copy of the image, laid out as the offsets say.
      EXPECT_EQ(t.data - f.tensors()[0].data, static_cast<std::ptrdiff_t>(t.offset));
      EXPECT_EQ(std::memcmp(t.data, bytes.data() + f.data_offset() + t.offset, t.n_bytes), 0);
      EXPECT_EQ(std::memcmp(t.data, datas[k].data(), datas[k].size()), 0);
      EXPECT_EQ(f.find_tensor(specs[k].name), &t);
      expected_offset += (specs[k].bytes + alignment - 1) / alignment * alignment;
    }
    // The last tensor is padded too, as llama.cpp expects.
    EXPECT_EQ(f.file_size(), f.data_offset() + expected_offset);
    EXPECT_EQ(f.find_tensor("missing"), nullptr);
  }
}

TEST(GgufRoundTrip, CallerSetAlignmentKeyIsKeptNotDuplicated) {
  Writer w(3, 64);
  w.set("general.alignment", Value::u32(64));
  w.set("x", Value::u8(1));
  File f = File::from_bytes(w.to_bytes());
  EXPECT_EQ(f.metadata().size(), 2u);
  EXPECT_EQ(f.metadata()[0].first, "general.alignment");
  EXPECT_EQ(f.alignment(), 64u);
}

TEST(GgufRoundTrip, SetReplacesAndKeepsFirstPosition) {
  Writer w;
  w.set("a", Value::u8(1));
  w.set("b", Value::u8(2));
  w.set("a", Value::string("again"));
  File f = File::from_bytes(w.to_bytes());
  ASSERT_EQ(f.metadata().size(), 2u);
  EXPECT_EQ(f.metadata()[0].first, "a");
  EXPECT_EQ(f.get_string("a"), "again");
}

TEST(GgufRoundTrip, WriteAndOpenThroughTheFileSystem) {
  const auto dir = ridge::test::scratch_dir("gguf-roundtrip");
  const std::string path = (dir / "model.gguf").string();
  Writer w = writer_with_every_type(3, 32);
  w.add_tensor("tok", GgmlType::F32, {4, 2}, random_bytes(32, 9));
  w.write(path);
  File f = File::open(path);
  EXPECT_EQ(f.path(), path);
  expect_every_type(f);
  ASSERT_EQ(f.tensors().size(), 1u);
  EXPECT_EQ(std::memcmp(f.tensors()[0].data, random_bytes(32, 9).data(), 32), 0);

  // Moving a File keeps its views (metadata, tensor data) valid.
  File moved = std::move(f);
  EXPECT_EQ(moved.get_string("t.string"), "héllo, \xF0\x9F\x98\x80 world");
  EXPECT_EQ(moved.find_tensor("tok")->ne[1], 2);
  File assigned = File::from_bytes(Writer().to_bytes());
  assigned = std::move(moved);
  EXPECT_EQ(assigned.tensors()[0].data[0], random_bytes(32, 9)[0]);
}

TEST(GgufRoundTrip, EmptyFileIsAPaddedHeader) {
  const auto bytes = Writer().to_bytes();
  EXPECT_EQ(bytes.size(), 32u);
  File f = File::from_bytes(bytes);
  EXPECT_TRUE(f.metadata().empty());
  EXPECT_TRUE(f.tensors().empty());
  EXPECT_EQ(f.data_offset(), 32u);
  // Files without tensors may also end right after the metadata (llama.cpp's
  // vocabulary files do): their empty data section starts at the end of the file.
  File unpadded = File::from_bytes(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 24));
  EXPECT_EQ(unpadded.data_offset(), 24u);
}

TEST(GgufGetters, IntegerGettersAcceptAnyIntegerThatFits) {
  Writer w;
  w.set("small", Value::u8(7));
  w.set("neg", Value::i32(-3));
  w.set("big", Value::u64(uint64_t{1} << 40));
  w.set("huge", Value::u64(std::numeric_limits<uint64_t>::max()));
  w.set("flag", Value::boolean(true));
  w.set("name", Value::string("n"));
  w.set("eps", Value::f32(1e-5f));
  File f = File::from_bytes(w.to_bytes(), "getters.gguf");
  EXPECT_EQ(f.get_u64("small"), 7u);
  EXPECT_EQ(f.get_u32("small"), 7u);
  EXPECT_EQ(f.get_i64("small"), 7);
  EXPECT_EQ(f.get_i64("neg"), -3);
  EXPECT_EQ(f.get_u64("big"), uint64_t{1} << 40);
  EXPECT_EQ(f.get_i64("big"), int64_t{1} << 40);
  EXPECT_THROW(f.get_u32("big"), Error);
  EXPECT_THROW(f.get_u64("neg"), Error);
  EXPECT_THROW(f.get_u32("neg"), Error);
  EXPECT_THROW(f.get_i64("huge"), Error);
  EXPECT_THROW(f.get_u32("flag"), Error);  // bool is not an integer
  EXPECT_THROW(f.get_f64("small"), Error);  // integers are not floats
  EXPECT_NEAR(f.get_f64("eps"), 1e-5, 1e-12);

  EXPECT_EQ(f.get_u32_or("missing", 9), 9u);
  EXPECT_EQ(f.get_u64_or("missing", 9), 9u);
  EXPECT_EQ(f.get_i64_or("missing", -9), -9);
  EXPECT_EQ(f.get_f64_or("missing", 0.25), 0.25);
  EXPECT_EQ(f.get_bool_or("missing", true), true);
  EXPECT_EQ(f.get_string_or("missing", "dflt"), "dflt");
  EXPECT_EQ(f.get_u32_or("small", 9), 7u);
  EXPECT_EQ(f.get_string_or("name", "dflt"), "n");
  EXPECT_TRUE(f.get_bool_or("flag", false));
  // The *_or forms still refuse a declared type that does not match.
  EXPECT_THROW(f.get_u32_or("name", 1), Error);
  EXPECT_THROW(f.get_string_or("small", "x"), Error);
  EXPECT_THROW(f.get_bool_or("small", false), Error);
  EXPECT_THROW(f.get_f64_or("name", 1.0), Error);

  try {
    f.get_u32("missing.key");
    ADD_FAILURE() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.key"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("getters.gguf"), std::string::npos) << e.what();
  }
}

TEST(GgufValue, FactoriesRefuseValuesThatDoNotFit) {
  EXPECT_THROW(Value::int_array(ValueType::UINT8, {256}), Error);
  EXPECT_THROW(Value::int_array(ValueType::INT8, {-129}), Error);
  EXPECT_THROW(Value::int_array(ValueType::BOOL, {2}), Error);
  EXPECT_THROW(Value::int_array(ValueType::STRING, {1}), Error);
  EXPECT_THROW(Value::array_of_arrays({Value::u8(1)}), Error);
  EXPECT_EQ(Value::int_array(ValueType::UINT32, {0, 4294967295LL}).array_size(), 2u);
  EXPECT_EQ(Value::u8(3).array_size(), 0u);
  EXPECT_EQ(describe_type(Value::i32_array({1})), "array of int32");
  EXPECT_EQ(describe_type(Value::f64(1)), "float64");
}

TEST(GgufUtf8, Validation) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
  EXPECT_TRUE(is_valid_utf8(std::string_view("a\0b", 3)));
  EXPECT_FALSE(is_valid_utf8("\x80"));              // lone continuation
  EXPECT_FALSE(is_valid_utf8("\xC3"));              // truncated sequence
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // overlong 3-byte
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xFF"));
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));
}

}  // namespace
}  // namespace ridge::gguf
