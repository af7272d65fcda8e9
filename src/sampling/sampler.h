#pragma once
// Token sampling from logits: logit bias, repetition/frequency/presence
// penalties, temperature, top-k, top-p, min-p and a seeded RNG (same seed and
// inputs, same tokens on every machine). temperature <= 0 means greedy.
//
// The chain runs in llama.cpp's order:
//   logit bias -> penalties -> (temperature <= 0: argmax, ties to the lowest id)
//   -> top-k -> top-p -> min-p -> temperature -> softmax -> seeded draw.
// top-p and min-p therefore see the untempered distribution, as in llama.cpp.
//
// Non-finite logits: NaN counts as -inf (never chosen); +inf counts as the
// largest finite float (a certain winner; several +inf tie). A logit bias of
// -inf bans a token; +inf forces it (a NaN logit stays banned whatever its
// bias; -inf and +inf on one token is rejected as invalid).
// When no token is left to choose (every logit NaN/-inf or banned) sample()
// throws std::runtime_error; it never returns a banned or NaN token.
//
// One Sampler belongs to one sequence and is not thread-safe. It allocates its
// working buffers (16 bytes per vocabulary entry, plus 8 when a penalty is on,
// plus 12 the first time top-p runs without top-k) up front or on first use;
// after that sample() allocates nothing.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "sampling/candidate_list.h"
#include "sampling/penalty_history.h"
#include "sampling/rng.h"

namespace ridge::sampling {

struct SamplingParams {
  float temperature = 0.8f;     // <= 0: greedy; NaN/Inf rejected
  int32_t top_k = 40;           // <= 0: disabled (negative is accepted as "disabled", like llama.cpp)
  float top_p = 0.95f;          // must be in [0, 1]; 1: disabled; 0 keeps only the top token
  float min_p = 0.05f;          // must be in [0, 1]; 0: disabled
  float repeat_penalty = 1.0f;  // must be finite and > 0; 1: disabled (llama.cpp semantics: divide positive, multiply negative)
  int32_t repeat_last_n = 64;   // window of recent tokens the penalties look at; -1: all; 0: penalties off; < -1 rejected
  float frequency_penalty = 0.0f;  // any finite value; negative encourages repetition (OpenAI range is the server's business)
  float presence_penalty = 0.0f;   // any finite value
  std::vector<std::pair<int32_t, float>> logit_bias;  // added to the logit; -inf bans; duplicate ids add up; ids in [0, n_vocab)
  uint64_t seed = 0;            // used as given: a caller wanting a random seed draws one itself
};

// Throws std::invalid_argument naming the first bad field (e.g. "top_p",
// "logit_bias[3].token"). The Sampler constructor calls it; the server may call
// it early to answer a request with a 400.
void validate_sampling_params(const SamplingParams& params, int32_t n_vocab);

// One entry of the final distribution the draw is made from.
struct TokenProbability {
  int32_t token;
  float probability;
};

class Sampler {
 public:
  Sampler(SamplingParams params, int32_t n_vocab);
  // Picks the next token from `logits` (n_vocab floats; left unmodified). Does
  // not record the token: call accept() with it (as llama.cpp's common sampler).
  int32_t sample(const float* logits);
  // The distribution sample() would draw from for these logits, without
  // drawing (the RNG does not advance): the surviving candidates with their
  // probabilities, highest first (ties: lowest id first). For greedy params it
  // is the single argmax token with probability 1.
  std::vector<TokenProbability> distribution(const float* logits);
  // The n_vocab logits after logit bias and penalties, before any truncation,
  // with NaN as -inf and +inf as the largest finite float: what the rest of
  // the chain starts from (for inspection and tests; allocates).
  std::vector<float> adjusted_logits(const float* logits);
  // Records a token (prompt or generated) for the penalties' history. Throws
  // std::out_of_range for a token outside [0, n_vocab).
  void accept(int32_t token);
  // Forgets the history and restarts the RNG from the seed: afterwards the
  // sampler behaves exactly as a freshly constructed one.
  void reset();
  const SamplingParams& params() const { return params_; }
  int32_t n_vocab() const { return n_vocab_; }

 private:
  bool penalties_enabled() const;
  // Copies logits into working_logits_ and applies bias and penalties to the
  // few ids they touch (NaN and inf are left for the stages to interpret).
  void load_adjusted_logits(const float* logits);
  void apply_penalties();
  int32_t argmax() const;
  // Gathers candidates and runs top-k, top-p, min-p and temperature; returns
  // the sum of the candidates' weights.
  double prepare_candidates();
  [[noreturn]] static void throw_no_candidate();

  SamplingParams params_;
  int32_t n_vocab_;
  std::vector<std::pair<int32_t, float>> merged_bias_;  // duplicates summed, sorted by token
  SeededRng rng_;
  std::vector<float> working_logits_;  // n_vocab, reused every call
  CandidateList candidates_;
  std::optional<PenaltyHistory> history_;  // only when a penalty is on
};

}  // namespace ridge::sampling
