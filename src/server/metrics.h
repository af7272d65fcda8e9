#pragma once
// The server's Prometheus metrics: HTTP requests by endpoint and status,
// time-to-first-token and inter-token latency histograms, and the engine's
// gauges (queue depth, running sequences, KV blocks) rendered in the text
// exposition format for GET /metrics. Thread-safe.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ridge::server {

class LatencyHistogram {
 public:
  explicit LatencyHistogram(std::vector<double> upper_bounds_s);
  void observe(double seconds);
  // The "_bucket", "_sum" and "_count" lines for metric `name`.
  std::string render(const std::string& name, const std::string& help) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative); +Inf last
  double sum_ = 0;
  uint64_t count_ = 0;
};

// Engine state sampled at scrape time.
struct EngineGauges {
  int64_t running = 0, queued = 0;
  int64_t kv_blocks_used = 0, kv_blocks_total = 0, prefix_cache_blocks = 0;
  int64_t requests_total = 0, prompt_tokens_total = 0, generated_tokens_total = 0;
  int64_t steps_total = 0;
};

class ServerMetrics {
 public:
  ServerMetrics();
  // `endpoint` is the request path; unknown paths are counted as "other" so
  // a scanner cannot grow the label set without bound.
  void count_request(std::string_view endpoint, int status);
  void observe_time_to_first_token(double seconds);
  void observe_inter_token_latency(double seconds);
  void count_cached_prompt_tokens(int64_t n);
  std::string render(const EngineGauges& engine) const;

  static std::string endpoint_label(std::string_view path);

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  LatencyHistogram ttft_;
  LatencyHistogram itl_;
  int64_t cached_prompt_tokens_ = 0;
};

}  // namespace ridge::server
