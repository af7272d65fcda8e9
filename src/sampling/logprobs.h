#pragma once
// Log-probabilities for API responses (OpenAI `logprobs` / `top_logprobs`):
// the log-softmax of the model's raw logits, before any sampling transform.
#include <cstdint>
#include <utility>
#include <vector>

namespace ridge::sampling {

// The k most likely tokens with their log-probabilities, highest first (ties:
// lowest id first). NaN logits count as -inf; tokens whose probability is
// zero (-inf logits, or finite ones beside a +inf logit) are left out, so fewer
// than k entries may come back. Several +inf logits share the probability
// equally. k <= 0 gives an empty list; k > n_vocab is clamped.
// Throws std::invalid_argument for a null `logits` or n_vocab <= 0.
std::vector<std::pair<int32_t, float>> top_logprobs(const float* logits, int32_t n_vocab, int k);

// The log-probability of one token under the same log-softmax (the sampled
// token's `logprob`); -inf when its probability is zero. Throws
// std::invalid_argument for a null `logits`, n_vocab <= 0 or token out of range.
float token_logprob(const float* logits, int32_t n_vocab, int32_t token);

}  // namespace ridge::sampling
