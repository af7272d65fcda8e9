#pragma once
// The step loop's state and policy, used only on the step thread: the waiting
// queue, the running set, the KV cache and the per-step batch. One step admits
// what fits, makes room for decode tokens (preempting the newest sequence when
// the cache is short), packs decode tokens and prefill chunks under the token
// budget, runs the model once and samples every sequence that got logits.
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/sequence.h"
#include "kernels/thread_pool.h"
#include "kv/kv_cache.h"
#include "model/llama.h"

namespace ridge::engine {

class Scheduler {
 public:
  Scheduler(const model::LlamaModel& model, const tokenizer::Tokenizer& tok, const EngineConfig& cfg);

  void enqueue(std::unique_ptr<Sequence> seq) { waiting_.push_back(std::move(seq)); }
  bool has_work() const { return !running_.empty() || !waiting_.empty(); }
  // Drops cancelled requests (waiting or running), freeing their blocks.
  void drop_cancelled();
  // One step: admission, one forward pass, sampling, events. No-op without work.
  void step();
  // Mean-pooled, L2-normalised final hidden states of `tokens` (validated by
  // the caller), computed in a temporary sequence; may preempt running ones.
  std::vector<float> embed(const std::vector<int32_t>& tokens);
  // Ends every waiting and running request with an Error event.
  void end_all(const std::string& message);
  // Events are held until the caller has published the step's statistics, so
  // that a consumer who sees Done also sees the request's blocks returned.
  void deliver_events();

  int64_t n_running() const { return static_cast<int64_t>(running_.size()); }
  int64_t n_waiting() const { return static_cast<int64_t>(waiting_.size()); }
  const kv::KvCache& cache() const { return cache_; }
  int64_t steps() const { return steps_; }
  int64_t generated_tokens() const { return generated_tokens_; }
  int64_t preemptions() const { return preemptions_; }

 private:
  void admit();
  // Moves the newest running sequence back to the front of the queue.
  void preempt_newest();
  void release(Sequence& s);  // offers computed blocks to the prefix cache, then frees them
  void finish(Sequence& s, Event last, const std::string& reason);  // pushes `last` if not empty, then Done
  void fail(Sequence& s, const std::string& message);
  // Samples the next token of s from `logits`; emits events; may finish s.
  void advance(Sequence& s, const float* logits);
  void remove_finished();
  void emit(Sequence& s, Event e);

  const model::LlamaModel& model_;
  const tokenizer::Tokenizer& tok_;
  EngineConfig cfg_;
  int32_t n_vocab_;
  kernels::ThreadPool pool_;
  kv::KvCache cache_;
  std::deque<std::unique_ptr<Sequence>> waiting_;
  std::vector<std::unique_ptr<Sequence>> running_;  // admission order
  std::vector<Sequence*> finished_;                 // ended during this step, removed at its end
  std::vector<std::pair<std::shared_ptr<RequestChannel>, Event>> outbox_;
  model::Batch batch_;
  std::vector<float> logits_;
  uint64_t admissions_ = 0;
  int64_t steps_ = 0;
  int64_t generated_tokens_ = 0;
  int64_t preemptions_ = 0;
};

// Embedding sequences use this cache id; request ids are non-negative.
inline constexpr int32_t kEmbeddingSeqId = -1;

}  // namespace ridge::engine
