// Byte-level BPE ("gpt2") tokenizer on small in-memory vocabularies: merge
// ranks, the GPT-2 byte mapping, per-pre-tokenizer flags (ignore_merges and
// add_bos for llama3), special tokens and decoding.
#include <algorithm>

#include <gtest/gtest.h>

#include "tokenizer/byte_unicode.h"
#include "tokenizer/tokenizer.h"
#include "vocab_builder.h"

namespace ridge::tokenizer {
namespace {

using test::load;
using test::VocabSpec;
using Ids = std::vector<int32_t>;

// A byte-level vocabulary: the 256 byte characters first (id == byte), then `extra` merges.
struct ByteLevel {
  VocabSpec spec;
  explicit ByteLevel(std::string pre = "gpt-2") {
    spec.model = "gpt2";
    spec.pre = std::move(pre);
    for (int b = 0; b < 256; ++b) spec.add(byte_level_encode(std::string(1, static_cast<char>(b))));
  }
  // Adds the merge "left right" (both raw text) and returns the merged token's id.
  int32_t merge(const std::string& left, const std::string& right) {
    spec.merges.push_back(byte_level_encode(left) + " " + byte_level_encode(right));
    return spec.add(byte_level_encode(left + right));
  }
};

TEST(BpeTokenizer, MergesByRankThroughTheByteMapping) {
  ByteLevel v;
  const int32_t he = v.merge("h", "e");
  const int32_t ll = v.merge("l", "l");
  const int32_t hell = v.merge("he", "ll");
  const int32_t hello = v.merge("hell", "o");
  const int32_t sw = v.merge(" ", "w");
  Tokenizer tok = load(v.spec);
  EXPECT_EQ(tok.encode("hello", false, false), (Ids{hello}));
  EXPECT_EQ(tok.encode("hello world", false, false), (Ids{hello, sw, 'o', 'r', 'l', 'd'}));
  EXPECT_EQ(tok.encode("hell", false, false), (Ids{hell}));
  EXPECT_EQ(tok.encode("\n", false, false), (Ids{'\n'}));
  EXPECT_EQ(tok.decode({hello, sw, 'o', 'r', 'l', 'd', '\n'}), "hello world\n");
  EXPECT_EQ(tok.token_to_piece(sw), " w");
  (void)he, (void)ll;
}

TEST(BpeTokenizer, LowerRankMergesFirstAndTiesGoLeftmost) {
  {
    ByteLevel v;
    const int32_t ab = v.merge("a", "b");
    v.merge("b", "c");
    EXPECT_EQ(load(v.spec).encode("abc", false, false), (Ids{ab, 'c'}));
  }
  {
    ByteLevel v;
    const int32_t bc = v.merge("b", "c");
    v.merge("a", "b");
    EXPECT_EQ(load(v.spec).encode("abc", false, false), (Ids{'a', bc}));
  }
  {
    ByteLevel v;
    const int32_t xx = v.merge("x", "x");
    EXPECT_EQ(load(v.spec).encode("xxx", false, false), (Ids{xx, 'x'}));
  }
}

TEST(BpeTokenizer, Llama3IgnoresMergesForWholeTokensAndAddsBos) {
  for (const char* pre : {"gpt-2", "llama-bpe"}) {
    ByteLevel v(pre);
    const int32_t xyz = v.spec.add("xyz");  // reachable by no merge
    const int32_t bos = v.spec.add("<|begin_of_text|>", 0, 3);
    v.spec.set("tokenizer.ggml.bos_token_id", gguf::Value::u32(static_cast<uint32_t>(bos)));
    Tokenizer tok = load(v.spec);
    if (std::string(pre) == "llama-bpe") {
      EXPECT_TRUE(tok.add_bos());
      EXPECT_EQ(tok.encode("xyz", true, false), (Ids{bos, xyz}));
    } else {
      EXPECT_FALSE(tok.add_bos());
      EXPECT_EQ(tok.encode("xyz", true, false), (Ids{'x', 'y', 'z'}));
    }
  }
}

TEST(BpeTokenizer, ControlTokensOnlyWithParseSpecialUserDefinedAlways) {
  ByteLevel v;
  const int32_t eot = v.spec.add("<|eot|>", 0, 3);
  const int32_t user = v.spec.add("<user>", 0, 4);
  Tokenizer tok = load(v.spec);
  EXPECT_EQ(tok.encode("a<|eot|>b", false, true), (Ids{'a', eot, 'b'}));
  const Ids plain = tok.encode("a<|eot|>b", false, false);
  EXPECT_EQ(tok.decode(plain), "a<|eot|>b");
  EXPECT_EQ(std::count(plain.begin(), plain.end(), eot), 0);
  EXPECT_EQ(tok.encode("a<user>b", false, false), (Ids{'a', user, 'b'}));
  EXPECT_EQ(tok.decode({'a', eot, 'b'}), "ab");
  EXPECT_EQ(tok.decode({'a', eot, 'b'}, true), "a<|eot|>b");
}

TEST(BpeTokenizer, EndOfTextIsEogAndDefaultsApply) {
  ByteLevel v;
  const int32_t eot = v.spec.add("<|endoftext|>", 0, 3);
  v.spec.set("tokenizer.ggml.eos_token_id", gguf::Value::u32(static_cast<uint32_t>(eot)));
  Tokenizer tok = load(v.spec);
  EXPECT_TRUE(tok.is_eog(eot));
  EXPECT_EQ(tok.eos(), eot);
  EXPECT_EQ(tok.bos(), 11);  // llama.cpp's default for gpt2 vocabularies
  EXPECT_EQ(tok.model_name(), "gpt2");
  EXPECT_EQ(tok.pre_name(), "gpt-2");
}

TEST(BpeTokenizer, InvalidUtf8IsEncodedAsReplacementCharacter) {
  ByteLevel v;
  Tokenizer tok = load(v.spec);
  // llama.cpp's pre-tokenizer turns an undecodable byte into U+FFFD (EF BF BD).
  EXPECT_EQ(tok.encode("\xFF", false, false), (Ids{0xEF, 0xBF, 0xBD}));
}

TEST(BpeTokenizer, MissingPreKeyUsesDefault) {
  ByteLevel v("");
  Tokenizer tok = load(v.spec);
  EXPECT_EQ(tok.pre_name(), "default");
  EXPECT_EQ(tok.decode(tok.encode("Hello, world 123!", false, false)), "Hello, world 123!");
}

TEST(ByteUnicode, MapsEveryByteReversibly) {
  for (int b = 0; b < 256; ++b) {
    const std::string raw(1, static_cast<char>(b));
    const std::string enc = byte_level_encode(raw);
    EXPECT_EQ(byte_level_decode(enc), raw) << b;
    EXPECT_EQ(codepoint_to_byte(byte_to_codepoint(static_cast<uint8_t>(b))), b);
  }
  EXPECT_EQ(byte_to_codepoint(' '), 0x120u);   // "Ġ"
  EXPECT_EQ(byte_to_codepoint('\n'), 0x10Au);  // "Ċ"
  EXPECT_EQ(byte_to_codepoint('A'), uint32_t('A'));
  EXPECT_EQ(byte_to_codepoint(0xAD), 0x143u);
  EXPECT_EQ(byte_to_codepoint(0xFF), 0xFFu);
  EXPECT_EQ(codepoint_to_byte(0x144), std::nullopt);
  EXPECT_EQ(codepoint_to_byte(0x20), std::nullopt);
  // Text that was never byte-encoded keeps its own UTF-8.
  EXPECT_EQ(byte_level_decode("\xE4\xBD\xA0"), "\xE4\xBD\xA0");
}

}  // namespace
}  // namespace ridge::tokenizer
