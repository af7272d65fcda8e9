#pragma once
// A batch for one forward pass: tokens from any number of sequences, each with
// its sequence id and position, and whether its logits are wanted.
#include <cstdint>
#include <vector>

namespace ridge::model {

struct Batch {
  std::vector<int32_t> tokens;
  std::vector<int64_t> pos;
  std::vector<int32_t> seq;
  std::vector<uint8_t> want_logits;

  void add(int32_t token, int64_t position, int32_t seq_id, bool logits) {
    tokens.push_back(token);
    pos.push_back(position);
    seq.push_back(seq_id);
    want_logits.push_back(logits ? 1 : 0);
  }
  size_t size() const { return tokens.size(); }
  void clear() {
    tokens.clear();
    pos.clear();
    seq.clear();
    want_logits.clear();
  }
};

}  // namespace ridge::model
