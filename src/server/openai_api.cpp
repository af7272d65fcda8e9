#include "server/openai_api.h"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <random>

#include "server/api_error.h"
#include "server/json_body.h"
#include "server/openai_responses.h"
#include "server/web_page.h"

namespace ridge::server {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

HttpResponse json_response(const json& j, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = dump_json(j);
  return r;
}

HttpResponse error_response(const ApiError& e) {
  HttpResponse r = json_response(e.body(), e.status());
  if (e.retry_after() > 0) r.headers.emplace_back("Retry-After", std::to_string(e.retry_after()));
  if (e.status() == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

bool iequals_prefix(const std::string& s, const char* prefix) {
  const size_t n = std::strlen(prefix);
  if (s.size() < n) return false;
  for (size_t i = 0; i < n; ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// Compares without an early exit, so the time taken does not reveal how much of a guess was right.
bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % std::max<size_t>(1, b.size())]);
  return diff == 0;
}

bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    if (n < 0) return false;
    for (int k = 1; k <= n; ++k)
      if (i + k >= s.size() || (static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += static_cast<size_t>(n) + 1;
  }
  return true;
}

void require_method(const HttpRequest& req, const char* method) {
  if (req.method != method)
    throw ApiError(405, "use " + std::string(method) + " for " + req.path + ", not " + req.method,
                   "invalid_request_error", std::nullopt, "method_not_allowed");
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// One choice of a generation request as it streams in.
struct ChoiceState {
  std::unique_ptr<engine::RequestHandle> handle;
  bool done = false;
  std::string text;
  std::vector<ScoredToken> logprobs;
  std::string finish_reason;
  engine::Usage usage;
  bool first_token_seen = false;
  Clock::time_point last_event;
};

std::vector<ScoredToken> scored(const std::vector<engine::TokenLogprob>& lps) {
  std::vector<ScoredToken> out;
  out.reserve(lps.size());
  for (const auto& t : lps) out.push_back({t.token, t.logprob, t.top});
  return out;
}

}  // namespace

OpenAiApi::OpenAiApi(engine::Engine& engine, const ChatPrompt& chat, ServerMetrics& metrics, ApiConfig cfg)
    : engine_(engine), chat_(chat), metrics_(metrics), cfg_(std::move(cfg)) {
  served_.id = cfg_.model_id;
  served_.n_vocab = engine_.tokenizer().n_vocab();
  served_.n_ctx = engine_.config().n_ctx;
  created_ = static_cast<int64_t>(std::time(nullptr));
}

void OpenAiApi::handle(const HttpRequest& req, Exchange& ex) {
  try {
    route(req, ex);
  } catch (const ApiError& e) {
    ex.reply(error_response(e));
  } catch (const engine::InvalidRequest& e) {
    ex.reply(error_response(ApiError(400, e.what(), "invalid_request_error", std::nullopt, "invalid_request")));
  } catch (const engine::QueueFull& e) {
    ex.reply(error_response(overloaded(std::string("the server is busy: ") + e.what())));
  } catch (const std::exception& e) {
    ex.reply(error_response(ApiError(500, std::string("internal error: ") + e.what(), "server_error")));
  }
}

bool OpenAiApi::authorized(const HttpRequest& req) const {
  if (cfg_.api_key.empty()) return true;
  std::string auth = req.header("authorization");
  if (!iequals_prefix(auth, "bearer ")) return false;
  size_t start = 7;
  while (start < auth.size() && auth[start] == ' ') ++start;
  std::string key = auth.substr(start);
  while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
  return same_secret(key, cfg_.api_key);
}

void OpenAiApi::route(const HttpRequest& req, Exchange& ex) {
  std::string path = req.path;
  // llama-server and many clients also use the paths without "/v1".
  if (path == "/chat/completions" || path == "/completions" || path == "/models" || path == "/embeddings")
    path = "/v1" + path;

  if (path == "/" || path == "/index.html") {
    require_method(req, "GET");
    HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.body = std::string(chat_page_html());
    r.headers.emplace_back("Cache-Control", "no-cache");
    return ex.reply(std::move(r));
  }
  if (path == "/health") {
    require_method(req, "GET");
    return ex.reply(json_response({{"status", "ok"}}));
  }
  static const char* known[] = {"/v1/chat/completions", "/v1/completions", "/v1/models", "/v1/embeddings",
                                "/metrics", "/tokenize", "/detokenize", "/apply-template"};
  const bool is_known = std::any_of(std::begin(known), std::end(known), [&](const char* k) { return path == k; }) ||
                        path.rfind("/v1/models/", 0) == 0;
  if (!is_known)
    throw ApiError(404, "unknown endpoint: " + req.method + " " + req.path, "invalid_request_error", std::nullopt,
                   "unknown_url");
  if (!authorized(req)) throw invalid_api_key();

  if (path == "/v1/chat/completions") return chat_completions(req, ex);
  if (path == "/v1/completions") return completions(req, ex);
  if (path == "/v1/embeddings") return embeddings(req, ex);
  if (path == "/tokenize") return tokenize(req, ex);
  if (path == "/detokenize") return detokenize(req, ex);
  if (path == "/apply-template") return apply_template(req, ex);
  if (path == "/metrics") {
    require_method(req, "GET");
    return metrics(ex);
  }
  if (path == "/v1/models") {
    require_method(req, "GET");
    return ex.reply(json_response({{"object", "list"}, {"data", json::array({model_object()})}}));
  }
  // /v1/models/{id}
  require_method(req, "GET");
  const std::string id = path.substr(std::strlen("/v1/models/"));
  if (id != served_.id) throw model_not_found(id);
  ex.reply(json_response(model_object()));
}

json OpenAiApi::model_object() const {
  return {{"id", served_.id},
          {"object", "model"},
          {"created", created_},
          {"owned_by", "ridge"},
          {"meta", {{"n_ctx", served_.n_ctx}, {"n_vocab", served_.n_vocab}}}};
}

void OpenAiApi::metrics(Exchange& ex) {
  const auto s = engine_.stats();
  EngineGauges g;
  g.running = s.running;
  g.queued = s.queued;
  g.kv_blocks_used = s.kv_blocks_used;
  g.kv_blocks_total = s.kv_blocks_total;
  g.prefix_cache_blocks = s.prefix_cache_blocks;
  g.requests_total = s.requests_total;
  g.prompt_tokens_total = s.prompt_tokens_total;
  g.generated_tokens_total = s.generated_tokens_total;
  g.steps_total = s.steps_total;
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = metrics_.render(g);
  ex.reply(std::move(r));
}

void OpenAiApi::chat_completions(const HttpRequest& req, Exchange& ex) {
  const auto arrival = Clock::now();
  require_method(req, "POST");
  const json body = parse_json_body(req.header("content-type"), req.body);
  const auto r = parse_chat_completion_request(body, served_);
  const std::string prompt = chat_.render(r.messages);
  generate(chat_.tokenize(prompt), r.gen, /*chat=*/true, ex, arrival, "messages");
}

void OpenAiApi::completions(const HttpRequest& req, Exchange& ex) {
  const auto arrival = Clock::now();
  require_method(req, "POST");
  const json body = parse_json_body(req.header("content-type"), req.body);
  const auto r = parse_completion_request(body, served_);
  std::vector<int32_t> tokens =
      r.prompt_text ? engine_.tokenizer().encode(*r.prompt_text, /*add_special=*/true, /*parse_special=*/true)
                    : r.prompt_tokens;
  generate(tokens, r.gen, /*chat=*/false, ex, arrival, "prompt");
}

void OpenAiApi::generate(const std::vector<int32_t>& prompt, const GenerationOptions& opts, bool chat, Exchange& ex,
                         Clock::time_point arrival, const std::string& prompt_param) {
  const auto& tok = engine_.tokenizer();
  const int64_t n_ctx = served_.n_ctx;
  if (prompt.empty())
    throw bad_field(prompt_param, "the prompt is empty (it has no tokens, and the model adds no BOS token)");
  if (static_cast<int64_t>(prompt.size()) >= n_ctx)
    throw ApiError(400,
                   "the prompt is " + std::to_string(prompt.size()) + " tokens, which does not fit the context of " +
                       std::to_string(n_ctx) + " tokens (at least one token must be left to generate)",
                   "invalid_request_error", prompt_param, "context_length_exceeded");

  // Submit every choice first, so a full queue is a 503 before anything streams.
  std::vector<ChoiceState> choices(static_cast<size_t>(opts.n));
  const uint64_t base_seed =
      opts.seed ? *opts.seed : (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  for (int i = 0; i < opts.n; ++i) {
    engine::GenerationRequest g;
    g.prompt = prompt;
    g.sampling = opts.sampling;
    g.sampling.seed = base_seed + static_cast<uint64_t>(i);  // choices differ; a given seed reproduces all of them
    g.max_tokens = opts.max_tokens;
    g.stop = opts.stop;
    g.top_logprobs = opts.top_logprobs;
    try {
      choices[static_cast<size_t>(i)].handle = engine_.submit(std::move(g));
    } catch (const engine::QueueFull& e) {
      throw overloaded(std::string("the server is busy (request queue full): ") + e.what());
    } catch (const engine::InvalidRequest& e) {
      throw ApiError(400, e.what(), "invalid_request_error", std::nullopt, "invalid_request");
    }
    choices[static_cast<size_t>(i)].last_event = arrival;
  }

  ResponseMeta meta{new_response_id(chat ? "chatcmpl-" : "cmpl-"), static_cast<int64_t>(std::time(nullptr)),
                    opts.model};
  const PieceOf piece = [&tok](int32_t id) { return tok.token_to_piece(id, false); };
  const bool want_logprobs = opts.top_logprobs >= 0;
  auto cancel_all = [&] {
    for (auto& c : choices)
      if (c.handle) c.handle->cancel();
  };

  if (opts.stream) {
    ex.begin_stream(200, "text/event-stream", {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}});
    if (chat)
      for (int i = 0; i < opts.n; ++i)
        ex.send(sse_data(chat_chunk(meta, i, {{"role", "assistant"}, {"content", ""}}, std::nullopt, nullptr,
                                    opts.include_usage)));
  }

  size_t remaining = choices.size();
  bool failed = false;
  // Applies one event of choice i; false when the request must stop (client gone or engine error).
  auto process = [&](size_t i, engine::Event& ev) -> bool {
    auto& c = choices[i];
    const int index = static_cast<int>(i);
    if (ev.kind == engine::Event::Kind::Text) {
      if (!c.first_token_seen) {
        c.first_token_seen = true;
        metrics_.observe_time_to_first_token(seconds_between(arrival, ev.time));
      } else {
        metrics_.observe_inter_token_latency(seconds_between(c.last_event, ev.time));
      }
      c.last_event = ev.time;
      auto lps = scored(ev.logprobs);
      const int64_t offset = static_cast<int64_t>(c.text.size());
      c.text += ev.text;
      if (want_logprobs) c.logprobs.insert(c.logprobs.end(), lps.begin(), lps.end());
      if (opts.stream && (!ev.text.empty() || (want_logprobs && !lps.empty()))) {
        json lp = nullptr;
        if (want_logprobs) lp = chat ? chat_logprobs_json(lps, piece) : completion_logprobs_json(lps, piece, offset);
        const json chunk = chat ? chat_chunk(meta, index, {{"content", ev.text}}, std::nullopt, lp, opts.include_usage)
                                : completion_chunk(meta, index, ev.text, std::nullopt, lp, opts.include_usage);
        if (!ex.send(sse_data(chunk))) return false;
      }
      return true;
    }
    if (ev.kind == engine::Event::Kind::Done) {
      c.done = true;
      --remaining;
      c.finish_reason = ev.finish_reason.empty() ? "stop" : ev.finish_reason;
      c.usage = ev.usage;
      metrics_.count_cached_prompt_tokens(ev.usage.cached_tokens);
      if (opts.stream) {
        const json chunk = chat ? chat_chunk(meta, index, json::object(), c.finish_reason, nullptr, opts.include_usage)
                                : completion_chunk(meta, index, "", c.finish_reason, nullptr, opts.include_usage);
        if (!ex.send(sse_data(chunk))) return false;
      }
      return true;
    }
    // Error: the engine gave up on this request (shutdown, or a failure).
    failed = true;
    const ApiError err(503, "generation stopped: " + ev.error, "server_error", std::nullopt, "generation_error");
    if (!opts.stream) throw err;
    ex.send(sse_data(err.body()));
    return false;
  };

  while (remaining > 0) {
    if (ex.client_gone()) return cancel_all();
    bool progressed = false;
    for (size_t i = 0; i < choices.size(); ++i) {
      if (choices[i].done) continue;
      // One choice: block briefly (then look at the client again); several: poll each in turn.
      auto ev = choices[i].handle->next(choices.size() == 1 ? std::chrono::milliseconds(50)
                                                            : std::chrono::milliseconds(0));
      if (!ev) continue;
      progressed = true;
      if (!process(i, *ev)) {
        cancel_all();
        if (failed) {
          ex.send(sse_done());
          ex.end_stream();
        }
        return;
      }
    }
    if (!progressed && choices.size() > 1) {
      // Nothing ready: sleep on the first pending choice rather than spin.
      for (size_t i = 0; i < choices.size(); ++i) {
        if (choices[i].done) continue;
        if (auto ev = choices[i].handle->next(std::chrono::milliseconds(5)); ev && !process(i, *ev)) {
          cancel_all();
          if (failed) {
            ex.send(sse_done());
            ex.end_stream();
          }
          return;
        }
        break;
      }
    }
  }

  TokenUsage usage;
  usage.prompt_tokens = static_cast<int64_t>(prompt.size());
  for (const auto& c : choices) {
    usage.completion_tokens += c.usage.completion_tokens;
    usage.cached_tokens = std::max(usage.cached_tokens, c.usage.cached_tokens);
  }
  if (opts.stream) {
    if (opts.include_usage) ex.send(sse_data(chat ? chat_usage_chunk(meta, usage) : completion_usage_chunk(meta, usage)));
    ex.send(sse_done());
    ex.end_stream();
    return;
  }
  std::vector<FinishedChoice> finished;
  for (const auto& c : choices) {
    json lp = nullptr;
    if (want_logprobs) lp = chat ? chat_logprobs_json(c.logprobs, piece) : completion_logprobs_json(c.logprobs, piece, 0);
    finished.push_back({c.text, c.finish_reason, lp});
  }
  ex.reply(json_response(chat ? chat_completion_json(meta, finished, usage) : text_completion_json(meta, finished, usage)));
}

void OpenAiApi::embeddings(const HttpRequest& req, Exchange& ex) {
  require_method(req, "POST");
  const json body = parse_json_body(req.header("content-type"), req.body);
  const auto r = parse_embedding_request(body, served_);
  const auto& tok = engine_.tokenizer();
  json data = json::array();
  int64_t total = 0;
  for (size_t i = 0; i < r.inputs.size(); ++i) {
    const auto& in = r.inputs[i];
    const std::string param = r.inputs.size() == 1 ? "input" : "input[" + std::to_string(i) + "]";
    std::vector<int32_t> ids = in.text ? tok.encode(*in.text, /*add_special=*/true, /*parse_special=*/false) : in.tokens;
    if (ids.empty()) throw bad_field(param, "'" + param + "' has no tokens");
    if (static_cast<int64_t>(ids.size()) > served_.n_ctx)
      throw ApiError(400, "'" + param + "' is " + std::to_string(ids.size()) + " tokens, more than the context of " +
                              std::to_string(served_.n_ctx) + " tokens",
                     "invalid_request_error", param, "context_length_exceeded");
    if (ex.client_gone()) return;
    std::vector<float> v;
    try {
      v = engine_.embed(ids);
    } catch (const engine::InvalidRequest& e) {
      throw ApiError(400, e.what(), "invalid_request_error", param, "invalid_request");
    } catch (const engine::QueueFull& e) {
      throw overloaded(std::string("the server is busy: ") + e.what());
    }
    total += static_cast<int64_t>(ids.size());
    json item = {{"object", "embedding"}, {"index", i}};
    if (r.base64) item["embedding"] = base64_encode(v.data(), v.size() * sizeof(float));
    else item["embedding"] = v;
    data.push_back(std::move(item));
  }
  ex.reply(json_response({{"object", "list"},
                          {"data", data},
                          {"model", r.model},
                          {"usage", {{"prompt_tokens", total}, {"total_tokens", total}}}}));
}

void OpenAiApi::tokenize(const HttpRequest& req, Exchange& ex) {
  require_method(req, "POST");
  const json body = parse_json_body(req.header("content-type"), req.body);
  const auto r = parse_tokenize_request(body);
  const auto& tok = engine_.tokenizer();
  const auto ids = tok.encode(r.content, r.add_special, r.parse_special);
  json tokens = json::array();
  for (int32_t id : ids) {
    if (!r.with_pieces) {
      tokens.push_back(id);
      continue;
    }
    const std::string p = tok.token_to_piece(id, true);
    json piece;
    if (valid_utf8(p)) {
      piece = p;
    } else {  // half a character: give the bytes
      piece = json::array();
      for (unsigned char b : p) piece.push_back(static_cast<int>(b));
    }
    tokens.push_back({{"id", id}, {"piece", piece}});
  }
  ex.reply(json_response({{"tokens", tokens}}));
}

void OpenAiApi::detokenize(const HttpRequest& req, Exchange& ex) {
  require_method(req, "POST");
  const json body = parse_json_body(req.header("content-type"), req.body);
  const auto r = parse_detokenize_request(body, served_);
  ex.reply(json_response({{"content", engine_.tokenizer().decode(r.tokens)}}));
}

void OpenAiApi::apply_template(const HttpRequest& req, Exchange& ex) {
  require_method(req, "POST");
  const json body = parse_json_body(req.header("content-type"), req.body);
  const json messages = parse_apply_template_request(body);
  ex.reply(json_response({{"prompt", chat_.render(messages)}}));
}

}  // namespace ridge::server
