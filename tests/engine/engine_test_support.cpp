#include "engine_test_support.h"

#include <functional>
#include <thread>

#include "common/testdata.h"
#include "gguf/gguf.h"

namespace ridge::engine::test {

Outcome collect(RequestHandle& handle, std::chrono::milliseconds limit) {
  Outcome out;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto ev = handle.next(std::chrono::milliseconds(50));
    if (!ev) continue;
    if (out.n_events++ == 0) out.first_step = ev->step;
    switch (ev->kind) {
      case Event::Kind::Text:
        out.text += ev->text;
        for (auto& lp : ev->logprobs) {
          out.tokens.push_back(lp.token);
          out.logprobs.push_back(lp);
        }
        break;
      case Event::Kind::Done:
        out.finish_reason = ev->finish_reason;
        out.usage = ev->usage;
        out.ended = true;
        return out;
      case Event::Kind::Error:
        out.error = ev->error;
        out.ended = true;
        return out;
    }
  }
  return out;
}

std::filesystem::path write_model(const std::string& name, const model::RandomModelSpec& spec) {
  auto dir = ridge::test::scratch_dir("engine-" + name);
  auto path = dir / "model.gguf";
  model::write_random_llama(spec, path.string());
  return path;
}

std::unique_ptr<Engine> make_engine(const std::filesystem::path& model_path, const EngineConfig& cfg) {
  auto m = model::LlamaModel::load(model_path.string());
  auto tok = tokenizer::Tokenizer::from_gguf(m->file());
  return std::make_unique<Engine>(std::move(m), std::move(tok), cfg);
}

GenerationRequest greedy_request(std::vector<int32_t> prompt, int64_t max_tokens) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0.f;
  r.max_tokens = max_tokens;
  r.ignore_eos = true;
  r.top_logprobs = 0;
  return r;
}

std::vector<int32_t> prompt_tokens(int n, int seed, int32_t n_vocab) {
  std::vector<int32_t> p{1};
  uint32_t x = 2654435761u * static_cast<uint32_t>(seed + 1);
  while (static_cast<int>(p.size()) < n) {
    x = x * 1664525u + 1013904223u;
    p.push_back(259 + static_cast<int32_t>((x >> 8) % static_cast<uint32_t>(n_vocab - 259)));
  }
  return p;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

}  // namespace ridge::engine::test
