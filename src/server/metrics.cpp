#include "server/metrics.h"

#include <charconv>

namespace ridge::server {

namespace {

// Shortest text that reads back as the same double ("0.05", not "0.050000000000000003").
std::string num(double x) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
}

void gauge(std::string& out, const char* name, const char* type, const char* help, int64_t value) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
         std::to_string(value) + "\n";
}

}  // namespace

LatencyHistogram::LatencyHistogram(std::vector<double> upper_bounds_s)
    : bounds_(std::move(upper_bounds_s)), counts_(bounds_.size() + 1, 0) {}

void LatencyHistogram::observe(double seconds) {
  size_t i = 0;
  while (i < bounds_.size() && seconds > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += seconds;
  ++count_;
}

std::string LatencyHistogram::render(const std::string& name, const std::string& help) const {
  std::string out = "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t cum = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cum += counts_[i];
    out += name + "_bucket{le=\"" + num(bounds_[i]) + "\"} " + std::to_string(cum) + "\n";
  }
  cum += counts_.back();
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cum) + "\n";
  out += name + "_sum " + num(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
  return out;
}

ServerMetrics::ServerMetrics()
    : ttft_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      itl_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}) {}

std::string ServerMetrics::endpoint_label(std::string_view path) {
  static const char* known[] = {"/",           "/v1/chat/completions", "/v1/completions", "/v1/models",
                                "/v1/embeddings", "/health",           "/metrics",        "/apply-template",
                                "/tokenize",   "/detokenize"};
  const size_t q = path.find('?');
  if (q != std::string_view::npos) path = path.substr(0, q);
  for (const char* k : known)
    if (path == k) return k;
  if (path.substr(0, 11) == "/v1/models/") return "/v1/models/{id}";
  return "other";
}

void ServerMetrics::count_request(std::string_view endpoint, int status) {
  std::lock_guard lock(mu_);
  ++requests_[{endpoint_label(endpoint), status}];
}

void ServerMetrics::observe_time_to_first_token(double seconds) {
  std::lock_guard lock(mu_);
  ttft_.observe(seconds);
}

void ServerMetrics::observe_inter_token_latency(double seconds) {
  std::lock_guard lock(mu_);
  itl_.observe(seconds);
}

void ServerMetrics::count_cached_prompt_tokens(int64_t n) {
  std::lock_guard lock(mu_);
  cached_prompt_tokens_ += n;
}

std::string ServerMetrics::render(const EngineGauges& e) const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP ridge_http_requests_total HTTP requests answered, by endpoint and status.\n";
  out += "# TYPE ridge_http_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += "ridge_http_requests_total{endpoint=\"" + key.first + "\",status=\"" + std::to_string(key.second) + "\"} " +
           std::to_string(n) + "\n";
  gauge(out, "ridge_requests_running", "gauge", "Sequences the engine is decoding or prefilling.", e.running);
  gauge(out, "ridge_requests_queued", "gauge", "Requests waiting for a slot (queue depth).", e.queued);
  gauge(out, "ridge_kv_blocks_used", "gauge", "KV cache blocks in use, including those held only by the prefix cache.",
        e.kv_blocks_used);
  gauge(out, "ridge_kv_blocks_total", "gauge", "KV cache blocks in all.", e.kv_blocks_total);
  gauge(out, "ridge_kv_blocks_active", "gauge", "KV cache blocks held by queued or running requests (0 when idle).",
        e.kv_blocks_used - e.prefix_cache_blocks);
  gauge(out, "ridge_kv_prefix_cache_blocks", "gauge", "KV blocks held only by the prefix cache (reclaimable).",
        e.prefix_cache_blocks);
  gauge(out, "ridge_engine_requests_total", "counter", "Generation requests the engine accepted.", e.requests_total);
  gauge(out, "ridge_prompt_tokens_total", "counter", "Prompt tokens processed.", e.prompt_tokens_total);
  gauge(out, "ridge_generated_tokens_total", "counter", "Tokens generated.", e.generated_tokens_total);
  gauge(out, "ridge_cached_prompt_tokens_total", "counter", "Prompt tokens served from the prefix cache.",
        cached_prompt_tokens_);
  gauge(out, "ridge_engine_steps_total", "counter", "Scheduler steps (forward passes).", e.steps_total);
  out += ttft_.render("ridge_time_to_first_token_seconds", "Time from request arrival to its first generated token.");
  out += itl_.render("ridge_inter_token_latency_seconds", "Time between consecutive streamed tokens of one request.");
  return out;
}

}  // namespace ridge::server
