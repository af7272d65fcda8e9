// Logit bias and repetition / frequency / presence penalties: exact arithmetic
// on small vocabularies (values chosen to be exact in binary floating point).
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "sampling/sampler.h"

namespace ridge::sampling {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

SamplingParams penalties(float repeat, float frequency, float presence, int32_t last_n) {
  SamplingParams p;
  p.repeat_penalty = repeat;
  p.frequency_penalty = frequency;
  p.presence_penalty = presence;
  p.repeat_last_n = last_n;
  return p;
}

TEST(LogitBias, IsAddedAndDuplicatesAddUp) {
  SamplingParams p;
  p.logit_bias = {{1, 1.5f}, {3, -0.25f}, {1, 0.5f}};
  Sampler sampler(p, 4);
  const std::vector<float> logits = {1.0f, 2.0f, 3.0f, 4.0f};
  EXPECT_EQ(sampler.adjusted_logits(logits.data()), (std::vector<float>{1.0f, 4.0f, 3.0f, 3.75f}));
}

TEST(LogitBias, MinusInfinityBansTheArgmax) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.logit_bias = {{2, -kInf}};
  Sampler sampler(p, 4);
  const std::vector<float> logits = {1.0f, 2.0f, 9.0f, 0.0f};
  EXPECT_EQ(sampler.sample(logits.data()), 1);
}

TEST(LogitBias, BannedTokenIsNeverDrawn) {
  SamplingParams p;
  p.temperature = 1.5f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.logit_bias = {{0, -kInf}};
  Sampler sampler(p, 3);
  const std::vector<float> logits = {5.0f, 0.0f, 0.0f};  // token 0 would win ~98%
  int seen[3] = {};
  for (int i = 0; i < 2000; ++i) ++seen[sampler.sample(logits.data())];
  EXPECT_EQ(seen[0], 0);
  EXPECT_GT(seen[1], 0);
  EXPECT_GT(seen[2], 0);
}

TEST(LogitBias, PlusInfinityForcesAToken) {
  SamplingParams p;
  p.temperature = 2.0f;
  p.logit_bias = {{3, kInf}};
  Sampler sampler(p, 5);
  const std::vector<float> logits = {9.0f, 8.0f, 7.0f, -20.0f, 6.0f};
  for (int i = 0; i < 200; ++i) ASSERT_EQ(sampler.sample(logits.data()), 3);
  const auto dist = sampler.distribution(logits.data());
  ASSERT_EQ(dist.size(), 1u);  // min_p drops everything else
  EXPECT_EQ(dist[0].token, 3);
  EXPECT_EQ(dist[0].probability, 1.0f);
}

TEST(Penalties, ArithmeticFollowsLlamaCpp) {
  // repeat 2: positive logits halve, negative ones double, 0 stays 0;
  // then minus count * frequency + presence.
  Sampler sampler(penalties(2.0f, 0.5f, 0.25f, 64), 6);
  for (int32_t t : {0, 0, 1, 3, 0}) sampler.accept(t);
  const std::vector<float> logits = {2.0f, -2.0f, 1.0f, 0.0f, 3.0f, -1.0f};
  const std::vector<float> expected = {
      2.0f / 2 - (3 * 0.5f + 0.25f),   // -0.75
      -2.0f * 2 - (1 * 0.5f + 0.25f),  // -4.75
      1.0f,                            // never accepted
      0.0f * 2 - (1 * 0.5f + 0.25f),   // -0.75
      3.0f,
      -1.0f,
  };
  EXPECT_EQ(sampler.adjusted_logits(logits.data()), expected);
  EXPECT_EQ(expected[0], -0.75f);
  EXPECT_EQ(expected[1], -4.75f);
}

TEST(Penalties, EachPenaltyAlone) {
  const std::vector<float> logits = {4.0f, -4.0f, 4.0f};
  {
    Sampler s(penalties(1.25f, 0.0f, 0.0f, 64), 3);
    s.accept(0);
    s.accept(1);
    s.accept(0);  // the repeat penalty does not grow with the count
    EXPECT_EQ(s.adjusted_logits(logits.data()), (std::vector<float>{3.2f, -5.0f, 4.0f}));
  }
  {
    Sampler s(penalties(1.0f, 0.75f, 0.0f, 64), 3);
    for (int32_t t : {2, 2, 2, 2, 1}) s.accept(t);
    EXPECT_EQ(s.adjusted_logits(logits.data()), (std::vector<float>{4.0f, -4.75f, 1.0f}));
  }
  {
    Sampler s(penalties(1.0f, 0.0f, 1.5f, 64), 3);
    for (int32_t t : {2, 2, 2, 2, 1}) s.accept(t);
    EXPECT_EQ(s.adjusted_logits(logits.data()), (std::vector<float>{4.0f, -5.5f, 2.5f}));
  }
  {
    // Negative frequency and presence penalties encourage repetition.
    Sampler s(penalties(1.0f, -1.0f, -0.5f, 64), 3);
    s.accept(0);
    s.accept(0);
    EXPECT_EQ(s.adjusted_logits(logits.data()), (std::vector<float>{6.5f, -4.0f, 4.0f}));
  }
}

