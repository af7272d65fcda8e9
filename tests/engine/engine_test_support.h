#pragma once
// Helpers for the engine tests: random-weight model files, engines over them,
// and draining a request's events into one outcome.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "model/random_model.h"

namespace ridge::engine::test {

// Everything one request produced.
struct Outcome {
  std::string text;
  std::vector<int32_t> tokens;  // from the logprobs entries (request top_logprobs >= 0)
  std::vector<TokenLogprob> logprobs;
  std::string finish_reason;
  Usage usage;
  std::string error;
  bool ended = false;      // Done or Error arrived
  int64_t first_step = 0;  // step of the first event
  int n_events = 0;
};

// Pops events until Done or Error, or until `limit` passes (ended stays false).
Outcome collect(RequestHandle& handle, std::chrono::milliseconds limit = std::chrono::seconds(120));

// Writes `spec` into a fresh scratch directory; returns the file path.
std::filesystem::path write_model(const std::string& name, const model::RandomModelSpec& spec);

std::unique_ptr<Engine> make_engine(const std::filesystem::path& model_path, const EngineConfig& cfg);

// A greedy request that reports token ids (top_logprobs 0) and ignores EOS.
GenerationRequest greedy_request(std::vector<int32_t> prompt, int64_t max_tokens);

// Prompt tokens [1, a, b, ...] in the word-piece range of the random vocabulary.
std::vector<int32_t> prompt_tokens(int n, int seed, int32_t n_vocab);

// Polls `pred` every few milliseconds until it holds or `limit` passes.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = std::chrono::seconds(30));

}  // namespace ridge::engine::test
