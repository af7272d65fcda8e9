#include "sampling/candidate_list.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>

namespace ridge::sampling {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kPosInf = std::numeric_limits<float>::infinity();

bool higher_first(const Candidate& a, const Candidate& b) {
  if (a.logit != b.logit) return a.logit > b.logit;
  return a.token < b.token;
}

// Below this many nats under the maximum, exp() underflows float to zero:
// such tokens carry no probability mass.
constexpr double kZeroMassDepth = 104.0;
constexpr size_t kBuckets = 2048;

}  // namespace

CandidateList::CandidateList(int32_t n_vocab) : n_vocab_(n_vocab), items_(static_cast<size_t>(n_vocab)) {}

void CandidateList::gather_all(const float* logits) {
  size_t n = 0;
  float max_logit = kNegInf;
  float min_logit = kPosInf;
  for (int32_t i = 0; i < n_vocab_; ++i) {
    float x = logits[i];
    if (!(x > kNegInf)) continue;  // NaN or -inf: never a candidate
    if (x == kPosInf) x = FLT_MAX;
    items_[n++] = Candidate{i, x, 0.0f};
    max_logit = std::max(max_logit, x);
    min_logit = std::min(min_logit, x);
  }
  size_ = n;
  sorted_ = false;
  softmax_weights_set_ = false;
  max_logit_ = max_logit;
  min_logit_ = min_logit;
}

void CandidateList::gather_top_k(const float* logits, size_t k) {
  // A bounded heap whose front is the worst of the best k so far; after the
  // first k tokens almost every logit fails one comparison with that front,
  // so this is one read of the logits, not a sort.
  const auto begin = items_.begin();
  size_t n = 0;
  int32_t i = 0;
  for (; i < n_vocab_ && n < k; ++i) {
    float x = logits[i];
    if (!(x > kNegInf)) continue;
    if (x == kPosInf) x = FLT_MAX;
    items_[n++] = Candidate{i, x, 0.0f};
    std::push_heap(begin, begin + n, higher_first);
  }
  for (; i < n_vocab_; ++i) {
    float x = logits[i];
    // Strict: an equal logit at a higher id loses the tie. NaN fails too.
    if (!(x > items_[0].logit)) continue;
    if (x == kPosInf) x = FLT_MAX;
    if (!(x > items_[0].logit)) continue;  // +inf against a FLT_MAX front
    std::pop_heap(begin, begin + n, higher_first);
    items_[n - 1] = Candidate{i, x, 0.0f};
    std::push_heap(begin, begin + n, higher_first);
  }
  std::sort_heap(begin, begin + n, higher_first);
  size_ = n;
  sorted_ = true;
  softmax_weights_set_ = false;
  if (n > 0) {
    max_logit_ = items_[0].logit;
    min_logit_ = items_[n - 1].logit;
  }
}

void CandidateList::keep_top_k(int32_t k) {
  if (k <= 0 || static_cast<size_t>(k) >= size_) return;
  const auto begin = items_.begin();
  const size_t kk = static_cast<size_t>(k);
  // With a strict total order the chosen set and its sorted order are unique.
  std::nth_element(begin, begin + (kk - 1), begin + size_, higher_first);
  std::sort(begin, begin + kk, higher_first);
  size_ = kk;
  sorted_ = true;
  min_logit_ = items_[kk - 1].logit;
}

void CandidateList::set_softmax_weights(double* total) {
  double sum = 0.0;
  for (size_t i = 0; i < size_; ++i) {
    Candidate& c = items_[i];
    c.weight = std::exp(c.logit - max_logit_);
    sum += c.weight;
  }
  *total = sum;
  softmax_weights_set_ = true;
}

void CandidateList::keep_top_p(float top_p) {
  if (top_p >= 1.0f || size_ <= 1) return;
  double total = 0.0;
  set_softmax_weights(&total);
  if (sorted_) {
    keep_top_p_sorted(top_p, total);
  } else {
    keep_top_p_bucketed(top_p, total);
  }
}

void CandidateList::keep_top_p_sorted(float top_p, double total) {
  const double target = static_cast<double>(top_p) * total;
  double cumulative = 0.0;
  size_t kept = 0;
  while (kept < size_) {
    cumulative += items_[kept++].weight;
    if (cumulative >= target) break;
  }
  size_ = kept;
}

