// Continuous batching on a random-weight model: outputs independent of what
// else runs, new requests start within a step, preemption under a tiny cache,
// admission limits and request validation.
#include <gtest/gtest.h>

#include <thread>

#include "common/testdata.h"
#include "engine_test_support.h"

using namespace ridge::engine;
using namespace ridge::engine::test;

namespace {

class Scheduling : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ridge::model::RandomModelSpec spec;
    spec.seed = 11;
    model_path_ = new std::filesystem::path(write_model("scheduling", spec));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(model_path_->parent_path());
    delete model_path_;
  }
  static EngineConfig small_config() {
    EngineConfig c;
    c.n_ctx = 256;
    c.kv_positions = 4096;
    c.kv_block_size = 8;
    c.max_running = 8;
    c.step_token_budget = 64;
    c.threads = 2;
    c.prefix_cache = false;
    return c;
  }
  static std::vector<std::vector<int32_t>> prompts() {
    std::vector<std::vector<int32_t>> p;
    const int lengths[] = {5, 40, 9, 70, 17, 3, 120, 33};  // some longer than the step budget: chunked prefill
    for (int i = 0; i < 8; ++i) p.push_back(prompt_tokens(lengths[i], i, 512));
    return p;
  }
  static std::filesystem::path* model_path_;
};
std::filesystem::path* Scheduling::model_path_ = nullptr;

std::vector<Outcome> run_alone(Engine& e, const std::vector<std::vector<int32_t>>& prompts, int64_t max_tokens) {
  std::vector<Outcome> out;
  for (const auto& p : prompts) {
    auto h = e.submit(greedy_request(p, max_tokens));
    out.push_back(collect(*h));
  }
  return out;
}

std::vector<Outcome> run_together(Engine& e, const std::vector<std::vector<int32_t>>& prompts, int64_t max_tokens) {
  std::vector<std::unique_ptr<RequestHandle>> handles;
  for (const auto& p : prompts) handles.push_back(e.submit(greedy_request(p, max_tokens)));
  std::vector<Outcome> out;
  for (auto& h : handles) out.push_back(collect(*h));
  return out;
}

void expect_same(const std::vector<Outcome>& alone, const std::vector<Outcome>& together, int64_t max_tokens) {
  ASSERT_EQ(alone.size(), together.size());
  for (size_t i = 0; i < alone.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    ASSERT_TRUE(alone[i].ended && together[i].ended);
    EXPECT_EQ(alone[i].error, "");
    EXPECT_EQ(together[i].error, "");
    EXPECT_EQ(alone[i].tokens.size(), static_cast<size_t>(max_tokens));
    EXPECT_EQ(together[i].tokens, alone[i].tokens);
    EXPECT_EQ(together[i].text, alone[i].text);
    EXPECT_EQ(together[i].finish_reason, "length");
  }
}

}  // namespace

TEST_F(Scheduling, GreedyOutputAmongSevenOthersEqualsOutputAlone) {
  auto e = make_engine(*model_path_, small_config());
  const auto p = prompts();
  const auto alone = run_alone(*e, p, 24);
  const auto together = run_together(*e, p, 24);
  expect_same(alone, together, 24);
  // Eight sequences ran in fewer steps than they would one after another.
  EXPECT_EQ(e->stats().running, 0);
  EXPECT_EQ(e->stats().kv_blocks_used, 0);
}

TEST_F(Scheduling, RequestSubmittedWhileOthersRunStartsWithinOneStep) {
  auto e = make_engine(*model_path_, small_config());
  std::vector<std::unique_ptr<RequestHandle>> busy;
  for (int i = 0; i < 3; ++i) busy.push_back(e->submit(greedy_request(prompt_tokens(20, i, 512), 200)));
  for (auto& h : busy) {
    auto ev = h->next(std::chrono::seconds(30));  // each has produced its first token
    ASSERT_TRUE(ev);
  }
  const int64_t steps_before = e->stats().steps_total;
  auto h = e->submit(greedy_request(prompt_tokens(12, 9, 512), 4));
  const Outcome o = collect(*h);
  ASSERT_TRUE(o.ended);
  // The step in progress at submission may have been packed already; the next one must include it.
  EXPECT_LE(o.first_step, steps_before + 2) << "first token came at step " << o.first_step << ", submitted after step "
                                            << steps_before;
  EXPECT_EQ(e->stats().running, 3);
}

TEST_F(Scheduling, TinyCachePreemptsAndStillGivesTheSameOutputs) {
  auto cfg = small_config();
  cfg.n_ctx = 64;
  cfg.kv_positions = 96;  // 12 blocks of 8 for 8 sequences of up to ~60 positions
  cfg.kv_block_size = 8;
  auto e = make_engine(*model_path_, cfg);
  std::vector<std::vector<int32_t>> p;
  for (int i = 0; i < 8; ++i) p.push_back(prompt_tokens(6 + 3 * i, 20 + i, 512));
  const auto alone = run_alone(*e, p, 30);
  const auto together = run_together(*e, p, 30);
  expect_same(alone, together, 30);
  EXPECT_GT(e->stats().preemptions_total, 0) << "the cache was meant to run short";
  EXPECT_EQ(e->stats().kv_blocks_used, 0);
}

