// Reads `tokenizer.ggml.*` from a GGUF file into a Vocab and validates it, so
// that nothing later can index out of range or abort: token arrays of equal
// length, well-formed byte tokens, merges naming real tokens, special ids in
// range. Defaults follow llama.cpp's vocabulary loader.
#include <cmath>
#include <cstdio>
#include <string>

#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace ridge::tokenizer {
namespace {

constexpr const char* kModelKey = "tokenizer.ggml.model";
constexpr const char* kPreKey = "tokenizer.ggml.pre";
constexpr const char* kTokensKey = "tokenizer.ggml.tokens";
constexpr const char* kScoresKey = "tokenizer.ggml.scores";
constexpr const char* kTypesKey = "tokenizer.ggml.token_type";
constexpr const char* kMergesKey = "tokenizer.ggml.merges";

// GGUF files mark "no token" with -1, which converters often store as uint32 0xFFFFFFFF.
constexpr int64_t kUnsetId = 0xFFFFFFFFll;

std::string quoted(std::string_view s) {
  constexpr size_t kMax = 60;
  std::string out = "'";
  out.append(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  out += "'";
  return out;
}

// llama.cpp turns add_bos on by default for these `tokenizer.ggml.pre` names
// (BPE vocabularies otherwise default to no BOS).
bool pre_adds_bos(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano",
      "tekken", "chameleon",
  };
  for (auto n : kNames)
    if (name == n) return true;
  return false;
}

std::vector<float> read_scores(const gguf::File& file, size_t n_tokens) {
  std::vector<float> scores(n_tokens, 0.0f);
  const gguf::Value* v = file.find(kScoresKey);
  if (!v) return scores;
  if (v->type != gguf::ValueType::ARRAY || !(gguf::is_float(v->elem) || gguf::is_integer(v->elem)))
    throw Error(std::string(kScoresKey) + ": expected an array of numbers");
  const size_t n = v->array_size();
  if (n < n_tokens)
    throw Error(std::string(kScoresKey) + ": " + std::to_string(n) + " scores for " + std::to_string(n_tokens) +
                " tokens in " + kTokensKey);
  for (size_t i = 0; i < n_tokens; ++i) {
    const double s = gguf::is_float(v->elem) ? v->floats[i] : static_cast<double>(v->ints[i]);
    // NaN would break the ordering the merge queue relies on.
    if (std::isnan(s)) throw Error(std::string(kScoresKey) + "[" + std::to_string(i) + "] is NaN");
    scores[i] = static_cast<float>(s);
  }
  return scores;
}

std::vector<int64_t> read_token_types(const gguf::File& file, size_t n_tokens) {
  if (!file.has(kTypesKey)) return std::vector<int64_t>(n_tokens, static_cast<int64_t>(TokenType::Normal));
  const auto& types = file.get_int_array(kTypesKey);
  if (types.size() < n_tokens)
    throw Error(std::string(kTypesKey) + ": " + std::to_string(types.size()) + " types for " +
                std::to_string(n_tokens) + " tokens in " + kTokensKey);
  return std::vector<int64_t>(types.begin(), types.begin() + n_tokens);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A BYTE token must read exactly `<0xHH>`.
uint8_t parse_byte_token(const std::string& text, size_t id) {
  const bool shaped = text.size() == 6 && text.compare(0, 3, "<0x") == 0 && text[5] == '>';
  const int hi = shaped ? hex_digit(text[3]) : -1;
  const int lo = shaped ? hex_digit(text[4]) : -1;
  if (hi < 0 || lo < 0)
    throw Error(std::string(kTokensKey) + "[" + std::to_string(id) + "]: byte token " + quoted(text) +
                " is not of the form <0xHH>");
  return static_cast<uint8_t>(hi * 16 + lo);
}

void read_merges(const gguf::File& file, Vocab& v) {
  if (!file.has(kMergesKey))
    throw Error(std::string(kMergesKey) + " is missing; it is required for '" + v.model_name + "' tokenizers");
  const auto& merges = file.get_string_array(kMergesKey);
  if (merges.size() > static_cast<size_t>(INT32_MAX)) throw Error(std::string(kMergesKey) + ": too many merges");
  v.reserve_merges(merges.size());
  std::string joined;
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string& line = merges[i];
    auto where = [&] { return std::string(kMergesKey) + "[" + std::to_string(i) + "] " + quoted(line); };
    // Search from 1 as llama.cpp does, so a first token that is itself a space still splits.
    const size_t sep = line.find(' ', 1);
    if (sep == std::string::npos || sep + 1 >= line.size() || line.find(' ', sep + 1) != std::string::npos)
      throw Error(where() + ": expected two tokens separated by one space");
    const std::string_view left(line.data(), sep);
    const std::string_view right(line.data() + sep + 1, line.size() - sep - 1);
    const int32_t left_id = v.find(left);
    const int32_t right_id = v.find(right);
    if (left_id < 0) throw Error(where() + ": " + quoted(left) + " is not in " + kTokensKey);
    if (right_id < 0) throw Error(where() + ": " + quoted(right) + " is not in " + kTokensKey);
    joined.assign(left);
    joined.append(right);
    const int32_t result = v.find(joined);
    if (result < 0) throw Error(where() + ": the merged token " + quoted(joined) + " is not in " + kTokensKey);
    v.add_merge(left_id, right_id, static_cast<int32_t>(i), result);
  }
}

// Reads an optional special-token id: absent or the -1 marker keeps `id` as is;
// anything else must name a token.
void read_special_id(const gguf::File& file, const char* key, int32_t n_vocab, int32_t& id) {
  if (!file.has(key)) return;
  const int64_t value = file.get_i64(key);
  if (value == -1 || value == kUnsetId) return;
  if (value < 0 || value >= n_vocab)
    throw Error(std::string(key) + " = " + std::to_string(value) + " is out of range: the vocabulary has " +
                std::to_string(n_vocab) + " tokens");
  id = static_cast<int32_t>(value);
}

void require_special(bool add, int32_t id, const char* add_key, const char* id_key) {
  if (add && id < 0) throw Error(std::string(add_key) + " is true, but " + id_key + " is not set");
}

}  // namespace

