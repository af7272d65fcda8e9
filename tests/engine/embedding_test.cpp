// Embeddings: mean-pooled final hidden states, L2-normalised, computed on the
// step thread between generation steps.
#include <gtest/gtest.h>

#include <cmath>

#include "common/testdata.h"
#include "engine_test_support.h"
#include "kernels/thread_pool.h"

using namespace ridge::engine;
using namespace ridge::engine::test;

namespace {

double norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += double(x) * x;
  return std::sqrt(s);
}

class Embedding : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ridge::model::RandomModelSpec spec;
    spec.seed = 31;
    model_path_ = new std::filesystem::path(write_model("embedding", spec));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(model_path_->parent_path());
    delete model_path_;
  }
  static EngineConfig config() {
    EngineConfig c;
    c.n_ctx = 128;
    c.kv_positions = 1024;
    c.step_token_budget = 16;  // embeddings longer than this run in chunks
    c.threads = 2;
    return c;
  }
  static std::filesystem::path* model_path_;
};
std::filesystem::path* Embedding::model_path_ = nullptr;

}  // namespace

TEST_F(Embedding, NormalisedDeterministicAndTheMeanOfHiddenStates) {
  auto e = make_engine(*model_path_, config());
  const auto tokens = prompt_tokens(40, 5, 512);
  const auto v = e->embed(tokens);
  ASSERT_EQ(static_cast<int64_t>(v.size()), e->model().hparams().n_embd);
  EXPECT_NEAR(norm(v), 1.0, 1e-5);
  EXPECT_EQ(e->embed(tokens), v);
  EXPECT_NE(e->embed(prompt_tokens(40, 6, 512)), v);

  // Against the model's hidden states computed directly, in one batch.
  auto m = ridge::model::LlamaModel::load(model_path_->string());
  ridge::kv::KvCache cache(m->kv_config(64, 16));
  ridge::kernels::ThreadPool pool(2);
  ridge::model::Batch b;
  for (size_t i = 0; i < tokens.size(); ++i) b.add(tokens[i], static_cast<int64_t>(i), 0, true);
  std::vector<float> hidden;
  m->forward_hidden(b, cache, pool, hidden);
  const int64_t E = m->hparams().n_embd;
  ASSERT_EQ(hidden.size(), tokens.size() * E);
  std::vector<float> mean(E, 0.f);
  for (size_t t = 0; t < tokens.size(); ++t)
    for (int64_t i = 0; i < E; ++i) mean[i] += hidden[t * E + i] / tokens.size();
  const double n = norm(mean);
  for (int64_t i = 0; i < E; ++i) EXPECT_NEAR(v[i], mean[i] / n, 1e-4) << i;
  EXPECT_EQ(e->stats().kv_blocks_used, e->stats().prefix_cache_blocks);  // the temporary sequence is gone
}

TEST_F(Embedding, RunsBetweenStepsWithoutDisturbingGeneration) {
  auto e = make_engine(*model_path_, config());
  const auto prompt = prompt_tokens(12, 1, 512);
  const Outcome alone = collect(*e->submit(greedy_request(prompt, 40)));
  auto h = e->submit(greedy_request(prompt, 40));
  ASSERT_TRUE(h->next(std::chrono::seconds(30)));
  const auto v = e->embed(prompt_tokens(60, 2, 512));
  EXPECT_NEAR(norm(v), 1.0, 1e-5);
  const Outcome during = collect(*h);
  EXPECT_EQ(during.tokens.size() + 1, alone.tokens.size());  // the first event was popped above
  EXPECT_TRUE(std::equal(during.tokens.begin(), during.tokens.end(), alone.tokens.begin() + 1));
}

TEST_F(Embedding, BadInputIsRefused) {
  auto e = make_engine(*model_path_, config());
  EXPECT_THROW(e->embed({}), InvalidRequest);
  EXPECT_THROW(e->embed({1, 9999}), InvalidRequest);
  try {
    e->embed(prompt_tokens(129, 1, 512));
    FAIL();
  } catch (const InvalidRequest& err) {
    EXPECT_NE(std::string(err.what()).find("129"), std::string::npos) << err.what();
  }
  EXPECT_NO_THROW(e->embed(prompt_tokens(128, 1, 512)));  // a full context is fine: nothing is generated
}
