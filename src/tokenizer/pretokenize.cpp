#include "tokenizer/pretokenize.h"

#include <array>
#include <string>
#include <utility>

#include "tokenizer/pretokenize_patterns.h"
#include "tokenizer/unicode_regex.h"
#include "tokenizer/unicode_text.h"

namespace ridge::tokenizer {

namespace {

namespace pat = patterns;
using unicode_regex::Regex;
using unicode_regex::Unit;

struct TypeSpec {
  PreTokenizer type;
  std::string_view name;
  std::vector<std::string_view> patterns;
  bool ignores_merges = false;
};

const std::vector<TypeSpec>& type_specs() {
  static const std::vector<TypeSpec> specs = {
      {PreTokenizer::Default, "default",
       {pat::kDefaultPunctuation, pat::kGpt2, pat::kNumberRun, pat::kThreeAsciiDigits}},
      {PreTokenizer::Gpt2, "gpt-2", {pat::kGpt2}},
      {PreTokenizer::Mpt, "mpt", {pat::kGpt2}},
      {PreTokenizer::Llama3, "llama3", {pat::kLlama3}, true},
      {PreTokenizer::Dbrx, "dbrx", {pat::kLlama3}},
      {PreTokenizer::Smaug, "smaug-bpe", {pat::kLlama3}},
      {PreTokenizer::ChatGlm4, "chatglm-bpe", {pat::kLlama3}},
      {PreTokenizer::Qwen2, "qwen2", {pat::kQwen2}},
      {PreTokenizer::Qwen35, "qwen35", {pat::kQwen35}},
      {PreTokenizer::DeepseekLlm, "deepseek-llm",
       {pat::kLineBreak, pat::kDeepseekLlmLetters, pat::kDeepseekLlmPunctuation, pat::kTrailingSpace,
        pat::kDeepseekCjk, pat::kNumberRun}},
      {PreTokenizer::DeepseekCoder, "deepseek-coder",
       {pat::kLineBreak, pat::kLetterRun, pat::kPunctuationRun, pat::kDeepseekCjk, pat::kOneNumber}},
      {PreTokenizer::Deepseek3Llm, "deepseek-v3", {pat::kUpToThreeNumbers, pat::kDeepseek3Cjk, pat::kDeepseek3Main}},
      {PreTokenizer::Falcon, "falcon", {pat::kFalconPunctuation, pat::kGpt2, pat::kThreeAsciiDigits}},
      {PreTokenizer::Starcoder, "starcoder", {pat::kOneNumber, pat::kGpt2}},
      {PreTokenizer::Refact, "refact", {pat::kOneNumber, pat::kGpt2}},
      {PreTokenizer::CommandR, "command-r", {pat::kOneNumber, pat::kGpt2}},
      {PreTokenizer::Bloom, "bloom", {pat::kBloom}},
      {PreTokenizer::Viking, "viking", {pat::kBloom, pat::kOneNumber}},
      {PreTokenizer::Tekken, "tekken", {pat::kTekken}, true},
      {PreTokenizer::Gpt4o, "gpt-4o", {pat::kGpt4o}},
      {PreTokenizer::Chameleon, "chameleon",
       {pat::kChameleonSentinel, pat::kChameleonImage, pat::kChameleonSpaces, pat::kOneNumber,
        pat::kChameleonPunctuation, pat::kGpt2}},
      {PreTokenizer::SeedCoder, "seed-coder", {pat::kSeedCoder}},
      {PreTokenizer::BailingMoe, "bailingmoe", {pat::kBailingMoe}},
  };
  return specs;
}

// tokenizer.ggml.pre values and the behaviour llama.cpp gives each.
constexpr std::pair<std::string_view, PreTokenizer> kNames[] = {
    {"default", PreTokenizer::Default},
    {"gpt-2", PreTokenizer::Gpt2},
    {"phi-2", PreTokenizer::Gpt2},
    {"jina-es", PreTokenizer::Gpt2},
    {"jina-de", PreTokenizer::Gpt2},
    {"gigachat", PreTokenizer::Gpt2},
    {"jina-v2-es", PreTokenizer::Gpt2},
    {"jina-v2-de", PreTokenizer::Gpt2},
    {"a.x-4.0", PreTokenizer::Gpt2},
    {"mellum", PreTokenizer::Gpt2},
    {"modern-bert", PreTokenizer::Gpt2},
    {"jina-v1-en", PreTokenizer::Gpt2},
    {"jina-v2-code", PreTokenizer::Gpt2},
    {"roberta-bpe", PreTokenizer::Gpt2},
    {"exaone4", PreTokenizer::Gpt2},
    {"olmo", PreTokenizer::Gpt2},
    {"jais", PreTokenizer::Gpt2},
    {"trillion", PreTokenizer::Gpt2},
    {"granite-docling", PreTokenizer::Gpt2},
    {"mpt", PreTokenizer::Mpt},
    {"llama3", PreTokenizer::Llama3},
    {"llama-v3", PreTokenizer::Llama3},
    {"llama-bpe", PreTokenizer::Llama3},
    {"falcon3", PreTokenizer::Llama3},
    {"falcon-h1", PreTokenizer::Llama3},
    {"pixtral", PreTokenizer::Llama3},
    {"midm-2.0", PreTokenizer::Llama3},
    {"lfm2", PreTokenizer::Llama3},
    {"jina-v5-nano", PreTokenizer::Llama3},
    {"dbrx", PreTokenizer::Dbrx},
    {"smaug-bpe", PreTokenizer::Smaug},
    {"chatglm-bpe", PreTokenizer::ChatGlm4},
    {"glm4", PreTokenizer::ChatGlm4},
    {"qwen2", PreTokenizer::Qwen2},
    {"deepseek-r1-qwen", PreTokenizer::Qwen2},
    {"kormo", PreTokenizer::Qwen2},
    {"f2llmv2", PreTokenizer::Qwen2},
    {"megrez", PreTokenizer::Qwen2},
    {"stablelm2", PreTokenizer::Qwen2},
    {"hunyuan", PreTokenizer::Qwen2},
    {"solar-open", PreTokenizer::Qwen2},
    {"grok-2", PreTokenizer::Qwen2},
    {"qwen35", PreTokenizer::Qwen35},
    {"deepseek-llm", PreTokenizer::DeepseekLlm},
    {"deepseek-coder", PreTokenizer::DeepseekCoder},
    {"deepseek-v3", PreTokenizer::Deepseek3Llm},
    {"hunyuan-dense", PreTokenizer::Deepseek3Llm},
    {"joyai-llm", PreTokenizer::Deepseek3Llm},
    {"hy_v4", PreTokenizer::Deepseek3Llm},
    {"falcon", PreTokenizer::Falcon},
    {"starcoder", PreTokenizer::Starcoder},
    {"smollm", PreTokenizer::Starcoder},
    {"codeshell", PreTokenizer::Starcoder},
    {"exaone", PreTokenizer::Starcoder},
    {"minerva-7b", PreTokenizer::Starcoder},
    {"mellum2", PreTokenizer::Starcoder},
    {"refact", PreTokenizer::Refact},
    {"command-r", PreTokenizer::CommandR},
    {"bloom", PreTokenizer::Bloom},
    {"poro-chat", PreTokenizer::Bloom},
    {"gpt3-finnish", PreTokenizer::Bloom},
    {"viking", PreTokenizer::Viking},
    {"tekken", PreTokenizer::Tekken},
    {"gpt-4o", PreTokenizer::Gpt4o},
    {"llama4", PreTokenizer::Gpt4o},
    {"kanana2", PreTokenizer::Gpt4o},
    {"talkie", PreTokenizer::Gpt4o},
    {"minimax-m2", PreTokenizer::Gpt4o},
    {"chameleon", PreTokenizer::Chameleon},
    {"seed-coder", PreTokenizer::SeedCoder},
    {"bailingmoe", PreTokenizer::BailingMoe},
    {"bailingmoe2", PreTokenizer::BailingMoe},
    {"llada-moe", PreTokenizer::BailingMoe},
};

// llama.cpp matches each regex with one of three back ends, and they disagree
// at the edges (what \s and \p{..} cover, whether non-ASCII literals can
// match), so the units a regex sees depend on which back end llama.cpp uses.
enum class Backend {
  // GPT-2 and Llama 3 regexes: hand-written matchers over full Unicode tables.
  Unicode,
  // Any other regex using \p{..}: std::regex over text where every non-ASCII
  // codepoint is collapsed to one byte standing for its category (whitespace to
  // \v), and \p{..} covers only those bytes plus an ASCII list.
  Collapsed,
  // Regexes without \p{..}: std::wregex over codepoints with non-ASCII
  // whitespace replaced by \v, and \s limited to ASCII whitespace.
  Wide,
};

Backend backend_for(std::string_view pattern) {
  if (pattern == pat::kGpt2 || pattern == pat::kLlama3 || pattern == pat::kLlama3Original) return Backend::Unicode;
  for (std::string_view property : {"\\p{N}", "\\p{L}", "\\p{P}", "\\p{M}", "\\p{S}", "\\p{Lu}", "\\p{Ll}",
                                    "\\p{Lt}", "\\p{Lm}", "\\p{Lo}"}) {
    if (pattern.find(property) != std::string_view::npos) return Backend::Collapsed;
  }
  return Backend::Wide;
}

bool is_ascii_space(uint32_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// The ASCII codepoints llama.cpp's collapsed regexes count as \p{P} / \p{S}
// (note '~' is in neither).
bool is_collapsed_ascii_punctuation(uint32_t c) {
  return (c >= 0x21 && c <= 0x23) || (c >= 0x25 && c <= 0x2A) || (c >= 0x2C && c <= 0x2F) || c == 0x3A ||
         c == 0x3B || c == 0x3F || c == 0x40 || (c >= 0x5B && c <= 0x5D) || c == 0x5F || c == 0x7B || c == 0x7D;
}
bool is_collapsed_ascii_symbol(uint32_t c) {
  return c == 0x24 || c == 0x2B || (c >= 0x3C && c <= 0x3E) || c == 0x5E || c == 0x60 || c == 0x7C;
}

Unit unicode_unit(uint32_t cp) {
  return Unit{cp, unicode::category_bits(cp), unicode::is_white_space(cp)};
}

Unit collapsed_unit(uint32_t cp) {
  using namespace unicode;
  if (cp < 0x80) {
    uint16_t cats = 0;
    if ((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z')) cats = kCatL;
    else if (cp >= '0' && cp <= '9') cats = kCatN;
    else if (is_collapsed_ascii_punctuation(cp)) cats = kCatP;
    else if (is_collapsed_ascii_symbol(cp)) cats = kCatS;
    return Unit{cp, cats, is_ascii_space(cp)};
  }
  if (is_white_space(cp)) return Unit{'\v', 0, true};
  // The category bytes llama.cpp substitutes; all letter kinds share one, so
  // \p{Lu} and \p{Ll} both mean "any letter" there.
  const uint16_t cat = category_bits(cp);
  if (cat & kCatL) return Unit{0xD2, kCatL, false};
  if (cat == kCatN) return Unit{0xD1, kCatN, false};
  if (cat == kCatP) return Unit{0xD3, kCatP, false};
  if (cat == kCatM) return Unit{0xD4, kCatM, false};
  if (cat == kCatS) return Unit{0xD5, kCatS, false};
  return Unit{0xD0, 0, false};
}

Unit wide_unit(uint32_t cp) {
  const uint32_t symbol = (cp > 0x7F && unicode::is_white_space(cp)) ? '\v' : cp;
  return Unit{symbol, unicode::category_bits(cp), is_ascii_space(symbol)};
}

struct CompiledRegex {
  Regex regex;
  Backend backend;
};

struct CompiledType {
  std::vector<CompiledRegex> regexes;
};

// Compiled once, on first use; immutable afterwards.
const std::vector<CompiledType>& compiled_types() {
  static const std::vector<CompiledType> compiled = [] {
    std::vector<CompiledType> out;
    for (const TypeSpec& spec : type_specs()) {
      CompiledType type;
      for (std::string_view p : spec.patterns) type.regexes.push_back({Regex::compile(p), backend_for(p)});
      out.push_back(std::move(type));
    }
    return out;
  }();
  return compiled;
}

size_t index_of(PreTokenizer p) {
  const auto& specs = type_specs();
  for (size_t i = 0; i < specs.size(); ++i)
    if (specs[i].type == p) return i;
  throw std::invalid_argument("pre_tokenize: unknown PreTokenizer value " + std::to_string(static_cast<int>(p)));
}

struct UnitRange {
  size_t begin;
  size_t end;
};

}  // namespace

std::optional<PreTokenizer> pre_tokenizer_from_name(std::string_view name) {
  for (const auto& [n, type] : kNames)
    if (n == name) return type;
  return std::nullopt;
}

std::string_view pre_tokenizer_name(PreTokenizer p) { return type_specs()[index_of(p)].name; }

std::span<const PreTokenizer> all_pre_tokenizers() {
  static const std::vector<PreTokenizer> all = [] {
    std::vector<PreTokenizer> v;
    for (const TypeSpec& spec : type_specs()) v.push_back(spec.type);
    return v;
  }();
  return all;
}

std::span<const std::string_view> pre_tokenizer_patterns(PreTokenizer p) { return type_specs()[index_of(p)].patterns; }

bool pre_tokenizer_ignores_merges(PreTokenizer p) { return type_specs()[index_of(p)].ignores_merges; }

std::vector<std::string_view> pre_tokenize(PreTokenizer p, std::string_view text) {
  const CompiledType& type = compiled_types()[index_of(p)];
  const unicode::DecodedText decoded = unicode::decode_utf8_lenient(text);
  const size_t n = decoded.codepoints.size();

  // The units each back end sees, built when a regex first needs them.
  std::array<std::vector<Unit>, 3> units_by_backend;
  auto units_for = [&](Backend b) -> const std::vector<Unit>& {
    auto& units = units_by_backend[static_cast<size_t>(b)];
    if (units.empty() && n > 0) {
      units.reserve(n);
      for (uint32_t cp : decoded.codepoints) {
        switch (b) {
          case Backend::Unicode: units.push_back(unicode_unit(cp)); break;
          case Backend::Collapsed: units.push_back(collapsed_unit(cp)); break;
          case Backend::Wide: units.push_back(wide_unit(cp)); break;
        }
      }
    }
    return units;
  };

  std::vector<UnitRange> pieces;
  if (n > 0) pieces.push_back({0, n});
  for (const CompiledRegex& r : type.regexes) {
    const std::vector<Unit>& units = units_for(r.backend);
    unicode_regex::Searcher searcher(r.regex);
    std::vector<UnitRange> next;
    next.reserve(pieces.size() * 2);
    for (const UnitRange& piece : pieces) {
      const std::span<const Unit> subject(units.data() + piece.begin, piece.end - piece.begin);
      size_t done = 0;
      for (const auto& m : searcher.find_all(subject)) {
        if (m.begin > done) next.push_back({piece.begin + done, piece.begin + m.begin});
        if (m.end > m.begin) next.push_back({piece.begin + m.begin, piece.begin + m.end});
        done = m.end;
      }
      if (done < subject.size()) next.push_back({piece.begin + done, piece.end});
    }
    pieces = std::move(next);
  }

  std::vector<std::string_view> out;
  out.reserve(pieces.size());
  for (const UnitRange& piece : pieces) {
    const size_t from = decoded.offsets[piece.begin];
    const size_t to = decoded.offsets[piece.end];
    out.push_back(text.substr(from, to - from));
  }
  return out;
}

std::string llama_piece_bytes(std::string_view piece) {
  const unicode::DecodedText decoded = unicode::decode_utf8_lenient(piece);
  std::string out;
  out.reserve(piece.size());
  for (uint32_t cp : decoded.codepoints) unicode::append_utf8(out, cp);
  return out;
}

}  // namespace ridge::tokenizer
