#pragma once
// Token sampling from logits: logit bias, repetition/frequency/presence
// penalties, temperature, top-k, top-p, min-p and a seeded RNG (same seed and
// inputs, same tokens on every machine). temperature <= 0 means greedy.
#include <cstdint>
#include <utility>
#include <vector>

namespace ridge::sampling {

struct SamplingParams {
  float temperature = 0.8f;
  int32_t top_k = 40;           // <= 0: disabled
  float top_p = 0.95f;          // >= 1: disabled
  float min_p = 0.05f;          // <= 0: disabled
  float repeat_penalty = 1.0f;  // 1: disabled (llama.cpp semantics: divide positive, multiply negative)
  int32_t repeat_last_n = 64;   // window of recent tokens the penalties look at; -1: all
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  std::vector<std::pair<int32_t, float>> logit_bias;  // added to the logit; -inf bans
  uint64_t seed = 0;
};

class Sampler {
 public:
  Sampler(SamplingParams params, int32_t n_vocab);
  // Picks the next token from `logits` (n_vocab floats; left unmodified).
  int32_t sample(const float* logits);
  // Records a token (prompt or generated) for the penalties' history.
  void accept(int32_t token);
  void reset();
  const SamplingParams& params() const { return params_; }

 private:
  SamplingParams params_;
  int32_t n_vocab_;
  // (the helper that implements this adds the RNG and history state here)
};

}  // namespace ridge::sampling
