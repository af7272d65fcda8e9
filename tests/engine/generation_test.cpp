// What one request gets back: finish reasons, stop strings (on a real model),
// logprobs that agree with the sampled tokens and the model's own logits.
#include <gtest/gtest.h>

#include <cmath>

#include "common/testdata.h"
#include "engine_test_support.h"
#include "kernels/thread_pool.h"
#include "sampling/logprobs.h"

using namespace ridge::engine;
using namespace ridge::engine::test;

namespace {

class Generation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ridge::model::RandomModelSpec spec;
    spec.seed = 5;
    model_path_ = new std::filesystem::path(write_model("generation", spec));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(model_path_->parent_path());
    delete model_path_;
  }
  static EngineConfig config() {
    EngineConfig c;
    c.n_ctx = 256;
    c.kv_positions = 2048;
    c.threads = 2;
    return c;
  }
  static std::filesystem::path* model_path_;
};
std::filesystem::path* Generation::model_path_ = nullptr;

EngineConfig stories_config() {
  EngineConfig c;
  c.n_ctx = 512;
  c.kv_positions = 4096;
  c.threads = 2;
  return c;
}

}  // namespace

TEST_F(Generation, MaxTokensEndsWithLength) {
  auto e = make_engine(*model_path_, config());
  auto h = e->submit(greedy_request(prompt_tokens(7, 1, 512), 5));
  const Outcome o = collect(*h);
  ASSERT_TRUE(o.ended);
  EXPECT_EQ(o.finish_reason, "length");
  EXPECT_EQ(o.tokens.size(), 5u);
  EXPECT_EQ(o.usage.completion_tokens, 5);
  EXPECT_EQ(o.usage.prompt_tokens, 7);
}

TEST_F(Generation, EndOfSequenceEndsWithStopUnlessIgnored) {
  auto e = make_engine(*model_path_, config());
  const int32_t eos = e->tokenizer().eos();
  ASSERT_GE(eos, 0);
  auto r = greedy_request(prompt_tokens(7, 1, 512), 5);
  r.ignore_eos = false;
  // A random model rarely picks EOS by itself: a +inf bias forces it.
  r.sampling.logit_bias = {{eos, INFINITY}};
  Outcome o = collect(*e->submit(r));
  ASSERT_TRUE(o.ended);
  EXPECT_EQ(o.finish_reason, "stop");
  EXPECT_EQ(o.usage.completion_tokens, 1);
  EXPECT_TRUE(o.tokens.empty());  // the end token has no logprob entry and no text
  EXPECT_EQ(o.text, "");

  r.ignore_eos = true;
  o = collect(*e->submit(r));
  EXPECT_EQ(o.finish_reason, "length");
  EXPECT_EQ(o.tokens, std::vector<int32_t>(5, eos));
}

