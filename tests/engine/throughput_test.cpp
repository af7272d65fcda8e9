// Continuous batching pays: 8 concurrent greedy requests against 1 on a
// random Q4_0 model (dim 512, 4 layers). A measurement printed, not a timing
// assertion (machines are noisy); the test fails only if a request does.
#include <gtest/gtest.h>

#include <cstdio>

#include "common/testdata.h"
#include "engine_test_support.h"

using namespace ridge::engine;
using namespace ridge::engine::test;

TEST(Throughput, EightConcurrentVersusOne) {
  ridge::model::RandomModelSpec spec;
  spec.n_vocab = 512;
  spec.n_embd = 512;
  spec.n_layer = 4;
  spec.n_head = 8;
  spec.n_head_kv = 4;
  spec.n_ff = 1536;
  spec.type = ridge::GgmlType::Q4_0;
  spec.embd_type = ridge::GgmlType::Q4_0;
  spec.seed = 99;
  const auto path = write_model("throughput", spec);
  EngineConfig cfg;
  cfg.n_ctx = 256;
  cfg.kv_positions = 4096;
  cfg.max_running = 8;
  cfg.threads = 0;
  cfg.prefix_cache = false;
  auto e = make_engine(path, cfg);
  const int64_t n_gen = 48;

  auto run = [&](int n) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::unique_ptr<RequestHandle>> hs;
    for (int i = 0; i < n; ++i) hs.push_back(e->submit(greedy_request(prompt_tokens(8, i, 512), n_gen)));
    int64_t tokens = 0;
    for (auto& h : hs) {
      const Outcome o = collect(*h);
      EXPECT_EQ(o.finish_reason, "length");
      tokens += o.usage.completion_tokens;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return tokens / s;
  };
  run(1);  // warm up
  const double one = run(1);
  const double eight = run(8);
  std::printf("[throughput] 1 request: %.1f tok/s, 8 concurrent: %.1f tok/s aggregate, ratio %.2fx\n", one, eight,
              eight / one);
  RecordProperty("throughput_ratio_8_vs_1", std::to_string(eight / one));
  std::filesystem::remove_all(path.parent_path());
}
