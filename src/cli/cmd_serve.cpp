// `ridge serve`: load a model into the engine and answer the OpenAI-compatible
// HTTP API and the chat page until SIGINT/SIGTERM, then stop accepting, let
// streams in flight finish for a grace period, cancel the rest and exit 0.
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <pthread.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "engine/engine.h"
#include "gguf/gguf.h"
#include "kernels/thread_pool.h"
#include "model/llama.h"
#include "server/chat_prompt.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/openai_api.h"
#include "tokenizer/tokenizer.h"

namespace ridge::cli {

namespace {

constexpr const char* kServeHelp =
    "usage: ridge serve -m MODEL.gguf [options]\n"
    "\n"
    "Serves the model over an OpenAI-compatible HTTP API (/v1/chat/completions,\n"
    "/v1/completions, /v1/embeddings, /v1/models; /tokenize, /detokenize,\n"
    "/apply-template, /health, /metrics) and a chat page at /. Prints\n"
    "'ridge: listening on http://HOST:PORT' on stderr once it accepts requests.\n"
    "SIGINT/SIGTERM: stop accepting, finish streams in flight (up to the grace\n"
    "period), cancel the rest, exit 0.\n"
    "\n"
    "  -m, --model FILE            GGUF model (required)\n"
    "      --alias NAME            model name clients use (default: the file name without .gguf)\n"
    "      --host ADDR             address to listen on (default 127.0.0.1)\n"
    "      --port N                port; 0 picks a free one (default 8080)\n"
    "  -c, --ctx-size N            context per sequence (0: the model's; default min(model, 4096))\n"
    "      --parallel N            sequences decoded at once (default 4)\n"
    "      --kv-size N             KV cache positions shared by all sequences (default ctx-size x parallel)\n"
    "  -ctk, --cache-type-k T      KV cache element type for K: f16 or f32 (default f16; K and V must match)\n"
    "  -ctv, --cache-type-v T      the same for V\n"
    "      --queue N               requests that may wait for a slot before 503s (default 64)\n"
    "  -t, --threads N             compute threads (default: all cores)\n"
    "      --api-key KEY           require 'Authorization: Bearer KEY' (GET / and /health stay public)\n"
    "      --chat-template-file F  Jinja chat template to use instead of the model's\n"
    "      --http-threads N        I/O threads (default 2)\n"
    "      --max-body BYTES        largest request body (default 8388608)\n"
    "      --timeout-header S      seconds a client may take to send its headers (default 10)\n"
    "      --timeout-idle S        seconds a keep-alive connection may idle (default 60)\n"
    "      --shutdown-grace S      seconds streams may run on after SIGTERM (default 5)\n";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int cmd_serve(int argc, char** argv) {
  std::string model_path, alias, host = "127.0.0.1", api_key, template_file;
  KvCacheTypes cache_types;
  GgmlType kv_type = GgmlType::F16;
  int64_t port = 8080, n_ctx = -1, parallel = 4, kv_size = 0, queue = 64, max_body = 8 << 20;
  int64_t header_timeout_s = 10, idle_timeout_s = 60, grace_s = 5, http_threads = 2;
  int threads = kernels::default_thread_count();
  try {
    Args a(argc, argv);
    while (a.next()) {
      if (a.is("-h", "--help")) {
        std::fputs(kServeHelp, stdout);
        return 0;
      } else if (a.is("-m", "--model")) {
        model_path = a.value();
      } else if (a.is("--alias")) {
        alias = a.value();
      } else if (a.is("--host")) {
        host = a.value();
      } else if (a.is("--port")) {
        port = a.int_value(0, 65535);
      } else if (a.is("-c", "--ctx-size")) {
        n_ctx = a.int_value(0, int64_t(1) << 24);
      } else if (a.is("--parallel", "-np")) {
        parallel = a.int_value(1, 1024);
      } else if (a.is("--kv-size")) {
        kv_size = a.int_value(2, int64_t(1) << 28);
      } else if (a.cache_type_flag(cache_types)) {
      } else if (a.is("--queue")) {
        queue = a.int_value(1, 1 << 20);
      } else if (a.is("-t", "--threads")) {
        threads = static_cast<int>(a.int_value(1, 1024));
      } else if (a.is("--api-key")) {
        api_key = a.value();
      } else if (a.is("--chat-template-file")) {
        template_file = a.value();
      } else if (a.is("--http-threads")) {
        http_threads = a.int_value(1, 64);
      } else if (a.is("--max-body")) {
        max_body = a.int_value(1024, int64_t(1) << 30);
      } else if (a.is("--timeout-header")) {
        header_timeout_s = a.int_value(1, 3600);
      } else if (a.is("--timeout-idle")) {
        idle_timeout_s = a.int_value(1, 86400);
      } else if (a.is("--shutdown-grace")) {
        grace_s = a.int_value(0, 3600);
      } else {
        a.unknown();
      }
    }
    if (model_path.empty()) throw ArgError("missing -m MODEL.gguf (see ridge serve --help)");
    kv_type = cache_types.resolve();
  } catch (const ArgError& e) {
    std::fprintf(stderr, "ridge serve: %s\n", e.what());
    return 1;
  }

  // SIGINT/SIGTERM are taken by sigwait() below; block them before any thread
  // starts so that every thread inherits the mask and none is interrupted.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up is a failed write, not a dead server

  try {
    auto model = model::LlamaModel::load(model_path);
    auto tok = tokenizer::Tokenizer::from_gguf(model->file());
    const auto& hp = model->hparams();
    if (tok.n_vocab() != hp.n_vocab)
      throw model::Error(model_path + ": the tokenizer has " + std::to_string(tok.n_vocab()) +
                         " tokens but the model's vocabulary is " + std::to_string(hp.n_vocab));
    if (n_ctx < 0) n_ctx = std::min<int64_t>(hp.n_ctx_train, 4096);
    if (n_ctx == 0) n_ctx = hp.n_ctx_train;
    if (alias.empty()) alias = std::filesystem::path(model_path).stem().string();

    const std::string model_template = model->file().get_string_or("tokenizer.chat_template", "");
    const std::string override_template = template_file.empty() ? "" : read_file(template_file);
    const std::string tokenizer_model = tok.model_name();

    engine::EngineConfig ecfg;
    ecfg.n_ctx = n_ctx;
    ecfg.max_running = static_cast<int>(parallel);
    ecfg.kv_positions = kv_size > 0 ? kv_size : n_ctx * parallel;
    ecfg.max_queue = queue;
    ecfg.kv_type = kv_type;
    ecfg.threads = threads;
    ecfg.step_token_budget = std::max<int64_t>(ecfg.step_token_budget, parallel);
    engine::Engine engine(std::move(model), std::move(tok), ecfg);

    std::string warning;
    server::ChatPrompt chat(server::choose_chat_template(override_template, model_template, tokenizer_model),
                            engine.tokenizer(), &warning);
    if (!warning.empty()) std::fprintf(stderr, "ridge: warning: %s\n", warning.c_str());

    server::ServerMetrics metrics;
    server::OpenAiApi api(engine, chat, metrics, {alias, api_key});
    server::HttpServerConfig hcfg;
    hcfg.host = host;
    hcfg.port = static_cast<uint16_t>(port);
    hcfg.io_threads = static_cast<int>(http_threads);
    hcfg.worker_threads = static_cast<int>(2 * (parallel + queue) + 16);
    hcfg.max_body_bytes = static_cast<size_t>(max_body);
    hcfg.header_timeout = std::chrono::seconds(header_timeout_s);
    hcfg.idle_timeout = std::chrono::seconds(idle_timeout_s);
    server::HttpServer http(
        hcfg, [&api](const server::HttpRequest& req, server::Exchange& ex) { api.handle(req, ex); },
        [&metrics](const std::string& path, int status) { metrics.count_request(path, status); });
    http.start();

    const std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    const std::string url = "http://" + shown_host + ":" + std::to_string(http.port());
    std::fprintf(stderr, "ridge: model %s (%s), context %lld, %lld parallel, chat template: %s\n", alias.c_str(),
                 model_path.c_str(), static_cast<long long>(n_ctx), static_cast<long long>(parallel),
                 chat.origin().c_str());
    std::fprintf(stderr, "ridge: listening on %s\n", url.c_str());
    std::fprintf(stderr, "ridge: chat page: %s/\n", url.c_str());
    std::fflush(stderr);

    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::fprintf(stderr, "ridge: %s: stopping (streams in flight get %llds to finish)\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM", static_cast<long long>(grace_s));
    http.stop_accepting();
    if (!http.wait_handlers(std::chrono::seconds(grace_s)))
      std::fprintf(stderr, "ridge: cancelling %d request(s) still running\n", http.handlers_running());
    engine.shutdown(/*cancel_running=*/true);
    http.wait_handlers(std::chrono::seconds(5));
    http.shutdown(std::chrono::seconds(2));
    std::fprintf(stderr, "ridge: stopped\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ridge serve: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace ridge::cli
