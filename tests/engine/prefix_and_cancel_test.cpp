// Automatic prefix caching, eviction under pressure, and cancellation
// returning KV blocks, through the engine.
#include <gtest/gtest.h>

#include "common/testdata.h"
#include "engine_test_support.h"

using namespace ridge::engine;
using namespace ridge::engine::test;

namespace {

class PrefixAndCancel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ridge::model::RandomModelSpec spec;
    spec.seed = 23;
    model_path_ = new std::filesystem::path(write_model("prefix", spec));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(model_path_->parent_path());
    delete model_path_;
  }
  static EngineConfig config(bool prefix_cache) {
    EngineConfig c;
    c.n_ctx = 256;
    c.kv_positions = 2048;
    c.kv_block_size = 16;
    c.step_token_budget = 64;
    c.threads = 2;
    c.prefix_cache = prefix_cache;
    return c;
  }
  static std::filesystem::path* model_path_;
};
std::filesystem::path* PrefixAndCancel::model_path_ = nullptr;

}  // namespace

TEST_F(PrefixAndCancel, RepeatedPrefixIsReusedWithIdenticalOutput) {
  auto e = make_engine(*model_path_, config(true));
  const auto prompt = prompt_tokens(100, 3, 512);
  const Outcome first = collect(*e->submit(greedy_request(prompt, 16)));
  ASSERT_TRUE(first.ended);
  EXPECT_EQ(first.usage.cached_tokens, 0);
  const Outcome second = collect(*e->submit(greedy_request(prompt, 16)));
  EXPECT_EQ(second.usage.cached_tokens, 96);  // (100 - 1) rounded down to blocks of 16: the last token is recomputed
  EXPECT_EQ(second.usage.prompt_tokens, 100);
  EXPECT_EQ(second.tokens, first.tokens);
  EXPECT_EQ(second.text, first.text);

  // Same first 70 tokens, then different: the 4 full blocks of the common part are reused.
  auto branch = prompt;
  branch.resize(70);
  const auto tail = prompt_tokens(30, 77, 512);
  branch.insert(branch.end(), tail.begin() + 1, tail.end());
  const Outcome third = collect(*e->submit(greedy_request(branch, 8)));
  EXPECT_EQ(third.usage.cached_tokens, 64);
  // ...and gives what it gives without the cache.
  auto plain = make_engine(*model_path_, config(false));
  const Outcome third_plain = collect(*plain->submit(greedy_request(branch, 8)));
  EXPECT_EQ(third_plain.usage.cached_tokens, 0);
  EXPECT_EQ(third.tokens, third_plain.tokens);

  // A prompt that is exactly whole blocks still recomputes its last block.
  auto exact = prompt;
  exact.resize(64);
  const Outcome exact_run = collect(*e->submit(greedy_request(exact, 4)));
  EXPECT_EQ(exact_run.usage.cached_tokens, 48);
}

TEST_F(PrefixAndCancel, ConversationContinuationReusesTheGeneratedBlocks) {
  auto e = make_engine(*model_path_, config(true));
  const auto prompt = prompt_tokens(40, 8, 512);
  const Outcome turn1 = collect(*e->submit(greedy_request(prompt, 30)));
  auto next = prompt;
  next.insert(next.end(), turn1.tokens.begin(), turn1.tokens.end());
  next.push_back(300);
  const Outcome turn2 = collect(*e->submit(greedy_request(next, 4)));
  // 40 + 30 tokens were in the cache when turn 1 ended (the last generated one was never fed): 69 computed -> 4 blocks.
  EXPECT_EQ(turn2.usage.cached_tokens, 64);
}