TEST_F(Scheduling, PreemptionWithPrefixCacheStillGivesTheSameOutputs) {
  auto cfg = small_config();
  cfg.n_ctx = 64;
  cfg.kv_positions = 96;
  cfg.prefix_cache = true;
  auto e = make_engine(*model_path_, cfg);
  std::vector<std::vector<int32_t>> p;
  for (int i = 0; i < 8; ++i) p.push_back(prompt_tokens(6 + 3 * i, 40 + i, 512));
  const auto alone = run_alone(*e, p, 30);
  const auto together = run_together(*e, p, 30);
  expect_same(alone, together, 30);
  EXPECT_GT(e->stats().preemptions_total, 0);
  const auto s = e->stats();
  EXPECT_EQ(s.kv_blocks_used, s.prefix_cache_blocks);
}

TEST_F(Scheduling, QueueFullBeyondTheLimit) {
  auto cfg = small_config();
  cfg.max_running = 1;
  cfg.max_queue = 2;
  auto e = make_engine(*model_path_, cfg);
  auto running = e->submit(greedy_request(prompt_tokens(8, 1, 512), 200));
  ASSERT_TRUE(running->next(std::chrono::seconds(30)));  // admitted and decoding
  auto q1 = e->submit(greedy_request(prompt_tokens(8, 2, 512), 2));
  auto q2 = e->submit(greedy_request(prompt_tokens(8, 3, 512), 2));
  EXPECT_EQ(e->stats().queued, 2);
  try {
    e->submit(greedy_request(prompt_tokens(8, 4, 512), 2));
    FAIL() << "expected QueueFull";
  } catch (const QueueFull& err) {
    EXPECT_NE(std::string(err.what()).find("2"), std::string::npos) << err.what();
  }
  running->cancel();
  EXPECT_TRUE(collect(*q1).ended);
  EXPECT_TRUE(collect(*q2).ended);
  EXPECT_NO_THROW(e->submit(greedy_request(prompt_tokens(8, 4, 512), 2)));
}

TEST_F(Scheduling, InvalidRequestsAreRefusedWithReasons) {
  auto cfg = small_config();
  cfg.n_ctx = 32;
  auto e = make_engine(*model_path_, cfg);
  auto message = [&](GenerationRequest r) -> std::string {
    try {
      e->submit(std::move(r));
    } catch (const InvalidRequest& err) {
      return err.what();
    }
    return "(accepted)";
  };
  const std::string too_long = message(greedy_request(prompt_tokens(40, 1, 512), 4));
  EXPECT_NE(too_long.find("40"), std::string::npos) << too_long;
  EXPECT_NE(too_long.find("32"), std::string::npos) << too_long;
  // Exactly full: no room for one generated token.
  EXPECT_NE(message(greedy_request(prompt_tokens(32, 1, 512), 4)).find("32"), std::string::npos);
  EXPECT_EQ(message(greedy_request(prompt_tokens(31, 1, 512), 4)), "(accepted)");

  EXPECT_NE(message(greedy_request({}, 4)).find("empty"), std::string::npos);
  EXPECT_NE(message(greedy_request({1, 512}, 4)).find("512"), std::string::npos);
  EXPECT_NE(message(greedy_request({1, -3}, 4)).find("-3"), std::string::npos);
  EXPECT_NE(message(greedy_request({1, 5}, 0)).find("max_tokens"), std::string::npos);
  auto r = greedy_request({1, 5}, 4);
  r.top_logprobs = 21;
  EXPECT_NE(message(r).find("top_logprobs"), std::string::npos);
  r = greedy_request({1, 5}, 4);
  r.sampling.top_p = 2.f;
  EXPECT_NE(message(r).find("top_p"), std::string::npos);
  r = greedy_request({1, 5}, 4);
  r.sampling.logit_bias = {{600, 1.f}};
  EXPECT_NE(message(r).find("logit_bias"), std::string::npos);
  r = greedy_request({1, 5}, 4);
  r.stop = {"ok", ""};
  EXPECT_NE(message(r).find("stop[1]"), std::string::npos);
  EXPECT_EQ(e->stats().requests_total, 1);
}

TEST_F(Scheduling, BadConfigIsRefused) {
  auto cfg = small_config();
  cfg.kv_positions = 100;
  cfg.n_ctx = 200;
  EXPECT_THROW(make_engine(*model_path_, cfg), std::invalid_argument);
  cfg = small_config();
  cfg.step_token_budget = 4;
  EXPECT_THROW(make_engine(*model_path_, cfg), std::invalid_argument);
}

TEST_F(Scheduling, ContextFullEndsWithLength) {
  auto cfg = small_config();
  cfg.n_ctx = 24;
  auto e = make_engine(*model_path_, cfg);
  auto h = e->submit(greedy_request(prompt_tokens(10, 3, 512), -1));
  const Outcome o = collect(*h);
  ASSERT_TRUE(o.ended);
  EXPECT_EQ(o.finish_reason, "length");
  EXPECT_EQ(o.usage.prompt_tokens + o.usage.completion_tokens, 24);
}
