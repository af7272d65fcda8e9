#pragma once
// How often each token occurs among the last N accepted tokens (or the whole
// history), kept incrementally so the repetition penalties cost O(distinct
// tokens in the window) per sampled token, not O(window) or O(vocabulary).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ridge::sampling {

class PenaltyHistory {
 public:
  // window < 0: the whole history; window 0 is not meaningful (the caller
  // turns penalties off instead). Allocates 8 bytes per vocabulary entry; the
  // window ring itself grows only as tokens arrive, so a huge window costs
  // nothing up front.
  PenaltyHistory(int32_t n_vocab, int32_t window);

  // `token` must be in [0, n_vocab): the caller checks.
  void add(int32_t token);
  void clear();

  // The tokens with a non-zero count, in no particular (but deterministic) order.
  const std::vector<int32_t>& distinct_tokens() const { return distinct_; }
  uint32_t count(int32_t token) const { return count_[token]; }

 private:
  void increment(int32_t token);
  void decrement(int32_t token);

  int32_t window_;
  std::vector<uint32_t> count_;
  std::vector<int32_t> distinct_;
  std::vector<int32_t> distinct_slot_;  // where each token sits in distinct_, -1 if absent
  std::vector<int32_t> ring_;           // the last `window_` tokens once full
  size_t ring_oldest_ = 0;              // once full: the slot of the oldest token
};

}  // namespace ridge::sampling
