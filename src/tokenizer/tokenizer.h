#pragma once
// Tokenizers built from GGUF metadata (`tokenizer.ggml.*`): "llama"
// (SentencePiece-style BPE over scores with byte fallback and the add-space
// prefix) and "gpt2" (byte-level BPE over merges, split first by the
// pre-tokenizer named in `tokenizer.ggml.pre`). Special/control tokens,
// add_bos/add_eos, and detokenization, including an incremental decoder that
// never splits a UTF-8 character across two outputs.
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ridge::gguf { class File; }

namespace ridge::tokenizer {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Tokenizer {
 public:
  // Reads and validates the vocabulary; throws Error (or gguf::Error) naming the key at fault.
  static Tokenizer from_gguf(const gguf::File& file);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // add_special: prepend BOS / append EOS as the model's add_bos/add_eos flags say.
  // parse_special: text matching a special/control token's text becomes that token.
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

  // The bytes a token stands for (byte tokens become their byte, "▁" a space, GPT-2
  // byte-unicode mapped back). Special/control tokens render as their text only
  // when render_special is true.
  std::string token_to_piece(int32_t id, bool render_special = false) const;
  // Joins pieces; for "llama" vocabularies the leading space added by the prefix is removed.
  std::string decode(const std::vector<int32_t>& ids, bool render_special = false) const;

  int32_t n_vocab() const;
  int32_t bos() const;  // -1 when none
  int32_t eos() const;  // -1 when none
  bool add_bos() const;
  bool add_eos() const;
  bool is_eog(int32_t id) const;  // end of generation: EOS, EOT and the like
  bool is_control(int32_t id) const;
  const std::string& token_text(int32_t id) const;  // the raw vocabulary string
  const std::string& model_name() const;            // "llama" or "gpt2"
  const std::string& pre_name() const;              // tokenizer.ggml.pre, "default" when absent

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend class IncrementalDecoder;
};

// Streams text token by token; holds back bytes of an incomplete UTF-8
// character until it is complete (or flush() is called). `at_text_start`:
// the first piece starts the text, so the space the SentencePiece prefix
// added is dropped; false when continuing text already shown (a prompt).
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tok, bool render_special = false, bool at_text_start = true);
  std::string push(int32_t id);  // the newly complete text (maybe empty)
  std::string flush();           // whatever is held back
 private:
  const Tokenizer& tok_;
  bool render_special_;
  bool first_ = true;
  std::string pending_;
};

}  // namespace ridge::tokenizer