TEST_F(Generation, LogprobsAgreeWithTokensAndTheModel) {
  auto e = make_engine(*model_path_, config());
  auto prompt = prompt_tokens(9, 4, 512);
  auto r = greedy_request(prompt, 6);
  r.top_logprobs = 3;
  const Outcome o = collect(*e->submit(r));
  ASSERT_EQ(o.logprobs.size(), 6u);
  for (const auto& lp : o.logprobs) {
    ASSERT_EQ(lp.top.size(), 3u);
    EXPECT_EQ(lp.top[0].first, lp.token);  // greedy takes the most likely token
    EXPECT_FLOAT_EQ(lp.top[0].second, lp.logprob);
    EXPECT_LE(lp.logprob, 0.f);
    EXPECT_GE(lp.top[0].second, lp.top[1].second);
    EXPECT_GE(lp.top[1].second, lp.top[2].second);
  }
  // The first token's logprob is the log-softmax of the model's logits after the prompt.
  auto m = ridge::model::LlamaModel::load(model_path_->string());
  ridge::kv::KvCache cache(m->kv_config(64, 16));
  ridge::kernels::ThreadPool pool(2);
  ridge::model::Batch b;
  for (size_t i = 0; i < prompt.size(); ++i) b.add(prompt[i], static_cast<int64_t>(i), 0, i + 1 == prompt.size());
  std::vector<float> logits;
  m->forward(b, cache, pool, logits);
  const int32_t V = static_cast<int32_t>(m->hparams().n_vocab);
  EXPECT_FLOAT_EQ(o.logprobs[0].logprob, ridge::sampling::token_logprob(logits.data(), V, o.tokens[0]));

  // Sampled (not greedy): each logprob is of the token actually drawn.
  auto s = r;
  s.sampling.temperature = 1.5f;
  s.sampling.top_k = 0;
  s.sampling.top_p = 1.f;
  s.sampling.min_p = 0.f;
  s.sampling.seed = 1234;
  s.top_logprobs = 0;
  s.max_tokens = 12;
  const Outcome a = collect(*e->submit(s));
  const Outcome again = collect(*e->submit(s));
  EXPECT_EQ(a.tokens, again.tokens);  // same seed, same tokens
  ASSERT_EQ(a.logprobs.size(), 12u);
  for (const auto& lp : a.logprobs) {
    EXPECT_TRUE(lp.top.empty());
    EXPECT_TRUE(std::isfinite(lp.logprob));
    EXPECT_LE(lp.logprob, 0.f);
  }
}

TEST_F(Generation, NoLogprobsUnlessAsked) {
  auto e = make_engine(*model_path_, config());
  auto r = greedy_request(prompt_tokens(5, 2, 512), 4);
  r.top_logprobs = -1;
  const Outcome o = collect(*e->submit(r));
  EXPECT_TRUE(o.logprobs.empty());
  EXPECT_EQ(o.usage.completion_tokens, 4);
}

TEST(GenerationOnStories, GreedyTextFromBosMatchesTheKnownStory) {
  RIDGE_TESTDATA_OR_SKIP(path, "models/stories260K.gguf");
  auto e = make_engine(path, stories_config());
  auto r = greedy_request({1}, 40);
  const Outcome o = collect(*e->submit(r));
  ASSERT_TRUE(o.ended) << o.error;
  EXPECT_EQ(o.text.rfind("Once upon a time, there was a little girl named Lily.", 0), 0u) << o.text;
  EXPECT_EQ(o.finish_reason, "length");
}

TEST(GenerationOnStories, StopStringEndsTheTextBeforeIt) {
  RIDGE_TESTDATA_OR_SKIP(path, "models/stories260K.gguf");
  auto e = make_engine(path, stories_config());
  auto r = greedy_request({1}, 100);
  r.stop = {"Lily"};
  Outcome o = collect(*e->submit(r));
  ASSERT_TRUE(o.ended) << o.error;
  EXPECT_EQ(o.text, "Once upon a time, there was a little girl named ");
  EXPECT_EQ(o.finish_reason, "stop");
  EXPECT_LT(o.usage.completion_tokens, 100);

  // A stop string made of several tokens, the first of two stops to appear.
  r.stop = {"park", ", there was"};
  o = collect(*e->submit(r));
  EXPECT_EQ(o.text, "Once upon a time");
  EXPECT_EQ(o.finish_reason, "stop");
}

TEST(GenerationOnStories, ContinuationKeepsTheSpaceAfterThePrompt) {
  RIDGE_TESTDATA_OR_SKIP(path, "models/stories260K.gguf");
  auto e = make_engine(path, stories_config());
  auto prompt = e->tokenizer().encode("Once upon a time", true, false);
  auto r = greedy_request(prompt, 12);
  const Outcome o = collect(*e->submit(r));
  EXPECT_EQ(o.text.rfind(", there was a little girl", 0), 0u) << o.text;
  // Text of the events equals decoding the tokens after the prompt.
  auto all = prompt;
  all.insert(all.end(), o.tokens.begin(), o.tokens.end());
  EXPECT_EQ(e->tokenizer().decode(prompt) + o.text, e->tokenizer().decode(all));
}
