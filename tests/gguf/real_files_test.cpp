// The reader on real GGUF files written by llama.cpp's converters: the test
// models and every vocabulary file in the shared test data.
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "common/testdata.h"
#include "gguf/gguf.h"

namespace ridge::gguf {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

#ifdef NDEBUG
constexpr bool kAssertsOff = true;
#else
constexpr bool kAssertsOff = false;
#endif
constexpr bool kOptimized = kAssertsOff && !kSanitized;

std::vector<uint8_t> read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

TEST(GgufRealFiles, Stories260K) {
  RIDGE_TESTDATA_OR_SKIP(path, "models/stories260K.gguf");
  File f = File::open(path.string());
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_FALSE(f.has("general.alignment"));
  EXPECT_EQ(f.metadata().size(), 19u);
  EXPECT_EQ(f.tensors().size(), 48u);
  EXPECT_EQ(f.file_size(), std::filesystem::file_size(path));
  EXPECT_EQ(f.data_offset() % 32, 0u);

  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(f.get_u32("llama.embedding_length"), 64u);
  EXPECT_EQ(f.get_u32("llama.block_count"), 5u);
  EXPECT_EQ(f.get_u32("llama.attention.head_count"), 8u);
  EXPECT_EQ(f.get_u32("llama.attention.head_count_kv"), 4u);
  EXPECT_EQ(f.get_u32("llama.feed_forward_length"), 172u);
  EXPECT_EQ(f.get_u32("llama.context_length"), 2048u);
  EXPECT_NEAR(f.get_f64("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-9);
  EXPECT_FALSE(f.has("llama.rope.freq_base"));
  EXPECT_EQ(f.get_f64_or("llama.rope.freq_base", 10000.0), 10000.0);
  const auto& tokens = f.get_string_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 512u);
  EXPECT_EQ(tokens[0], "<unk>");
  EXPECT_EQ(tokens[1], "<s>");
  EXPECT_EQ(tokens[2], "</s>");
  EXPECT_EQ(f.get_float_array("tokenizer.ggml.scores").size(), 512u);
  EXPECT_EQ(f.get_int_array("tokenizer.ggml.token_type").size(), 512u);
  EXPECT_EQ(f.get_u32("tokenizer.ggml.bos_token_id"), 1u);

  uint64_t end = 0;
  for (const TensorInfo& t : f.tensors()) {
    EXPECT_EQ(t.type, GgmlType::F32) << t.name;
    EXPECT_EQ(t.n_bytes, static_cast<uint64_t>(t.n_elements()) * 4) << t.name;
    EXPECT_EQ(t.offset % 32, 0u) << t.name;
    end = std::max(end, t.offset + t.n_bytes);
  }
  EXPECT_EQ(f.data_offset() + end, f.file_size());
  const TensorInfo* emb = f.find_tensor("token_embd.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->n_dims, 2u);
  EXPECT_EQ(emb->ne[0], 64);
  EXPECT_EQ(emb->ne[1], 512);
  const TensorInfo* down = f.find_tensor("blk.4.ffn_down.weight");
  ASSERT_NE(down, nullptr);
  EXPECT_EQ(down->ne[0], 172);
  EXPECT_EQ(down->ne[1], 64);

  // The mapped view and an in-memory copy agree byte for byte.
  const auto bytes = read_all(path);
  File copy = File::from_bytes(bytes, "copy");
  ASSERT_EQ(copy.tensors().size(), f.tensors().size());
  for (size_t k = 0; k < f.tensors().size(); ++k) {
    const auto& a = f.tensors()[k];
    const auto& b = copy.tensors()[k];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(std::memcmp(a.data, b.data, a.n_bytes), 0) << a.name;
    EXPECT_EQ(std::memcmp(a.data, bytes.data() + f.data_offset() + a.offset, a.n_bytes), 0) << a.name;
  }
}

TEST(GgufRealFiles, LlamaTwoTinyRandom) {
  RIDGE_TESTDATA_OR_SKIP(path, "models/llama-2-tiny-random.gguf");
  File f = File::open(path.string());
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.metadata().size(), 18u);
  EXPECT_EQ(f.tensors().size(), 12u);
  EXPECT_EQ(f.get_string("general.name"), "LLaMA v2");
  EXPECT_EQ(f.get_u32("llama.embedding_length"), 8u);
  EXPECT_EQ(f.get_u32("general.file_type"), 1u);
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens").size(), 32000u);
  EXPECT_EQ(f.get_float_array("tokenizer.ggml.scores").size(), 32000u);
  const TensorInfo* emb = f.find_tensor("token_embd.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->type, GgmlType::F16);
  EXPECT_EQ(emb->ne[0], 8);
  EXPECT_EQ(emb->ne[1], 32000);
  EXPECT_EQ(emb->n_bytes, 8u * 32000 * 2);
  EXPECT_EQ(f.find_tensor("output_norm.weight")->type, GgmlType::F32);
}

TEST(GgufRealFiles, EveryVocabularyFileLoads) {
  RIDGE_TESTDATA_OR_SKIP(dir, "vocab");
  int loaded = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".gguf") continue;
    SCOPED_TRACE(entry.path().filename().string());
    File f = File::open(entry.path().string());
    EXPECT_EQ(f.version(), 3u);
    EXPECT_TRUE(f.tensors().empty());
    EXPECT_LE(f.data_offset(), f.file_size());
    const std::string model = f.get_string("tokenizer.ggml.model");
    EXPECT_FALSE(model.empty());
    const auto& tokens = f.get_string_array("tokenizer.ggml.tokens");
    EXPECT_GT(tokens.size(), 1000u);
    if (f.has("tokenizer.ggml.token_type")) {
      EXPECT_EQ(f.get_int_array("tokenizer.ggml.token_type").size(), tokens.size());
    }
    if (f.has("tokenizer.ggml.scores")) {
      EXPECT_EQ(f.get_float_array("tokenizer.ggml.scores").size(), tokens.size());
    }
    if (model == "gpt2") {
      EXPECT_GT(f.get_string_array("tokenizer.ggml.merges").size(), 1000u);
    }
    ++loaded;
  }
  EXPECT_GE(loaded, 12);
}

TEST(GgufRealFiles, LlamaBpeVocabularyLoadsFast) {
  RIDGE_TESTDATA_OR_SKIP(path, "vocab/ggml-vocab-llama-bpe.gguf");
  const auto t0 = std::chrono::steady_clock::now();
  File f = File::open(path.string());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens").size(), 128256u);
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.merges").size(), 280147u);
  EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), "llama-bpe");
  EXPECT_TRUE(f.get_bool("tokenizer.ggml.add_bos_token"));
  // Well under a second in an optimized build; sanitized/debug builds get slack.
  EXPECT_LT(seconds, kOptimized ? 0.5 : 15.0) << "loading took " << seconds << " s";
}

}  // namespace
}  // namespace ridge::gguf
