// top-k, top-p, min-p and temperature: the exact candidate set and the
// probabilities left for the draw, read through Sampler::distribution().
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "sampling/sampler.h"

namespace ridge::sampling {
namespace {

// Temperature 1, no truncation, no penalties: each test turns on what it tests.
SamplingParams plain() {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  return p;
}

std::vector<float> logits_of(const std::vector<double>& probabilities) {
  std::vector<float> out;
  for (double p : probabilities) out.push_back(static_cast<float>(std::log(p)));
  return out;
}

std::vector<int32_t> tokens_of(const std::vector<TokenProbability>& dist) {
  std::vector<int32_t> out;
  for (const auto& tp : dist) out.push_back(tp.token);
  return out;
}

// Probabilities 0.1, 0.5, 0.15, 0.25 at ids 0..3 (deliberately not sorted by id).
const std::vector<double> kProbs = {0.1, 0.5, 0.15, 0.25};

TEST(Distribution, WithoutTruncationIsTheSoftmax) {
  Sampler sampler(plain(), 4);
  const auto logits = logits_of(kProbs);
  const auto dist = sampler.distribution(logits.data());
  ASSERT_EQ(tokens_of(dist), (std::vector<int32_t>{1, 3, 2, 0}));
  EXPECT_NEAR(dist[0].probability, 0.5, 1e-6);
  EXPECT_NEAR(dist[1].probability, 0.25, 1e-6);
  EXPECT_NEAR(dist[2].probability, 0.15, 1e-6);
  EXPECT_NEAR(dist[3].probability, 0.1, 1e-6);
}

TEST(Distribution, GreedyIsTheArgmaxAlone) {
  SamplingParams p = plain();
  p.temperature = 0.0f;
  Sampler sampler(p, 4);
  const auto logits = logits_of(kProbs);
  const auto dist = sampler.distribution(logits.data());
  ASSERT_EQ(dist.size(), 1u);
  EXPECT_EQ(dist[0].token, 1);
  EXPECT_EQ(dist[0].probability, 1.0f);
}

TEST(TopK, KeepsTheKHighestRenormalized) {
  SamplingParams p = plain();
  p.top_k = 2;
  Sampler sampler(p, 4);
  const auto logits = logits_of(kProbs);
  const auto dist = sampler.distribution(logits.data());
  ASSERT_EQ(tokens_of(dist), (std::vector<int32_t>{1, 3}));
  EXPECT_NEAR(dist[0].probability, 2.0 / 3.0, 1e-6);
  EXPECT_NEAR(dist[1].probability, 1.0 / 3.0, 1e-6);
}

TEST(TopK, NonPositiveOrHugeKKeepsAll) {
  const auto logits = logits_of(kProbs);
  for (int32_t k : {0, -1, 4, 5, 1000}) {
    SamplingParams p = plain();
    p.top_k = k;
    Sampler sampler(p, 4);
    EXPECT_EQ(sampler.distribution(logits.data()).size(), 4u) << "k=" << k;
  }
}

TEST(TopK, TiesAtTheCutGoToTheLowestIds) {
  SamplingParams p = plain();
  p.top_k = 2;
  Sampler sampler(p, 5);
  const std::vector<float> logits = {1.0f, 3.0f, 1.0f, 1.0f, 0.0f};
  EXPECT_EQ(tokens_of(sampler.distribution(logits.data())), (std::vector<int32_t>{1, 0}));
}

TEST(TopP, KeepsTheSmallestPrefixReachingP) {
  const auto logits = logits_of(kProbs);
  struct Case {
    float top_p;
    std::vector<int32_t> kept;
  };
  const std::vector<Case> cases = {
      {0.0f, {1}},           // at least one
      {0.4f, {1}},           // 0.5 >= 0.4
      {0.6f, {1, 3}},        // 0.75
      {0.8f, {1, 3, 2}},     // 0.9
      {0.95f, {1, 3, 2, 0}}, // needs all
      {1.0f, {1, 3, 2, 0}},  // disabled
  };
  for (const Case& c : cases) {
    SamplingParams p = plain();
    p.top_p = c.top_p;
    Sampler sampler(p, 4);
    EXPECT_EQ(tokens_of(sampler.distribution(logits.data())), c.kept) << "top_p=" << c.top_p;
  }
}

TEST(TopP, SeesTheDistributionLeftByTopK) {
  // After top-k 2 the probabilities are 2/3 and 1/3, so top_p 0.6 keeps one
  // token; without top-k, 0.5 < 0.6 and it keeps two.
  const auto logits = logits_of(kProbs);
  SamplingParams p = plain();
  p.top_p = 0.6f;
  p.top_k = 2;
  EXPECT_EQ(tokens_of(Sampler(p, 4).distribution(logits.data())), (std::vector<int32_t>{1}));
  p.top_k = 0;
  EXPECT_EQ(tokens_of(Sampler(p, 4).distribution(logits.data())), (std::vector<int32_t>{1, 3}));
}

TEST(TopP, IgnoresTemperature) {
  // llama.cpp order: temperature comes after top-p, so a sharp temperature
  // does not shrink the nucleus.
  const auto logits = logits_of(kProbs);
  SamplingParams p = plain();
  p.top_p = 0.6f;
  p.temperature = 0.1f;
  const auto dist = Sampler(p, 4).distribution(logits.data());
  ASSERT_EQ(tokens_of(dist), (std::vector<int32_t>{1, 3}));
  // ... but it does reshape what is left: (0.5 / 0.25)^(1 / 0.1) = 1024 : 1.
  EXPECT_NEAR(dist[0].probability, 1024.0 / 1025.0, 1e-6);
}

TEST(MinP, DropsTokensBelowAFractionOfTheMax) {
  const auto logits = logits_of(kProbs);
  struct Case {
    float min_p;
    std::vector<int32_t> kept;
  };
  const std::vector<Case> cases = {
      {0.0f, {1, 3, 2, 0}},  // disabled
      {0.1f, {1, 3, 2, 0}},  // threshold 0.05
      {0.25f, {1, 3, 2}},    // threshold 0.125 drops 0.1
      {0.4f, {1, 3}},        // threshold 0.2 drops 0.15
      {0.6f, {1}},           // threshold 0.3
      {1.0f, {1}},           // only the max itself
  };
  for (const Case& c : cases) {
    SamplingParams p = plain();
    p.min_p = c.min_p;
    Sampler sampler(p, 4);
    EXPECT_EQ(tokens_of(sampler.distribution(logits.data())), c.kept) << "min_p=" << c.min_p;
  }
}

TEST(MinP, AppliesAfterTopKAndTopP) {
  const auto logits = logits_of(kProbs);
  SamplingParams p = plain();
  p.top_k = 3;
  p.top_p = 0.85f;  // {1, 3, 2} -> 0.5/0.9, 0.25/0.9: 0.833 < 0.85, keeps all three
  p.min_p = 0.4f;   // drops 2 (0.15 < 0.2)
  const auto dist = Sampler(p, 4).distribution(logits.data());
  ASSERT_EQ(tokens_of(dist), (std::vector<int32_t>{1, 3}));
  EXPECT_NEAR(dist[0].probability, 2.0 / 3.0, 1e-6);
}

TEST(Temperature, ScalesLogitsBeforeTheSoftmax) {
  const std::vector<float> logits = {1.0f, 2.0f, 0.0f};
  for (float t : {0.5f, 1.0f, 2.0f, 10.0f}) {
    SamplingParams p = plain();
    p.temperature = t;
    const auto dist = Sampler(p, 3).distribution(logits.data());
    ASSERT_EQ(tokens_of(dist), (std::vector<int32_t>{1, 0, 2}));
    double z = 0;
    for (float x : logits) z += std::exp(x / t);
    EXPECT_NEAR(dist[0].probability, std::exp(2.0 / t) / z, 1e-6) << "T=" << t;
    EXPECT_NEAR(dist[1].probability, std::exp(1.0 / t) / z, 1e-6) << "T=" << t;
    EXPECT_NEAR(dist[2].probability, std::exp(0.0 / t) / z, 1e-6) << "T=" << t;
  }
}

TEST(Temperature, TinyTemperatureActsLikeGreedyWithoutNaN) {
  SamplingParams p = plain();
  p.temperature = 1e-30f;
  Sampler sampler(p, 3);
  const std::vector<float> logits = {1.0f, 1.0001f, 0.0f};
  const auto dist = sampler.distribution(logits.data());
  ASSERT_FALSE(dist.empty());
  EXPECT_EQ(dist[0].token, 1);
  EXPECT_EQ(dist[0].probability, 1.0f);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(sampler.sample(logits.data()), 1);
}

// A large vocabulary against a plain full-sort reference, so the fast paths
// (heap top-k, selection top-k, bucketed top-p) are checked where they matter.
std::vector<int32_t> reference_chain(std::vector<float> logits, int32_t top_k, double top_p, double min_p) {
  std::vector<int32_t> order;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (std::isnan(logits[i]) || logits[i] == -INFINITY) continue;
    if (logits[i] == INFINITY) logits[i] = FLT_MAX;
    order.push_back(static_cast<int32_t>(i));
  }
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
  });
  if (top_k > 0 && static_cast<size_t>(top_k) < order.size()) order.resize(top_k);
  const long double mx = logits[order[0]];
  if (top_p < 1.0) {
    long double z = 0;
    for (int32_t t : order) z += std::exp(logits[t] - mx);
    long double cum = 0;
    size_t n = 0;
    while (n < order.size()) {
      cum += std::exp(logits[order[n]] - mx) / z;
      ++n;
      if (cum >= top_p) break;
    }
    order.resize(n);
  }
  if (min_p > 0.0) {
    std::erase_if(order, [&](int32_t t) { return std::exp(logits[t] - mx) < min_p; });
  }
  return order;
}

