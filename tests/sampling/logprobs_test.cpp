// top_logprobs / token_logprob: log-softmax of raw logits for API responses.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "sampling/logprobs.h"

namespace ridge::sampling {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Plain log-softmax in long double, written the obvious way, as the reference.
std::vector<double> reference_log_softmax(const std::vector<float>& logits) {
  long double mx = -INFINITY;
  for (float x : logits) mx = std::max<long double>(mx, x);
  long double sum = 0;
  for (float x : logits) sum += std::exp(static_cast<long double>(x) - mx);
  std::vector<double> out;
  for (float x : logits) out.push_back(static_cast<double>(x - mx - std::log(sum)));
  return out;
}

TEST(TopLogprobs, MatchesLogSoftmaxAndOrdersHighestFirst) {
  const std::vector<float> logits = {0.5f, 3.0f, -1.0f, 2.0f, 1.0f};
  const auto ref = reference_log_softmax(logits);
  const auto top = top_logprobs(logits.data(), 5, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].first, 1);
  EXPECT_EQ(top[1].first, 3);
  EXPECT_EQ(top[2].first, 4);
  for (const auto& [token, lp] : top) EXPECT_NEAR(lp, ref[token], 1e-6) << "token " << token;
}

TEST(TopLogprobs, FullVocabularyProbabilitiesSumToOne) {
  std::vector<float> logits;
  for (int i = 0; i < 1000; ++i) logits.push_back(std::sin(i * 0.37f) * 8.0f);
  const auto all = top_logprobs(logits.data(), 1000, 1000);
  ASSERT_EQ(all.size(), 1000u);
  double sum = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    sum += std::exp(static_cast<double>(all[i].second));
    if (i > 0) {
      EXPECT_GE(all[i - 1].second, all[i].second);
    }
  }
  EXPECT_NEAR(sum, 1.0, 1e-5);
}

TEST(TopLogprobs, StableForHugeLogits) {
  const std::vector<float> logits = {1000.0f, 999.0f, -1000.0f};
  const auto top = top_logprobs(logits.data(), 3, 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_NEAR(top[0].second, -std::log1p(std::exp(-1.0)), 1e-6);
  EXPECT_NEAR(top[1].second, -1.0 - std::log1p(std::exp(-1.0)), 1e-6);
}

TEST(TopLogprobs, ExtremeFiniteLogitsStayInFloatRange) {
  const float big = std::numeric_limits<float>::max();
  const std::vector<float> logits = {-big, big, 0.0f};
  const auto top = top_logprobs(logits.data(), 3, 3);
  ASSERT_EQ(top.size(), 2u);  // -FLT_MAX has zero probability in float terms
  EXPECT_EQ(top[0].first, 1);
  EXPECT_EQ(top[0].second, 0.0f);
  EXPECT_EQ(top[1].first, 2);
  EXPECT_EQ(top[1].second, -big);
  EXPECT_EQ(token_logprob(logits.data(), 3, 0), -kInf);
}

TEST(TopLogprobs, TiesGoToLowestIdFirst) {
  const std::vector<float> logits = {1.0f, 2.0f, 2.0f, 0.0f, 2.0f};
  const auto top = top_logprobs(logits.data(), 5, 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].first, 1);
  EXPECT_EQ(top[1].first, 2);
}

TEST(TopLogprobs, KIsClampedAndNonPositiveKIsEmpty) {
  const std::vector<float> logits = {1.0f, 2.0f};
  EXPECT_EQ(top_logprobs(logits.data(), 2, 10).size(), 2u);
  EXPECT_TRUE(top_logprobs(logits.data(), 2, 0).empty());
  EXPECT_TRUE(top_logprobs(logits.data(), 2, -5).empty());
}

TEST(TopLogprobs, NanAndNegativeInfinityAreLeftOut) {
  const std::vector<float> logits = {kNaN, 1.0f, -kInf, 1.0f};
  const auto top = top_logprobs(logits.data(), 4, 4);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].first, 1);
  EXPECT_EQ(top[1].first, 3);
  EXPECT_NEAR(top[0].second, std::log(0.5), 1e-6);
  EXPECT_NEAR(top[1].second, std::log(0.5), 1e-6);
}

TEST(TopLogprobs, PositiveInfinitiesShareAllProbability) {
  const std::vector<float> logits = {5.0f, kInf, 1.0f, kInf, kInf};
  const auto top = top_logprobs(logits.data(), 5, 5);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].first, 1);
  EXPECT_EQ(top[1].first, 3);
  EXPECT_EQ(top[2].first, 4);
  for (const auto& [token, lp] : top) EXPECT_NEAR(lp, -std::log(3.0), 1e-6);
}

TEST(TopLogprobs, AllNanGivesNothing) {
  const std::vector<float> logits = {kNaN, kNaN, -kInf};
  EXPECT_TRUE(top_logprobs(logits.data(), 3, 3).empty());
  EXPECT_EQ(token_logprob(logits.data(), 3, 0), -kInf);
}

TEST(TokenLogprob, AgreesWithTopLogprobs) {
  const std::vector<float> logits = {0.25f, -3.0f, 4.0f, 1.5f};
  const auto ref = reference_log_softmax(logits);
  for (int32_t t = 0; t < 4; ++t) EXPECT_NEAR(token_logprob(logits.data(), 4, t), ref[t], 1e-6);
  const auto top = top_logprobs(logits.data(), 4, 4);
  for (const auto& [token, lp] : top) EXPECT_EQ(lp, token_logprob(logits.data(), 4, token));
}

TEST(Logprobs, BadArgumentsThrow) {
  const std::vector<float> logits = {0.0f, 1.0f};
  EXPECT_THROW(top_logprobs(nullptr, 2, 1), std::invalid_argument);
  EXPECT_THROW(top_logprobs(logits.data(), 0, 1), std::invalid_argument);
  EXPECT_THROW(token_logprob(logits.data(), 2, 2), std::invalid_argument);
  EXPECT_THROW(token_logprob(logits.data(), 2, -1), std::invalid_argument);
  EXPECT_THROW(token_logprob(nullptr, 2, 0), std::invalid_argument);
}

}  // namespace
}  // namespace ridge::sampling
