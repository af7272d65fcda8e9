#pragma once
// The vocabulary a Tokenizer works from, read and validated from GGUF
// `tokenizer.ggml.*` metadata: token texts, scores and attributes, the
// text -> id index, BPE merge ranks, special token ids and the per-model
// flags (add_bos, add_space_prefix, ignore_merges, ...). Internal to the
// tokenizer layer; tests use it to reach the algorithms directly.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "tokenizer/flat_index.h"
#include "tokenizer/pretokenize.h"

namespace ridge::gguf { class File; }

namespace ridge::tokenizer {

// GGUF `tokenizer.ggml.token_type` values.
enum class TokenType : int32_t {
  Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6,
};

// Per-token attribute bits (a token may gain CONTROL on top of its type, as
// llama.cpp does for EOG-looking tokens, and LSTRIP/RSTRIP per model).
enum TokenAttr : uint32_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1u << 0,
  kAttrUnused = 1u << 1,
  kAttrNormal = 1u << 2,
  kAttrControl = 1u << 3,
  kAttrUserDefined = 1u << 4,
  kAttrByte = 1u << 5,
  kAttrLstrip = 1u << 6,  // eat whitespace before the token when partitioning
  kAttrRstrip = 1u << 7,  // eat whitespace after it
};

uint32_t attr_from_token_type(int64_t type);

enum class VocabKind { Spm, Bpe };

// One merge rule of a BPE vocabulary: the pair at `rank` forms `result`.
struct BpeMerge {
  int32_t rank;
  int32_t result;
};

struct Vocab {
  VocabKind kind = VocabKind::Spm;
  std::string model_name;  // tokenizer.ggml.model
  std::string pre_name;    // tokenizer.ggml.pre ("default" when absent)
  std::optional<PreTokenizer> pre;  // BPE only

  std::vector<std::string> texts;  // raw vocabulary strings
  std::vector<float> scores;
  std::vector<uint32_t> attrs;
  std::vector<uint8_t> byte_values;  // for BYTE tokens: the byte; else 0

  int32_t bos = -1, eos = -1, unk = -1, eot = -1, eom = -1;
  int32_t fim_pre = -1, fim_suf = -1, fim_mid = -1, fim_pad = -1, fim_rep = -1, fim_sep = -1;

  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;  // SPM: prefix the text with a space
  bool ignore_merges = false;     // BPE (llama3 and kin): a piece that is a token is emitted whole

  // Tokens matched in text before the main algorithm runs (CONTROL,
  // USER_DEFINED, UNKNOWN), longest text first.
  std::vector<int32_t> special_tokens;
  std::unordered_set<int32_t> eog;

  // SPM byte fallback: id of `<0xXX>` (or of the single-byte token) per byte, -1 if none.
  std::array<int32_t, 256> byte_fallback{};

  int32_t size() const { return static_cast<int32_t>(texts.size()); }
  // The id whose text is exactly `text`, or -1.
  int32_t find(std::string_view text) const { return index_.find(texts, text); }
  // The merge of the pair (left, right), or nullptr when they do not merge.
  const BpeMerge* find_merge(int32_t left, int32_t right) const { return merges_.find(left, right); }

  // Builders used by the loader: index the texts (rejecting duplicates) and add merges.
  void build_index();  // throws Error on a duplicate text
  void reserve_merges(size_t n) { merges_.reserve(n); }
  // A repeated pair keeps its first (lowest) rank.
  void add_merge(int32_t left, int32_t right, int32_t rank, int32_t result) {
    merges_.insert(left, right, BpeMerge{rank, result});
  }

 private:
  TextIndex index_;
  PairIndex<BpeMerge> merges_;
};

// Reads and validates the vocabulary; throws tokenizer::Error (or gguf::Error
// for a key of the wrong type) naming the key at fault.
Vocab load_vocab(const gguf::File& file);

// Applies llama.cpp's name-based conventions after the ids are known: finds
// EOT/EOM/FIM tokens by text, builds the EOG set, marks EOG-looking tokens as
// CONTROL, orders the special tokens for partitioning and sets per-model
// LSTRIP/RSTRIP attributes from `general.name` and `general.architecture`
// (either may be empty).
void assign_special_roles(Vocab& v, std::string_view general_name, std::string_view architecture);

}  // namespace ridge::tokenizer
