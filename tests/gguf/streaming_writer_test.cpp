// Writer::write_streaming: the same bytes as the in-memory writer, tensors
// produced one at a time in order, and no partial file left behind on failure.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/testdata.h"
#include "gguf/gguf.h"

namespace ridge::gguf {
namespace {

std::vector<uint8_t> read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

struct Spec {
  std::string name;
  GgmlType type;
  std::vector<int64_t> ne;
  size_t bytes;
};

const std::vector<Spec> kSpecs = {
    {"a", GgmlType::F32, {3}, 12},            // 12 bytes: padded
    {"b", GgmlType::Q8_0, {64, 3}, 34 * 6},   // 204 bytes
    {"c", GgmlType::F16, {5, 7}, 70},
    {"d", GgmlType::Q4_0, {32}, 18},          // the last tensor is padded too
};

TEST(GgufStreamingWriter, SameBytesAsTheInMemoryWriter) {
  for (uint64_t alignment : {32u, 64u, 4096u}) {
    Writer mem(3, alignment), streamed(3, alignment);
    for (Writer* w : {&mem, &streamed}) {
      w->set("general.architecture", Value::string("llama"));
      w->set("x", Value::f32_array({1.f, 2.f}));
    }
    for (size_t i = 0; i < kSpecs.size(); ++i) {
      mem.add_tensor(kSpecs[i].name, kSpecs[i].type, kSpecs[i].ne, pattern(kSpecs[i].bytes, uint8_t(i)));
      // Mixed: tensor "c" is given with data, the others are produced.
      if (kSpecs[i].name == "c")
        streamed.add_tensor(kSpecs[i].name, kSpecs[i].type, kSpecs[i].ne, pattern(kSpecs[i].bytes, uint8_t(i)));
      else
        streamed.add_tensor_info(kSpecs[i].name, kSpecs[i].type, kSpecs[i].ne);
    }
    const auto path = test::scratch_dir("streaming_writer") / "s.gguf";
    std::vector<size_t> order;
    streamed.write_streaming(path.string(), [&](size_t i) {
      order.push_back(i);
      return pattern(kSpecs[i].bytes, uint8_t(i));
    });
    EXPECT_EQ(order, (std::vector<size_t>{0, 1, 3})) << "produced once each, in order, only the declared ones";
    EXPECT_EQ(read_all(path), mem.to_bytes()) << "alignment " << alignment;
    // And the reader accepts it with every tensor where it belongs.
    File f = File::open(path.string());
    ASSERT_EQ(f.tensors().size(), kSpecs.size());
    for (size_t i = 0; i < kSpecs.size(); ++i) {
      const auto want = pattern(kSpecs[i].bytes, uint8_t(i));
      EXPECT_TRUE(std::equal(want.begin(), want.end(), f.tensors()[i].data)) << kSpecs[i].name;
    }
  }
}

TEST(GgufStreamingWriter, DeclaredTensorsAreRefusedByTheInMemoryPaths) {
  Writer w;
  w.add_tensor_info("t", GgmlType::F32, {4});
  EXPECT_THROW(w.to_bytes(), Error);
  const auto path = test::scratch_dir("streaming_writer_mem") / "m.gguf";
  EXPECT_THROW(w.write(path.string()), Error);
}

TEST(GgufStreamingWriter, DeclarationIsValidatedLikeAddTensor) {
  Writer w;
  EXPECT_THROW(w.add_tensor_info("", GgmlType::F32, {4}), Error);
  EXPECT_THROW(w.add_tensor_info("q", GgmlType::Q4_0, {33}), Error);  // not whole blocks
  EXPECT_THROW(w.add_tensor_info("z", GgmlType::F32, {0}), Error);
  EXPECT_THROW(w.add_tensor_info("r", static_cast<GgmlType>(4), {32}), Error);  // retired id
  w.add_tensor_info("t", GgmlType::F32, {4});
  EXPECT_THROW(w.add_tensor_info("t", GgmlType::F32, {4}), Error);  // duplicate
}

TEST(GgufStreamingWriter, FailuresRemoveThePartialFile) {
  const auto dir = test::scratch_dir("streaming_writer_fail");
  Writer w;
  w.add_tensor_info("a", GgmlType::F32, {4});
  w.add_tensor_info("b", GgmlType::F32, {4});

  const auto wrong_size = dir / "wrong.gguf";
  try {
    w.write_streaming(wrong_size.string(), [](size_t i) { return std::vector<uint8_t>(i == 0 ? 16 : 15); });
    ADD_FAILURE() << "a wrong-sized tensor must fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'b'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("15"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(wrong_size));

  const auto thrown = dir / "thrown.gguf";
  EXPECT_THROW(w.write_streaming(thrown.string(),
                                 [](size_t i) -> std::vector<uint8_t> {
                                   if (i == 1) throw std::runtime_error("producer failed");
                                   return std::vector<uint8_t>(16);
                                 }),
               std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(thrown));

  EXPECT_THROW(w.write_streaming((dir / "no_such_dir" / "x.gguf").string(),
                                 [](size_t) { return std::vector<uint8_t>(16); }),
               Error);
  EXPECT_THROW(w.write_streaming((dir / "null.gguf").string(), nullptr), Error);
  EXPECT_FALSE(std::filesystem::exists(dir / "null.gguf"));
}

}  // namespace
}  // namespace ridge::gguf
