// Bad tokenizer tables (BAD-INPUTS.md classes 10 and 11): each must fail to
// load with a tokenizer::Error (or gguf::Error for a mistyped key) whose
// message names the key at fault, never crash.
#include <gtest/gtest.h>

#include <cmath>

#include "tokenizer/tokenizer.h"
#include "vocab_builder.h"

namespace ridge::tokenizer {
namespace {

using test::load;
using test::spm_base;
using test::VocabSpec;

// Loads `s` and expects an error whose message contains every one of `parts`.
void expect_load_error(const VocabSpec& s, std::initializer_list<std::string> parts) {
  try {
    load(s);
    ADD_FAILURE() << "loaded without error";
  } catch (const Error& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  } catch (const gguf::Error& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

VocabSpec small_bpe() {
  VocabSpec s;
  s.model = "gpt2";
  s.pre = "gpt-2";
  s.add("a");
  s.add("b");
  s.add("ab");
  s.merges = {"a b"};
  return s;
}

TEST(VocabValidation, SmallVocabulariesLoad) {
  EXPECT_NO_THROW(load(spm_base()));
  EXPECT_NO_THROW(load(small_bpe()));
}

TEST(VocabValidation, BadByteTokens) {
  for (const char* bad : {"<0x-1>", "<0xZZ>", "<0x4>", "<0x041>", "0x41", "<0X41>"}) {
    VocabSpec s = spm_base(false);
    s.add(bad, 0, 6);
    expect_load_error(s, {"tokenizer.ggml.tokens[3]", "<0xHH>"});
  }
  VocabSpec ok = spm_base(false);
  ok.add("<0xaF>", 0, 6);  // either case of hex digits
  EXPECT_NO_THROW(load(ok));
}

TEST(VocabValidation, MissingOrMalformedMerges) {
  VocabSpec missing = small_bpe();
  missing.write_merges = false;
  expect_load_error(missing, {"tokenizer.ggml.merges", "missing"});
  for (const char* bad : {"ab", "a  b", "a b b", "a ", " "}) {
    VocabSpec s = small_bpe();
    s.merges = {"a b", bad};
    expect_load_error(s, {"tokenizer.ggml.merges[1]", "one space"});
  }
  VocabSpec unknown = small_bpe();
  unknown.merges = {"a c"};
  expect_load_error(unknown, {"tokenizer.ggml.merges[0]", "'c' is not in tokenizer.ggml.tokens"});
  VocabSpec no_result = small_bpe();
  no_result.merges = {"b a"};
  expect_load_error(no_result, {"tokenizer.ggml.merges[0]", "'ba'"});
}

TEST(VocabValidation, MergesOfTheWrongType) {
  VocabSpec s = small_bpe();
  s.write_merges = false;
  s.set("tokenizer.ggml.merges", gguf::Value::i32_array({1, 2}));
  expect_load_error(s, {"tokenizer.ggml.merges"});
}

TEST(VocabValidation, FewerScoresOrTypesThanTokens) {
  VocabSpec s = spm_base();
  s.scores.pop_back();
  expect_load_error(s, {"tokenizer.ggml.scores", "258 scores for 259 tokens"});
  VocabSpec t = spm_base();
  t.types.resize(10);
  expect_load_error(t, {"tokenizer.ggml.token_type", "10 types for 259 tokens"});
}

TEST(VocabValidation, ScoresMustBeNumbers) {
  VocabSpec s = spm_base();
  s.scores.clear();
  s.set("tokenizer.ggml.scores", gguf::Value::string_array(std::vector<std::string>(259, "x")));
  expect_load_error(s, {"tokenizer.ggml.scores"});
  VocabSpec n = spm_base();
  n.scores[7] = std::nanf("");
  expect_load_error(n, {"tokenizer.ggml.scores[7]", "NaN"});
}

TEST(VocabValidation, SpecialIdsOutOfRange) {
  for (const char* key : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                          "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.eot_token_id"}) {
    VocabSpec s = spm_base();
    s.set(key, gguf::Value::u32(259));
    expect_load_error(s, {key, "259", "out of range"});
    VocabSpec neg = spm_base();
    neg.set(key, gguf::Value::i32(-5));
    expect_load_error(neg, {key});
  }
  // The "no token" marker keeps the default instead of failing.
  VocabSpec unset = spm_base();
  unset.set("tokenizer.ggml.bos_token_id", gguf::Value::u32(0xFFFFFFFFu));
  EXPECT_EQ(load(unset).bos(), 1);
}

TEST(VocabValidation, SpecialIdOfTheWrongType) {
  VocabSpec s = spm_base();
  s.set("tokenizer.ggml.bos_token_id", gguf::Value::string("1"));
  expect_load_error(s, {"tokenizer.ggml.bos_token_id"});
}

TEST(VocabValidation, AddBosWithoutBos) {
  VocabSpec s = small_bpe();  // 3 tokens: the gpt2 default BOS (11) does not exist
  s.set("tokenizer.ggml.add_bos_token", gguf::Value::boolean(true));
  expect_load_error(s, {"tokenizer.ggml.add_bos_token", "tokenizer.ggml.bos_token_id"});
}

TEST(VocabValidation, UnknownModelOrPreTokenizer) {
  VocabSpec s = spm_base();
  s.model = "bert";
  expect_load_error(s, {"tokenizer.ggml.model", "bert"});
  VocabSpec p = small_bpe();
  p.pre = "no-such-pre";
  expect_load_error(p, {"tokenizer.ggml.pre", "no-such-pre"});
}

TEST(VocabValidation, MissingOrEmptyTokens) {
  gguf::Writer w;
  w.set("tokenizer.ggml.model", gguf::Value::string("llama"));
  try {
    Tokenizer::from_gguf(gguf::File::from_bytes(w.to_bytes()));
    ADD_FAILURE() << "loaded without tokens";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.ggml.tokens"), std::string::npos) << e.what();
  }
  gguf::Writer none;
  none.set("general.architecture", gguf::Value::string("llama"));
  EXPECT_THROW(Tokenizer::from_gguf(gguf::File::from_bytes(none.to_bytes())), Error);
  VocabSpec empty;
  expect_load_error(empty, {"tokenizer.ggml.tokens", "empty"});
}

TEST(VocabValidation, DuplicateTokens) {
  VocabSpec s = spm_base();
  s.add("dup");
  s.add("dup");
  expect_load_error(s, {"tokenizer.ggml.tokens", "duplicate", "259", "260"});
}

TEST(VocabValidation, EmptyTokenTextIsRenamedNotFatal) {
  VocabSpec s = spm_base();
  const int32_t id = s.add("");
  Tokenizer tok = load(s);
  EXPECT_EQ(tok.token_text(id), "[EMPTY_259]");
}

TEST(VocabValidation, OddTokenTypesRenderAsNothing) {
  VocabSpec s = spm_base();
  const int32_t odd = s.add("odd", 0, 99);
  const int32_t unused = s.add("unused", 0, 5);
  Tokenizer tok = load(s);
  EXPECT_EQ(tok.token_to_piece(odd), "");
  EXPECT_EQ(tok.token_to_piece(unused), "");
}

}  // namespace
}  // namespace ridge::tokenizer
