// Acceptance tests: llama.cpp's published tokenizer vectors (ggml-vocab-X.gguf
// with X.gguf.inp / X.gguf.out) for every supported vocabulary family. Each
// case is one parameterized test so failures are listed per case. Vectors are
// encoded as llama.cpp's test-tokenizer-0 does: no BOS/EOS, special-token text
// treated as plain text. Decoding the ids must give the input back.
#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/testdata.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace ridge::tokenizer {
namespace {

struct VectorCase {
  std::string family;
  size_t index = 0;
  std::string input;
  std::vector<int32_t> expected;
  std::string problem;  // set when the vector files are missing or malformed
};

// gtest prints parameters of failed cases; show the case, not its bytes.
void PrintTo(const VectorCase& c, std::ostream* os) { *os << c.family << " case " << c.index; }

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Cases are separated by "\n__ggml_vocab_test__\n": the newline before the
// marker belongs to the separator, not to the case (as test-tokenizer-0 reads them).
std::vector<std::string> split_inputs(const std::string& raw) {
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> cases;
  size_t pos = 0;
  while (pos < raw.size()) {
    const size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      cases.push_back(raw.substr(pos));
      break;
    }
    cases.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  return cases;
}

std::vector<int32_t> parse_ids(const std::string& line) {
  std::istringstream ss(line);
  std::vector<int32_t> ids;
  long long id;
  while (ss >> id) ids.push_back(static_cast<int32_t>(id));
  return ids;
}

std::vector<VectorCase> load_cases(const std::string& family) {
  const std::string base = "vocab/ggml-vocab-" + family + ".gguf";
  auto inp = test::testdata_file(base + ".inp");
  auto out = test::testdata_file(base + ".out");
  auto gguf = test::testdata_file(base);
  if (!inp || !out || !gguf) return {{family, 0, "", {}, "test data missing: " + base + "{,.inp,.out}"}};
  const std::vector<std::string> inputs = split_inputs(read_file(*inp));
  std::vector<std::string> lines;
  std::istringstream out_stream(read_file(*out));
  for (std::string line; std::getline(out_stream, line);) lines.push_back(line);
  if (inputs.size() != lines.size() || inputs.empty())
    return {{family, 0, "", {}, base + ": " + std::to_string(inputs.size()) + " inputs but " +
                                    std::to_string(lines.size()) + " expected-id lines"}};
  std::vector<VectorCase> cases;
  for (size_t i = 0; i < inputs.size(); ++i) cases.push_back({family, i, inputs[i], parse_ids(lines[i]), ""});
  return cases;
}

// One tokenizer per family, loaded on first use and shared by its cases.
const Tokenizer& tokenizer_for(const std::string& family) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> loaded;
  auto& slot = loaded[family];
  if (!slot) {
    auto path = test::testdata_file("vocab/ggml-vocab-" + family + ".gguf");
    gguf::File file = gguf::File::open(path->string());
    slot = std::make_unique<Tokenizer>(Tokenizer::from_gguf(file));
  }
  return *slot;
}

std::string show_ids(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ' ';
    s += std::to_string(ids[i]);
  }
  return s + "]";
}

class VocabVectors : public ::testing::TestWithParam<VectorCase> {
 protected:
  void SetUp() override {
    if (!GetParam().problem.empty()) GTEST_SKIP() << GetParam().problem;
  }
};

TEST_P(VocabVectors, EncodesToExpectedIds) {
  const VectorCase& c = GetParam();
  const Tokenizer& tok = tokenizer_for(c.family);
  const std::vector<int32_t> ids = tok.encode(c.input, /*add_special=*/false, /*parse_special=*/false);
  EXPECT_EQ(ids, c.expected) << "input: '" << c.input << "'\n got " << show_ids(ids) << "\nwant "
                             << show_ids(c.expected);
}

TEST_P(VocabVectors, DecodesExpectedIdsBackToInput) {
  const VectorCase& c = GetParam();
  const Tokenizer& tok = tokenizer_for(c.family);
  EXPECT_EQ(tok.decode(c.expected), c.input) << "ids " << show_ids(c.expected);
}

