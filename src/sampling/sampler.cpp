#include "sampling/sampler.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

namespace ridge::sampling {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

std::string field_error(const std::string& field, const std::string& problem) {
  return "sampling parameter " + field + ": " + problem;
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return std::to_string(v);
}

// logit_bias with duplicate ids summed, sorted by id. Throws when the sum is
// NaN (-inf and +inf on one id) or when every id of the vocabulary is banned.
// Assumes the ids were range-checked.
std::vector<std::pair<int32_t, float>> merged_logit_bias(const std::vector<std::pair<int32_t, float>>& bias_list,
                                                         int32_t n_vocab) {
  std::vector<std::pair<int32_t, float>> merged = bias_list;
  // Stable, so duplicates add up in the order given (float addition is not associative).
  std::stable_sort(merged.begin(), merged.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t out = 0;
  for (size_t i = 0; i < merged.size(); ++i) {
    if (out > 0 && merged[out - 1].first == merged[i].first) {
      merged[out - 1].second += merged[i].second;
    } else {
      merged[out++] = merged[i];
    }
  }
  merged.resize(out);
  size_t banned = 0;
  for (const auto& [token, bias] : merged) {
    if (std::isnan(bias))
      throw std::invalid_argument(field_error("logit_bias", "token " + std::to_string(token) + " is given both -inf and +inf"));
    if (bias == kNegInf) ++banned;
  }
  if (banned == static_cast<size_t>(n_vocab))
    throw std::invalid_argument(field_error("logit_bias", "bans every token of the vocabulary"));
  return merged;
}

}  // namespace

void validate_sampling_params(const SamplingParams& p, int32_t n_vocab) {
  if (n_vocab <= 0) throw std::invalid_argument(field_error("n_vocab", "must be positive, got " + std::to_string(n_vocab)));
  if (!std::isfinite(p.temperature))
    throw std::invalid_argument(field_error("temperature", "must be finite, got " + number(p.temperature)));
  if (!(p.top_p >= 0.0f && p.top_p <= 1.0f))
    throw std::invalid_argument(field_error("top_p", "must be in [0, 1], got " + number(p.top_p)));
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f))
    throw std::invalid_argument(field_error("min_p", "must be in [0, 1], got " + number(p.min_p)));
  if (!(std::isfinite(p.repeat_penalty) && p.repeat_penalty > 0.0f))
    throw std::invalid_argument(field_error("repeat_penalty", "must be finite and > 0, got " + number(p.repeat_penalty)));
  if (p.repeat_last_n < -1)
    throw std::invalid_argument(
        field_error("repeat_last_n", "must be -1 (whole history), 0 (off) or positive, got " + std::to_string(p.repeat_last_n)));
  if (!std::isfinite(p.frequency_penalty))
    throw std::invalid_argument(field_error("frequency_penalty", "must be finite, got " + number(p.frequency_penalty)));
  if (!std::isfinite(p.presence_penalty))
    throw std::invalid_argument(field_error("presence_penalty", "must be finite, got " + number(p.presence_penalty)));
  for (size_t i = 0; i < p.logit_bias.size(); ++i) {
    const auto& [token, bias] = p.logit_bias[i];
    const std::string where = "logit_bias[" + std::to_string(i) + "]";
    if (token < 0 || token >= n_vocab)
      throw std::invalid_argument(field_error(where + ".token", "id " + std::to_string(token) + " is outside [0, " +
                                                                    std::to_string(n_vocab) + ")"));
    if (std::isnan(bias)) throw std::invalid_argument(field_error(where + ".bias", "is NaN (token " + std::to_string(token) + ")"));
  }
  merged_logit_bias(p.logit_bias, n_vocab);
}

namespace {

// Validation must run before any buffer is sized from n_vocab.
size_t validated_vocabulary_size(const SamplingParams& params, int32_t n_vocab) {
  validate_sampling_params(params, n_vocab);
  return static_cast<size_t>(n_vocab);
}

}  // namespace

Sampler::Sampler(SamplingParams params, int32_t n_vocab)
    : params_(std::move(params)),
      n_vocab_(n_vocab),
      rng_(params_.seed),
      working_logits_(validated_vocabulary_size(params_, n_vocab)),
      candidates_(n_vocab) {
  merged_bias_ = merged_logit_bias(params_.logit_bias, n_vocab_);
  if (penalties_enabled()) history_.emplace(n_vocab_, params_.repeat_last_n);
}

bool Sampler::penalties_enabled() const {
  if (params_.repeat_last_n == 0) return false;
  return params_.repeat_penalty != 1.0f || params_.frequency_penalty != 0.0f || params_.presence_penalty != 0.0f;
}

void Sampler::accept(int32_t token) {
  if (token < 0 || token >= n_vocab_)
    throw std::out_of_range("Sampler::accept: token " + std::to_string(token) + " is outside [0, " +
                            std::to_string(n_vocab_) + ")");
  if (history_) history_->add(token);
}

void Sampler::reset() {
  if (history_) history_->clear();
  rng_.reseed(params_.seed);
}

