// SPM merge loop (see spm_encoder.h). Symbols form a linked list over the
// text; a max-heap holds candidate pairs, and entries made stale by an earlier
// merge are recognised by their size and skipped.
#include "tokenizer/spm_encoder.h"

#include <cstdio>
#include <queue>
#include <string>

#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8_util.h"

namespace ridge::tokenizer {
namespace {

struct Symbol {
  int prev;
  int next;
  size_t offset;
  size_t size;  // 0 once merged into its left neighbour
};

struct Candidate {
  int left;
  int right;
  float score;
  size_t size;
};

// Highest score first; among equal scores the leftmost pair.
struct WorseCandidate {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

class SpmSession {
 public:
  SpmSession(const Vocab& vocab, std::string_view text) : vocab_(vocab), text_(text) {}

  void run(std::vector<int32_t>& out) {
    size_t offset = 0;
    while (offset < text_.size()) {
      const size_t len = std::min(utf8_sequence_length(static_cast<unsigned char>(text_[offset])), text_.size() - offset);
      const int index = static_cast<int>(symbols_.size());
      symbols_.push_back({index - 1, offset + len == text_.size() ? -1 : index + 1, offset, len});
      offset += len;
    }
    for (int i = 1; i < static_cast<int>(symbols_.size()); ++i) try_add(i - 1, i);

    while (!queue_.empty()) {
      const Candidate c = queue_.top();
      queue_.pop();
      Symbol& left = symbols_[c.left];
      Symbol& right = symbols_[c.right];
      if (left.size == 0 || right.size == 0 || left.size + right.size != c.size) continue;  // stale
      left.size += right.size;
      right.size = 0;
      left.next = right.next;
      if (right.next >= 0) symbols_[right.next].prev = c.left;
      try_add(left.prev, c.left);
      try_add(c.left, left.next);
    }

    if (symbols_.empty()) return;
    for (int i = 0; i != -1; i = symbols_[i].next) emit(symbols_[i], out);
  }

 private:
  std::string_view text_of(const Symbol& s) const { return text_.substr(s.offset, s.size); }

  void try_add(int left, int right) {
    if (left < 0 || right < 0) return;
    const std::string_view joined = text_.substr(symbols_[left].offset, symbols_[left].size + symbols_[right].size);
    const int32_t id = vocab_.find(joined);
    if (id < 0) return;
    queue_.push({left, right, vocab_.scores[id], joined.size()});
  }

  // Every merged symbol is a token (only pairs forming a token are queued), so
  // a symbol that is not one is an unmerged character: it becomes byte tokens.
  // (llama.cpp also keeps a reverse-merge table for such symbols, but its keys
  // are all tokens, so that lookup never succeeds for them.)
  void emit(const Symbol& s, std::vector<int32_t>& out) const {
    const std::string_view text = text_of(s);
    if (const int32_t id = vocab_.find(text); id >= 0) {
      out.push_back(id);
      return;
    }
    for (char c : text) out.push_back(byte_token(static_cast<uint8_t>(c)));
  }

  int32_t byte_token(uint8_t b) const {
    if (vocab_.byte_fallback[b] >= 0) return vocab_.byte_fallback[b];
    if (vocab_.unk >= 0) return vocab_.unk;
    char msg[160];
    std::snprintf(msg, sizeof msg,
                  "cannot encode byte 0x%02X: the vocabulary has no <0x%02X> token and no unknown token", b, b);
    throw Error(msg);
  }

  const Vocab& vocab_;
  std::string_view text_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Candidate, std::vector<Candidate>, WorseCandidate> queue_;
};

}  // namespace

void spm_encode(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out) {
  SpmSession(vocab, text).run(out);
}

}  // namespace ridge::tokenizer
