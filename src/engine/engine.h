#pragma once
// The scheduler: owns one model and its paged KV cache on one step thread and
// runs continuous batching. Each step packs the decode tokens of running
// sequences and prefill chunks of new ones under a per-step token budget;
// requests join and leave between steps. Callers (HTTP threads) talk to it
// only through submit() and the per-request event channel.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "model/llama.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace ridge::engine {

struct EngineConfig {
  int64_t n_ctx = 4096;           // max positions of one sequence (prompt + completion)
  int64_t kv_positions = 16384;   // total KV cache positions shared by all sequences
  int kv_block_size = 16;
  int max_running = 8;            // sequences decoding at once (--parallel)
  int64_t step_token_budget = 512;// tokens (decode + prefill) per forward pass
  int64_t max_queue = 64;         // waiting requests beyond which submit() refuses
  int threads = 0;                // 0: all cores
  bool prefix_cache = true;       // reuse KV blocks of identical prompt prefixes
  GgmlType kv_type = GgmlType::F16;  // element type of the cached K and V (F16 or F32)
};

// Thrown by submit() when the request cannot be queued: the server answers 503
// with Retry-After.
class QueueFull : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// Thrown by submit() for a request that can never run (prompt longer than the
// context, bad token ids, bad sampling params): the server answers 400.
class InvalidRequest : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct GenerationRequest {
  std::vector<int32_t> prompt;           // token ids, BOS included as wanted
  sampling::SamplingParams sampling;
  int64_t max_tokens = -1;               // -1: until end of generation or the context is full
  std::vector<std::string> stop;         // stop strings: generation ends before them (not emitted)
  bool ignore_eos = false;
  int top_logprobs = -1;                 // -1: no logprobs; 0..20: logprob of each token plus that many alternatives
};

struct TokenLogprob {
  int32_t token;
  float logprob;
  std::vector<std::pair<int32_t, float>> top;  // alternatives, highest first
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;  // prompt tokens whose KV came from the prefix cache
};

struct Event {
  enum class Kind { Text, Done, Error } kind = Kind::Text;
  std::string text;                      // Text: newly complete UTF-8 text (may be empty when only logprobs advance)
  std::vector<TokenLogprob> logprobs;    // Text: one per token that produced this text (if requested)
  std::string finish_reason;             // Done: "stop" or "length"
  Usage usage;                           // Done
  std::string error;                     // Error: message
  std::chrono::steady_clock::time_point time;  // when the engine produced it
  int64_t step = 0;                      // the engine step (EngineStats::steps_total after it) that produced it; 0: none
};

// One request's channel. The engine pushes events; the consumer pops them.
// Destroying or cancel()ing the handle cancels the request within one step
// and frees its KV blocks.
//
// Event order: zero or more Text events, then exactly one Done or Error; after
// that next() only times out. The first generated token always produces a
// Text event (possibly with empty text: held-back UTF-8 bytes or a possible
// stop-string start), so its time is the time to first token. A cancelled
// request gets no further events. The end-of-generation token has neither
// text nor a logprobs entry but counts in Usage::completion_tokens. Events of
// one step are delivered after EngineStats reflect that step (a consumer that
// sees Done then sees the request's blocks returned). Handles may outlive the
// Engine; shutdown ends unfinished requests with Error "server shutting down".
// next() may be called from any one thread at a time per handle; cancel() from any.
class RequestHandle {
 public:
  virtual ~RequestHandle() = default;
  // Blocks until an event is available or `timeout` passes (nullopt on timeout).
  virtual std::optional<Event> next(std::chrono::milliseconds timeout) = 0;
  virtual void cancel() = 0;
};

struct EngineStats {
  int64_t running = 0;
  int64_t queued = 0;
  int64_t kv_blocks_used = 0;
  int64_t kv_blocks_total = 0;
  int64_t prefix_cache_blocks = 0;   // blocks held only by the prefix cache (reclaimable)
  int64_t requests_total = 0;
  int64_t prompt_tokens_total = 0;
  int64_t generated_tokens_total = 0;
  int64_t steps_total = 0;
  int64_t preemptions_total = 0;     // sequences sent back to the queue because the KV cache ran short
};

class Engine {
 public:
  // Starts the step thread. Throws std::invalid_argument for an unusable config
  // (n_ctx < 2, kv_positions < n_ctx, step_token_budget < max_running, max_queue < 1, ...).
  Engine(std::unique_ptr<model::LlamaModel> model, tokenizer::Tokenizer tok, EngineConfig cfg);
  ~Engine();  // stops the step thread; pending requests end with an Error event

  // Validates and queues; throws InvalidRequest or QueueFull. Thread-safe; never
  // blocks on the step thread's work. The request is admitted at the next step
  // when a running slot and its KV blocks are free (else it waits, first come
  // first served); QueueFull when max_queue requests already wait.
  // max_tokens must be -1 or positive; an empty stop string is refused.
  std::unique_ptr<RequestHandle> submit(GenerationRequest req);

  // Pooled, L2-normalised final hidden state of `tokens` (mean over tokens);
  // runs on the step thread between steps (blocks the caller until done).
  // Throws InvalidRequest (empty, bad id, longer than n_ctx) or QueueFull after shutdown.
  std::vector<float> embed(const std::vector<int32_t>& tokens);

  // Stop admitting (submit/embed throw QueueFull); then drain (every accepted
  // request, queued ones included, runs to its end) or end them all with Error
  // "server shutting down". Blocks until the step thread has stopped; idempotent.
  void shutdown(bool cancel_running);

  EngineStats stats() const;
  const model::LlamaModel& model() const;
  const tokenizer::Tokenizer& tokenizer() const;
  const EngineConfig& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ridge::engine
