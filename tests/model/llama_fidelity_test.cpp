// The forward pass against references: the real stories260K and
// llama-2-tiny-random models against their float64 reference files, and
// random-weight models of every supported type against ReferenceLlama.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/testdata.h"
#include "kernels/ops.h"
#include "model/llama.h"
#include "model/random_model.h"
#include "model/reference_model.h"

using ridge::model::Batch;
using ridge::model::LlamaModel;

namespace {

int32_t argmax(const float* v, int64_t n) { return static_cast<int32_t>(std::max_element(v, v + n) - v); }

// The float64 references keep K/V at full precision, so the comparisons with
// them run on an F32 cache: they check the model's arithmetic. What the
// default F16 cache costs is measured on its own (tests/kv/kv_precision_test.cpp).
ridge::kv::KvCacheConfig exact_kv(ridge::kv::KvCacheConfig c) {
  c.kv_type = ridge::GgmlType::F32;
  return c;
}

// Runs a prompt then feeds `forced` tokens one at a time; returns logits after
// the prompt and after each forced token (forced.size() + 1 rows).
std::vector<std::vector<float>> run_teacher_forced(const LlamaModel& m, const std::vector<int32_t>& prompt,
                                                   const std::vector<int32_t>& forced, int threads = 2) {
  ridge::kernels::ThreadPool pool(threads);
  ridge::kv::KvCache cache(exact_kv(m.kv_config(prompt.size() + forced.size() + 1)));
  const int64_t V = m.hparams().n_vocab;
  std::vector<std::vector<float>> rows;
  Batch b;
  for (size_t i = 0; i < prompt.size(); ++i) b.add(prompt[i], static_cast<int64_t>(i), 0, i + 1 == prompt.size());
  std::vector<float> logits;
  m.forward(b, cache, pool, logits);
  rows.emplace_back(logits.begin(), logits.begin() + V);
  for (size_t i = 0; i < forced.size(); ++i) {
    b.clear();
    b.add(forced[i], static_cast<int64_t>(prompt.size() + i), 0, true);
    logits.clear();
    m.forward(b, cache, pool, logits);
    rows.emplace_back(logits.begin(), logits.begin() + V);
  }
  return rows;
}

nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

}  // namespace

TEST(LlamaFidelity, Stories260KMatchesReferenceGreedyAndLogits) {
  RIDGE_TESTDATA_OR_SKIP(model_path, "models/stories260K.gguf");
  RIDGE_TESTDATA_OR_SKIP(ref_path, "models/stories260K.reference.json");
  auto m = LlamaModel::load(model_path.string());
  auto ref = read_json(ref_path);
  ASSERT_GE(ref["cases"].size(), 4u);
  const int64_t V = m->hparams().n_vocab;
  EXPECT_EQ(V, 512);
  for (const auto& c : ref["cases"]) {
    SCOPED_TRACE("prompt: \"" + c["prompt"].get<std::string>() + "\"");
    auto prompt = c["prompt_tokens"].get<std::vector<int32_t>>();
    auto expected = c["generated_tokens"].get<std::vector<int32_t>>();
    // Greedy generation: each step's argmax is fed back.
    ridge::kernels::ThreadPool pool(2);
    ridge::kv::KvCache cache(exact_kv(m->kv_config(prompt.size() + expected.size() + 1)));
    Batch b;
    for (size_t i = 0; i < prompt.size(); ++i) b.add(prompt[i], static_cast<int64_t>(i), 0, i + 1 == prompt.size());
    std::vector<float> logits;
    std::vector<int32_t> got;
    double worst = 0;
    for (size_t step = 0; step < expected.size(); ++step) {
      logits.clear();
      m->forward(b, cache, pool, logits);
      ASSERT_EQ(static_cast<int64_t>(logits.size()), V);
      for (const auto& pair : c["top5_per_step"][step]) {
        const double want = pair[1].get<double>();
        worst = std::max(worst, std::abs(logits[pair[0].get<int>()] - want));
      }
      if (step < c.value("full_logits_first_steps", nlohmann::json::array()).size()) {
        const auto& full = c["full_logits_first_steps"][step];
        ASSERT_EQ(static_cast<int64_t>(full.size()), V);
        for (int64_t i = 0; i < V; ++i) worst = std::max(worst, std::abs(logits[i] - full[i].get<double>()));
      }
      int32_t next = argmax(logits.data(), V);
      got.push_back(next);
      b.clear();
      b.add(next, static_cast<int64_t>(prompt.size() + step), 0, true);
    }
    EXPECT_EQ(got, expected);
    EXPECT_LT(worst, 1e-4) << "largest logit difference from the float64 reference";
  }
}