std::vector<float> wavy_logits(int32_t n_vocab) {
  std::vector<float> logits(n_vocab);
  for (int32_t i = 0; i < n_vocab; ++i) {
    logits[i] = 6.0f * std::sin(static_cast<float>(i) * 0.7311f) + 0.5f * std::cos(static_cast<float>(i) * 0.0173f);
  }
  return logits;
}

// Values on a 0.5 grid: thousands of exact ties at every cut.
std::vector<float> tied_logits(int32_t n_vocab) {
  auto logits = wavy_logits(n_vocab);
  for (float& x : logits) x = std::round(x * 2.0f) / 2.0f;
  return logits;
}

// A peaked head, a flat body, far outliers and non-finite values.
std::vector<float> rough_logits(int32_t n_vocab) {
  auto logits = wavy_logits(n_vocab);
  for (int32_t i = 0; i < n_vocab; i += 997) logits[i] = 9.0f + static_cast<float>(i % 5);
  for (int32_t i = 3; i < n_vocab; i += 101) logits[i] = std::numeric_limits<float>::quiet_NaN();
  for (int32_t i = 5; i < n_vocab; i += 103) logits[i] = -INFINITY;
  for (int32_t i = 7; i < n_vocab; i += 107) logits[i] = -FLT_MAX;
  for (int32_t i = 11; i < n_vocab; i += 109) logits[i] = -500.0f;
  return logits;
}

