#include "sampling/logprobs.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace ridge::sampling {
namespace {

constexpr float kPosInf = std::numeric_limits<float>::infinity();
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

void check_logits(const float* logits, int32_t n_vocab) {
  if (logits == nullptr) throw std::invalid_argument("logprobs: logits pointer is null");
  if (n_vocab <= 0) throw std::invalid_argument("logprobs: n_vocab must be positive, got " + std::to_string(n_vocab));
}

// Everything the log-softmax needs, from one pass over the vocabulary.
struct LogSoftmax {
  int64_t n_pos_inf = 0;  // > 0: the +inf logits share all the probability
  double max_logit = -std::numeric_limits<double>::infinity();
  double log_sum = 0.0;   // log(sum exp(logit - max_logit)) over finite logits

  static LogSoftmax of(const float* logits, int32_t n_vocab) {
    LogSoftmax s;
    for (int32_t i = 0; i < n_vocab; ++i) {
      const float x = logits[i];
      if (x == kPosInf) {
        ++s.n_pos_inf;
      } else if (std::isfinite(x)) {
        s.max_logit = std::max(s.max_logit, static_cast<double>(x));
      }
    }
    if (s.n_pos_inf > 0 || std::isinf(s.max_logit)) return s;
    double sum = 0.0;
    for (int32_t i = 0; i < n_vocab; ++i) {
      // float exp: twice as fast as double over a 256k vocabulary, and the
      // sum (in double) is still accurate to ~1e-7 relative.
      if (std::isfinite(logits[i])) sum += std::exp(static_cast<float>(logits[i] - s.max_logit));
    }
    s.log_sum = std::log(sum);
    return s;
  }

  float logprob(float x) const {
    if (n_pos_inf > 0) return x == kPosInf ? static_cast<float>(-std::log(static_cast<double>(n_pos_inf))) : kNegInf;
    if (!std::isfinite(x)) return kNegInf;  // NaN, -inf (and +inf cannot reach here)
    const double lp = static_cast<double>(x) - max_logit - log_sum;
    // Beside a logit near FLT_MAX, one near -FLT_MAX has a log-probability
    // below the float range: its probability is zero in float terms.
    return lp < -static_cast<double>(std::numeric_limits<float>::max()) ? kNegInf : static_cast<float>(lp);
  }
};

// Strict total order, so results never depend on the library's sort.
bool better(const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
  if (a.first != b.first) return a.first > b.first;
  return a.second < b.second;
}

}  // namespace

std::vector<std::pair<int32_t, float>> top_logprobs(const float* logits, int32_t n_vocab, int k) {
  check_logits(logits, n_vocab);
  if (k <= 0) return {};
  const size_t want = std::min<size_t>(static_cast<size_t>(k), static_cast<size_t>(n_vocab));
  const LogSoftmax softmax = LogSoftmax::of(logits, n_vocab);

  // A bounded heap whose top is the worst of the best `want` seen so far:
  // O(n log k) and only k entries of memory, however large the vocabulary.
  std::vector<std::pair<float, int32_t>> heap;
  heap.reserve(want);
  for (int32_t i = 0; i < n_vocab; ++i) {
    const float x = logits[i];
    if (std::isnan(x) || x == kNegInf) continue;
    const std::pair<float, int32_t> entry{x, i};
    if (heap.size() < want) {
      heap.push_back(entry);
      std::push_heap(heap.begin(), heap.end(), better);
    } else if (better(entry, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = entry;
      std::push_heap(heap.begin(), heap.end(), better);
    }
  }
  std::sort_heap(heap.begin(), heap.end(), better);

  std::vector<std::pair<int32_t, float>> out;
  out.reserve(heap.size());
  for (const auto& [x, token] : heap) {
    const float lp = softmax.logprob(x);
    if (lp == kNegInf) continue;  // zero probability: nothing to report
    out.emplace_back(token, lp);
  }
  return out;
}

float token_logprob(const float* logits, int32_t n_vocab, int32_t token) {
  check_logits(logits, n_vocab);
  if (token < 0 || token >= n_vocab)
    throw std::invalid_argument("logprobs: token " + std::to_string(token) + " is outside [0, " +
                                std::to_string(n_vocab) + ")");
  return LogSoftmax::of(logits, n_vocab).logprob(logits[token]);
}

}  // namespace ridge::sampling
