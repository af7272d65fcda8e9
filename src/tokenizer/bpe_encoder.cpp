// BPE merge loop (see bpe_encoder.h). Each symbol carries its token id, so a
// merge is looked up by id pair and yields the merged id directly; a queued
// pair is stale once either side has changed size.
#include "tokenizer/bpe_encoder.h"

#include <queue>
#include <string>

#include "tokenizer/byte_unicode.h"
#include "tokenizer/utf8_util.h"

namespace ridge::tokenizer {
namespace {

struct Symbol {
  int prev;
  int next;
  size_t offset;
  size_t size;  // 0 once merged into its left neighbour
  int32_t id;   // -1 when the text is not a token (it then takes part in no merge)
};

struct Candidate {
  int left;
  int right;
  int32_t rank;
  int32_t result;
  size_t left_size;
  size_t right_size;
};

// Lowest rank first; among equal ranks the leftmost pair.
struct WorseCandidate {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

class BpeSession {
 public:
  BpeSession(const Vocab& vocab, std::string_view word) : vocab_(vocab), word_(word) {}

  void run(std::vector<int32_t>& out) {
    // llama3-style vocabularies emit a piece that is already a token as is.
    if (vocab_.ignore_merges) {
      if (const int32_t id = vocab_.find(word_); id >= 0) {
        out.push_back(id);
        return;
      }
    }
    size_t offset = 0;
    while (offset < word_.size()) {
      const size_t len = std::min(utf8_sequence_length(static_cast<unsigned char>(word_[offset])), word_.size() - offset);
      const int index = static_cast<int>(symbols_.size());
      symbols_.push_back({index - 1, offset + len == word_.size() ? -1 : index + 1, offset, len,
                          vocab_.find(word_.substr(offset, len))});
      offset += len;
    }
    for (int i = 1; i < static_cast<int>(symbols_.size()); ++i) try_add(i - 1, i);

    while (!queue_.empty()) {
      const Candidate c = queue_.top();
      queue_.pop();
      Symbol& left = symbols_[c.left];
      Symbol& right = symbols_[c.right];
      if (left.size != c.left_size || right.size != c.right_size) continue;  // stale
      left.size += right.size;
      left.id = c.result;
      right.size = 0;
      left.next = right.next;
      if (right.next >= 0) symbols_[right.next].prev = c.left;
      try_add(left.prev, c.left);
      try_add(c.left, left.next);
    }

    for (const Symbol& s : symbols_) {
      if (s.size == 0) continue;
      if (s.id >= 0) {
        out.push_back(s.id);
        continue;
      }
      // Not a token: llama.cpp tries each byte of it as a one-byte token and drops the rest.
      for (char c : word_.substr(s.offset, s.size)) {
        const int32_t id = vocab_.find(std::string_view(&c, 1));
        if (id >= 0) out.push_back(id);
      }
    }
  }

 private:
  void try_add(int left, int right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols_[left];
    const Symbol& r = symbols_[right];
    if (l.id < 0 || r.id < 0) return;
    const BpeMerge* m = vocab_.find_merge(l.id, r.id);
    if (!m) return;
    queue_.push({left, right, m->rank, m->result, l.size, r.size});
  }

  const Vocab& vocab_;
  std::string_view word_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Candidate, std::vector<Candidate>, WorseCandidate> queue_;
};

}  // namespace

void bpe_encode_piece(const Vocab& vocab, std::string_view raw_piece, std::vector<int32_t>& out) {
  const std::string word = byte_level_encode(raw_piece);
  BpeSession(vocab, word).run(out);
}

}  // namespace ridge::tokenizer