struct LargeCase {
  const char* shape;
  std::vector<float> (*make)(int32_t);
  int32_t n_vocab;
  int32_t top_k;
  float top_p;
  float min_p;
};

void expect_matches_reference(const LargeCase& c) {
  const auto logits = c.make(c.n_vocab);
  SamplingParams p = plain();
  p.top_k = c.top_k;
  p.top_p = c.top_p;
  p.min_p = c.min_p;
  Sampler sampler(p, c.n_vocab);
  const auto dist = sampler.distribution(logits.data());
  const auto ref = reference_chain(logits, c.top_k, c.top_p, c.min_p);
  EXPECT_EQ(tokens_of(dist), ref) << c.shape << " n_vocab=" << c.n_vocab << " top_k=" << c.top_k
                                  << " top_p=" << c.top_p << " min_p=" << c.min_p;
  double sum = 0;
  for (const auto& tp : dist) sum += tp.probability;
  EXPECT_NEAR(sum, 1.0, 1e-4);
  // Every sampled token must come from the set.
  const std::set<int32_t> allowed(ref.begin(), ref.end());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(allowed.count(sampler.sample(logits.data()))) << c.shape;
}

TEST(LargeVocabulary, TruncationMatchesAFullSortReference) {
  const std::vector<LargeCase> cases = {
      {"wavy", wavy_logits, 256000, 40, 1.0f, 0.0f},     // heap top-k
      {"wavy", wavy_logits, 256000, 40, 0.95f, 0.05f},   // heap top-k + sorted top-p
      {"wavy", wavy_logits, 50000, 10000, 0.9f, 0.0f},   // selection top-k
      {"wavy", wavy_logits, 50000, 4096, 1.0f, 0.0f},    // largest heap
      {"wavy", wavy_logits, 50000, 4097, 1.0f, 0.0f},    // smallest selection
      {"wavy", wavy_logits, 50000, 0, 0.9f, 0.0f},       // bucketed top-p
      {"wavy", wavy_logits, 50000, 0, 0.5f, 0.0f},
      {"wavy", wavy_logits, 50000, 0, 0.0f, 0.0f},
      {"wavy", wavy_logits, 50000, 0, 1.0f, 0.3f},       // unsorted min-p
      {"wavy", wavy_logits, 5000, 0, 0.999f, 0.01f},
      {"tied", tied_logits, 50000, 0, 0.7f, 0.0f},
      {"tied", tied_logits, 50000, 300, 0.7f, 0.0f},
      {"tied", tied_logits, 50000, 0, 0.9f, 0.1f},
      {"rough", rough_logits, 50000, 0, 0.8f, 0.0f},
      {"rough", rough_logits, 50000, 0, 0.999f, 0.0f},
      {"rough", rough_logits, 50000, 25, 0.95f, 0.05f},
      {"rough", rough_logits, 50000, 20000, 0.99f, 0.0f},
      {"rough", rough_logits, 50000, 0, 1.0f, 0.001f},
  };
  for (const LargeCase& c : cases) expect_matches_reference(c);
}

TEST(LargeVocabulary, AllEqualLogitsKeepTheLowestIds) {
  const std::vector<float> logits(10000, 0.25f);
  SamplingParams p = plain();
  p.top_p = 0.5f;
  const auto dist = Sampler(p, 10000).distribution(logits.data());
  ASSERT_EQ(dist.size(), 5000u);
  for (int32_t i = 0; i < 5000; ++i) ASSERT_EQ(dist[i].token, i);
  p.top_p = 1.0f;
  p.top_k = 3;
  EXPECT_EQ(tokens_of(Sampler(p, 10000).distribution(logits.data())), (std::vector<int32_t>{0, 1, 2}));
}

}  // namespace
}  // namespace ridge::sampling