void Sampler::load_adjusted_logits(const float* logits) {
  if (logits == nullptr) throw std::invalid_argument("sampling: logits pointer is null");
  std::memcpy(working_logits_.data(), logits, working_logits_.size() * sizeof(float));
  for (const auto& [token, bias] : merged_bias_) working_logits_[token] += bias;
  if (history_) apply_penalties();
}

void Sampler::apply_penalties() {
  const float repeat = params_.repeat_penalty;
  for (int32_t t : history_->distinct_tokens()) {
    const uint32_t count = history_->count(t);
    float& logit = working_logits_[t];
    // llama.cpp's rule: dividing a negative logit would raise it, so negative
    // ones are multiplied instead; either way the token becomes less likely.
    if (logit <= 0.0f) {
      logit *= repeat;
    } else {
      logit /= repeat;
    }
    logit -= static_cast<float>(count) * params_.frequency_penalty +
             static_cast<float>(count > 0) * params_.presence_penalty;
  }
}

void Sampler::throw_no_candidate() {
  throw std::runtime_error(
      "sampling: no token can be chosen: every logit is NaN or -inf after logit bias and penalties");
}

int32_t Sampler::argmax() const {
  // Eight independent lanes (strided by 8) so the compiler can vectorize the
  // scan; each lane keeps its first maximum, and the lanes are merged by
  // lowest id. NaN never compares greater; +inf wins like any maximum.
  constexpr int32_t kLanes = 8;
  const float* x = working_logits_.data();
  float lane_best[kLanes];
  int32_t lane_at[kLanes];
  for (int32_t j = 0; j < kLanes; ++j) {
    lane_best[j] = kNegInf;
    lane_at[j] = -1;
  }
  int32_t i = 0;
  for (; i + kLanes <= n_vocab_; i += kLanes) {
    for (int32_t j = 0; j < kLanes; ++j) {
      const bool better = x[i + j] > lane_best[j];
      lane_best[j] = better ? x[i + j] : lane_best[j];
      lane_at[j] = better ? i + j : lane_at[j];
    }
  }
  float best = kNegInf;
  int32_t best_at = -1;
  for (int32_t j = 0; j < kLanes; ++j) {
    if (lane_at[j] < 0) continue;
    if (lane_best[j] > best || (lane_best[j] == best && lane_at[j] < best_at)) {
      best = lane_best[j];
      best_at = lane_at[j];
    }
  }
  for (; i < n_vocab_; ++i) {
    if (x[i] > best) {  // the tail's ids are above every lane's: strict keeps ties low
      best = x[i];
      best_at = i;
    }
  }
  if (best_at < 0) throw_no_candidate();
  return best_at;
}

double Sampler::prepare_candidates() {
  const int32_t k = params_.top_k;
  // A heap pays off while k is small next to the vocabulary; beyond that a
  // selection over all candidates is cheaper.
  constexpr int32_t kHeapTopKLimit = 4096;
  if (k > 0 && k < n_vocab_ && k <= kHeapTopKLimit) {
    candidates_.gather_top_k(working_logits_.data(), static_cast<size_t>(k));
  } else {
    candidates_.gather_all(working_logits_.data());
    candidates_.keep_top_k(k);
  }
  if (candidates_.empty()) throw_no_candidate();
  candidates_.keep_top_p(params_.top_p);
  candidates_.keep_min_p(params_.min_p);
  return candidates_.weigh(params_.temperature);
}

int32_t Sampler::sample(const float* logits) {
  load_adjusted_logits(logits);
  if (params_.temperature <= 0.0f) return argmax();

  const double total = prepare_candidates();
  const double target = rng_.next_unit() * total;
  double cumulative = 0.0;
  int32_t last_positive = -1;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    const Candidate& c = candidates_[i];
    if (c.weight <= 0.0f) continue;  // an underflowed weight must never be drawn
    cumulative += c.weight;
    last_positive = c.token;
    if (cumulative > target) return c.token;
  }
  // Only reachable through rounding of the sum; the last real candidate is
  // where the draw belongs (the maximum's weight is 1, so one exists).
  return last_positive;
}

std::vector<TokenProbability> Sampler::distribution(const float* logits) {
  load_adjusted_logits(logits);
  if (params_.temperature <= 0.0f) return {TokenProbability{argmax(), 1.0f}};

  const double total = prepare_candidates();
  candidates_.sort_descending();
  std::vector<TokenProbability> out;
  out.reserve(candidates_.size());
  for (size_t i = 0; i < candidates_.size(); ++i) {
    out.push_back(TokenProbability{candidates_[i].token, static_cast<float>(candidates_[i].weight / total)});
  }
  return out;
}

std::vector<float> Sampler::adjusted_logits(const float* logits) {
  load_adjusted_logits(logits);
  std::vector<float> out = working_logits_;
  for (float& x : out) {
    if (std::isnan(x)) {
      x = kNegInf;
    } else if (x == std::numeric_limits<float>::infinity()) {
      x = FLT_MAX;
    }
  }
  return out;
}

}  // namespace ridge::sampling
