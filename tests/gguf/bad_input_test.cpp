// One test per GGUF class of BAD-INPUTS.md (1-9): hand-built images with one
// field corrupted, each refused with gguf::Error naming the thing at fault.
#include <sys/stat.h>

#include <fstream>
#include <functional>
#include <limits>

#include <gtest/gtest.h>

#include "common/testdata.h"
#include "gguf/gguf.h"
#include "raw_gguf.h"

namespace ridge::gguf {
namespace {

using test::expect_gguf_error;
using test::RawGguf;

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
constexpr uint32_t kF32 = 0;
constexpr uint32_t kQ4_0 = 2;

// A file with one metadata key and one tensor whose info `info` writes, then
// padding and `data_bytes` of tensor data.
std::vector<uint8_t> one_tensor(const std::function<void(RawGguf&)>& info, size_t data_bytes = 64) {
  RawGguf r;
  r.header(1, 1).kv_string("general.architecture", "llama");
  info(r);
  r.pad_to(32).zeros(data_bytes);
  return r.bytes;
}

// A file with one metadata entry whose key and value `kv` writes.
std::vector<uint8_t> one_kv(const std::function<void(RawGguf&)>& kv) {
  RawGguf r;
  r.header(0, 1);
  kv(r);
  return r.bytes;
}

TEST(GgufBadInput, HandBuiltBaseImagesAreValid) {
  // The corruptions below change one field of these; the rest must be valid.
  File f = File::from_bytes(one_tensor([](RawGguf& r) { r.tensor_info("w", {4, 4}, kF32, 0); }));
  EXPECT_EQ(f.tensors().at(0).n_bytes, 64u);
  File g = File::from_bytes(one_kv([](RawGguf& r) { r.kv_u32("k", 1); }));
  EXPECT_EQ(g.get_u32("k"), 1u);
}

// ---- class 1: wrong magic or version; truncation at every offset ----

TEST(GgufBadInput, Class1WrongMagic) {
  RawGguf r;
  r.raw("GGUX").u32(3).u64(0).u64(0);
  expect_gguf_error(r.bytes, {"not a GGUF file", "0x47475558", "byte offset 0"});
  RawGguf lower;
  lower.raw("gguf").u32(3).u64(0).u64(0);
  expect_gguf_error(lower.bytes, {"not a GGUF file"});
}

TEST(GgufBadInput, Class1Versions) {
  RawGguf v1;
  v1.header(0, 0, 1);
  expect_gguf_error(v1.bytes, {"version 1 is not supported", "byte offset 4"});
  for (uint32_t v : {0u, 4u, 0xFFFFFFFFu}) {
    RawGguf r;
    r.header(0, 0, v);
    expect_gguf_error(r.bytes, {"unsupported GGUF version " + std::to_string(v)});
  }
  RawGguf big_endian;  // version 3 written big-endian
  big_endian.raw("GGUF").u8(0).u8(0).u8(0).u8(3).u64(0).u64(0);
  expect_gguf_error(big_endian.bytes, {"big-endian"});
}

TEST(GgufBadInput, Class1TruncatedAtEveryOffset) {
  Writer w;
  w.set("general.architecture", Value::string("llama"));
  w.set("tokenizer.ggml.tokens", Value::string_array({"<unk>", "<s>", "</s>", "a"}));
  w.set("tokenizer.ggml.scores", Value::f32_array({0, 0, 0, -1}));
  w.set("llama.block_count", Value::u32(1));
  w.set("nested", Value::array_of_arrays({Value::i32_array({1}), Value::string_array({"x", "y"})}));
  w.add_tensor("a", GgmlType::F32, {3}, std::vector<uint8_t>(12, 1));
  w.add_tensor("b", GgmlType::Q4_0, {32}, std::vector<uint8_t>(18, 2));
  const auto full = w.to_bytes();
  const File f = File::from_bytes(full);
  const TensorInfo& last = f.tensors().back();
  const size_t data_end = f.data_offset() + last.offset + last.n_bytes;
  ASSERT_LT(data_end, full.size());  // trailing padding exists
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    if (n < data_end) {
      try {
        File::from_bytes(prefix, "cut.gguf");
        ADD_FAILURE() << "prefix of " << n << " bytes loaded";
      } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("cut.gguf"), std::string::npos) << msg;
        EXPECT_NE(msg.find("byte offset"), std::string::npos) << msg;
      }
    } else {
      // Only the trailing padding of the last tensor is missing: still a valid file.
      EXPECT_NO_THROW(File::from_bytes(prefix)) << "prefix of " << n << " bytes";
    }
  }
}