std::string case_name(const ::testing::TestParamInfo<VectorCase>& info) {
  std::string name;
  for (char ch : info.param.family) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  char idx[16];
  std::snprintf(idx, sizeof idx, "_%02zu", info.param.index);
  return name + idx;
}

// Random valid UTF-8 (ASCII, whitespace runs, digits, Latin, Cyrillic, CJK,
// emoji, and text that spells special tokens) must decode back exactly, with
// one exception: SentencePiece vocabularies use U+2581 "▁" as their space, so
// a literal "▁" in the input comes back as a space (as in SentencePiece itself).
std::string random_text(std::mt19937& rng) {
  static const std::vector<std::string> atoms = {
      " ", "  ", "\n", "\t", "\r\n", "a", "Hello", " world", "'s", "'LL", "0", "123", "4567", ".", ",", "!?",
      "(", "{", "\xC3\xA9", "\xC3\x84", "\xD0\xBD\xD0\xB5", "\xE4\xBD\xA0\xE5\xA5\xBD", "\xE2\x96\x81",
      "\xF0\x9F\xA6\x99", "\xF0\x9F\x98\x81", "\xE1\x9E\x80", "<s>", "</s>", "<|endoftext|>", "<unk>",
      "\xEF\xBF\xBD", "\x7F", "\x01"};
  std::uniform_int_distribution<size_t> pick(0, atoms.size() - 1), len(0, 24);
  std::string s;
  for (size_t n = len(rng); n > 0; --n) s += atoms[pick(rng)];
  return s;
}

class VocabRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(VocabRoundTrip, RandomTextDecodesBackExactly) {
  const auto path = test::testdata_file("vocab/ggml-vocab-" + GetParam() + ".gguf");
  if (!path) GTEST_SKIP() << "test data missing: vocab/ggml-vocab-" << GetParam() << ".gguf";
  const Tokenizer& tok = tokenizer_for(GetParam());
  std::mt19937 rng(1234);
  for (int i = 0; i < 300; ++i) {
    const std::string text = random_text(rng);
    std::string want = text;
    if (tok.model_name() == "llama")
      for (size_t p; (p = want.find("\xE2\x96\x81")) != std::string::npos;) want.replace(p, 3, " ");
    const std::vector<int32_t> ids = tok.encode(text, false, false);
    ASSERT_EQ(tok.decode(ids), want) << "ids " << show_ids(ids);
    // Streaming gives the same text.
    IncrementalDecoder stream(tok);
    std::string streamed;
    for (int32_t id : ids) streamed += stream.push(id);
    ASSERT_EQ(streamed + stream.flush(), want);
  }
}

INSTANTIATE_TEST_SUITE_P(Families, VocabRoundTrip,
                         ::testing::Values("llama-spm", "llama-bpe", "phi-3", "gpt-2", "deepseek-llm",
                                           "deepseek-coder", "falcon", "mpt", "starcoder", "refact"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name;
                           for (char ch : info.param) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return name;
                         });

#define RIDGE_VOCAB_FAMILY(ident, family) \
  INSTANTIATE_TEST_SUITE_P(ident, VocabVectors, ::testing::ValuesIn(load_cases(family)), case_name)

RIDGE_VOCAB_FAMILY(LlamaSpm, "llama-spm");
RIDGE_VOCAB_FAMILY(LlamaBpe, "llama-bpe");
RIDGE_VOCAB_FAMILY(Phi3, "phi-3");
RIDGE_VOCAB_FAMILY(Gpt2, "gpt-2");
RIDGE_VOCAB_FAMILY(DeepseekLlm, "deepseek-llm");
RIDGE_VOCAB_FAMILY(DeepseekCoder, "deepseek-coder");
RIDGE_VOCAB_FAMILY(Falcon, "falcon");
RIDGE_VOCAB_FAMILY(Mpt, "mpt");
RIDGE_VOCAB_FAMILY(Starcoder, "starcoder");
RIDGE_VOCAB_FAMILY(Refact, "refact");

}  // namespace
}  // namespace ridge::tokenizer
