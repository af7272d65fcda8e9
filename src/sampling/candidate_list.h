#pragma once
// The tokens one sampling step still considers, and the truncation stages
// that narrow them (top-k, top-p, min-p) and weigh them for the draw. Built
// for vocabularies up to ~256k: no stage sorts the whole vocabulary, and all
// buffers are allocated once and reused.
//
// Every ordering uses the strict total order (logit descending, then token id
// ascending), so results never depend on the standard library's sort.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ridge::sampling {

struct Candidate {
  int32_t token;
  float logit;   // finite: NaN and -inf never enter, +inf enters as FLT_MAX
  float weight;  // unnormalized probability, set by the stage that needs it
};

class CandidateList {
 public:
  explicit CandidateList(int32_t n_vocab);

  // Replace the list with every token whose logit is not NaN or -inf, in id order.
  void gather_all(const float* logits);
  // Replace the list with the k best tokens (k > 0), sorted highest first.
  void gather_top_k(const float* logits, size_t k);

  // Truncation stages, each a no-op when disabled (k <= 0, top_p >= 1, min_p <= 0).
  void keep_top_k(int32_t k);
  // Smallest highest-first prefix whose softmax mass reaches top_p (at least one token).
  void keep_top_p(float top_p);
  // Drops tokens with p < min_p * p_max.
  void keep_min_p(float min_p);

  // Sets weight = exp((logit - max) / temperature) for temperature > 0;
  // returns their sum (>= 1: the maximum's weight is 1).
  double weigh(float temperature);
  void sort_descending();

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  const Candidate& operator[](size_t i) const { return items_[i]; }
  bool sorted() const { return sorted_; }

 private:
  void set_softmax_weights(double* total);
  void keep_top_p_sorted(float top_p, double total);
  void keep_top_p_bucketed(float top_p, double total);

  int32_t n_vocab_;
  std::vector<Candidate> items_;  // n_vocab entries; the list is items_[0, size_)
  size_t size_ = 0;
  bool sorted_ = false;
  float max_logit_ = 0.0f;  // every stage keeps the maximum, so it stays valid
  float min_logit_ = 0.0f;
  bool softmax_weights_set_ = false;  // weights hold exp(logit - max) (temperature 1)
  // Scratch for the bucketed top-p, allocated on first use.
  std::vector<Candidate> boundary_;
  std::vector<double> bucket_mass_;
};

}  // namespace ridge::sampling