TEST(LlamaFidelity, TinyRandomLlama2F16MatchesReferenceLogits) {
  RIDGE_TESTDATA_OR_SKIP(model_path, "models/llama-2-tiny-random.gguf");
  RIDGE_TESTDATA_OR_SKIP(ref_path, "models/llama-2-tiny-random.reference.json");
  auto m = LlamaModel::load(model_path.string());
  auto ref = read_json(ref_path);
  const int64_t V = m->hparams().n_vocab;
  EXPECT_EQ(V, 32000);
  ASSERT_FALSE(ref["cases"].empty());
  for (const auto& c : ref["cases"]) {
    auto prompt = c["prompt_tokens"].get<std::vector<int32_t>>();
    auto gen = c["generated_tokens"].get<std::vector<int32_t>>();
    auto rows = run_teacher_forced(*m, prompt, gen);
    auto steps = c["top5_per_step"];
    ASSERT_GE(rows.size(), steps.size());
    double worst = 0;
    for (size_t s = 0; s < steps.size(); ++s) {
      const auto& L = rows[s];
      for (const auto& pair : steps[s]) worst = std::max(worst, std::abs(L[pair[0].get<int>()] - pair[1].get<double>()));
      {
        auto ids = c["probe_token_ids"].get<std::vector<int>>();
        const auto& pv = c["probe_logits_per_step"][s];
        for (size_t i = 0; i < ids.size(); ++i) worst = std::max(worst, std::abs(L[ids[i]] - pv[i].get<double>()));
      }
      double sum = 0, l2 = 0;
      for (float v : L) sum += v, l2 += static_cast<double>(v) * v;
      const auto& stats = c["logit_stats_per_step"][s];
      EXPECT_NEAR(sum, stats["sum"].get<double>(), 2e-3) << "step " << s;
      EXPECT_NEAR(std::sqrt(l2), stats["l2"].get<double>(), 1e-4) << "step " << s;
      // Greedy choice, where the reference's margin is wider than float error.
      const double gap = steps[s][0][1].get<double>() - steps[s][1][1].get<double>();
      if (gap > 1e-3) {
        EXPECT_EQ(argmax(L.data(), V), steps[s][0][0].get<int>()) << "step " << s;
      }
    }
    EXPECT_LT(worst, 1e-4);
  }
}

// ---- random-weight models of every type against the float64 reference ----

struct TypeCase {
  ridge::GgmlType type;
  double tol;  // max |logit - reference|, relative to the largest |reference logit|
  // The same where the active kernel path rounds activations to 8 bits for this
  // weight type (ops.h: matmul_quantizes_activations). The reference multiplies
  // float activations, so the gap is that rounding, carried through two layers:
  // each level is within amax/254 of its value, an error of ~0.5% (rms) per
  // matmul input on these random models. Measured worst cases (Zen 4, AVX2 and
  // AVX-512 alike): Q8_0 1.2%, Q4_0 1.5% (blocks of 32), Q4_K 2.1%, Q6_K 2.1%
  // (blocks of 256: larger blocks, coarser steps). Tolerances leave ~2.5x margin;
  // the kernel tests check the integer arithmetic itself to ~1e-6.
  double tol_q8_activations;
};

class RandomModelFidelity : public ::testing::TestWithParam<TypeCase> {};

TEST_P(RandomModelFidelity, LogitsMatchFloat64Reference) {
  const auto tc = GetParam();
  ridge::model::RandomModelSpec spec;
  spec.n_vocab = 300;
  spec.n_embd = 256;  // K-quant rows need multiples of 256
  spec.n_layer = 2;
  spec.n_head = 4;
  spec.n_head_kv = 2;  // GQA
  spec.n_ff = 512;
  spec.type = tc.type;
  spec.embd_type = tc.type;
  spec.seed = 7 + static_cast<uint64_t>(tc.type);
  auto dir = ridge::test::scratch_dir("rand-" + std::string(ridge::ggml_type_name(tc.type)));
  auto path = (dir / "m.gguf").string();
  ridge::model::write_random_llama(spec, path);
  auto m = LlamaModel::load(path);
  ridge::test::ReferenceLlama ref(m->file());

  std::vector<int32_t> tokens = {1, 270, 5, 299, 42, 42, 3, 100, 260, 17, 2};
  auto want = ref.logits(tokens);
  auto got = run_teacher_forced(*m, {tokens[0]}, std::vector<int32_t>(tokens.begin() + 1, tokens.end()));
  ASSERT_EQ(got.size(), want.size());
  double worst = 0, scale = 0;
  for (size_t t = 0; t < want.size(); ++t)
    for (int64_t i = 0; i < ref.n_vocab(); ++i) {
      worst = std::max(worst, std::abs(got[t][i] - want[t][i]));
      scale = std::max(scale, std::abs(want[t][i]));
    }
  ASSERT_GT(scale, 0.1) << "degenerate random model";
  const bool q8 = ridge::kernels::matmul_quantizes_activations(tc.type, ridge::kernels::active_kernel_path());
  EXPECT_LT(worst / scale, q8 ? tc.tol_q8_activations : tc.tol)
      << "max abs diff " << worst << " at logit scale " << scale << " on the "
      << ridge::kernels::kernel_path_name() << " kernel path";
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Types, RandomModelFidelity,
                         // Float weights never quantize activations: the second value is unused there.
                         ::testing::Values(TypeCase{ridge::GgmlType::F32, 1e-5, 1e-5},
                                           TypeCase{ridge::GgmlType::F16, 1e-5, 1e-5},
                                           TypeCase{ridge::GgmlType::BF16, 1e-5, 1e-5},
                                           TypeCase{ridge::GgmlType::Q8_0, 1e-5, 3e-2},
                                           TypeCase{ridge::GgmlType::Q4_0, 1e-5, 4e-2},
                                           TypeCase{ridge::GgmlType::Q4_K, 1e-5, 5e-2},
                                           TypeCase{ridge::GgmlType::Q6_K, 1e-5, 5e-2}),
                         [](const auto& info) { return std::string(ridge::ggml_type_name(info.param.type)); });

