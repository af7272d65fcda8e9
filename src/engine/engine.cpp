#include "engine/engine.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "engine/request_channel.h"
#include "engine/scheduler.h"
#include "engine/sequence.h"

namespace ridge::engine {

namespace {

void validate_config(const EngineConfig& c) {
  auto bad = [](const std::string& m) { throw std::invalid_argument("engine config: " + m); };
  if (c.n_ctx < 2) bad("n_ctx must be at least 2, got " + std::to_string(c.n_ctx));
  if (c.kv_block_size < 1) bad("kv_block_size must be positive, got " + std::to_string(c.kv_block_size));
  if (c.kv_positions < c.n_ctx)
    bad("kv_positions (" + std::to_string(c.kv_positions) + ") must be at least n_ctx (" + std::to_string(c.n_ctx) +
        "): one full-length sequence must fit in the cache");
  if (c.max_running < 1) bad("max_running must be positive, got " + std::to_string(c.max_running));
  if (c.step_token_budget < c.max_running)
    bad("step_token_budget (" + std::to_string(c.step_token_budget) + ") must be at least max_running (" +
        std::to_string(c.max_running) + "): every running sequence decodes one token per step");
  if (c.max_queue < 1) bad("max_queue must be positive, got " + std::to_string(c.max_queue));
  if (c.threads < 0) bad("threads must be 0 (all cores) or positive, got " + std::to_string(c.threads));
}

void validate_tokens(const std::vector<int32_t>& tokens, int64_t n_vocab, int64_t n_ctx, const char* what,
                     int64_t room_for_output) {
  if (tokens.empty()) throw InvalidRequest(std::string(what) + " is empty: at least one token is needed");
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || tokens[i] >= n_vocab)
      throw InvalidRequest(std::string(what) + " token " + std::to_string(tokens[i]) + " at index " +
                           std::to_string(i) + " is outside the vocabulary [0, " + std::to_string(n_vocab) + ")");
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n + room_for_output > n_ctx)
    throw InvalidRequest(std::string("the ") + what + " is " + std::to_string(n) + " tokens but the context is " +
                         std::to_string(n_ctx) + " tokens" +
                         (room_for_output > 0 ? " (room for at least one generated token is needed)" : ""));
}

}  // namespace

struct Engine::Impl {
  Impl(std::unique_ptr<model::LlamaModel> m, tokenizer::Tokenizer t, EngineConfig c)
      : model(std::move(m)), tok(std::move(t)), cfg(c) {}

  std::unique_ptr<model::LlamaModel> model;
  tokenizer::Tokenizer tok;
  EngineConfig cfg;
  std::unique_ptr<Scheduler> sched;  // the step thread's alone

  mutable std::mutex mu;  // guards everything below
  std::condition_variable wake;
  std::deque<std::unique_ptr<Sequence>> incoming;
  std::deque<std::function<void()>> tasks;
  bool accepting = true;
  bool stop = false;
  bool cancel_all = false;
  int64_t waiting = 0;  // the scheduler's queue, as of its last report
  EngineStats published;
  int32_t next_id = 0;

  std::mutex join_mu;
  std::thread thread;

  void loop();
  void publish();
};

void Engine::Impl::publish() {
  std::lock_guard lk(mu);
  waiting = sched->n_waiting();
  published.running = sched->n_running();
  published.kv_blocks_used = sched->cache().n_used_blocks();
  published.kv_blocks_total = sched->cache().config().n_blocks;
  published.prefix_cache_blocks = sched->cache().n_cached_free_blocks();
  published.generated_tokens_total = sched->generated_tokens();
  published.steps_total = sched->steps();
  published.preemptions_total = sched->preemptions();
}

void Engine::Impl::loop() {
  for (;;) {
    std::deque<std::function<void()>> run_now;
    bool end_everything = false;
    {
      std::unique_lock lk(mu);
      wake.wait(lk, [&] { return stop || !incoming.empty() || !tasks.empty() || sched->has_work(); });
      while (!incoming.empty()) {
        sched->enqueue(std::move(incoming.front()));
        incoming.pop_front();
      }
      waiting = sched->n_waiting();
      run_now.swap(tasks);
      end_everything = cancel_all;
      // Draining ends when the work does; cancelling ends it below, then here on the next pass.
      if (stop && run_now.empty() && !sched->has_work()) break;
    }
    try {
      if (end_everything) sched->end_all("server shutting down");
      for (auto& t : run_now) t();
      sched->drop_cancelled();
      sched->step();
    } catch (const std::exception& e) {
      // A failure outside any one request (it should not happen): end them all rather than hang them.
      sched->end_all(std::string("engine error: ") + e.what());
    }
    publish();
    sched->deliver_events();
  }
  publish();
}

