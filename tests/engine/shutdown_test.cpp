// Shutdown: stop admitting, then drain or end in-flight requests; never hang.
#include <gtest/gtest.h>

#include <future>

#include "common/testdata.h"
#include "engine_test_support.h"

using namespace ridge::engine;
using namespace ridge::engine::test;

namespace {

class Shutdown : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ridge::model::RandomModelSpec spec;
    spec.seed = 41;
    model_path_ = new std::filesystem::path(write_model("shutdown", spec));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(model_path_->parent_path());
    delete model_path_;
  }
  static EngineConfig config() {
    EngineConfig c;
    c.n_ctx = 512;
    c.kv_positions = 4096;
    c.max_running = 2;
    c.threads = 2;
    return c;
  }
  static std::filesystem::path* model_path_;
};
std::filesystem::path* Shutdown::model_path_ = nullptr;

// Runs `fn` on another thread and reports whether it finished within `limit`.
bool finishes_within(std::function<void()> fn, std::chrono::seconds limit) {
  auto f = std::async(std::launch::async, std::move(fn));
  return f.wait_for(limit) == std::future_status::ready;
}

}  // namespace

TEST_F(Shutdown, CancellingEndsRunningAndQueuedRequestsWithAnError) {
  auto e = make_engine(*model_path_, config());
  std::vector<std::unique_ptr<RequestHandle>> hs;
  for (int i = 0; i < 4; ++i) hs.push_back(e->submit(greedy_request(prompt_tokens(10, i, 512), 400)));
  ASSERT_TRUE(hs[0]->next(std::chrono::seconds(30)));
  ASSERT_TRUE(finishes_within([&] { e->shutdown(true); }, std::chrono::seconds(30)));
  for (auto& h : hs) {
    const Outcome o = collect(*h, std::chrono::seconds(5));
    ASSERT_TRUE(o.ended);
    EXPECT_EQ(o.error, "server shutting down");
  }
  EXPECT_THROW(e->submit(greedy_request(prompt_tokens(10, 1, 512), 4)), QueueFull);
  EXPECT_THROW(e->embed(prompt_tokens(10, 1, 512)), QueueFull);
  EXPECT_EQ(e->stats().running, 0);
}

TEST_F(Shutdown, DrainingLetsEveryAcceptedRequestFinish) {
  auto e = make_engine(*model_path_, config());
  std::vector<std::unique_ptr<RequestHandle>> hs;
  for (int i = 0; i < 4; ++i) hs.push_back(e->submit(greedy_request(prompt_tokens(10, i, 512), 20)));
  ASSERT_TRUE(finishes_within([&] { e->shutdown(false); }, std::chrono::seconds(60)));
  for (auto& h : hs) {
    const Outcome o = collect(*h, std::chrono::seconds(5));
    ASSERT_TRUE(o.ended);
    EXPECT_EQ(o.finish_reason, "length");
    EXPECT_EQ(o.tokens.size(), 20u);
  }
  EXPECT_THROW(e->submit(greedy_request(prompt_tokens(10, 1, 512), 4)), QueueFull);
}

TEST_F(Shutdown, DestroyingTheEngineWithLiveRequestsDoesNotHang) {
  std::vector<std::unique_ptr<RequestHandle>> hs;
  ASSERT_TRUE(finishes_within(
      [&] {
        auto e = make_engine(*model_path_, config());
        for (int i = 0; i < 3; ++i) hs.push_back(e->submit(greedy_request(prompt_tokens(10, i, 512), 400)));
        hs[0]->next(std::chrono::seconds(30));
        e.reset();
      },
      std::chrono::seconds(60)));
  // Handles outlive the engine: their events are still readable.
  for (auto& h : hs) {
    const Outcome o = collect(*h, std::chrono::seconds(5));
    ASSERT_TRUE(o.ended);
    EXPECT_EQ(o.error, "server shutting down");
  }
  hs.clear();
}

TEST_F(Shutdown, ShutdownTwiceIsHarmless) {
  auto e = make_engine(*model_path_, config());
  e->shutdown(false);
  e->shutdown(true);
  EXPECT_THROW(e->submit(greedy_request(prompt_tokens(10, 1, 512), 4)), QueueFull);
}
