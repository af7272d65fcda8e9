#pragma once
// The HTTP endpoints: OpenAI-compatible generation (/v1/chat/completions,
// /v1/completions, streaming or not), /v1/models, /v1/embeddings, llama-server's
// /apply-template, /tokenize and /detokenize, /health, /metrics and the chat
// page at /. Runs on the HTTP server's worker threads; talks to the engine
// only through submit() and each request's event channel. With an API key
// set, everything except GET / (the page) and GET /health needs
// "Authorization: Bearer KEY" (CORS preflights are always answered).
#include <chrono>
#include <memory>
#include <string>

#include "engine/engine.h"
#include "server/chat_prompt.h"
#include "server/http_types.h"
#include "server/metrics.h"
#include "server/openai_requests.h"

namespace ridge::server {

struct ApiConfig {
  std::string model_id;  // the name in "model" and /v1/models
  std::string api_key;   // "" : no authentication
};

class OpenAiApi {
 public:
  OpenAiApi(engine::Engine& engine, const ChatPrompt& chat, ServerMetrics& metrics, ApiConfig cfg);
  // The HttpServer's request handler.
  void handle(const HttpRequest& req, Exchange& ex);

 private:
  void route(const HttpRequest& req, Exchange& ex);
  bool authorized(const HttpRequest& req) const;
  void chat_completions(const HttpRequest& req, Exchange& ex);
  void completions(const HttpRequest& req, Exchange& ex);
  void embeddings(const HttpRequest& req, Exchange& ex);
  void tokenize(const HttpRequest& req, Exchange& ex);
  void detokenize(const HttpRequest& req, Exchange& ex);
  void apply_template(const HttpRequest& req, Exchange& ex);
  void metrics(Exchange& ex);
  nlohmann::json model_object() const;

  // Runs one generation request with opts.n choices and answers it (stream or JSON).
  void generate(const std::vector<int32_t>& prompt, const GenerationOptions& opts, bool chat, Exchange& ex,
                std::chrono::steady_clock::time_point arrival, const std::string& prompt_param);

  engine::Engine& engine_;
  const ChatPrompt& chat_;
  ServerMetrics& metrics_;
  ApiConfig cfg_;
  ServedModel served_;
  int64_t created_;
};

}  // namespace ridge::server
