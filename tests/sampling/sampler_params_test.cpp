// Sampler parameter validation: every bad field is rejected by the constructor
// with std::invalid_argument naming it; the edge values that are legal pass.
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sampling/sampler.h"

namespace ridge::sampling {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr int32_t kVocab = 10;

struct BadCase {
  const char* what;
  std::function<void(SamplingParams&)> spoil;
  const char* field;  // must appear in the error message
};

TEST(SamplerParams, BadFieldsAreRejectedWithTheFieldNamed) {
  const std::vector<BadCase> cases = {
      {"NaN temperature", [](SamplingParams& p) { p.temperature = kNaN; }, "temperature"},
      {"inf temperature", [](SamplingParams& p) { p.temperature = kInf; }, "temperature"},
      {"-inf temperature", [](SamplingParams& p) { p.temperature = -kInf; }, "temperature"},
      {"top_p below 0", [](SamplingParams& p) { p.top_p = -0.1f; }, "top_p"},
      {"top_p above 1", [](SamplingParams& p) { p.top_p = 1.1f; }, "top_p"},
      {"NaN top_p", [](SamplingParams& p) { p.top_p = kNaN; }, "top_p"},
      {"min_p below 0", [](SamplingParams& p) { p.min_p = -0.01f; }, "min_p"},
      {"min_p above 1", [](SamplingParams& p) { p.min_p = 1.5f; }, "min_p"},
      {"NaN min_p", [](SamplingParams& p) { p.min_p = kNaN; }, "min_p"},
      {"zero repeat_penalty", [](SamplingParams& p) { p.repeat_penalty = 0.0f; }, "repeat_penalty"},
      {"negative repeat_penalty", [](SamplingParams& p) { p.repeat_penalty = -1.0f; }, "repeat_penalty"},
      {"NaN repeat_penalty", [](SamplingParams& p) { p.repeat_penalty = kNaN; }, "repeat_penalty"},
      {"inf repeat_penalty", [](SamplingParams& p) { p.repeat_penalty = kInf; }, "repeat_penalty"},
      {"repeat_last_n -2", [](SamplingParams& p) { p.repeat_last_n = -2; }, "repeat_last_n"},
      {"NaN frequency_penalty", [](SamplingParams& p) { p.frequency_penalty = kNaN; }, "frequency_penalty"},
      {"inf frequency_penalty", [](SamplingParams& p) { p.frequency_penalty = kInf; }, "frequency_penalty"},
      {"NaN presence_penalty", [](SamplingParams& p) { p.presence_penalty = kNaN; }, "presence_penalty"},
      {"-inf presence_penalty", [](SamplingParams& p) { p.presence_penalty = -kInf; }, "presence_penalty"},
      {"bias id -1", [](SamplingParams& p) { p.logit_bias = {{3, 1.0f}, {-1, 1.0f}}; }, "logit_bias[1].token"},
      {"bias id n_vocab", [](SamplingParams& p) { p.logit_bias = {{kVocab, 1.0f}}; }, "logit_bias[0].token"},
      {"NaN bias", [](SamplingParams& p) { p.logit_bias = {{2, kNaN}}; }, "logit_bias[0].bias"},
      {"ban and force one id", [](SamplingParams& p) { p.logit_bias = {{2, -kInf}, {2, kInf}}; }, "logit_bias"},
      {"every token banned",
       [](SamplingParams& p) {
         p.logit_bias.clear();
         for (int32_t t = 0; t < kVocab; ++t) p.logit_bias.emplace_back(t, -kInf);
       },
       "logit_bias"},
  };
  for (const BadCase& c : cases) {
    SamplingParams p;
    c.spoil(p);
    try {
      Sampler sampler(p, kVocab);
      ADD_FAILURE() << c.what << ": accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(c.field), std::string::npos)
          << c.what << ": message does not name " << c.field << ": " << e.what();
    }
    EXPECT_THROW(validate_sampling_params(p, kVocab), std::invalid_argument) << c.what;
  }
}

TEST(SamplerParams, NonPositiveVocabularyIsRejected) {
  EXPECT_THROW(Sampler(SamplingParams{}, 0), std::invalid_argument);
  EXPECT_THROW(Sampler(SamplingParams{}, -3), std::invalid_argument);
}

TEST(SamplerParams, EdgeValuesThatMeanSomethingAreAccepted) {
  const std::vector<std::function<void(SamplingParams&)>> fine = {
      [](SamplingParams& p) { p.temperature = -1.0f; },  // greedy
      [](SamplingParams& p) { p.temperature = 0.0f; },
      [](SamplingParams& p) { p.top_k = -5; },  // disabled
      [](SamplingParams& p) { p.top_k = 1'000'000; },
      [](SamplingParams& p) { p.top_p = 0.0f; },
      [](SamplingParams& p) { p.top_p = 1.0f; },
      [](SamplingParams& p) { p.min_p = 0.0f; },
      [](SamplingParams& p) { p.min_p = 1.0f; },
      [](SamplingParams& p) { p.repeat_penalty = 0.5f; },
      [](SamplingParams& p) { p.repeat_last_n = -1; },
      [](SamplingParams& p) { p.repeat_last_n = 2'000'000'000; },  // must not allocate up front
      [](SamplingParams& p) { p.frequency_penalty = -2.0f; },
      [](SamplingParams& p) { p.presence_penalty = -2.0f; },
      [](SamplingParams& p) { p.logit_bias = {{0, -kInf}, {kVocab - 1, kInf}, {0, -kInf}}; },
      [](SamplingParams& p) { p.seed = ~0ull; },
  };
  for (size_t i = 0; i < fine.size(); ++i) {
    SamplingParams p;
    fine[i](p);
    EXPECT_NO_THROW(Sampler(p, kVocab)) << "case " << i;
  }
}

TEST(SamplerParams, ParamsAreKeptAsGiven) {
  SamplingParams p;
  p.temperature = 0.3f;
  p.top_k = 7;
  p.seed = 99;
  p.logit_bias = {{4, 2.0f}};
  Sampler sampler(p, kVocab);
  EXPECT_EQ(sampler.params().temperature, 0.3f);
  EXPECT_EQ(sampler.params().top_k, 7);
  EXPECT_EQ(sampler.params().seed, 99u);
  EXPECT_EQ(sampler.params().logit_bias, p.logit_bias);
  EXPECT_EQ(sampler.n_vocab(), kVocab);
}

TEST(SamplerParams, AcceptRejectsOutOfRangeTokens) {
  SamplingParams p;
  p.repeat_penalty = 1.1f;
  Sampler sampler(p, kVocab);
  EXPECT_THROW(sampler.accept(-1), std::out_of_range);
  EXPECT_THROW(sampler.accept(kVocab), std::out_of_range);
  EXPECT_NO_THROW(sampler.accept(kVocab - 1));
}

TEST(SamplerParams, NullLogitsAreRejected) {
  Sampler sampler(SamplingParams{}, kVocab);
  EXPECT_THROW(sampler.sample(nullptr), std::invalid_argument);
  EXPECT_THROW(sampler.distribution(nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace ridge::sampling
