#include "engine/scheduler.h"

#include <algorithm>
#include <cmath>

#include "sampling/logprobs.h"

namespace ridge::engine {

Scheduler::Scheduler(const model::LlamaModel& model, const tokenizer::Tokenizer& tok, const EngineConfig& cfg)
    : model_(model),
      tok_(tok),
      cfg_(cfg),
      n_vocab_(static_cast<int32_t>(model.hparams().n_vocab)),
      pool_(cfg.threads > 0 ? cfg.threads : kernels::default_thread_count()),
      cache_(model.kv_config(cfg.kv_positions, cfg.kv_block_size, cfg.kv_type)) {}

void Scheduler::release(Sequence& s) {
  if (cfg_.prefix_cache && s.n_computed > 0 && cache_.has_sequence(s.id))
    cache_.register_prefix(s.id, std::span<const int32_t>(s.tokens).first(s.n_computed));
  cache_.release(s.id);
}

void Scheduler::emit(Sequence& s, Event e) { outbox_.emplace_back(s.channel, std::move(e)); }

void Scheduler::deliver_events() {
  for (auto& [channel, e] : outbox_) channel->push(std::move(e));
  outbox_.clear();
}

void Scheduler::drop_cancelled() {
  std::erase_if(waiting_, [](const auto& s) { return s->channel->cancelled(); });
  std::erase_if(running_, [this](const auto& s) {
    if (!s->channel->cancelled()) return false;
    release(*s);
    return true;
  });
}

void Scheduler::admit() {
  const int64_t bs = cfg_.kv_block_size;
  while (!waiting_.empty() && static_cast<int64_t>(running_.size()) < cfg_.max_running) {
    Sequence& s = *waiting_.front();
    const int64_t n = static_cast<int64_t>(s.tokens.size());
    // The last token is always computed: its logits give the next token.
    const int64_t max_reuse_blocks = cfg_.prefix_cache ? (n - 1) / bs : 0;
    const int64_t reused = cache_.attach_prefix(s.id, s.tokens, max_reuse_blocks);
    const int64_t need = (n + bs - 1) / bs - reused / bs;
    // Leave a block spare for the running sequences' next decode tokens, so a
    // newcomer does not immediately force a preemption.
    const int64_t headroom = running_.empty() ? 0 : 1;
    if (need + headroom > cache_.n_available_blocks()) {
      cache_.release(s.id);
      break;  // first come, first served: later requests wait behind this one
    }
    cache_.reserve(s.id, n);
    s.n_computed = reused;
    s.registered = false;
    s.admit_order = ++admissions_;
    if (s.cached_tokens < 0) s.cached_tokens = reused;
    running_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
}

void Scheduler::preempt_newest() {
  Sequence& s = *running_.back();
  release(s);  // its computed blocks stay in the prefix cache, so recomputing is often cheap
  s.n_computed = 0;
  s.registered = false;
  waiting_.push_front(std::move(running_.back()));
  running_.pop_back();
  ++preemptions_;
}

void Scheduler::finish(Sequence& s, Event last, const std::string& reason) {
  if (!last.text.empty() || !last.logprobs.empty()) emit(s, std::move(last));
  Event done;
  done.kind = Event::Kind::Done;
  done.finish_reason = reason;
  done.usage.prompt_tokens = s.n_prompt;
  done.usage.completion_tokens = s.n_generated;
  done.usage.cached_tokens = std::max<int64_t>(0, s.cached_tokens);
  done.step = steps_;
  emit(s, std::move(done));
  release(s);
  finished_.push_back(&s);
}

void Scheduler::fail(Sequence& s, const std::string& message) {
  Event e;
  e.kind = Event::Kind::Error;
  e.error = message;
  e.step = steps_;
  emit(s, std::move(e));
  release(s);
  finished_.push_back(&s);
}

void Scheduler::advance(Sequence& s, const float* logits) {
  int32_t token;
  try {
    token = s.sampler.sample(logits);
  } catch (const std::exception& e) {
    fail(s, std::string("sampling failed: ") + e.what());
    return;
  }
  s.sampler.accept(token);
  s.tokens.push_back(token);
  ++s.n_generated;
  ++generated_tokens_;

  Event ev;
  ev.kind = Event::Kind::Text;
  ev.step = steps_;
  const bool end_of_generation = !s.request.ignore_eos && token < tok_.n_vocab() && tok_.is_eog(token);
  if (end_of_generation) {
    // The end token has no text and no logprob entry; what was held back is released.
    ev.text = s.stop.push(s.decoder.flush());
    if (!s.stop.stopped()) ev.text += s.stop.flush();
    finish(s, std::move(ev), "stop");
    return;
  }
  if (s.request.top_logprobs >= 0)
    ev.logprobs.push_back({token, sampling::token_logprob(logits, n_vocab_, token),
                           sampling::top_logprobs(logits, n_vocab_, s.request.top_logprobs)});
  ev.text = s.stop.push(s.decoder.push(token));
  if (s.stop.stopped()) {
    finish(s, std::move(ev), "stop");
    return;
  }
  const bool max_tokens_reached = s.request.max_tokens > 0 && s.n_generated >= s.request.max_tokens;
  const bool context_full = static_cast<int64_t>(s.tokens.size()) >= cfg_.n_ctx;
  if (max_tokens_reached || context_full) {
    ev.text += s.stop.push(s.decoder.flush());
    if (!s.stop.stopped()) ev.text += s.stop.flush();
    finish(s, std::move(ev), s.stop.stopped() ? "stop" : "length");
    return;
  }
  // The first token always gets an event (time to first token), later ones when they carry something.
  if (!ev.text.empty() || !ev.logprobs.empty() || s.n_generated == 1) emit(s, std::move(ev));
}

void Scheduler::remove_finished() {
  if (finished_.empty()) return;
  std::erase_if(running_, [this](const auto& s) {
    return std::find(finished_.begin(), finished_.end(), s.get()) != finished_.end();
  });
  finished_.clear();
}

void Scheduler::step() {
  admit();
  if (running_.empty()) return;

  // Decode tokens first, oldest sequence first; when the cache is short, the
  // newest sequence (the last in running_, at or after the current one) goes
  // back to the queue.
  std::vector<std::pair<Sequence*, int64_t>> plan;
  int64_t budget = cfg_.step_token_budget;
  for (size_t i = 0; i < running_.size() && budget > 0; ++i) {
    Sequence* s = running_[i].get();
    if (static_cast<int64_t>(s->tokens.size()) - s->n_computed != 1) continue;
    bool preempted_self = false;
    for (;;) {
      try {
        cache_.reserve(s->id, s->n_computed + 1);
        break;
      } catch (const kv::KvCacheFull&) {
        preempted_self = running_.back().get() == s;
        preempt_newest();
        if (preempted_self) break;
      }
    }
    if (preempted_self) break;
    plan.emplace_back(s, 1);
    --budget;
  }
  // Then prefill chunks, in admission order; blocks for them were reserved at admission.
  for (auto& sp : running_) {
    if (budget <= 0) break;
    Sequence* s = sp.get();
    const int64_t remaining = static_cast<int64_t>(s->tokens.size()) - s->n_computed;
    if (remaining <= 1) continue;
    const int64_t chunk = std::min(budget, remaining);
    plan.emplace_back(s, chunk);
    budget -= chunk;
  }

  batch_.clear();
  for (auto& [s, n] : plan)
    for (int64_t j = 0; j < n; ++j) {
      const int64_t p = s->n_computed + j;
      batch_.add(s->tokens[p], p, s->id, p + 1 == static_cast<int64_t>(s->tokens.size()));
    }
  if (batch_.size() == 0) return;

  logits_.clear();
  try {
    model_.forward(batch_, cache_, pool_, logits_);
  } catch (const std::exception& e) {
    for (auto& [s, n] : plan) fail(*s, std::string("engine step failed: ") + e.what());
    remove_finished();
    return;
  }
  ++steps_;

  size_t row = 0;
  for (auto& [s, n] : plan) {
    s->n_computed += n;
    if (s->n_computed != static_cast<int64_t>(s->tokens.size())) continue;  // prefill continues next step
    if (cfg_.prefix_cache && !s->registered) {
      cache_.register_prefix(s->id, s->tokens);
      s->registered = true;
    }
    advance(*s, logits_.data() + row * static_cast<size_t>(n_vocab_));
    ++row;
  }
  remove_finished();
}

std::vector<float> Scheduler::embed(const std::vector<int32_t>& tokens) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  for (;;) {
    try {
      cache_.reserve(kEmbeddingSeqId, n);
      break;
    } catch (const kv::KvCacheFull&) {
      if (running_.empty()) throw;
      preempt_newest();
    }
  }
  const int64_t E = model_.hparams().n_embd;
  std::vector<double> sum(E, 0.0);
  std::vector<float> hidden;
  try {
    for (int64_t start = 0; start < n; start += cfg_.step_token_budget) {
      const int64_t end = std::min(n, start + cfg_.step_token_budget);
      batch_.clear();
      for (int64_t p = start; p < end; ++p) batch_.add(tokens[p], p, kEmbeddingSeqId, true);
      hidden.clear();
      model_.forward_hidden(batch_, cache_, pool_, hidden);
      for (int64_t t = 0; t < end - start; ++t)
        for (int64_t i = 0; i < E; ++i) sum[i] += hidden[t * E + i];
    }
  } catch (...) {
    cache_.release(kEmbeddingSeqId);
    throw;
  }
  cache_.release(kEmbeddingSeqId);
  double norm = 0.0;
  for (double& x : sum) {
    x /= static_cast<double>(n);
    norm += x * x;
  }
  norm = std::sqrt(norm);
  std::vector<float> out(E);
  for (int64_t i = 0; i < E; ++i) out[i] = static_cast<float>(norm > 0.0 ? sum[i] / norm : sum[i]);
  return out;
}

void Scheduler::end_all(const std::string& message) {
  for (auto& s : running_) fail(*s, message);
  finished_.clear();
  running_.clear();
  for (auto& s : waiting_) {
    Event e;
    e.kind = Event::Kind::Error;
    e.error = message;
    emit(*s, std::move(e));
  }
  waiting_.clear();
}

}  // namespace ridge::engine