uint32_t attr_from_token_type(int64_t type) {
  switch (type) {
    case static_cast<int64_t>(TokenType::Normal): return kAttrNormal;
    case static_cast<int64_t>(TokenType::Unknown): return kAttrUnknown;
    case static_cast<int64_t>(TokenType::Control): return kAttrControl;
    case static_cast<int64_t>(TokenType::UserDefined): return kAttrUserDefined;
    case static_cast<int64_t>(TokenType::Unused): return kAttrUnused;
    case static_cast<int64_t>(TokenType::Byte): return kAttrByte;
    default: return kAttrUndefined;  // llama.cpp treats unknown types as undefined: never rendered
  }
}

void Vocab::build_index() {
  const int32_t dup = index_.build(texts);
  if (dup >= 0)
    throw Error(std::string(kTokensKey) + ": duplicate token " + quoted(texts[dup]) + " at ids " +
                std::to_string(index_.find(texts, texts[dup])) + " and " + std::to_string(dup));
}

Vocab load_vocab(const gguf::File& file) {
  Vocab v;
  if (!file.has(kModelKey)) throw Error(std::string(kModelKey) + " is missing: the file has no tokenizer");
  v.model_name = file.get_string(kModelKey);
  if (v.model_name == "llama") {
    v.kind = VocabKind::Spm;
  } else if (v.model_name == "gpt2") {
    v.kind = VocabKind::Bpe;
  } else {
    throw Error(std::string(kModelKey) + ": unsupported tokenizer '" + v.model_name + "' (supported: llama, gpt2)");
  }
  v.pre_name = file.get_string_or(kPreKey, "");
  if (v.pre_name.empty()) v.pre_name = "default";

  if (!file.has(kTokensKey)) throw Error(std::string(kTokensKey) + " is missing");
  const auto& tokens = file.get_string_array(kTokensKey);
  if (tokens.empty()) throw Error(std::string(kTokensKey) + " is empty");
  if (tokens.size() >= static_cast<size_t>(INT32_MAX))
    throw Error(std::string(kTokensKey) + ": " + std::to_string(tokens.size()) + " tokens is too many");
  const size_t n = tokens.size();
  const auto n_vocab = static_cast<int32_t>(n);

  v.scores = read_scores(file, n);
  const std::vector<int64_t> types = read_token_types(file, n);
  v.texts.resize(n);
  v.attrs.resize(n);
  v.byte_values.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    // An empty text could never be matched or rendered; llama.cpp renames it the same way.
    v.texts[i] = tokens[i].empty() ? "[EMPTY_" + std::to_string(i) + "]" : tokens[i];
    v.attrs[i] = attr_from_token_type(types[i]);
    if (v.attrs[i] & kAttrByte) v.byte_values[i] = parse_byte_token(v.texts[i], i);
  }
  v.build_index();

  if (v.kind == VocabKind::Spm) {
    v.bos = 1, v.eos = 2, v.unk = 0;
    v.add_bos = true;
    v.add_space_prefix = true;
  } else {
    v.bos = 11, v.eos = 11;
    v.pre = pre_tokenizer_from_name(v.pre_name);
    if (!v.pre) throw Error(std::string(kPreKey) + ": unsupported pre-tokenizer '" + v.pre_name + "'");
    v.add_bos = pre_adds_bos(v.pre_name);
    v.ignore_merges = pre_tokenizer_ignores_merges(*v.pre);
    read_merges(file, v);
  }
  // Built-in defaults that the vocabulary cannot hold mean "none", as in llama.cpp.
  for (int32_t* id : {&v.bos, &v.eos, &v.unk})
    if (*id >= n_vocab) *id = -1;

  read_special_id(file, "tokenizer.ggml.bos_token_id", n_vocab, v.bos);
  read_special_id(file, "tokenizer.ggml.eos_token_id", n_vocab, v.eos);
  read_special_id(file, "tokenizer.ggml.unknown_token_id", n_vocab, v.unk);
  read_special_id(file, "tokenizer.ggml.eot_token_id", n_vocab, v.eot);
  read_special_id(file, "tokenizer.ggml.eom_token_id", n_vocab, v.eom);
  read_special_id(file, "tokenizer.ggml.fim_pre_token_id", n_vocab, v.fim_pre);
  read_special_id(file, "tokenizer.ggml.fim_suf_token_id", n_vocab, v.fim_suf);
  read_special_id(file, "tokenizer.ggml.fim_mid_token_id", n_vocab, v.fim_mid);
  read_special_id(file, "tokenizer.ggml.fim_pad_token_id", n_vocab, v.fim_pad);
  read_special_id(file, "tokenizer.ggml.fim_rep_token_id", n_vocab, v.fim_rep);
  read_special_id(file, "tokenizer.ggml.fim_sep_token_id", n_vocab, v.fim_sep);
  // Older spellings of the FIM ids.
  read_special_id(file, "tokenizer.ggml.prefix_token_id", n_vocab, v.fim_pre);
  read_special_id(file, "tokenizer.ggml.suffix_token_id", n_vocab, v.fim_suf);
  read_special_id(file, "tokenizer.ggml.middle_token_id", n_vocab, v.fim_mid);

  v.add_space_prefix = file.get_bool_or("tokenizer.ggml.add_space_prefix", v.add_space_prefix);
  v.add_bos = file.get_bool_or("tokenizer.ggml.add_bos_token", v.add_bos);
  v.add_eos = file.get_bool_or("tokenizer.ggml.add_eos_token", v.add_eos);
  require_special(v.add_bos, v.bos, "tokenizer.ggml.add_bos_token", "tokenizer.ggml.bos_token_id");
  require_special(v.add_eos, v.eos, "tokenizer.ggml.add_eos_token", "tokenizer.ggml.eos_token_id");

  for (int b = 0; b < 256; ++b) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "<0x%02X>", b);
    int32_t id = v.find(hex);
    if (id < 0) id = v.find(std::string(1, static_cast<char>(b)));
    v.byte_fallback[b] = id;
  }

  assign_special_roles(v, file.get_string_or("general.name", ""), file.get_string_or("general.architecture", ""));
  return v;
}

}  // namespace ridge::tokenizer
