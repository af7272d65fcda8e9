#include "sampling/penalty_history.h"

#include <algorithm>

namespace ridge::sampling {

PenaltyHistory::PenaltyHistory(int32_t n_vocab, int32_t window)
    : window_(window), count_(static_cast<size_t>(n_vocab), 0), distinct_slot_(static_cast<size_t>(n_vocab), -1) {
  // Reserved up front so that add() never reallocates the list.
  const size_t max_distinct =
      window < 0 ? static_cast<size_t>(n_vocab) : std::min(static_cast<size_t>(window), static_cast<size_t>(n_vocab));
  distinct_.reserve(max_distinct);
}

void PenaltyHistory::increment(int32_t token) {
  if (count_[token]++ == 0) {
    distinct_slot_[token] = static_cast<int32_t>(distinct_.size());
    distinct_.push_back(token);
  }
}

void PenaltyHistory::decrement(int32_t token) {
  if (--count_[token] != 0) return;
  // Swap-remove keeps removal O(1).
  const int32_t slot = distinct_slot_[token];
  const int32_t moved = distinct_.back();
  distinct_[slot] = moved;
  distinct_slot_[moved] = slot;
  distinct_.pop_back();
  distinct_slot_[token] = -1;
}

void PenaltyHistory::add(int32_t token) {
  if (window_ < 0) {
    increment(token);
    return;
  }
  const size_t window = static_cast<size_t>(window_);
  if (ring_.size() < window) {
    ring_.push_back(token);
  } else {
    decrement(ring_[ring_oldest_]);
    ring_[ring_oldest_] = token;
    ring_oldest_ = (ring_oldest_ + 1) % window;
  }
  increment(token);
}

void PenaltyHistory::clear() {
  for (int32_t t : distinct_) {
    count_[t] = 0;
    distinct_slot_[t] = -1;
  }
  distinct_.clear();
  ring_.clear();
  ring_oldest_ = 0;
}

}  // namespace ridge::sampling
