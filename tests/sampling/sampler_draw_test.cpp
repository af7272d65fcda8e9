// Sampler::sample(): greedy choice, seeded reproducibility, draw frequencies
// against the distribution (chi-square with fixed seeds, so deterministic),
// and non-finite logits.
#include <cfloat>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "sampling/sampler.h"

namespace ridge::sampling {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

SamplingParams plain(float temperature, uint64_t seed = 1) {
  SamplingParams p;
  p.temperature = temperature;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = seed;
  return p;
}

TEST(Greedy, PicksTheArgmax) {
  Sampler sampler(plain(0.0f), 6);
  const std::vector<float> logits = {0.1f, -3.0f, 2.5f, 2.4f, -0.0f, 1.0f};
  EXPECT_EQ(sampler.sample(logits.data()), 2);
}

TEST(Greedy, TiesGoToTheLowestId) {
  Sampler sampler(plain(0.0f), 5);
  const std::vector<float> logits = {1.0f, 7.0f, 3.0f, 7.0f, 7.0f};
  EXPECT_EQ(sampler.sample(logits.data()), 1);
}

TEST(Greedy, NegativeTemperatureIsGreedyAndIgnoresTruncationAndSeed) {
  SamplingParams p = plain(-0.5f, 1);
  p.top_k = 1;
  p.top_p = 0.0f;
  p.min_p = 1.0f;
  const std::vector<float> logits = {0.0f, 0.5f, 0.25f};
  for (uint64_t seed : {1ull, 2ull, 3ull}) {
    p.seed = seed;
    Sampler sampler(p, 3);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(sampler.sample(logits.data()), 1);
  }
}

TEST(Sample, LeavesTheLogitsUntouched) {
  SamplingParams p = plain(0.7f);
  p.repeat_penalty = 1.3f;
  p.frequency_penalty = 0.5f;
  p.logit_bias = {{0, 2.0f}};
  p.top_k = 2;
  Sampler sampler(p, 4);
  sampler.accept(1);
  const std::vector<float> logits = {1.0f, 2.0f, kNaN, kInf};
  std::vector<float> copy = logits;
  sampler.sample(copy.data());
  for (size_t i = 0; i < logits.size(); ++i) {
    if (std::isnan(logits[i])) {
      EXPECT_TRUE(std::isnan(copy[i]));
    } else {
      EXPECT_EQ(copy[i], logits[i]);
    }
  }
}

std::vector<float> varying_logits(int32_t n_vocab, int step) {
  std::vector<float> logits(n_vocab);
  for (int32_t i = 0; i < n_vocab; ++i) logits[i] = std::sin(0.37f * static_cast<float>(i * (step + 3)));
  return logits;
}

std::vector<int32_t> generate(SamplingParams p, int32_t n_vocab, int steps) {
  Sampler sampler(p, n_vocab);
  std::vector<int32_t> out;
  for (int s = 0; s < steps; ++s) {
    const auto logits = varying_logits(n_vocab, s);
    const int32_t token = sampler.sample(logits.data());
    sampler.accept(token);
    out.push_back(token);
  }
  return out;
}

SamplingParams typical(uint64_t seed) {
  SamplingParams p;  // the defaults: top_k 40, top_p 0.95, min_p 0.05, T 0.8
  p.seed = seed;
  p.repeat_penalty = 1.1f;
  return p;
}

TEST(Seed, SameSeedSameTokens) {
  EXPECT_EQ(generate(typical(1234), 500, 300), generate(typical(1234), 500, 300));
}

TEST(Seed, DifferentSeedDifferentTokens) {
  const auto a = generate(typical(1), 500, 300);
  const auto b = generate(typical(2), 500, 300);
  int differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ += a[i] != b[i];
  EXPECT_GT(differ, 100);
}

TEST(Seed, ResetReplaysTheSameTokens) {
  Sampler sampler(typical(77), 500);
  auto run = [&] {
    std::vector<int32_t> out;
    for (int s = 0; s < 100; ++s) {
      const auto logits = varying_logits(500, s);
      out.push_back(sampler.sample(logits.data()));
      sampler.accept(out.back());
    }
    return out;
  };
  const auto first = run();
  sampler.reset();
  EXPECT_EQ(run(), first);
  EXPECT_EQ(first, generate(typical(77), 500, 100));
}

TEST(Seed, DistributionDoesNotAdvanceTheRng) {
  Sampler a(plain(1.0f, 5), 50);
  Sampler b(plain(1.0f, 5), 50);
  const auto logits = varying_logits(50, 0);
  for (int i = 0; i < 20; ++i) {
    a.distribution(logits.data());
    ASSERT_EQ(a.sample(logits.data()), b.sample(logits.data()));
  }
}

// Pins the whole chain (RNG stream, order of candidates, cumulative walk) for
// one seed. Tokens recorded from this implementation; a change means users'
// seeds no longer reproduce their outputs, which must be deliberate.
TEST(Seed, GoldenSequenceForSeed42) {
  const std::vector<int32_t> expected = {92,  1,   337, 131, 345, 200, 491, 340, 147, 357, 404, 158,
                                         109, 463, 217, 237, 322, 215, 77,  407, 12,  274, 314, 136};
  EXPECT_EQ(generate(typical(42), 500, 24), expected);
}

// Chi-square over `draws` samples against Sampler::distribution(); also checks
// that nothing outside the distribution is ever drawn.
double chi_square(Sampler& sampler, const std::vector<float>& logits, int draws) {
  const auto dist = sampler.distribution(logits.data());
  std::map<int32_t, double> expected;
  for (const auto& tp : dist) expected[tp.token] = tp.probability * draws;
  std::map<int32_t, int> seen;
  for (int i = 0; i < draws; ++i) {
    const int32_t t = sampler.sample(logits.data());
    EXPECT_TRUE(expected.count(t)) << "drew token " << t << " outside the candidate set";
    ++seen[t];
  }
  double chi2 = 0;
  for (const auto& [token, e] : expected) {
    const double o = seen.count(token) ? seen[token] : 0;
    chi2 += (o - e) * (o - e) / e;
  }
  return chi2;
}

// 0.999 quantiles of chi-square for 1..9 degrees of freedom. The seeds are
// fixed, so a pass or a failure is the same on every run.
constexpr double kChi2Critical[] = {0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88};

TEST(Draw, FrequenciesMatchTheSoftmax) {
  Sampler sampler(plain(1.0f, 11), 6);
  const std::vector<float> logits = {0.0f, 1.0f, -1.0f, 0.5f, 2.0f, 0.2f};
  EXPECT_LT(chi_square(sampler, logits, 30000), kChi2Critical[5]);
}

TEST(Draw, FrequenciesMatchAfterTopKAndTemperature) {
  SamplingParams p = plain(0.7f, 12);
  p.top_k = 4;
  Sampler sampler(p, 8);
  const std::vector<float> logits = {0.0f, 1.0f, -1.0f, 0.5f, 2.0f, 0.2f, 1.5f, -2.0f};
  ASSERT_EQ(sampler.distribution(logits.data()).size(), 4u);
  EXPECT_LT(chi_square(sampler, logits, 30000), kChi2Critical[3]);
}

TEST(Draw, FrequenciesMatchAfterTopPAndMinP) {
  SamplingParams p = plain(1.3f, 13);
  p.top_p = 0.9f;
  p.min_p = 0.05f;
  Sampler sampler(p, 10);
  const std::vector<float> logits = {0.0f, 1.0f, -1.0f, 0.5f, 2.0f, 0.2f, 1.5f, -2.0f, -4.0f, 0.9f};
  const size_t n = sampler.distribution(logits.data()).size();
  ASSERT_GT(n, 2u);
  ASSERT_LT(n, 10u);
  EXPECT_LT(chi_square(sampler, logits, 30000), kChi2Critical[n - 1]);
}

TEST(Draw, FrequenciesMatchWithMinPAloneOnUnsortedCandidates) {
  SamplingParams p = plain(1.0f, 14);
  p.min_p = 0.2f;
  Sampler sampler(p, 7);
  const std::vector<float> logits = {0.0f, 1.0f, -3.0f, 0.5f, 2.0f, 0.2f, -1.0f};
  const size_t n = sampler.distribution(logits.data()).size();
  ASSERT_EQ(n, 3u);  // exp(x - 2) >= 0.2 keeps 2, 1 and 0.5 (exp(-1.5) = 0.22), not 0.2 (exp(-1.8) = 0.17)
  EXPECT_LT(chi_square(sampler, logits, 30000), kChi2Critical[n - 1]);
}

TEST(NonFinite, NanIsNeverPicked) {
  const std::vector<float> logits = {kNaN, 1.0f, kNaN, 1.0f, kNaN};
  Sampler greedy(plain(0.0f), 5);
  EXPECT_EQ(greedy.sample(logits.data()), 1);
  Sampler stochastic(plain(1.0f, 3), 5);
  int seen[5] = {};
  for (int i = 0; i < 1000; ++i) ++seen[stochastic.sample(logits.data())];
  EXPECT_EQ(seen[0] + seen[2] + seen[4], 0);
  EXPECT_GT(seen[1], 400);
  EXPECT_GT(seen[3], 400);
}

TEST(NonFinite, NanBeforeTheMaxDoesNotHideIt) {
  Sampler greedy(plain(0.0f), 3);
  const std::vector<float> logits = {kNaN, -5.0f, 3.0f};
  EXPECT_EQ(greedy.sample(logits.data()), 2);
}

TEST(NonFinite, PositiveInfinityWins) {
  const std::vector<float> logits = {1.0f, kInf, 2.0f, -kInf};
  Sampler greedy(plain(0.0f), 4);
  EXPECT_EQ(greedy.sample(logits.data()), 1);
  for (float t : {0.5f, 1.0f, 100.0f}) {
    Sampler stochastic(plain(t, 4), 4);
    for (int i = 0; i < 200; ++i) ASSERT_EQ(stochastic.sample(logits.data()), 1) << "T=" << t;
  }
}

TEST(NonFinite, SeveralPositiveInfinitiesShare) {
  const std::vector<float> logits = {kInf, 0.0f, kInf};
  Sampler greedy(plain(0.0f), 3);
  EXPECT_EQ(greedy.sample(logits.data()), 0);
  Sampler stochastic(plain(1.0f, 5), 3);
  int seen[3] = {};
  for (int i = 0; i < 1000; ++i) ++seen[stochastic.sample(logits.data())];
  EXPECT_EQ(seen[1], 0);
  EXPECT_GT(seen[0], 400);
  EXPECT_GT(seen[2], 400);
}

TEST(NonFinite, HandledAlikeOnEveryGatherPath) {
  // top_k 0 gathers everything, 3 uses the heap, 5000 the selection.
  constexpr int32_t kVocab = 10000;
  std::vector<float> logits(kVocab);
  for (int32_t i = 0; i < kVocab; ++i) logits[i] = (i % 7 == 0) ? kNaN : std::sin(0.1f * static_cast<float>(i));
  logits[9000] = kInf;
  logits[500] = kInf;
  for (int32_t k : {0, 3, 5000}) {
    SamplingParams p = plain(1.0f, 8);
    p.top_k = k;
    Sampler sampler(p, kVocab);
    const auto dist = sampler.distribution(logits.data());
    ASSERT_GE(dist.size(), 2u) << "k=" << k;
    EXPECT_EQ(dist[0].token, 500) << "k=" << k;
    EXPECT_EQ(dist[1].token, 9000) << "k=" << k;
    EXPECT_FLOAT_EQ(dist[0].probability, 0.5f) << "k=" << k;
    EXPECT_FLOAT_EQ(dist[1].probability, 0.5f) << "k=" << k;
    int seen_500 = 0;
    for (int i = 0; i < 400; ++i) {
      const int32_t t = sampler.sample(logits.data());
      ASSERT_TRUE(t == 500 || t == 9000) << "k=" << k << " drew " << t;
      seen_500 += t == 500;
    }
    EXPECT_GT(seen_500, 150) << "k=" << k;
    EXPECT_LT(seen_500, 250) << "k=" << k;
  }
  Sampler greedy(plain(0.0f), kVocab);
  EXPECT_EQ(greedy.sample(logits.data()), 500);
}

TEST(Greedy, ArgmaxScanAgreesWithAPlainLoopOnAwkwardSizes) {
  // The argmax scans in lanes; sizes around the lane width and maxima in the
  // tail, in lane 0, duplicated across lanes, or absent (all NaN but one).
  for (int32_t n : {1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1001}) {
    for (int variant = 0; variant < 5; ++variant) {
      std::vector<float> logits(n);
      for (int32_t i = 0; i < n; ++i) logits[i] = std::sin(1.7f * static_cast<float>(i + variant));
      if (variant == 1) logits[n - 1] = 5.0f;
      if (variant == 2) logits[0] = 5.0f;
      if (variant == 3) {
        logits[n / 2] = 5.0f;
        logits[n - 1] = 5.0f;
        if (n > 3) logits[3] = 5.0f;
      }
      if (variant == 4) {
        for (float& x : logits) x = kNaN;
        logits[(n * 3) / 4] = -1.0f;
      }
      int32_t expected = -1;
      for (int32_t i = 0; i < n; ++i) {
        if (!std::isnan(logits[i]) && (expected < 0 || logits[i] > logits[expected])) expected = i;
      }
      Sampler greedy(plain(0.0f), n);
      EXPECT_EQ(greedy.sample(logits.data()), expected) << "n=" << n << " variant=" << variant;
    }
  }
}

TEST(NonFinite, ExtremeFiniteLogitsGiveNoNaN) {
  const std::vector<float> logits = {-FLT_MAX, FLT_MAX, FLT_MAX, -FLT_MAX};
  Sampler stochastic(plain(0.01f, 6), 4);
  const auto dist = stochastic.distribution(logits.data());
  for (const auto& tp : dist) EXPECT_FALSE(std::isnan(tp.probability));
  for (int i = 0; i < 100; ++i) {
    const int32_t t = stochastic.sample(logits.data());
    ASSERT_TRUE(t == 1 || t == 2);
  }
}

TEST(NonFinite, NoChoosableTokenThrows) {
  const std::vector<float> all_nan = {kNaN, kNaN, kNaN};
  const std::vector<float> all_neg_inf = {-kInf, -kInf, -kInf};
  for (float t : {0.0f, 1.0f}) {
    Sampler sampler(plain(t), 3);
    EXPECT_THROW(sampler.sample(all_nan.data()), std::runtime_error);
    EXPECT_THROW(sampler.sample(all_neg_inf.data()), std::runtime_error);
    EXPECT_THROW(sampler.distribution(all_nan.data()), std::runtime_error);
  }
  // The only finite logit is banned by the caller's bias.
  SamplingParams p = plain(1.0f);
  p.logit_bias = {{1, -kInf}};
  Sampler banned(p, 3);
  const std::vector<float> one_finite = {kNaN, 2.0f, -kInf};
  EXPECT_THROW(banned.sample(one_finite.data()), std::runtime_error);
  // ... and the sampler still works afterwards.
  const std::vector<float> fine = {0.0f, 2.0f, 1.0f};
  EXPECT_NE(banned.sample(fine.data()), 1);
}

TEST(NonFinite, NanStaysBannedWhateverTheBias) {
  SamplingParams p = plain(1.0f);
  p.logit_bias = {{0, kInf}};
  Sampler sampler(p, 2);
  const std::vector<float> logits = {kNaN, 0.0f};
  for (int i = 0; i < 50; ++i) ASSERT_EQ(sampler.sample(logits.data()), 1);
}

}  // namespace
}  // namespace ridge::sampling