TEST(Penalties, OnlyTheLastNTokensCount) {
  Sampler sampler(penalties(2.0f, 0.0f, 0.0f, 2), 4);
  const std::vector<float> logits = {4.0f, 4.0f, 4.0f, 4.0f};
  sampler.accept(0);
  sampler.accept(1);
  sampler.accept(2);  // 0 leaves the window
  EXPECT_EQ(sampler.adjusted_logits(logits.data()), (std::vector<float>{4.0f, 2.0f, 2.0f, 4.0f}));
  sampler.accept(3);  // 1 leaves
  EXPECT_EQ(sampler.adjusted_logits(logits.data()), (std::vector<float>{4.0f, 4.0f, 2.0f, 2.0f}));
}

TEST(Penalties, WindowCountsRepeatsInsideIt) {
  Sampler sampler(penalties(1.0f, 1.0f, 0.0f, 3), 2);
  const std::vector<float> logits = {10.0f, 10.0f};
  for (int32_t t : {0, 0, 0, 1}) sampler.accept(t);  // window {0, 0, 1}
  EXPECT_EQ(sampler.adjusted_logits(logits.data()), (std::vector<float>{8.0f, 9.0f}));
  sampler.accept(1);  // window {0, 1, 1}
  EXPECT_EQ(sampler.adjusted_logits(logits.data()), (std::vector<float>{9.0f, 8.0f}));
  sampler.accept(1);  // window {1, 1, 1}
  EXPECT_EQ(sampler.adjusted_logits(logits.data()), (std::vector<float>{10.0f, 7.0f}));
}

TEST(Penalties, MinusOneMeansWholeHistory) {
  Sampler sampler(penalties(1.0f, 0.125f, 0.0f, -1), 3);
  for (int i = 0; i < 100; ++i) sampler.accept(0);
  sampler.accept(2);
  const std::vector<float> logits = {10.0f, 10.0f, 10.0f};
  EXPECT_EQ(sampler.adjusted_logits(logits.data()), (std::vector<float>{-2.5f, 10.0f, 9.875f}));
}

TEST(Penalties, ZeroWindowDisablesThem) {
  Sampler sampler(penalties(2.0f, 1.0f, 1.0f, 0), 2);
  sampler.accept(0);
  const std::vector<float> logits = {3.0f, -3.0f};
  EXPECT_EQ(sampler.adjusted_logits(logits.data()), logits);
}

TEST(Penalties, ApplyAfterLogitBias) {
  // bias first: (1 + 3) / 2 = 2; the other order would give 1/2 + 3 = 3.5.
  SamplingParams p = penalties(2.0f, 0.0f, 0.0f, 64);
  p.logit_bias = {{0, 3.0f}};
  Sampler sampler(p, 2);
  sampler.accept(0);
  const std::vector<float> logits = {1.0f, 0.0f};
  EXPECT_EQ(sampler.adjusted_logits(logits.data())[0], 2.0f);
}

TEST(Penalties, ChangeWhichTokenGreedyPicks) {
  SamplingParams p = penalties(1.0f, 0.0f, 2.0f, 64);
  p.temperature = 0.0f;
  Sampler sampler(p, 3);
  const std::vector<float> logits = {5.0f, 4.0f, 1.0f};
  EXPECT_EQ(sampler.sample(logits.data()), 0);
  sampler.accept(0);
  EXPECT_EQ(sampler.sample(logits.data()), 1);
  sampler.accept(1);
  EXPECT_EQ(sampler.sample(logits.data()), 0);  // 3 vs 2 now
}

TEST(Penalties, ResetForgetsHistory) {
  Sampler sampler(penalties(2.0f, 1.0f, 0.0f, 4), 3);
  for (int32_t t : {0, 1, 1}) sampler.accept(t);
  const std::vector<float> logits = {4.0f, 4.0f, 4.0f};
  EXPECT_NE(sampler.adjusted_logits(logits.data()), logits);
  sampler.reset();
  EXPECT_EQ(sampler.adjusted_logits(logits.data()), logits);
  sampler.accept(2);  // the window starts afresh after reset
  EXPECT_EQ(sampler.adjusted_logits(logits.data()), (std::vector<float>{4.0f, 4.0f, 1.0f}));
}

TEST(Penalties, LeaveMinusInfinityBanned) {
  SamplingParams p = penalties(1.5f, -3.0f, -3.0f, 8);
  p.temperature = 1.0f;
  p.logit_bias = {{0, -kInf}};
  Sampler sampler(p, 2);
  for (int i = 0; i < 5; ++i) sampler.accept(0);
  const std::vector<float> logits = {100.0f, 0.0f};
  EXPECT_EQ(sampler.adjusted_logits(logits.data())[0], -kInf);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(sampler.sample(logits.data()), 1);
}

}  // namespace
}  // namespace ridge::sampling