TEST(GgufBadInput, Class1TruncatedFilesOnDisk) {
  const auto dir = ridge::test::scratch_dir("gguf-bad-files");
  const std::string empty = (dir / "empty.gguf").string();
  std::ofstream(empty).close();
  try {
    File::open(empty);
    ADD_FAILURE() << "empty file loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(empty), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  const std::string shortf = (dir / "short.gguf").string();
  std::ofstream(shortf, std::ios::binary) << "GGUF\x03";
  EXPECT_THROW(File::open(shortf), Error);
  try {
    File::open((dir / "absent.gguf").string());
    ADD_FAILURE() << "absent file opened";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("absent.gguf: cannot open"), std::string::npos) << e.what();
  }
  try {
    File::open(dir.string());
    ADD_FAILURE() << "directory opened";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
  // A FIFO with no writer: refused at once, not waited on.
  const std::string fifo = (dir / "pipe.gguf").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  try {
    File::open(fifo);
    ADD_FAILURE() << "fifo opened";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
}

// ---- class 2: counts that overflow or cannot fit in the file ----

TEST(GgufBadInput, Class2HugeCounts) {
  RawGguf huge_kv;
  huge_kv.header(0, kU64Max).zeros(64);
  expect_gguf_error(huge_kv.bytes, {"metadata count 18446744073709551615", "byte offset 16"});
  RawGguf many_kv;  // under the key limit but more than the 64 bytes left can hold
  many_kv.header(0, 5).zeros(64);
  expect_gguf_error(many_kv.bytes, {"metadata count 5 cannot fit in the 64 bytes"});
  RawGguf huge_tensors;
  huge_tensors.header(kU64Max, 0).zeros(64);
  expect_gguf_error(huge_tensors.bytes, {"tensor count 18446744073709551615 cannot fit", "byte offset 8"});
  RawGguf overflow_when_multiplied;  // 2^60 * 33 wraps 64 bits
  overflow_when_multiplied.header(uint64_t{1} << 60, 0).zeros(64);
  expect_gguf_error(overflow_when_multiplied.bytes, {"tensor count", "cannot fit"});
  RawGguf together;  // each count fits alone, not both together
  together.header(1, 2).zeros(40);
  expect_gguf_error(together.bytes, {"1 tensor infos and 2 metadata entries cannot fit in the 40 bytes"});
  RawGguf too_many_declared;  // a count the content does not match
  too_many_declared.header(0, 3).kv_u32("a", 1).kv_u32("b", 2).zeros(8);
  expect_gguf_error(too_many_declared.bytes, {"metadata entry #2"});
}

// ---- class 3: strings and keys ----

TEST(GgufBadInput, Class3StringLengths) {
  expect_gguf_error(one_kv([](RawGguf& r) { r.u64(kU64Max).raw("key").zeros(8); }),
                    {"metadata entry #0", "key length 18446744073709551615 runs past the end", "byte offset 24"});
  expect_gguf_error(one_kv([](RawGguf& r) { r.u64(kU64Max - 5).raw("key").zeros(16); }),
                    {"runs past the end"});
  expect_gguf_error(one_kv([](RawGguf& r) { r.u64(100).raw("short").zeros(8); }),
                    {"key length 100 runs past the end"});
  expect_gguf_error(one_kv([](RawGguf& r) { r.key("general.name", ValueType::STRING).u64(kU64Max).raw("x"); }),
                    {"key 'general.name'", "string value length 18446744073709551615 runs past the end",
                     "byte offset 48"});
  expect_gguf_error(one_kv([](RawGguf& r) {
                      r.kv_array("tokenizer.ggml.tokens", ValueType::STRING, 2).str("a").u64(1000).raw("b");
                    }),
                    {"key 'tokenizer.ggml.tokens'", "string array element length 1000"});
  std::string long_key(kMaxKeyBytes + 1, 'k');
  expect_gguf_error(one_kv([&](RawGguf& r) { r.kv_u32(long_key, 1); }), {"exceeds the limit of 65536 bytes"});
}

TEST(GgufBadInput, Class3Keys) {
  expect_gguf_error(one_kv([](RawGguf& r) { r.kv_u32("", 1); }), {"empty key", "byte offset 24"});
  expect_gguf_error(one_kv([](RawGguf& r) { r.kv_u32("general.\xFFname", 1); }),
                    {"key 'general.\\xffname' is not valid UTF-8"});
  expect_gguf_error(one_kv([](RawGguf& r) { r.kv_u32("a\xED\xA0\x80", 1); }), {"not valid UTF-8"});
  RawGguf dup;
  dup.header(0, 3).kv_u32("llama.block_count", 1).kv_string("x", "y").kv_u32("llama.block_count", 2);
  // First entry at byte 24; the second "llama.block_count" at 24 + (8+17+4+4) + (8+1+4+8+1) = 79.
  expect_gguf_error(dup.bytes, {"key 'llama.block_count'", "duplicate key", "first defined at byte offset 24",
                                "(at byte offset 79)"});
}

// ---- class 4: value and array types ----

TEST(GgufBadInput, Class4ValueTypes) {
  expect_gguf_error(one_kv([](RawGguf& r) { r.str("general.name").u32(13).u32(0); }),
                    {"key 'general.name'", "value type id 13 is not a GGUF value type", "byte offset 44"});
  expect_gguf_error(one_kv([](RawGguf& r) { r.str("k").u32(0xFFFFFFFF).u32(0); }), {"value type id 4294967295"});
  expect_gguf_error(one_kv([](RawGguf& r) { r.kv_array("arr", static_cast<ValueType>(99), 0); }),
                    {"key 'arr'", "array element type id 99"});
  expect_gguf_error(one_kv([](RawGguf& r) { r.key("flag", ValueType::BOOL).u8(2); }),
                    {"key 'flag'", "bool value is 2"});
}

TEST(GgufBadInput, Class4ArrayCountsOverflow) {
  // count * 4 wraps 64 bits: must be refused by division, not multiplication.
  expect_gguf_error(one_kv([](RawGguf& r) { r.kv_array("a", ValueType::UINT32, uint64_t{1} << 62).zeros(16); }),
                    {"key 'a'", "array of 4611686018427387904 uint32 elements cannot fit"});
  expect_gguf_error(one_kv([](RawGguf& r) { r.kv_array("a", ValueType::FLOAT64, kU64Max).zeros(16); }),
                    {"cannot fit"});
  // String-array bomb: a count far beyond what the bytes left can hold.
  expect_gguf_error(one_kv([](RawGguf& r) { r.kv_array("t", ValueType::STRING, uint64_t{1} << 40).zeros(64); }),
                    {"key 't'", "string elements cannot fit in the 64 bytes left"});
  // Nested bomb: arrays whose declared counts each fit alone but not together.
  expect_gguf_error(one_kv([](RawGguf& r) {
                      r.kv_array("n", ValueType::ARRAY, 2).u32(static_cast<uint32_t>(ValueType::UINT8)).u64(1000);
                      r.zeros(100);
                    }),
                    {"key 'n'", "array of 1000 uint8 elements cannot fit"});
}

TEST(GgufBadInput, Class4NestingDepthAndCountBounded) {
  auto nested = [](int depth) {
    return one_kv([depth](RawGguf& r) {
      r.key("deep", ValueType::ARRAY);
      for (int d = 1; d < depth; ++d) r.u32(static_cast<uint32_t>(ValueType::ARRAY)).u64(1);
      r.u32(static_cast<uint32_t>(ValueType::UINT8)).u64(1).u8(7);
    });
  };
  File ok = File::from_bytes(nested(kMaxArrayDepth));
  const Value* v = ok.find("deep");
  for (int d = 1; d < kMaxArrayDepth; ++d) v = &v->arrays.at(0);
  EXPECT_EQ(v->ints.at(0), 7);
  expect_gguf_error(nested(kMaxArrayDepth + 1), {"key 'deep'", "nested deeper than 8 levels"});
  expect_gguf_error(nested(100000), {"nested deeper than 8 levels"});

  // Many nested empty arrays: each is 12 bytes on disk but a whole Value in memory.
  const uint64_t n = kMaxNestedArrays + 1;
  std::vector<uint8_t> many = one_kv([&](RawGguf& r) {
    r.kv_array("many", ValueType::ARRAY, n);
    for (uint64_t k = 0; k < n; ++k) r.u32(static_cast<uint32_t>(ValueType::UINT8)).u64(0);
  });
  expect_gguf_error(many, {"key 'many'", "more than 65536 nested arrays"});
}

TEST(GgufBadInput, Class4LegitimateLargeStringArrayLoads) {
  // 200k empty strings: bounded by the file's own size, so it loads.
  const uint64_t n = 200000;
  auto bytes = one_kv([&](RawGguf& r) {
    r.kv_array("tokenizer.ggml.tokens", ValueType::STRING, n);
    r.zeros(8 * n);
  });
  File f = File::from_bytes(std::move(bytes));
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens").size(), n);
}

// ---- class 5: type confusion ----

TEST(GgufBadInput, Class5TypeConfusion) {
  Writer w;
  w.set("tokenizer.ggml.scores", Value::int_array(ValueType::INT8, {1, 2}));
  w.set("tokenizer.ggml.tokens", Value::i32_array({1}));
  w.set("llama.block_count", Value::string("five"));
  w.set("general.name", Value::u32(7));
  w.set("flag", Value::u8(1));
  w.set("eps", Value::f32(1e-5f));
  w.set("ids", Value::string_array({"a"}));
  File f = File::from_bytes(w.to_bytes(), "confused.gguf");
  auto expect_confusion = [](auto&& call, std::initializer_list<std::string_view> parts) {
    try {
      call();
      ADD_FAILURE() << "expected a type error";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("confused.gguf"), std::string::npos) << msg;
      for (auto p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "lacks \"" << p << "\": " << msg;
    }
  };
  expect_confusion([&] { f.get_float_array("tokenizer.ggml.scores"); },
                   {"key 'tokenizer.ggml.scores'", "declared array of int8", "read as array of float"});
  expect_confusion([&] { f.get_string_array("tokenizer.ggml.tokens"); },
                   {"key 'tokenizer.ggml.tokens'", "declared array of int32", "read as array of string"});
  expect_confusion([&] { f.get_u32("llama.block_count"); },
                   {"key 'llama.block_count'", "declared string", "read as an unsigned integer"});
  expect_confusion([&] { f.get_i64("llama.block_count"); }, {"declared string", "read as an integer"});
  expect_confusion([&] { f.get_string("general.name"); }, {"key 'general.name'", "declared uint32", "read as string"});
  expect_confusion([&] { f.get_bool("flag"); }, {"key 'flag'", "declared uint8", "read as bool"});
  expect_confusion([&] { f.get_f64("flag"); }, {"declared uint8", "read as a float"});
  expect_confusion([&] { f.get_u64("eps"); }, {"key 'eps'", "declared float32"});
  expect_confusion([&] { f.get_int_array("ids"); }, {"key 'ids'", "declared array of string", "array of integer"});
  expect_confusion([&] { f.get_float_array("eps"); }, {"declared float32", "read as array of float"});
}

// ---- class 6: general.alignment ----

TEST(GgufBadInput, Class6Alignment) {
  auto with_alignment = [](const std::function<void(RawGguf&)>& kv) {
    RawGguf r;
    r.header(0, 2).kv_string("general.name", "x");
    kv(r);
    return r.bytes;
  };
  // The alignment value sits after "general.name" (8+12+4+8+1) and its own key and type.
  const std::string value_at = "byte offset " + std::to_string(24 + 33 + 8 + 17 + 4);
  expect_gguf_error(with_alignment([](RawGguf& r) { r.kv_u32("general.alignment", 0); }),
                    {"key 'general.alignment'", "alignment is 0", value_at});
  expect_gguf_error(with_alignment([](RawGguf& r) { r.kv_u32("general.alignment", 48); }),
                    {"key 'general.alignment'", "alignment 48 is not a power of two"});
  expect_gguf_error(with_alignment([](RawGguf& r) { r.kv_u32("general.alignment", 1u << 21); }),
                    {"alignment 2097152 exceeds the limit of 1048576"});
  expect_gguf_error(with_alignment([](RawGguf& r) { r.kv_u32("general.alignment", 0x80000000u); }),
                    {"exceeds the limit"});
  expect_gguf_error(with_alignment([](RawGguf& r) { r.key("general.alignment", ValueType::UINT64).u64(32); }),
                    {"key 'general.alignment'", "has type uint64, expected uint32"});
  expect_gguf_error(with_alignment([](RawGguf& r) { r.kv_string("general.alignment", "32"); }),
                    {"has type string, expected uint32"});
  File ok = File::from_bytes(with_alignment([](RawGguf& r) { r.kv_u32("general.alignment", 1u << 20); }));
  EXPECT_EQ(ok.alignment(), 1u << 20);
  File one = File::from_bytes(with_alignment([](RawGguf& r) { r.kv_u32("general.alignment", 1); }));
  EXPECT_EQ(one.alignment(), 1u);
}

// ---- class 7: tensor dimensions and sizes ----

TEST(GgufBadInput, Class7Dimensions) {
  // The tensor info starts at 24 + (8+20+4+8+5) = 69; its n_dims field after the 8+1 name.
  expect_gguf_error(one_tensor([](RawGguf& r) { r.str("w").u32(0).u32(kF32).u64(0); }),
                    {"tensor 'w'", "n_dims is 0", "byte offset 78"});
  expect_gguf_error(one_tensor([](RawGguf& r) { r.tensor_info("w", {1, 1, 1, 1, 1}, kF32, 0); }),
                    {"tensor 'w'", "n_dims is 5"});
  expect_gguf_error(one_tensor([](RawGguf& r) { r.str("w").u32(0xFFFFFFFF); }), {"n_dims is 4294967295"});
  expect_gguf_error(one_tensor([](RawGguf& r) { r.tensor_info("w", {4, 0}, kF32, 0); }),
                    {"tensor 'w'", "dimension 1 is 0"});
  expect_gguf_error(one_tensor([](RawGguf& r) { r.tensor_info("w", {kU64Max}, kF32, 0); }),
                    {"tensor 'w'", "dimension 0 = 18446744073709551615 is negative"});
}

TEST(GgufBadInput, Class7SizeOverflow) {
  expect_gguf_error(one_tensor([](RawGguf& r) {
                      r.tensor_info("w", {uint64_t{1} << 32, uint64_t{1} << 32}, kF32, 0);
                    }),
                    {"tensor 'w'", "element count overflows int64 at dimension 1"});
  // 2^62 elements fit int64, but 2^62 * 4 bytes does not fit 64 bits.
  expect_gguf_error(one_tensor([](RawGguf& r) {
                      r.tensor_info("w", {uint64_t{1} << 31, uint64_t{1} << 31}, kF32, 0);
                    }),
                    {"tensor 'w'", "overflows 64 bits"});
  // Huge but representable: refused because the data is not in the file.
  expect_gguf_error(one_tensor([](RawGguf& r) { r.tensor_info("w", {uint64_t{1} << 40}, kF32, 0); }),
                    {"tensor 'w'", "runs past the end"});
}

TEST(GgufBadInput, Class7RowNotBlockMultiple) {
  expect_gguf_error(one_tensor([](RawGguf& r) { r.tensor_info("blk.0.attn_q.weight", {33, 2}, kQ4_0, 0); }),
                    {"tensor 'blk.0.attn_q.weight'", "row length 33 is not a multiple of q4_0's block size 32"});
  File ok = File::from_bytes(one_tensor([](RawGguf& r) { r.tensor_info("w", {32, 2}, kQ4_0, 0); }));
  EXPECT_EQ(ok.tensors()[0].n_bytes, 36u);
}

// ---- class 8: tensor types and names ----

TEST(GgufBadInput, Class8TensorTypes) {
  for (uint32_t retired : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u}) {
    expect_gguf_error(one_tensor([retired](RawGguf& r) { r.tensor_info("w", {4}, retired, 0); }),
                      {"tensor 'w'", "tensor type id " + std::to_string(retired) + " is unknown or retired"});
  }
  for (uint32_t bad : {40u, 1000u, 0xFFFFFFFFu}) {
    expect_gguf_error(one_tensor([bad](RawGguf& r) { r.tensor_info("w", {4}, bad, 0); }),
                      {"tensor type id " + std::to_string(bad)});
  }
}

TEST(GgufBadInput, Class8TensorNames) {
  RawGguf dup;
  dup.header(2, 0).tensor_info("w", {4}, kF32, 0).tensor_info("w", {4}, kF32, 32).pad_to(32).zeros(64);
  expect_gguf_error(dup.bytes, {"tensor 'w'", "duplicate tensor name (first defined as tensor #0)"});

  const std::string too_long(kMaxTensorNameBytes + 1, 'n');
  expect_gguf_error(one_tensor([&](RawGguf& r) { r.tensor_info(too_long, {4}, kF32, 0); }),
                    {"tensor #0", "tensor name of 257 bytes exceeds the limit of 256"});
  const std::string longest(kMaxTensorNameBytes, 'n');
  File ok = File::from_bytes(one_tensor([&](RawGguf& r) { r.tensor_info(longest, {4}, kF32, 0); }));
  EXPECT_NE(ok.find_tensor(longest), nullptr);

  expect_gguf_error(one_tensor([](RawGguf& r) { r.tensor_info("", {4}, kF32, 0); }),
                    {"tensor #0", "empty tensor name"});
  expect_gguf_error(one_tensor([](RawGguf& r) { r.tensor_info("w\xC0\x80", {4}, kF32, 0); }),
                    {"tensor #0", "not valid UTF-8"});
  expect_gguf_error(one_tensor([](RawGguf& r) { r.str("w").u32(1).u64(4).u32(kF32); }, 0),
                    {"tensor 'w'", "truncated reading tensor data offset"});
  expect_gguf_error(one_tensor([](RawGguf& r) { r.u64(kU64Max).raw("w"); }),
                    {"tensor #0", "tensor name length 18446744073709551615 runs past the end"});
}

// ---- class 9: tensor data offsets ----

TEST(GgufBadInput, Class9Offsets) {
  expect_gguf_error(one_tensor([](RawGguf& r) { r.tensor_info("w", {4}, kF32, 4); }),
                    {"tensor 'w'", "data offset 4 is not a multiple of the alignment 32"});
  expect_gguf_error(one_tensor([](RawGguf& r) { r.tensor_info("w", {4}, kF32, 64); }),
                    {"tensor 'w'", "data [64, +16) runs past the end of the data section (64 bytes"});
  expect_gguf_error(one_tensor([](RawGguf& r) { r.tensor_info("w", {4}, kF32, kU64Max - 31); }),
                    {"tensor 'w'", "runs past the end"});
  // Tensor info offset field: 69 + 8+1 + 4 + 8 + 4 = 94.
  expect_gguf_error(one_tensor([](RawGguf& r) { r.tensor_info("w", {4}, kF32, 32 * 1000); }),
                    {"byte offset 94"});

  RawGguf overlap;
  overlap.header(2, 0).tensor_info("a", {16}, kF32, 0).tensor_info("b", {4}, kF32, 32).pad_to(32).zeros(128);
  expect_gguf_error(overlap.bytes, {"tensor 'b'", "overlaps tensor 'a' [0, +64)"});
  RawGguf same;
  same.header(2, 0).tensor_info("a", {4}, kF32, 0).tensor_info("b", {4}, kF32, 0).pad_to(32).zeros(64);
  expect_gguf_error(same.bytes, {"overlaps"});
  RawGguf touching;  // adjacent is fine, in any order
  touching.header(2, 0).tensor_info("a", {16}, kF32, 64).tensor_info("b", {16}, kF32, 0).pad_to(32).zeros(128);
  EXPECT_EQ(File::from_bytes(touching.bytes).tensors().size(), 2u);
}

TEST(GgufBadInput, Class9DataSectionShorterThanDeclared) {
  // 64 bytes declared, 60 present.
  expect_gguf_error(one_tensor([](RawGguf& r) { r.tensor_info("w", {16}, kF32, 0); }, 60),
                    {"tensor 'w'", "data [0, +64) runs past the end of the data section (60 bytes"});
  // No data section at all: it would start past the end of the file.
  RawGguf none;
  none.header(1, 0).tensor_info("w", {4}, kF32, 0);
  expect_gguf_error(none.bytes, {"data section would start at byte 64, past the end of the 57-byte file"});
}

}  // namespace
}  // namespace ridge::gguf