TEST_F(PrefixAndCancel, ManyDistinctPromptsThroughASmallCacheNeverFail) {
  auto cfg = config(true);
  cfg.kv_positions = 256;  // 16 blocks
  cfg.n_ctx = 128;
  auto e = make_engine(*model_path_, cfg);
  for (int round = 0; round < 3; ++round) {
    std::vector<std::unique_ptr<RequestHandle>> hs;
    for (int i = 0; i < 8; ++i) hs.push_back(e->submit(greedy_request(prompt_tokens(50, round * 10 + i, 512), 10)));
    for (auto& h : hs) {
      const Outcome o = collect(*h);
      ASSERT_TRUE(o.ended);
      EXPECT_EQ(o.error, "");
      EXPECT_EQ(o.finish_reason, "length");
    }
    const auto s = e->stats();
    EXPECT_EQ(s.kv_blocks_used, s.prefix_cache_blocks);
    EXPECT_LE(s.kv_blocks_used, s.kv_blocks_total);
  }
  EXPECT_GT(e->stats().prefix_cache_blocks, 0);
}

TEST_F(PrefixAndCancel, CancellationFreesBlocks) {
  for (bool prefix_cache : {true, false}) {
    SCOPED_TRACE(prefix_cache ? "prefix cache on" : "prefix cache off");
    // Long budgets: the test thread must get to its cancels while all three
    // still run, and a busy 2-core machine can hold it off for a while (with
    // 150 tokens apiece, c sometimes finished first).
    auto cfg = config(prefix_cache);
    cfg.n_ctx = 1024;
    cfg.kv_positions = 4096;
    auto e = make_engine(*model_path_, cfg);
    auto a = e->submit(greedy_request(prompt_tokens(60, 1, 512), 900));
    auto b = e->submit(greedy_request(prompt_tokens(60, 2, 512), 900));
    auto c = e->submit(greedy_request(prompt_tokens(60, 3, 512), 900));
    for (auto* h : {a.get(), b.get(), c.get()}) ASSERT_TRUE(h->next(std::chrono::seconds(30)));
    EXPECT_GT(e->stats().kv_blocks_used, 0);
    a->cancel();
    b.reset();  // dropping the handle cancels too
    ASSERT_TRUE(wait_until([&] { return e->stats().running == 1; }));
    c->cancel();
    ASSERT_TRUE(wait_until([&] { return e->stats().running == 0; }));
    const auto s = e->stats();
    EXPECT_EQ(s.kv_blocks_used, s.prefix_cache_blocks);
    if (!prefix_cache) {
      EXPECT_EQ(s.kv_blocks_used, 0);
    } else {
      EXPECT_GE(s.prefix_cache_blocks, 3 * 3);  // each computed 60+ tokens: 3 full blocks apiece
    }
    // A cancelled request never gets a Done.
    auto rest = collect(*a, std::chrono::milliseconds(200));
    EXPECT_FALSE(rest.ended);
  }
}

TEST_F(PrefixAndCancel, CancellingAQueuedRequest) {
  auto cfg = config(false);
  cfg.max_running = 1;
  auto e = make_engine(*model_path_, cfg);
  // The running request fills the context, so it cannot finish early; whether
  // or not it is still running when the queue empties (a fast machine may get
  // there first), it must run to its end, untouched by the other's cancel.
  const int64_t budget = cfg.n_ctx - 10;
  auto running = e->submit(greedy_request(prompt_tokens(10, 1, 512), budget));
  ASSERT_TRUE(running->next(std::chrono::seconds(30)));
  auto queued = e->submit(greedy_request(prompt_tokens(10, 2, 512), 5));
  queued->cancel();
  ASSERT_TRUE(wait_until([&] { return e->stats().queued == 0; }));
  auto out = collect(*running);
  ASSERT_TRUE(out.ended) << out.error;
  EXPECT_EQ(out.finish_reason, "length");
  EXPECT_EQ(out.usage.completion_tokens, budget);
  EXPECT_FALSE(collect(*queued, std::chrono::milliseconds(100)).ended) << "a cancelled request got an outcome";
  running.reset();
  ASSERT_TRUE(wait_until([&] { return e->stats().running == 0 && e->stats().kv_blocks_used == 0; }));
}
