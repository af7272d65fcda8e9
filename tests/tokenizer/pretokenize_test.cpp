// Tests of the codepoint regex engine (unicode_regex), the lenient UTF-8 view
// (unicode_text) and the per-type pre-tokenizers (pretokenize). The expected
// splits follow llama.cpp's behaviour for each type; the comments say why the
// less obvious ones come out as they do.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/testdata.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/unicode_regex.h"
#include "tokenizer/unicode_text.h"

namespace ridge::tokenizer {
namespace {

using unicode_regex::PatternError;
using unicode_regex::Regex;
using unicode_regex::Unit;
using Strings = std::vector<std::string>;

// Units with full Unicode categories and White_Space, as for the GPT-2 / Llama 3 regexes.
std::vector<Unit> unicode_units(std::string_view text) {
  std::vector<Unit> units;
  for (uint32_t cp : unicode::decode_utf8_lenient(text).codepoints)
    units.push_back({cp, unicode::category_bits(cp), unicode::is_white_space(cp)});
  return units;
}

// The text of every match of `pattern` in `text`.
Strings matches(std::string_view pattern, std::string_view text) {
  const auto decoded = unicode::decode_utf8_lenient(text);
  const auto units = unicode_units(text);
  Strings out;
  for (const auto& m : Regex::compile(pattern).find_all(units)) {
    out.emplace_back(text.substr(decoded.offsets[m.begin], decoded.offsets[m.end] - decoded.offsets[m.begin]));
  }
  return out;
}

Strings split(PreTokenizer p, std::string_view text) {
  Strings out;
  for (std::string_view piece : pre_tokenize(p, text)) out.emplace_back(piece);
  return out;
}

// ---- unicode_text ----

TEST(UnicodeText, DecodesValidUtf8WithOffsets) {
  const auto d = unicode::decode_utf8_lenient("a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x9A\x80");  // a é 中 🚀
  EXPECT_EQ(d.codepoints, (std::vector<uint32_t>{'a', 0xE9, 0x4E2D, 0x1F680}));
  EXPECT_EQ(d.offsets, (std::vector<size_t>{0, 1, 3, 6, 10}));
}

TEST(UnicodeText, EachInvalidByteIsOneReplacementUnit) {
  // A stray continuation, a truncated 3-byte form, and F8 (never a lead byte).
  const auto d = unicode::decode_utf8_lenient("\x80" "\xE4\xB8" "x" "\xF8");
  EXPECT_EQ(d.codepoints, (std::vector<uint32_t>{0xFFFD, 0xFFFD, 0xFFFD, 'x', 0xFFFD}));
  EXPECT_EQ(d.offsets, (std::vector<size_t>{0, 1, 2, 3, 4, 5}));
}

TEST(UnicodeText, CategoriesAndWhiteSpace) {
  using namespace unicode;
  EXPECT_EQ(category_bits('A'), kCatLu);
  EXPECT_EQ(category_bits(0xE9), kCatLl);
  EXPECT_EQ(category_bits(0x4E2D), kCatLo);
  EXPECT_EQ(category_bits(0xBD), kCatN);  // ½ is a number (No)
  EXPECT_EQ(category_bits('!'), kCatP);
  EXPECT_EQ(category_bits('~'), kCatS);
  EXPECT_EQ(category_bits(0x301), kCatM);
  EXPECT_EQ(category_bits(0x1F680), kCatS);
  EXPECT_EQ(category_bits(0x378), kCatC);     // unassigned
  EXPECT_EQ(category_bits(0x110000), kCatC);  // past Unicode
  for (uint32_t cp : {0x09u, 0x0Du, 0x20u, 0x85u, 0xA0u, 0x1680u, 0x2007u, 0x202Fu, 0x3000u})
    EXPECT_TRUE(is_white_space(cp)) << cp;
  for (uint32_t cp : {0x1Cu, 0x1Fu, 0x200Bu, 0x180Eu, 0x61u}) EXPECT_FALSE(is_white_space(cp)) << cp;
}

// ---- regex engine ----

TEST(UnicodeRegex, LiteralsConcatenationAndAlternationAreLeftmostFirst) {
  EXPECT_EQ(matches("ab", "xabyab"), (Strings{"ab", "ab"}));
  EXPECT_EQ(matches("a|ab", "ab"), (Strings{"a"}));  // first alternative wins, not the longest
  EXPECT_EQ(matches("ab|a", "ab"), (Strings{"ab"}));
  EXPECT_EQ(matches("中|文", "中文x"), (Strings{"中", "文"}));
}

TEST(UnicodeRegex, Quantifiers) {
  EXPECT_EQ(matches("a*", "baa"), (Strings{"", "aa", ""}));  // empty matches as std::regex_iterator yields them
  EXPECT_EQ(matches("a+", "aaba"), (Strings{"aa", "a"}));
  EXPECT_EQ(matches("ab?", "aab"), (Strings{"a", "ab"}));
  EXPECT_EQ(matches("a{2}", "aaaaa"), (Strings{"aa", "aa"}));
  EXPECT_EQ(matches("a{1,3}", "aaaaaaa"), (Strings{"aaa", "aaa", "a"}));
  EXPECT_EQ(matches("a{2,}", "a aaaaa"), (Strings{"aaaaa"}));
  EXPECT_EQ(matches("a+?", "aaa"), (Strings{"a", "a", "a"}));
  EXPECT_EQ(matches("a*?b", "aab"), (Strings{"aab"}));
  EXPECT_EQ(matches("x{,2}", "x{,2}"), (Strings{"x{,2}"}));  // not a repeat: literal braces
}

TEST(UnicodeRegex, ClassesRangesNegationAndEscapes) {
  EXPECT_EQ(matches("[a-c]+", "abcdcba"), (Strings{"abc", "cba"}));
  EXPECT_EQ(matches("[^a-c]+", "abxyzc"), (Strings{"xyz"}));
  EXPECT_EQ(matches("[\\r\\n]+", "a\r\n\nb"), (Strings{"\r\n\n"}));
  EXPECT_EQ(matches("[-x]+", "a-x-b"), (Strings{"-x-"}));
  EXPECT_EQ(matches("[\\[\\]\\\\]+", "a[\\]b"), (Strings{"[\\]"}));
  EXPECT_EQ(matches("\\x41\\u0042\\x{1F680}", "AB\xF0\x9F\x9A\x80"), (Strings{"AB\xF0\x9F\x9A\x80"}));
  EXPECT_EQ(matches("\\$\\+\\.", "$+.x$+a"), (Strings{"$+."}));
  EXPECT_EQ(matches("[一-龥]+", "ab中文字cd"), (Strings{"中文字"}));
  EXPECT_EQ(matches(".+", "ab\ncd"), (Strings{"ab", "cd"}));  // '.' stops at line breaks
}

TEST(UnicodeRegex, ShorthandAndUnicodeProperties) {
  EXPECT_EQ(matches("\\s+", "a \t\xE3\x80\x80" "b"), (Strings{" \t\xE3\x80\x80"}));  // U+3000 is White_Space
  EXPECT_EQ(matches("\\S+", "ab cd"), (Strings{"ab", "cd"}));
  EXPECT_EQ(matches("\\d+", "a12b\xD9\xA1"), (Strings{"12"}));  // \d is ASCII only
  EXPECT_EQ(matches("\\w+", "ab_1-c"), (Strings{"ab_1", "c"}));
  EXPECT_EQ(matches("\\p{L}+", "héllo wörld 中文"), (Strings{"héllo", "wörld", "中文"}));
  EXPECT_EQ(matches("\\p{N}+", "x12½٣y"), (Strings{"12½٣"}));
  EXPECT_EQ(matches("\\p{P}+", "a,.!b~"), (Strings{",.!"}));
  EXPECT_EQ(matches("\\p{Lu}\\p{Ll}+", "HelloWorld x"), (Strings{"Hello", "World"}));
  EXPECT_EQ(matches("\\P{L}+", "ab12 cd"), (Strings{"12 "}));
  EXPECT_EQ(matches("[^\\s\\p{L}\\p{N}]+", "ab!?12 #~"), (Strings{"!?", "#~"}));
  EXPECT_EQ(matches("[\\p{L}\\p{M}]+", "e\xCC\x81x 1"), (Strings{"e\xCC\x81x"}));  // e + combining acute
}

TEST(UnicodeRegex, GroupsAndCaseInsensitivity) {
  EXPECT_EQ(matches("(?:ab)+", "ababa"), (Strings{"abab"}));
  EXPECT_EQ(matches("(a|b)c", "acbcc"), (Strings{"ac", "bc"}));
  EXPECT_EQ(matches("(?i:'s|'ll)", "'S 'Ll 's"), (Strings{"'S", "'Ll", "'s"}));
  EXPECT_EQ(matches("(?i:[a-c]+)", "xAbCy"), (Strings{"AbC"}));
  EXPECT_EQ(matches("'[sS]", "'s's'x"), (Strings{"'s", "'s"}));
}

TEST(UnicodeRegex, LookaheadAndAnchors) {
  // \s+(?!\S): a whitespace run gives back its last character before a non-space.
  EXPECT_EQ(matches("\\s+(?!\\S)", "a   b   "), (Strings{"  ", "   "}));
  EXPECT_EQ(matches("\\d(?=x)", "1x2y3x"), (Strings{"1", "3"}));
  EXPECT_EQ(matches("a$", "aa"), (Strings{"a"}));
  EXPECT_EQ(matches("a$", "a\n"), (Strings{}));  // ECMAScript: $ is the end only
  EXPECT_EQ(matches("^a", "aa"), (Strings{"a"}));
  EXPECT_EQ(matches("((?=[\\p{L}])([^a-z]))+", "ABc1D"), (Strings{"AB", "D"}));
}

TEST(UnicodeRegex, FindStartsAtTheGivenPosition) {
  const auto units = unicode_units("ab ab");
  const Regex re = Regex::compile("ab");
  const auto m = re.find(units, 1);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->begin, 3u);
  EXPECT_EQ(m->end, 5u);
  EXPECT_FALSE(re.find(units, 4).has_value());
  EXPECT_FALSE(re.find(units, 99).has_value());
}

TEST(UnicodeRegex, BadPatternsThrowNamingTheOffset) {
  const char* bad[] = {"(ab",     "ab)",    "[ab",   "a**b",    "\\p{Xx}", "\\q",    "[z-a]", "a{3,1}",
                       "a{1001}", "a++",    "(?<x>", "\\x4",    "*a",      "\\p{L",  "a|*",   "a+*",
                       "a???",    "\xFF"};
  for (const char* p : bad) {
    try {
      Regex::compile(p);
      ADD_FAILURE() << "accepted: " << p;
    } catch (const PatternError& e) {
      EXPECT_NE(std::string(e.what()).find("at byte"), std::string::npos) << e.what();
    }
  }
}

TEST(UnicodeRegex, NoCatastrophicBacktracking) {
  // Classic exponential cases for naive backtrackers, on inputs that never match.
  const std::string as(30000, 'a');
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(matches("(a*)*b", as).empty());
  EXPECT_TRUE(matches("(a|aa)+b", as).empty());
  EXPECT_TRUE(matches("(?:a|a)*c", as).empty());
  // Quadratic for plain backtracking: a long space run that is not at the end.
  EXPECT_TRUE(matches("\\s+$", std::string(100000, ' ') + "x").empty());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(secs, 10.0);
}

// ---- pre-tokenizers ----

TEST(PreTokenizerNames, MapsLlamaCppNames) {
  EXPECT_EQ(pre_tokenizer_from_name("default"), PreTokenizer::Default);
  EXPECT_EQ(pre_tokenizer_from_name("gpt-2"), PreTokenizer::Gpt2);
  EXPECT_EQ(pre_tokenizer_from_name("llama-bpe"), PreTokenizer::Llama3);
  EXPECT_EQ(pre_tokenizer_from_name("llama3"), PreTokenizer::Llama3);
  EXPECT_EQ(pre_tokenizer_from_name("qwen2"), PreTokenizer::Qwen2);
  EXPECT_EQ(pre_tokenizer_from_name("deepseek-r1-qwen"), PreTokenizer::Qwen2);
  EXPECT_EQ(pre_tokenizer_from_name("deepseek-llm"), PreTokenizer::DeepseekLlm);
  EXPECT_EQ(pre_tokenizer_from_name("deepseek-coder"), PreTokenizer::DeepseekCoder);
  EXPECT_EQ(pre_tokenizer_from_name("falcon"), PreTokenizer::Falcon);
  EXPECT_EQ(pre_tokenizer_from_name("mpt"), PreTokenizer::Mpt);
  EXPECT_EQ(pre_tokenizer_from_name("starcoder"), PreTokenizer::Starcoder);
  EXPECT_EQ(pre_tokenizer_from_name("refact"), PreTokenizer::Refact);
  EXPECT_EQ(pre_tokenizer_from_name("command-r"), PreTokenizer::CommandR);
  EXPECT_EQ(pre_tokenizer_from_name("llama4"), PreTokenizer::Gpt4o);
  EXPECT_FALSE(pre_tokenizer_from_name("").has_value());
  EXPECT_FALSE(pre_tokenizer_from_name("LLAMA3").has_value());
  EXPECT_FALSE(pre_tokenizer_from_name("no-such-pre").has_value());
}

TEST(PreTokenizerNames, EveryTypeHasNamePatternsAndRoundTrips) {
  for (PreTokenizer p : all_pre_tokenizers()) {
    const auto name = pre_tokenizer_name(p);
    EXPECT_EQ(pre_tokenizer_from_name(name), p) << name;
    EXPECT_FALSE(pre_tokenizer_patterns(p).empty()) << name;
    for (std::string_view pattern : pre_tokenizer_patterns(p)) EXPECT_NO_THROW(Regex::compile(pattern)) << pattern;
  }
  EXPECT_TRUE(pre_tokenizer_ignores_merges(PreTokenizer::Llama3));
  EXPECT_FALSE(pre_tokenizer_ignores_merges(PreTokenizer::Dbrx));  // same regex, not the same flag
  EXPECT_FALSE(pre_tokenizer_ignores_merges(PreTokenizer::Gpt2));
}

TEST(PreTokenize, Gpt2) {
  const auto p = PreTokenizer::Gpt2;
  EXPECT_EQ(split(p, "Hello world"), (Strings{"Hello", " world"}));
  EXPECT_EQ(split(p, " Hello  World!"), (Strings{" Hello", " ", " World", "!"}));
  // Contractions are lower-case only for GPT-2.
  EXPECT_EQ(split(p, "I'm you'RE"), (Strings{"I", "'m", " you", "'", "RE"}));
  EXPECT_EQ(split(p, "1234567"), (Strings{"1234567"}));
  EXPECT_EQ(split(p, "\n\n\n"), (Strings{"\n\n\n"}));
  EXPECT_EQ(split(p, "a\n\n b"), (Strings{"a", "\n\n", " b"}));
  EXPECT_EQ(split(p, "   x"), (Strings{"  ", " x"}));
  EXPECT_EQ(split(p, "x   "), (Strings{"x", "   "}));
  EXPECT_EQ(split(p, "héllo wörld"), (Strings{"héllo", " wörld"}));
  EXPECT_EQ(split(p, "3.14159"), (Strings{"3", ".", "14159"}));
  EXPECT_EQ(split(p, "hello\r\nworld"), (Strings{"hello", "\r", "\n", "world"}));
  EXPECT_EQ(split(p, "🚀🦙 ok"), (Strings{"🚀🦙", " ok"}));
  EXPECT_EQ(split(p, "café½"), (Strings{"café", "½"}));
  // Only U+0020 joins a following word; other spaces stand alone.
  EXPECT_EQ(split(p, "x \xC2\xA0y"), (Strings{"x", " ", "\xC2\xA0", "y"}));
  EXPECT_EQ(split(p, ""), (Strings{}));
  EXPECT_EQ(split(PreTokenizer::Mpt, "I'm you'RE"), split(p, "I'm you'RE"));
}

TEST(PreTokenize, DefaultSplitsPunctuationAndDigitTriplesFirst) {
  const auto p = PreTokenizer::Default;
  EXPECT_EQ(split(p, "I'm"), (Strings{"I", "'", "m"}));  // the punctuation pass cuts the contraction
  EXPECT_EQ(split(p, "1234567"), (Strings{"123", "456", "7"}));
  EXPECT_EQ(split(p, "3.14159"), (Strings{"3", ".", "141", "59"}));
  EXPECT_EQ(split(p, "a~b+c"), (Strings{"a", "~", "b", "+", "c"}));
}

TEST(PreTokenize, Llama3) {
  const auto p = PreTokenizer::Llama3;
  EXPECT_EQ(split(p, "I'm you'RE we'LL"), (Strings{"I", "'m", " you", "'RE", " we", "'LL"}));
  EXPECT_EQ(split(p, "1234567"), (Strings{"123", "456", "7"}));
  EXPECT_EQ(split(p, "\n\n\n"), (Strings{"\n\n\n"}));
  EXPECT_EQ(split(p, "hello\r\nworld"), (Strings{"hello", "\r\n", "world"}));
  EXPECT_EQ(split(p, " \n  x"), (Strings{" \n", " ", " x"}));
  EXPECT_EQ(split(p, "a~b+c"), (Strings{"a", "~b", "+c"}));  // one non-letter may lead a word
  EXPECT_EQ(split(p, "x \xE3\x80\x80y"), (Strings{"x", " ", "\xE3\x80\x80y"}));
  EXPECT_EQ(split(p, "<tag>:12"), (Strings{"<tag", ">:", "12"}));
  for (PreTokenizer same : {PreTokenizer::Dbrx, PreTokenizer::Smaug, PreTokenizer::ChatGlm4})
    EXPECT_EQ(split(same, "I'M 1234567\n\n x"), split(p, "I'M 1234567\n\n x"));
}

TEST(PreTokenize, Qwen2AndQwen35SplitEveryDigit) {
  EXPECT_EQ(split(PreTokenizer::Qwen2, "1234567"), (Strings{"1", "2", "3", "4", "5", "6", "7"}));
  EXPECT_EQ(split(PreTokenizer::Qwen2, "I'M x"), (Strings{"I", "'M", " x"}));
  EXPECT_EQ(split(PreTokenizer::Qwen2, "ＡＢ１２"), (Strings{"ＡＢ", "１", "２"}));
  // Qwen 3.5 keeps combining marks with their letters; Qwen2 cuts before them.
  EXPECT_EQ(split(PreTokenizer::Qwen2, "e\xCC\x81t\xCC\x81"), (Strings{"e", "\xCC\x81t", "\xCC\x81"}));
  EXPECT_EQ(split(PreTokenizer::Qwen35, "e\xCC\x81t\xCC\x81"), (Strings{"e\xCC\x81t\xCC\x81"}));
}

TEST(PreTokenize, DeepseekLlm) {
  const auto p = PreTokenizer::DeepseekLlm;
  EXPECT_EQ(split(p, "\n\n\n"), (Strings{"\n", "\n", "\n"}));
  EXPECT_EQ(split(p, "1234567"), (Strings{"1234567"}));
  // The ASCII range :-~ of the punctuation pass holds the letters too, so it
  // re-cuts words around non-ASCII letters (llama.cpp does the same).
  EXPECT_EQ(split(p, "héllo"), (Strings{"h", "é", "llo"}));
  EXPECT_EQ(split(p, "中文字 ok"), (Strings{"中文字", " ok"}));
  EXPECT_EQ(split(p, "x   "), (Strings{"x", "   "}));
}

TEST(PreTokenize, DeepseekCoder) {
  const auto p = PreTokenizer::DeepseekCoder;
  EXPECT_EQ(split(p, "1234567"), (Strings{"1", "2", "3", "4", "5", "6", "7"}));
  EXPECT_EQ(split(p, "I'm"), (Strings{"I", "'", "m"}));
  EXPECT_EQ(split(p, "héllo wörld"), (Strings{"héllo", " wörld"}));
  EXPECT_EQ(split(p, "a\n\n b"), (Strings{"a", "\n", "\n", " b"}));
}

TEST(PreTokenize, Deepseek3) {
  const auto p = PreTokenizer::Deepseek3Llm;
  EXPECT_EQ(split(p, "1234567"), (Strings{"123", "456", "7"}));
  EXPECT_EQ(split(p, "中文ひらがな"), (Strings{"中文ひらがな"}));
  EXPECT_EQ(split(p, ".Net!"), (Strings{".Net", "!"}));
}

TEST(PreTokenize, FalconStarcoderRefactCommandR) {
  EXPECT_EQ(split(PreTokenizer::Falcon, "1234567"), (Strings{"123", "456", "7"}));
  EXPECT_EQ(split(PreTokenizer::Falcon, "I'm `x`"), (Strings{"I", "'", "m", " ", "`", "x", "`"}));
  for (PreTokenizer p : {PreTokenizer::Starcoder, PreTokenizer::Refact, PreTokenizer::CommandR}) {
    EXPECT_EQ(split(p, "1234567"), (Strings{"1", "2", "3", "4", "5", "6", "7"}));
    EXPECT_EQ(split(p, "I'm x2y"), (Strings{"I", "'m", " x", "2", "y"}));
  }
}

TEST(PreTokenize, OtherTypes) {
  EXPECT_EQ(split(PreTokenizer::Bloom, "I'm you, ok."), (Strings{"I'm", " you", ",", " ok", "."}));
  EXPECT_EQ(split(PreTokenizer::Viking, "ab12"), (Strings{"ab", "1", "2"}));
  EXPECT_EQ(split(PreTokenizer::Tekken, "CamelCaseWord"), (Strings{"Camel", "Case", "Word"}));
  EXPECT_EQ(split(PreTokenizer::Gpt4o, "I'm CamelCase"), (Strings{"I'm", " Camel", "Case"}));
  // The later digit and punctuation passes re-split the sentinel text; llama.cpp
  // relies on special-token partitioning to keep sentinels whole.
  EXPECT_EQ(split(PreTokenizer::Chameleon, "<sentinel:12>IMGIMGABZ"),
            (Strings{"<", "sentinel", ":", "1", "2", ">", "IMGIMGABZ"}));
  EXPECT_EQ(split(PreTokenizer::Chameleon, " Hello  World!"), (Strings{" Hello", "  ", "World", "!"}));
  EXPECT_EQ(split(PreTokenizer::SeedCoder, "x1234"), (Strings{"x", "1", "2", "3", "4"}));
  EXPECT_EQ(split(PreTokenizer::BailingMoe, "We'LL"), (Strings{"We", "'LL"}));
}

TEST(PreTokenize, InvalidUtf8NeverThrowsAndKeepsEveryByte) {
  const std::string text = "ab\xFF\xFE cd\xE4\xB8 \x80x";
  for (PreTokenizer p : all_pre_tokenizers()) {
    const auto pieces = pre_tokenize(p, text);
    std::string joined;
    for (auto piece : pieces) joined += piece;
    EXPECT_EQ(joined, text) << pre_tokenizer_name(p);
  }
  // Undecodable bytes classify as U+FFFD (a symbol), so they group like punctuation.
  EXPECT_EQ(split(PreTokenizer::Gpt2, "ab\xFF\xFE cd"), (Strings{"ab", "\xFF\xFE", " cd"}));
  EXPECT_EQ(llama_piece_bytes("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(llama_piece_bytes("\xE4\xB8"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(llama_piece_bytes("\xC0\x80"), std::string(1, '\0'));  // overlong NUL, re-encoded short
  EXPECT_EQ(llama_piece_bytes("h\xC3\xA9"), "h\xC3\xA9");
}

TEST(PreTokenize, PiecesAreNonEmptyContiguousViews) {
  const std::string text = "Hello, it's 2024!\n\n  Ünïcödé 中文 🚀\t\tx  \r\n 12345 '' ~~ ½ \xFF";
  for (PreTokenizer p : all_pre_tokenizers()) {
    const auto pieces = pre_tokenize(p, text);
    const char* expected_start = text.data();
    for (auto piece : pieces) {
      EXPECT_FALSE(piece.empty()) << pre_tokenizer_name(p);
      EXPECT_EQ(piece.data(), expected_start) << pre_tokenizer_name(p);
      expected_start = piece.data() + piece.size();
    }
    EXPECT_EQ(expected_start, text.data() + text.size()) << pre_tokenizer_name(p);
  }
}

TEST(PreTokenize, LongInputsStayFast) {
  std::string mixed;
  while (mixed.size() < 100000) mixed += "Hello world, it's 2024! \xC3\xA9t\xC3\xA9  \n\n  code();\t\xE4\xB8\xAD ";
  const std::vector<std::string> inputs = {
      std::string(100000, ' '), std::string(100000, ' ') + "x", std::string(100000, '\n'),
      std::string(100000, '7'), std::string(100000, 'a'),       std::string(100000, '!'),
      std::string(100000, '\''), std::string(100000, '\xFF'),   mixed,
  };
  for (PreTokenizer p : all_pre_tokenizers()) {
    for (const auto& text : inputs) {
      const auto t0 = std::chrono::steady_clock::now();
      const auto pieces = pre_tokenize(p, text);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      size_t covered = 0;
      for (auto piece : pieces) covered += piece.size();
      EXPECT_EQ(covered, text.size());
      // Linear work is a few tens of milliseconds; quadratic would be minutes.
      EXPECT_LT(secs, 5.0) << pre_tokenizer_name(p) << " on a " << text.size() << "-byte input";
    }
  }
}

// llama.cpp's own tokenizer test inputs: every case of every vocabulary family
// splits into pieces that cover it, with the pre-tokenizer its GGUF names.
TEST(PreTokenize, LlamaCppVocabInputsSplitCleanly) {
  RIDGE_TESTDATA_OR_SKIP(dir_marker, "vocab/ggml-vocab-gpt-2.gguf.inp");
  const auto dir = dir_marker.parent_path();
  const std::pair<const char*, const char*> families[] = {
      {"gpt-2", "gpt-2"},   {"llama-bpe", "llama-bpe"}, {"deepseek-llm", "deepseek-llm"},
      {"deepseek-coder", "deepseek-coder"}, {"falcon", "falcon"}, {"mpt", "mpt"},
      {"starcoder", "starcoder"}, {"refact", "refact"}, {"expected-only/ggml-vocab-qwen2", "qwen2"},
      {"expected-only/ggml-vocab-command-r", "command-r"},
  };
  const std::string sep = "\n__ggml_vocab_test__\n";
  for (const auto& [file, pre] : families) {
    const std::string rel = std::string(file).find('/') == std::string::npos
                                ? std::string("ggml-vocab-") + file + ".gguf.inp"
                                : std::string(file) + ".gguf.inp";
    std::ifstream in(dir / rel, std::ios::binary);
    ASSERT_TRUE(in) << rel;
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string all = ss.str();
    const auto type = pre_tokenizer_from_name(pre);
    ASSERT_TRUE(type.has_value()) << pre;
    size_t cases = 0;
    for (size_t pos = 0, end; (end = all.find(sep, pos)) != std::string::npos; pos = end + sep.size()) {
      const std::string text = all.substr(pos, end - pos);
      size_t covered = 0;
      for (auto piece : pre_tokenize(*type, text)) covered += piece.size();
      EXPECT_EQ(covered, text.size()) << rel << " case " << cases;
      ++cases;
    }
    EXPECT_GT(cases, 10u) << rel;
  }
}

}  // namespace
}  // namespace ridge::tokenizer