Engine::Engine(std::unique_ptr<model::LlamaModel> model, tokenizer::Tokenizer tok, EngineConfig cfg)
    : impl_(std::make_unique<Impl>(std::move(model), std::move(tok), cfg)) {
  if (!impl_->model) throw std::invalid_argument("engine: no model");
  validate_config(cfg);
  impl_->sched = std::make_unique<Scheduler>(*impl_->model, impl_->tok, impl_->cfg);
  impl_->publish();
  impl_->thread = std::thread([impl = impl_.get()] { impl->loop(); });
}

Engine::~Engine() { shutdown(true); }

std::unique_ptr<RequestHandle> Engine::submit(GenerationRequest req) {
  const auto& cfg = impl_->cfg;
  const int64_t n_vocab = impl_->model->hparams().n_vocab;
  validate_tokens(req.prompt, n_vocab, cfg.n_ctx, "prompt", 1);
  if (req.max_tokens == 0 || req.max_tokens < -1)
    throw InvalidRequest("max_tokens must be positive (or -1 for no limit), got " + std::to_string(req.max_tokens));
  if (req.top_logprobs < -1 || req.top_logprobs > 20)
    throw InvalidRequest("top_logprobs must be between 0 and 20, got " + std::to_string(req.top_logprobs));
  for (size_t i = 0; i < req.stop.size(); ++i)
    if (req.stop[i].empty()) throw InvalidRequest("stop[" + std::to_string(i) + "] is an empty string");
  try {
    sampling::validate_sampling_params(req.sampling, static_cast<int32_t>(n_vocab));
  } catch (const std::invalid_argument& e) {
    throw InvalidRequest(e.what());
  }
  // The completion continues the prompt's text unless the prompt renders to nothing
  // (e.g. just BOS): then the first piece starts the text and loses the prefix space.
  const bool at_text_start = impl_->tok.decode(req.prompt).empty();
  auto channel = std::make_shared<RequestChannel>();
  const int64_t n_prompt = static_cast<int64_t>(req.prompt.size());
  {
    std::lock_guard lk(impl_->mu);
    if (!impl_->accepting) throw QueueFull("shutting down: not accepting requests");
    const int64_t queued = impl_->waiting + static_cast<int64_t>(impl_->incoming.size());
    if (queued >= cfg.max_queue)
      throw QueueFull("queue full: " + std::to_string(queued) + " requests waiting (limit " +
                      std::to_string(cfg.max_queue) + ")");
    const int32_t id = impl_->next_id;
    impl_->next_id = (impl_->next_id + 1) & 0x7fffffff;
    impl_->incoming.push_back(std::make_unique<Sequence>(std::move(req), channel, id, static_cast<int32_t>(n_vocab),
                                                         impl_->tok, at_text_start));
    ++impl_->published.requests_total;
    impl_->published.prompt_tokens_total += n_prompt;
  }
  impl_->wake.notify_all();
  return std::make_unique<ChannelHandle>(std::move(channel));
}

std::vector<float> Engine::embed(const std::vector<int32_t>& tokens) {
  validate_tokens(tokens, impl_->model->hparams().n_vocab, impl_->cfg.n_ctx, "input", 0);
  std::promise<std::vector<float>> result;
  auto future = result.get_future();
  {
    std::lock_guard lk(impl_->mu);
    if (!impl_->accepting) throw QueueFull("shutting down: not accepting requests");
    impl_->tasks.push_back([&] {
      try {
        auto v = impl_->sched->embed(tokens);
        impl_->publish();  // preempted sequences and the freed temporary blocks show before the caller returns
        result.set_value(std::move(v));
      } catch (...) {
        result.set_exception(std::current_exception());
      }
    });
  }
  impl_->wake.notify_all();
  return future.get();
}

void Engine::shutdown(bool cancel_running) {
  {
    std::lock_guard lk(impl_->mu);
    impl_->accepting = false;
    impl_->stop = true;
    if (cancel_running) impl_->cancel_all = true;
  }
  impl_->wake.notify_all();
  std::lock_guard jl(impl_->join_mu);
  if (impl_->thread.joinable()) impl_->thread.join();
}

EngineStats Engine::stats() const {
  std::lock_guard lk(impl_->mu);
  EngineStats s = impl_->published;
  s.queued = impl_->waiting + static_cast<int64_t>(impl_->incoming.size());
  return s;
}

const model::LlamaModel& Engine::model() const { return *impl_->model; }
const tokenizer::Tokenizer& Engine::tokenizer() const { return impl_->tok; }
const EngineConfig& Engine::config() const { return impl_->cfg; }

}  // namespace ridge::engine
