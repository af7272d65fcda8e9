// `ridge run`: load a model, tokenize the prompt, generate, and stream only the
// generated text to stdout; timings go to stderr.
#include <chrono>
#include <cstdio>
#include <exception>
#include <random>
#include <string>

#include "cli/args.h"
#include "cli/commands.h"
#include "gguf/gguf.h"
#include "kernels/thread_pool.h"
#include "kv/kv_cache.h"
#include "model/llama.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace ridge::cli {

namespace {

constexpr const char* kRunHelp =
    "usage: ridge run -m MODEL.gguf -p PROMPT [options]\n"
    "\n"
    "Generates text and streams only the generated text to stdout (the prompt is\n"
    "not echoed); load time and prompt/generation speed go to stderr.\n"
    "\n"
    "  -m, --model FILE        GGUF model (required)\n"
    "  -p, --prompt TEXT       prompt text (special-token text is parsed as the token)\n"
    "  -n, --n-predict N       tokens to generate (-1: until end of text or context; default -1)\n"
    "  -c, --ctx-size N        context size in tokens (0: the model's; default min(model, 4096))\n"
    "  -t, --threads N         threads (default: all cores)\n"
    "  -b, --batch-size N      prompt tokens per forward pass (default 512)\n"
    "  -ctk, --cache-type-k T  KV cache element type for K: f16 or f32 (default f16; K and V must match)\n"
    "  -ctv, --cache-type-v T  the same for V\n"
    "      --temp T            temperature; 0 means greedy (default 0.8)\n"
    "      --top-k K           top-k, <= 0 disables (default 40)\n"
    "      --top-p P           top-p, 1 disables (default 0.95)\n"
    "      --min-p P           min-p, 0 disables (default 0.05)\n"
    "      --repeat-penalty R  repetition penalty, 1 disables (default 1.0)\n"
    "      --repeat-last-n N   tokens the penalties look back over (-1: all; default 64)\n"
    "      --presence-penalty P, --frequency-penalty F   (default 0)\n"
    "  -s, --seed S            RNG seed (default: random, printed to stderr)\n"
    "      --ignore-eos        keep generating past end-of-text tokens\n";

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int cmd_run(int argc, char** argv) {
  std::string model_path, prompt;
  KvCacheTypes cache_types;
  GgmlType kv_type = GgmlType::F16;
  int64_t n_predict = -1, n_ctx = -1, n_batch = 512;
  int threads = kernels::default_thread_count();
  bool seed_given = false, ignore_eos = false;
  sampling::SamplingParams sp;
  try {
    Args a(argc, argv);
    while (a.next()) {
      if (a.is("-h", "--help")) {
        std::fputs(kRunHelp, stdout);
        return 0;
      } else if (a.is("-m", "--model")) {
        model_path = a.value();
      } else if (a.is("-p", "--prompt")) {
        prompt = a.value();
      } else if (a.is("-n", "--n-predict")) {
        n_predict = a.int_value(-1, int64_t(1) << 31);
      } else if (a.is("-c", "--ctx-size")) {
        n_ctx = a.int_value(0, int64_t(1) << 24);
      } else if (a.cache_type_flag(cache_types)) {
      } else if (a.is("-t", "--threads")) {
        threads = static_cast<int>(a.int_value(1, 1024));
      } else if (a.is("-b", "--batch-size")) {
        n_batch = a.int_value(1, 1 << 16);
      } else if (a.is("--temp")) {
        sp.temperature = static_cast<float>(a.float_value(0, 1e6));
      } else if (a.is("--top-k")) {
        sp.top_k = static_cast<int32_t>(a.int_value(-1, 1 << 30));
      } else if (a.is("--top-p")) {
        sp.top_p = static_cast<float>(a.float_value(0, 1));
      } else if (a.is("--min-p")) {
        sp.min_p = static_cast<float>(a.float_value(0, 1));
      } else if (a.is("--repeat-penalty")) {
        sp.repeat_penalty = static_cast<float>(a.float_value(1e-6, 1e6));
      } else if (a.is("--repeat-last-n")) {
        sp.repeat_last_n = static_cast<int32_t>(a.int_value(-1, 1 << 30));
      } else if (a.is("--presence-penalty")) {
        sp.presence_penalty = static_cast<float>(a.float_value(-1e6, 1e6));
      } else if (a.is("--frequency-penalty")) {
        sp.frequency_penalty = static_cast<float>(a.float_value(-1e6, 1e6));
      } else if (a.is("-s", "--seed")) {
        sp.seed = static_cast<uint64_t>(a.int_value(0, INT64_MAX));
        seed_given = true;
      } else if (a.is("--ignore-eos")) {
        ignore_eos = true;
      } else {
        a.unknown();
      }
    }
    if (model_path.empty()) throw ArgError("missing -m MODEL.gguf (see ridge run --help)");
    kv_type = cache_types.resolve();
  } catch (const ArgError& e) {
    std::fprintf(stderr, "ridge run: %s\n", e.what());
    return 1;
  }
  if (!seed_given) sp.seed = (static_cast<uint64_t>(std::random_device{}()) << 32) | std::random_device{}();

  try {
    const auto t_load = std::chrono::steady_clock::now();
    auto model = model::LlamaModel::load(model_path);
    auto tok = tokenizer::Tokenizer::from_gguf(model->file());
    const auto& hp = model->hparams();
    if (tok.n_vocab() != hp.n_vocab)
      throw model::Error(model_path + ": the tokenizer has " + std::to_string(tok.n_vocab()) +
                         " tokens but the model's vocabulary is " + std::to_string(hp.n_vocab));
    if (n_ctx < 0) n_ctx = std::min<int64_t>(hp.n_ctx_train, 4096);
    if (n_ctx == 0) n_ctx = hp.n_ctx_train;
    kernels::ThreadPool pool(threads);
    kv::KvCache cache(model->kv_config(n_ctx, 16, kv_type));
    const double load_s = seconds_since(t_load);

    std::vector<int32_t> ids = tok.encode(prompt, /*add_special=*/true, /*parse_special=*/true);
    if (ids.empty()) throw std::invalid_argument("the prompt is empty and the model adds no BOS token");
    if (static_cast<int64_t>(ids.size()) >= n_ctx)
      throw std::invalid_argument("the prompt is " + std::to_string(ids.size()) + " tokens, which does not fit the context of " +
                                  std::to_string(n_ctx) + " tokens (raise -c)");
    sampling::Sampler sampler(sp, static_cast<int32_t>(hp.n_vocab));
    for (int32_t id : ids) sampler.accept(id);
    if (!seed_given && sp.temperature > 0) std::fprintf(stderr, "seed: %llu\n", static_cast<unsigned long long>(sp.seed));

    // Prompt, in chunks of n_batch tokens; logits only for the last token.
    const auto t_prompt = std::chrono::steady_clock::now();
    std::vector<float> logits;
    model::Batch batch;
    for (size_t i = 0; i < ids.size(); i += static_cast<size_t>(n_batch)) {
      batch.clear();
      const size_t end = std::min(ids.size(), i + static_cast<size_t>(n_batch));
      for (size_t j = i; j < end; ++j) batch.add(ids[j], static_cast<int64_t>(j), 0, j + 1 == ids.size());
      model->forward(batch, cache, pool, logits);
    }
    const double prompt_s = seconds_since(t_prompt);

    const auto t_gen = std::chrono::steady_clock::now();
    // The generated text continues the prompt's: keep its first space unless the prompt shows nothing.
    tokenizer::IncrementalDecoder out(tok, /*render_special=*/false, /*at_text_start=*/tok.decode(ids).empty());
    int64_t pos = static_cast<int64_t>(ids.size());
    int64_t n_gen = 0;
    while ((n_predict < 0 || n_gen < n_predict) && pos < n_ctx) {
      const int32_t next = sampler.sample(logits.data());
      sampler.accept(next);
      ++n_gen;
      if (!ignore_eos && tok.is_eog(next)) break;
      std::string text = out.push(next);
      if (!text.empty()) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
      }
      if (n_predict >= 0 && n_gen >= n_predict) break;
      batch.clear();
      batch.add(next, pos++, 0, true);
      logits.clear();
      model->forward(batch, cache, pool, logits);
    }
    std::string rest = out.flush();
    std::fwrite(rest.data(), 1, rest.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    const double gen_s = seconds_since(t_gen);
    std::fprintf(stderr, "\nload: %.3f s\n", load_s);
    std::fprintf(stderr, "prompt: %zu tokens in %.3f s, %.2f tokens/s\n", ids.size(), prompt_s,
                 prompt_s > 0 ? static_cast<double>(ids.size()) / prompt_s : 0.0);
    std::fprintf(stderr, "generation: %lld tokens in %.3f s, %.2f tokens/s\n", static_cast<long long>(n_gen), gen_s,
                 gen_s > 0 ? static_cast<double>(n_gen) / gen_s : 0.0);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ridge run: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace ridge::cli
