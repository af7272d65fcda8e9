#pragma once
// One request's state on the step thread: its tokens (prompt, then generated),
// how many of them have K/V in the cache, and its own sampler, detokenizer and
// stop-string matcher. A sequence survives preemption: it only loses its
// cache blocks and recomputes them when readmitted.
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/engine.h"
#include "engine/request_channel.h"
#include "engine/stop_matcher.h"

namespace ridge::engine {

struct Sequence {
  Sequence(GenerationRequest r, std::shared_ptr<RequestChannel> ch, int32_t seq_id, int32_t n_vocab,
           const tokenizer::Tokenizer& tok, bool at_text_start)
      : request(std::move(r)),
        channel(std::move(ch)),
        id(seq_id),
        tokens(request.prompt),
        n_prompt(static_cast<int64_t>(request.prompt.size())),
        sampler(request.sampling, n_vocab),
        decoder(tok, false, at_text_start),
        stop(request.stop) {
    for (int32_t t : request.prompt) sampler.accept(t);
  }

  GenerationRequest request;
  std::shared_ptr<RequestChannel> channel;
  int32_t id;                    // KV cache sequence id
  std::vector<int32_t> tokens;   // prompt + generated
  int64_t n_prompt;
  int64_t n_computed = 0;        // leading tokens whose K/V are in the cache
  int64_t n_generated = 0;
  int64_t cached_tokens = -1;    // prompt tokens reused at first admission (-1: not admitted yet)
  uint64_t admit_order = 0;      // larger: admitted later (preempted first)
  bool registered = false;       // full computed blocks offered to the prefix cache since admission
  sampling::Sampler sampler;
  tokenizer::IncrementalDecoder decoder;
  StopMatcher stop;
};

}  // namespace ridge::engine
