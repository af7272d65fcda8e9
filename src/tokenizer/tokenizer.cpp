// Tokenizer: ties the vocabulary, the special-token partition and the two
// algorithms (SPM and byte-level BPE) together, and renders tokens back to
// text. Behaviour follows llama.cpp's llama_vocab so ids match the published
// test vectors; where this file departs from it, a comment says why.
#include "tokenizer/tokenizer.h"

#include "gguf/gguf.h"
#include "tokenizer/bpe_encoder.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/special_partition.h"
#include "tokenizer/spm_encoder.h"
#include "tokenizer/utf8_util.h"
#include "tokenizer/vocab.h"

namespace ridge::tokenizer {
namespace {

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s.substr(pos));
  return out;
}

}  // namespace

struct Tokenizer::Impl {
  Vocab vocab;

  void check_id(int32_t id) const {
    if (id < 0 || id >= vocab.size())
      throw Error("token id " + std::to_string(id) + " is out of range: the vocabulary has " +
                  std::to_string(vocab.size()) + " tokens");
  }

  void encode_spm(std::string_view text, const std::vector<Fragment>& fragments, bool add_special,
                  std::vector<int32_t>& out) const {
    // The add-space prefix goes before the first text and before text that follows a special token.
    bool after_special = true;
    if (add_special && vocab.add_bos) out.push_back(vocab.bos);
    std::string escaped;
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        out.push_back(f.token);
        after_special = true;
        continue;
      }
      escaped.clear();
      if (vocab.add_space_prefix && after_special) escaped = kSpmSpace;
      escaped += replace_all(text.substr(f.offset, f.length), " ", kSpmSpace);
      spm_encode(vocab, escaped, out);
      after_special = false;
    }
    if (add_special && vocab.add_eos) out.push_back(vocab.eos);
  }

  void encode_bpe(std::string_view text, const std::vector<Fragment>& fragments, bool add_special,
                  std::vector<int32_t>& out) const {
    if (add_special && vocab.add_bos) out.push_back(vocab.bos);
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        out.push_back(f.token);
        continue;
      }
      // llama.cpp feeds BPE re-encoded code points (an invalid byte becomes U+FFFD); so do we, to match its ids.
      for (std::string_view piece : pre_tokenize(*vocab.pre, text.substr(f.offset, f.length)))
        if (!piece.empty()) bpe_encode_piece(vocab, llama_piece_bytes(piece), out);
    }
    if (add_special && vocab.add_eos) out.push_back(vocab.eos);
  }

  std::string piece(int32_t id, bool render_special) const {
    check_id(id);
    const uint32_t attr = vocab.attrs[id];
    const std::string& text = vocab.texts[id];
    if (attr & (kAttrControl | kAttrUnknown)) return render_special ? text : std::string();
    if (attr & kAttrUserDefined) return text;
    if (attr & kAttrNormal) {
      if (vocab.kind == VocabKind::Spm) return replace_all(text, kSpmSpace, " ");
      return byte_level_decode(text);
    }
    if (attr & kAttrByte) return std::string(1, static_cast<char>(vocab.byte_values[id]));
    return {};  // UNUSED and undefined tokens render as nothing
  }
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_gguf(const gguf::File& file) {
  auto impl = std::make_unique<Impl>();
  impl->vocab = load_vocab(file);
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  const Vocab& v = impl_->vocab;
  const std::vector<Fragment> fragments = partition_special(v, text, parse_special);
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (v.kind == VocabKind::Spm) impl_->encode_spm(text, fragments, add_special, out);
  else impl_->encode_bpe(text, fragments, add_special, out);
  return out;
}

std::string Tokenizer::token_to_piece(int32_t id, bool render_special) const {
  return impl_->piece(id, render_special);
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool render_special) const {
  // The prefix space is removed from the first piece that renders anything, so
  // a leading BOS (rendered as nothing) does not leave the space in place, as
  // SentencePiece decodes. llama.cpp's detokenize keeps it in that case, and its
  // optional clean-up of spaces before punctuation is not applied: decode(encode(x)) == x.
  std::string out;
  bool strip = impl_->vocab.add_space_prefix;
  for (int32_t id : ids) {
    std::string p = impl_->piece(id, render_special);
    if (strip && !p.empty()) {
      if (p[0] == ' ') p.erase(0, 1);
      strip = false;
    }
    out += p;
  }
  return out;
}

int32_t Tokenizer::n_vocab() const { return impl_->vocab.size(); }
int32_t Tokenizer::bos() const { return impl_->vocab.bos; }
int32_t Tokenizer::eos() const { return impl_->vocab.eos; }
bool Tokenizer::add_bos() const { return impl_->vocab.add_bos; }
bool Tokenizer::add_eos() const { return impl_->vocab.add_eos; }

bool Tokenizer::is_eog(int32_t id) const { return impl_->vocab.eog.count(id) > 0; }

bool Tokenizer::is_control(int32_t id) const {
  return id >= 0 && id < impl_->vocab.size() && (impl_->vocab.attrs[id] & kAttrControl);
}

const std::string& Tokenizer::token_text(int32_t id) const {
  impl_->check_id(id);
  return impl_->vocab.texts[id];
}

const std::string& Tokenizer::model_name() const { return impl_->vocab.model_name; }
const std::string& Tokenizer::pre_name() const { return impl_->vocab.pre_name; }

IncrementalDecoder::IncrementalDecoder(const Tokenizer& tok, bool render_special, bool at_text_start)
    : tok_(tok), render_special_(render_special), first_(at_text_start) {}

std::string IncrementalDecoder::push(int32_t id) {
  std::string p = tok_.impl_->piece(id, render_special_);
  if (first_ && !p.empty()) {
    if (tok_.impl_->vocab.add_space_prefix && p[0] == ' ') p.erase(0, 1);
    first_ = false;
  }
  pending_ += p;
  const size_t hold = utf8_incomplete_tail(pending_);
  std::string ready = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return ready;
}

std::string IncrementalDecoder::flush() {
  std::string rest;
  rest.swap(pending_);
  return rest;
}

}  // namespace ridge::tokenizer