// The nucleus of a flat distribution over a large vocabulary can hold most of
// it, and sorting it all costs tens of milliseconds. Instead: histogram the
// mass by logit into buckets (monotone in the logit), find the bucket where
// the cumulative mass crosses top_p, keep every bucket above it whole and
// sort only that one bucket. The kept set equals the sorted-prefix definition.
void CandidateList::keep_top_p_bucketed(float top_p, double total) {
  const double target = static_cast<double>(top_p) * total;
  const double max_logit = max_logit_;
  const double floor_logit = std::max(static_cast<double>(min_logit_), max_logit - kZeroMassDepth);
  const double span = max_logit - floor_logit;
  const double scale = span > 0.0 ? static_cast<double>(kBuckets) / span : 0.0;
  // Bucket kBuckets holds the tokens too far below the maximum to have mass.
  auto bucket_of = [&](float logit) -> size_t {
    const double depth = max_logit - static_cast<double>(logit);
    if (depth > span) return kBuckets;
    return std::min(kBuckets - 1, static_cast<size_t>(depth * scale));
  };

  bucket_mass_.assign(kBuckets + 1, 0.0);
  for (size_t i = 0; i < size_; ++i) bucket_mass_[bucket_of(items_[i].logit)] += items_[i].weight;

  size_t crossing = kBuckets + 1;
  double mass_above = 0.0;
  for (size_t b = 0; b < kBuckets; ++b) {
    if (mass_above + bucket_mass_[b] >= target) {
      crossing = b;
      break;
    }
    mass_above += bucket_mass_[b];
  }
  if (crossing > kBuckets) return;  // rounding kept the target out of reach: keep everything

  if (boundary_.capacity() == 0) boundary_.reserve(static_cast<size_t>(n_vocab_));
  boundary_.clear();
  size_t kept = 0;
  for (size_t i = 0; i < size_; ++i) {
    const size_t b = bucket_of(items_[i].logit);
    if (b < crossing) {
      items_[kept++] = items_[i];
    } else if (b == crossing) {
      boundary_.push_back(items_[i]);
    }
  }
  std::sort(boundary_.begin(), boundary_.end(), higher_first);
  double cumulative = mass_above;
  for (const Candidate& c : boundary_) {
    items_[kept++] = c;
    cumulative += c.weight;
    if (cumulative >= target) break;
  }
  size_ = kept;
  sorted_ = crossing == 0;  // only the boundary bucket's part is sorted otherwise
}

void CandidateList::keep_min_p(float min_p) {
  if (min_p <= 0.0f || size_ == 0) return;
  // p / p_max = exp(logit - max_logit): no softmax needed.
  const double min_log_ratio = std::log(static_cast<double>(min_p));
  const double max_logit = max_logit_;
  auto keep = [&](const Candidate& c) { return static_cast<double>(c.logit) - max_logit >= min_log_ratio; };
  if (sorted_) {
    size_t n = 1;  // the maximum always passes (min_p <= 1)
    while (n < size_ && keep(items_[n])) ++n;
    size_ = n;
  } else {
    size_t out = 0;
    for (size_t i = 0; i < size_; ++i) {
      if (keep(items_[i])) items_[out++] = items_[i];
    }
    size_ = out;
  }
}

double CandidateList::weigh(float temperature) {
  double total = 0.0;
  if (temperature == 1.0f && softmax_weights_set_) {  // top-p already computed them
    for (size_t i = 0; i < size_; ++i) total += items_[i].weight;
    return total;
  }
  for (size_t i = 0; i < size_; ++i) {
    Candidate& c = items_[i];
    // (logit - max) <= 0, so the weight is in [0, 1]: no overflow, and a
    // tiny temperature only drives the others to 0 (never NaN: both finite).
    c.weight = std::exp((c.logit - max_logit_) / temperature);
    total += c.weight;
  }
  return total;
}

void CandidateList::sort_descending() {
  if (sorted_) return;
  std::sort(items_.begin(), items_.begin() + size_, higher_first);
  sorted_ = true;
}

}  // namespace ridge::sampling
