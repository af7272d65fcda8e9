#pragma once
// Test helper: writes small tokenizer vocabularies as in-memory GGUF files
// (through ridge's own GGUF writer and reader), so unit tests exercise the
// same loading path as real models.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace ridge::tokenizer::test {

struct VocabSpec {
  std::string model = "llama";
  std::string pre;  // empty: key omitted
  std::vector<std::string> tokens;
  std::vector<float> scores;    // empty: key omitted
  std::vector<int32_t> types;   // empty: key omitted
  std::vector<std::string> merges;
  bool write_merges = true;     // gpt2 only
  std::vector<std::pair<std::string, gguf::Value>> extra;

  // Appends a token and returns its id.
  int32_t add(std::string text, float score = 0.0f, int32_t type = 1) {
    tokens.push_back(std::move(text));
    scores.push_back(score);
    types.push_back(type);
    return static_cast<int32_t>(tokens.size() - 1);
  }
  void set(std::string key, gguf::Value v) { extra.emplace_back(std::move(key), std::move(v)); }
};

inline gguf::File write_vocab(const VocabSpec& s) {
  gguf::Writer w;
  w.set("general.architecture", gguf::Value::string("llama"));
  w.set("tokenizer.ggml.model", gguf::Value::string(s.model));
  if (!s.pre.empty()) w.set("tokenizer.ggml.pre", gguf::Value::string(s.pre));
  w.set("tokenizer.ggml.tokens", gguf::Value::string_array(s.tokens));
  if (!s.scores.empty()) w.set("tokenizer.ggml.scores", gguf::Value::f32_array(s.scores));
  if (!s.types.empty()) w.set("tokenizer.ggml.token_type", gguf::Value::i32_array(s.types));
  if (s.model == "gpt2" && s.write_merges) w.set("tokenizer.ggml.merges", gguf::Value::string_array(s.merges));
  for (const auto& [k, v] : s.extra) w.set(k, v);
  return gguf::File::from_bytes(w.to_bytes(), "test-vocab");
}

inline Tokenizer load(const VocabSpec& s) { return Tokenizer::from_gguf(write_vocab(s)); }

// "<unk>", "<s>", "</s>" and the 256 byte tokens, as SentencePiece vocabularies start.
inline VocabSpec spm_base(bool with_bytes = true) {
  VocabSpec s;
  s.add("<unk>", 0, 2);
  s.add("<s>", 0, 3);
  s.add("</s>", 0, 3);
  if (with_bytes) {
    for (int b = 0; b < 256; ++b) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<0x%02X>", b);
      s.add(buf, 0, 6);
    }
  }
  return s;
}

}  // namespace ridge::tokenizer::test
