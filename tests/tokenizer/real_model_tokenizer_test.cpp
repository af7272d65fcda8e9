// Tokenizers of the real models in the test data, checked against their
// reference files: prompt ids (BOS included) and the decoded text of the
// reference generations, whole and streamed through IncrementalDecoder.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/testdata.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace ridge::tokenizer {
namespace {

nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

TEST(RealModelTokenizer, Stories260KPromptsAndGenerations) {
  RIDGE_TESTDATA_OR_SKIP(model, "models/stories260K.gguf");
  RIDGE_TESTDATA_OR_SKIP(ref_path, "models/stories260K.reference.json");
  const Tokenizer tok = Tokenizer::from_gguf(gguf::File::open(model.string()));
  EXPECT_EQ(tok.n_vocab(), 512);
  EXPECT_EQ(tok.bos(), 1);
  EXPECT_EQ(tok.eos(), 2);
  EXPECT_TRUE(tok.add_bos());
  const nlohmann::json ref = read_json(ref_path);
  ASSERT_FALSE(ref["cases"].empty());
  for (const auto& c : ref["cases"]) {
    const std::string prompt = c["prompt"];
    SCOPED_TRACE("prompt '" + prompt + "'");
    const auto prompt_ids = c["prompt_tokens"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok.encode(prompt, /*add_special=*/true, /*parse_special=*/false), prompt_ids);

    std::vector<int32_t> all = prompt_ids;
    const auto generated = c["generated_tokens"].get<std::vector<int32_t>>();
    all.insert(all.end(), generated.begin(), generated.end());
    const std::string want = prompt + c["generated_text"].get<std::string>();
    EXPECT_EQ(tok.decode(all), want);

    IncrementalDecoder stream(tok);
    std::string streamed;
    for (int32_t id : all) streamed += stream.push(id);
    streamed += stream.flush();
    EXPECT_EQ(streamed, want);
  }
}

TEST(RealModelTokenizer, Llama2TinyRandomPrompt) {
  RIDGE_TESTDATA_OR_SKIP(model, "models/llama-2-tiny-random.gguf");
  RIDGE_TESTDATA_OR_SKIP(ref_path, "models/llama-2-tiny-random.reference.json");
  const Tokenizer tok = Tokenizer::from_gguf(gguf::File::open(model.string()));
  EXPECT_EQ(tok.n_vocab(), 32000);
  EXPECT_EQ(tok.model_name(), "llama");
  const nlohmann::json ref = read_json(ref_path);
  for (const auto& c : ref["cases"]) {
    if (!c.contains("prompt") || !c["prompt"].is_string()) continue;
    const std::string prompt = c["prompt"];
    EXPECT_EQ(tok.encode(prompt, true, false), c["prompt_tokens"].get<std::vector<int32_t>>()) << prompt;
  }
  EXPECT_EQ(tok.encode("Hello world", true, true), (std::vector<int32_t>{1, 15043, 3186}));
}

TEST(RealModelTokenizer, Llama3SpecialTokensAndEog) {
  RIDGE_TESTDATA_OR_SKIP(vocab, "vocab/ggml-vocab-llama-bpe.gguf");
  const Tokenizer tok = Tokenizer::from_gguf(gguf::File::open(vocab.string()));
  EXPECT_TRUE(tok.add_bos());
  EXPECT_EQ(tok.bos(), 128000);
  EXPECT_EQ(tok.encode("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", true, true),
            (std::vector<int32_t>{128000, 128006, 882, 128007, 271, 13347, 128009}));
  EXPECT_TRUE(tok.is_eog(128009));  // <|eot_id|>
  EXPECT_TRUE(tok.is_eog(128001));  // <|end_of_text|>
  EXPECT_FALSE(tok.is_eog(128006));
  EXPECT_TRUE(tok.is_control(128006));
  EXPECT_EQ(tok.decode({128000, 9906, 1917, 128009}), "Hello world");
  EXPECT_EQ(tok.decode({128000, 9906, 1917, 128009}, true), "<|begin_of_text|>Hello world<|eot_id|>");
}

}  // namespace
}  // namespace ridge::tokenizer
