// SentencePiece-style ("llama") tokenizer on small in-memory vocabularies:
// score-ordered merges, the space prefix, byte fallback, special tokens,
// add_bos/add_eos, decoding and the incremental decoder.
#include <gtest/gtest.h>

#include "tokenizer/tokenizer.h"
#include "vocab_builder.h"

namespace ridge::tokenizer {
namespace {

using test::load;
using test::spm_base;
using test::VocabSpec;
using Ids = std::vector<int32_t>;

const std::string kSp = "\xE2\x96\x81";  // "▁"

TEST(SpmTokenizer, MergesByBestScoreIntoWholeWord) {
  VocabSpec s = spm_base();
  const int32_t sp = s.add(kSp, -1);
  for (const char* c : {"h", "e", "l", "o"}) s.add(c, -2);
  s.add(kSp + "h", -3);
  s.add("ll", -4);
  s.add(kSp + "he", -5);
  s.add(kSp + "hell", -6);
  const int32_t hello = s.add(kSp + "hello", -7);
  Tokenizer tok = load(s);
  EXPECT_EQ(tok.encode("hello", false, false), (Ids{hello}));
  EXPECT_EQ(tok.encode("hello hello", false, false), (Ids{hello, hello}));
  EXPECT_EQ(tok.encode(" ", false, false), (Ids{sp, sp}));  // prefix space + the space itself
  EXPECT_EQ(tok.encode("", false, false), Ids{});
}

TEST(SpmTokenizer, HigherScoreWinsAndTiesGoLeftmost) {
  VocabSpec s = spm_base();
  s.add(kSp, -1);
  const int32_t a = s.add("a", -1), b = s.add("b", -1), c = s.add("c", -1);
  const int32_t ab = s.add("ab", -5), bc = s.add("bc", -2);
  s.set("tokenizer.ggml.add_space_prefix", gguf::Value::boolean(false));
  EXPECT_EQ(load(s).encode("abc", false, false), (Ids{a, bc}));
  s.scores[ab] = -1;  // now "ab" scores better
  EXPECT_EQ(load(s).encode("abc", false, false), (Ids{ab, c}));

  VocabSpec t = spm_base();
  const int32_t x = t.add("x", -1);
  const int32_t xx = t.add("xx", -1);
  t.set("tokenizer.ggml.add_space_prefix", gguf::Value::boolean(false));
  EXPECT_EQ(load(t).encode("xxx", false, false), (Ids{xx, x}));
  (void)b;
}

TEST(SpmTokenizer, UnknownCharactersFallBackToByteTokens) {
  VocabSpec s = spm_base();
  const int32_t sp = s.add(kSp, -1);
  Tokenizer tok = load(s);
  // "é" is C3 A9; byte tokens start at id 3.
  EXPECT_EQ(tok.encode("\xC3\xA9", false, false), (Ids{sp, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(tok.decode(tok.encode("\xC3\xA9", false, false)), "\xC3\xA9");
}

TEST(SpmTokenizer, WithoutByteTokensFallsBackToUnknown) {
  VocabSpec s = spm_base(/*with_bytes=*/false);
  const int32_t sp = s.add(kSp, -1);
  EXPECT_EQ(load(s).encode("\xC3\xA9", false, false), (Ids{sp, 0, 0}));
}

TEST(SpmTokenizer, UnknownIdKeyChoosesTheFallbackToken) {
  VocabSpec s;
  s.add(kSp, -1);
  const int32_t unk = s.add("<unk>", 0, 2);
  s.set("tokenizer.ggml.add_bos_token", gguf::Value::boolean(false));
  s.set("tokenizer.ggml.unknown_token_id", gguf::Value::u32(static_cast<uint32_t>(unk)));
  EXPECT_EQ(load(s).encode("q", false, false), (Ids{0, unk}));
}

TEST(SpmTokenizer, SpacePrefixCanBeTurnedOff) {
  VocabSpec s = spm_base();
  const int32_t sp = s.add(kSp, -1);
  const int32_t h = s.add("h", -1);
  EXPECT_EQ(load(s).encode("h", false, false), (Ids{sp, h}));
  s.set("tokenizer.ggml.add_space_prefix", gguf::Value::boolean(false));
  Tokenizer tok = load(s);
  EXPECT_EQ(tok.encode("h", false, false), (Ids{h}));
  EXPECT_EQ(tok.decode({sp, h}), " h");  // no prefix was added, so none is removed
}

TEST(SpmTokenizer, AddsBosAndEosAsTheModelSays) {
  VocabSpec s = spm_base();
  const int32_t sp = s.add(kSp, -1);
  const int32_t h = s.add("h", -1);
  Tokenizer tok = load(s);
  EXPECT_TRUE(tok.add_bos());
  EXPECT_FALSE(tok.add_eos());
  EXPECT_EQ(tok.bos(), 1);
  EXPECT_EQ(tok.eos(), 2);
  EXPECT_EQ(tok.encode("h", true, false), (Ids{1, sp, h}));
  EXPECT_EQ(tok.encode("", true, false), (Ids{1}));
  s.set("tokenizer.ggml.add_bos_token", gguf::Value::boolean(false));
  s.set("tokenizer.ggml.add_eos_token", gguf::Value::boolean(true));
  Tokenizer tok2 = load(s);
  EXPECT_EQ(tok2.encode("h", true, false), (Ids{sp, h, 2}));
}

TEST(SpmTokenizer, ParsesSpecialTokenTextOnlyWhenAsked) {
  VocabSpec s = spm_base();
  const int32_t sp = s.add(kSp, -1);
  const int32_t h = s.add("h", -1);
  const int32_t lt = s.add("<", -1), gt = s.add(">", -1), ch = s.add("s", -1), sl = s.add("/", -1);
  Tokenizer tok = load(s);
  // Text after a special token gets the space prefix again, as in llama.cpp.
  EXPECT_EQ(tok.encode("<s>h</s>", false, true), (Ids{1, sp, h, 2}));
  EXPECT_EQ(tok.encode("<s>h", false, false), (Ids{sp, lt, ch, gt, h}));
  (void)sl;
}

TEST(SpmTokenizer, UserDefinedTokensAreAlwaysMatched) {
  VocabSpec s = spm_base();
  const int32_t sp = s.add(kSp, -1);
  const int32_t a = s.add("a", -1);
  const int32_t user = s.add("<tool>", 0, 4);
  Tokenizer tok = load(s);
  EXPECT_EQ(tok.encode("a<tool>a", false, false), (Ids{sp, a, user, sp, a}));
  EXPECT_FALSE(tok.is_control(user));
  EXPECT_EQ(tok.token_to_piece(user), "<tool>");  // user-defined text always renders
}

TEST(SpmTokenizer, DecodeRendersSpacesBytesAndOptionallySpecials) {
  VocabSpec s = spm_base();
  const int32_t hi = s.add(kSp + "hi", -1);
  const int32_t there = s.add(kSp + "there", -1);
  Tokenizer tok = load(s);
  EXPECT_EQ(tok.decode({hi, there}), "hi there");
  EXPECT_EQ(tok.decode({1, hi, there, 2}), "hi there");
  EXPECT_EQ(tok.decode({1, hi, 2}, /*render_special=*/true), "<s> hi</s>");
  EXPECT_EQ(tok.token_to_piece(hi), " hi");
  EXPECT_EQ(tok.token_to_piece(1), "");
  EXPECT_EQ(tok.token_to_piece(1, true), "<s>");
  EXPECT_EQ(tok.token_to_piece(3 + 'A'), "A");
  EXPECT_THROW(tok.token_to_piece(-1), Error);
  EXPECT_THROW(tok.token_to_piece(tok.n_vocab()), Error);
  EXPECT_THROW(tok.decode({hi, 1 << 20}), Error);
}

TEST(SpmTokenizer, EndOfGenerationSet) {
  VocabSpec s = spm_base();
  const int32_t eot = s.add("<|eot_id|>", 0, 1);  // NORMAL in the file, but EOG by name
  const int32_t plain = s.add("x", -1);
  Tokenizer tok = load(s);
  EXPECT_TRUE(tok.is_eog(2));
  EXPECT_TRUE(tok.is_eog(eot));
  EXPECT_TRUE(tok.is_control(eot));  // llama.cpp promotes such tokens to CONTROL
  EXPECT_FALSE(tok.is_eog(plain));
  EXPECT_FALSE(tok.is_eog(1));
  EXPECT_FALSE(tok.is_eog(-1));
}

TEST(SpmTokenizer, EotKeyJoinsEndOfGeneration) {
  VocabSpec s = spm_base();
  const int32_t end = s.add("<end>", 0, 3);
  s.set("tokenizer.ggml.eot_token_id", gguf::Value::u32(static_cast<uint32_t>(end)));
  EXPECT_TRUE(load(s).is_eog(end));
}

TEST(SpmTokenizer, Phi3NameStripsSpacesAfterSpecialTokens) {
  VocabSpec s = spm_base();
  const int32_t sp = s.add(kSp, -1);
  const int32_t x = s.add("x", -1);
  const int32_t end = s.add("<|end|>", 0, 3);
  s.set("general.name", gguf::Value::string("Phi3"));
  Tokenizer tok = load(s);
  EXPECT_EQ(tok.encode("x<|end|>  x", false, true), (Ids{sp, x, end, sp, x}));
  s.extra.back().second = gguf::Value::string("other");
  EXPECT_EQ(load(s).encode("x<|end|>  x", false, true), (Ids{sp, x, end, sp, sp, sp, x}));
}

TEST(SpmTokenizer, LongestSpecialTokenIsMatchedFirst) {
  VocabSpec s = spm_base();
  const int32_t short_tok = s.add("<a>", 0, 4);
  const int32_t long_tok = s.add("<a><b>", 0, 4);
  Tokenizer tok = load(s);
  EXPECT_EQ(tok.encode("<a><b><a>", false, false), (Ids{long_tok, short_tok}));
}

TEST(IncrementalDecoder, HoldsBackSplitUtf8Characters) {
  VocabSpec s = spm_base();
  const int32_t hi = s.add(kSp + "hi", -1);
  Tokenizer tok = load(s);
  IncrementalDecoder dec(tok);
  EXPECT_EQ(dec.push(hi), "hi");  // leading space dropped at the start only
  EXPECT_EQ(dec.push(hi), " hi");
  // U+1F999 (F0 9F A6 99) in four byte tokens: nothing until the last byte.
  EXPECT_EQ(dec.push(3 + 0xF0), "");
  EXPECT_EQ(dec.push(3 + 0x9F), "");
  EXPECT_EQ(dec.push(3 + 0xA6), "");
  EXPECT_EQ(dec.push(3 + 0x99), "\xF0\x9F\xA6\x99");
  // "é" then ASCII.
  EXPECT_EQ(dec.push(3 + 0xC3), "");
  EXPECT_EQ(dec.push(3 + 0xA9), "\xC3\xA9");
  EXPECT_EQ(dec.push(3 + 'a'), "a");
  EXPECT_EQ(dec.flush(), "");
}

TEST(IncrementalDecoder, FlushReturnsAnIncompleteTail) {
  VocabSpec s = spm_base();
  Tokenizer tok = load(s);
  IncrementalDecoder dec(tok);
  EXPECT_EQ(dec.push(3 + 0xE2), "");
  EXPECT_EQ(dec.push(3 + 0x82), "");
  EXPECT_EQ(dec.flush(), "\xE2\x82");
  EXPECT_EQ(dec.flush(), "");
}

TEST(IncrementalDecoder, PassesMalformedBytesThrough) {
  VocabSpec s = spm_base();
  Tokenizer tok = load(s);
  IncrementalDecoder dec(tok);
  EXPECT_EQ(dec.push(3 + 0x80), "\x80");           // a stray continuation byte cannot complete
  EXPECT_EQ(dec.push(3 + 0xC3), "");               // a lead byte waits ...
  EXPECT_EQ(dec.push(3 + 'a'), "\xC3" "a");        // ... and is released when broken
}

TEST(IncrementalDecoder, MatchesDecodeOfTheWholeSequence) {
  VocabSpec s = spm_base();
  const int32_t hi = s.add(kSp + "hi", -1);
  Tokenizer tok = load(s);
  const Ids ids = {1, hi, 3 + 0xC3, 3 + 0xA9, hi, 3 + 0xF0, 3 + 0x9F, 3 + 0xA6, 3 + 0x99, 2};
  IncrementalDecoder dec(tok);
  std::string streamed;
  for (int32_t id : ids) streamed += dec.push(id);
  streamed += dec.flush();
  EXPECT_EQ(streamed, tok.decode(ids));
  EXPECT_EQ(streamed, "hi\xC3\xA9 hi\xF0\x9F\xA6\x99");
}

}  // namespace
}  // namespace ridge::tokenizer