TEST(LlamaBatching, InterleavedSequencesMatchRunningEachAlone) {
  ridge::model::RandomModelSpec spec;
  spec.type = ridge::GgmlType::Q8_0;
  spec.seed = 3;
  auto dir = ridge::test::scratch_dir("interleave");
  auto path = (dir / "m.gguf").string();
  ridge::model::write_random_llama(spec, path);
  auto m = LlamaModel::load(path);
  const int64_t V = m->hparams().n_vocab;
  const std::vector<std::vector<int32_t>> seqs = {{1, 300, 301, 302, 303, 304, 305}, {1, 400, 401}, {1, 7, 8, 9, 10, 11}};

  // Alone: one sequence per cache, all logits.
  std::vector<std::vector<std::vector<float>>> alone;
  ridge::kernels::ThreadPool pool(2);
  for (const auto& s : seqs) {
    ridge::kv::KvCache cache(m->kv_config(64, 4));
    Batch b;
    for (size_t i = 0; i < s.size(); ++i) b.add(s[i], static_cast<int64_t>(i), 0, true);
    std::vector<float> l;
    m->forward(b, cache, pool, l);
    std::vector<std::vector<float>> rows;
    for (size_t i = 0; i < s.size(); ++i) rows.emplace_back(l.begin() + i * V, l.begin() + (i + 1) * V);
    alone.push_back(rows);
  }
  // Together: tokens of the three sequences interleaved in one batch, in two
  // steps (a prefill chunk, then the rest), sharing one small-block cache.
  ridge::kv::KvCache cache(m->kv_config(64, 4));
  std::vector<size_t> done(seqs.size(), 0);
  for (size_t chunk : {2u, 100u}) {
    Batch b;
    std::vector<std::pair<size_t, size_t>> order;  // (seq, index)
    for (size_t round = 0; round < chunk; ++round)
      for (size_t s = 0; s < seqs.size(); ++s)
        if (done[s] < seqs[s].size()) {
          b.add(seqs[s][done[s]], static_cast<int64_t>(done[s]), static_cast<int32_t>(10 + s), true);
          order.emplace_back(s, done[s]);
          ++done[s];
        }
    std::vector<float> l;
    m->forward(b, cache, pool, l);
    ASSERT_EQ(l.size(), order.size() * V);
    for (size_t j = 0; j < order.size(); ++j) {
      const auto& want = alone[order[j].first][order[j].second];
      for (int64_t i = 0; i < V; ++i)
        ASSERT_NEAR(l[j * V + i], want[i], 1e-5) << "seq " << order[j].first << " token " << order[j].second;
    }
  }
  for (size_t s = 0; s < seqs.size(); ++s) cache.release(static_cast<int32_t>(10 + s));
  EXPECT_EQ(cache.n_used_blocks(), 0);
  std::filesystem::remove_all(dir);
}

TEST(LlamaBatching, ThreadCountDoesNotChangeLogits) {
  RIDGE_TESTDATA_OR_SKIP(model_path, "models/stories260K.gguf");
  auto m = LlamaModel::load(model_path.string());
  auto one = run_teacher_forced(*m, {1, 403, 407}, {261, 378}, 1);
  auto three = run_teacher_forced(*m, {1, 403, 407}, {261, 378}, 3);
  ASSERT_EQ(one.size(), three.size());
  for (size_t s = 0; s < one.size(); ++s)
    for (size_t i = 0; i < one[s].size(); ++i) ASSERT_EQ(one[s][i], three[s][i]);
}
