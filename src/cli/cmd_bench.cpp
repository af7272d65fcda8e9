// `ridge bench`: llama-bench-style throughput (prefill of a p-token batch,
// decode of n tokens one at a time, batched decode of several sequences
// together), each the median of repetitions after a warm-up, set against the
// machine's limits measured in the same run: streaming-read bandwidth (decode
// reads every weight once per step) and FP32 FMA peak (prefill's arithmetic).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "gguf/gguf.h"
#include "kernels/cpu_features.h"
#include "kernels/thread_pool.h"
#include "kv/kv_cache.h"
#include "model/llama.h"
#include "model/roofline.h"

namespace ridge::cli {

namespace {

constexpr const char* kBenchHelp =
    "usage: ridge bench -m MODEL.gguf [options]\n"
    "\n"
    "Measures tokens/s like llama-bench and the machine's limits in the same run.\n"
    "  ppP     prefill: one forward pass over a batch of P prompt tokens\n"
    "  tgN     decode: N tokens, one forward pass each\n"
    "  batchB  B sequences decoding N tokens together (one token of each per pass);\n"
    "          tokens/s counts all sequences' tokens\n"
    "Each is the median of REPS runs after a warm-up. Rooflines: streaming-read\n"
    "bandwidth (a buffer much larger than the cache, read by as many threads,\n"
    "each 4 KiB page touched a few pages ahead and each line asked for a few KiB\n"
    "ahead as the matmul kernels do, with the fastest loads (32 or 64 bytes) and\n"
    "prefetch instruction (none, prefetchnta, prefetcht0, prefetcht1) on this machine),\n"
    "measured in the same stretch of time as each run: one timed pass over the\n"
    "buffer (after an untimed one) just before the run, one after every 8 decode\n"
    "steps (not counted as the run's time) and one just after it; FP32 FMA peak\n"
    "(a register-resident FMA loop per thread), before and after the tests, the\n"
    "better counting. Reported against them:\n"
    "  GFLOP/s    2 x matmul parameters x tokens/s (all weight matrices, output\n"
    "             included, as llama.cpp's figures count them), and its ratio to the peak\n"
    "  weight GB/s  weight bytes read per forward pass x passes/s\n"
    "  / bandwidth  each run's weight GB/s against the read bandwidth of the passes\n"
    "             around and within it (their median: the memory speed of a shared\n"
    "             machine drifts, so run and roofline are measured over the same\n"
    "             time), the median over the runs; for tgN this is the decode\n"
    "             roofline share. --json also gives each run's share and roofline,\n"
    "             and the share of the best pass of the whole benchmark\n"
    "\n"
    "  -m, --model FILE     GGUF model (required)\n"
    "  -p, --n-prompt P     prompt tokens, 0 skips (default 512)\n"
    "  -n, --n-gen N        generated tokens, 0 skips (default 128)\n"
    "  -d, --n-depth D      tokens of context each sequence already holds when a test\n"
    "                       starts (a prefill, not counted), as llama-bench -d (default 0)\n"
    "  -t, --threads T      threads (default: all cores)\n"
    "  -r, --repetitions R  runs per test (default 3)\n"
    "  -b, --batches LIST   sequence counts for batched decode, e.g. 1,4,8; 0 skips (default 0)\n"
    "      --bandwidth-mib M  buffer for the bandwidth roofline in MiB (default 1024)\n"
    "  -ctk, -ctv T         KV cache element type for K and V: f16 or f32 (default f16)\n"
    "      --json           one JSON object per line per test instead of a table\n";

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// What one forward pass reads and computes, from the tensor table.
struct ModelStats {
  std::string name;
  std::string dominant_type;       // the type holding most weight bytes
  uint64_t n_params = 0;           // every tensor's elements
  uint64_t matmul_params = 0;      // elements of the matrices multiplied each pass
  uint64_t weight_bytes_per_pass = 0;  // their bytes: each pass reads them once
  uint64_t file_bytes = 0;
};

ModelStats model_stats(const gguf::File& f) {
  ModelStats s;
  s.name = f.get_string_or("general.name", "");
  s.file_bytes = f.file_size();
  // Every 2-D weight is a matmul operand, except the embedding table, which is
  // only looked up (one row per token) unless it doubles as the output matrix.
  const bool tied = f.find_tensor("output.weight") == nullptr;
  std::map<GgmlType, uint64_t> bytes_by_type;
  for (const auto& t : f.tensors()) {
    s.n_params += static_cast<uint64_t>(t.n_elements());
    if (t.n_dims < 2 || (t.name == "token_embd.weight" && !tied)) continue;
    s.matmul_params += static_cast<uint64_t>(t.n_elements());
    s.weight_bytes_per_pass += t.n_bytes;
    bytes_by_type[t.type] += t.n_bytes;
  }
  uint64_t most = 0;
  for (const auto& [type, bytes] : bytes_by_type)
    if (bytes > most) most = bytes, s.dominant_type = std::string(ggml_type_name(type));
  return s;
}

struct BenchTest {
  std::string name;    // "pp512", "tg128", "batch8"
  int64_t n_prompt = 0;
  int64_t n_gen = 0;
  int64_t n_seqs = 1;  // batched decode: sequences per pass
  int64_t n_depth = 0; // tokens of context each sequence holds before the timed part
};

struct TestResult {
  BenchTest test;
  std::vector<double> tokens_per_s;  // one per repetition
  double median = 0, stddev = 0;
  double passes_per_token = 1;       // forward passes per token (1/P for prefill, 1/B for batches)
  // Per repetition: the streaming-read roofline over the same time (the median
  // rate of the read passes around and within it) and the run's share of it.
  std::vector<double> roofline_bytes_per_s, bandwidth_share;
  int64_t read_passes_per_run = 0;
};

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double stddev_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

class Bencher {
 public:
  Bencher(const model::LlamaModel& m, kernels::ThreadPool& pool, GgmlType kv_type)
      : m_(m), pool_(pool), kv_type_(kv_type), rng_(1234) {}

  // Decode steps between two calls of run()'s `between`.
  static constexpr int64_t kStepsBetween = 8;

  // Seconds for one run of `t`, on a fresh cache; `warmup` runs a shortened
  // version (the whole prompt, one decode step) to fault pages in and wake
  // threads. `between`, if set, is called after every kStepsBetween decode
  // steps but the last; its time is not counted. With a depth, each sequence
  // first gets that many tokens of context (a prefill per sequence, not
  // counted either), as llama-bench's -d.
  double run(const BenchTest& t, bool warmup, const std::function<void()>& between = {}) {
    const int64_t steps = warmup ? std::min<int64_t>(t.n_gen, 1) : t.n_gen;
    const int64_t positions = t.n_seqs * (t.n_depth + std::max(t.n_prompt, t.n_gen + 16));
    kv::KvCache cache(m_.kv_config(positions, 16, kv_type_));
    std::vector<float> logits;
    model::Batch batch;
    for (int64_t s = 0; s < t.n_seqs && t.n_depth > 0; ++s) {
      batch.clear();
      for (int64_t i = 0; i < t.n_depth; ++i) batch.add(token(), i, static_cast<int32_t>(s), i + 1 == t.n_depth);
      m_.forward(batch, cache, pool_, logits);
    }
    logits.clear();
    const auto t0 = Clock::now();
    double paused = 0;
    if (t.n_prompt > 0) {
      // Logits for the last token only, as a prompt is processed.
      batch.clear();
      for (int64_t i = 0; i < t.n_prompt; ++i) batch.add(token(), t.n_depth + i, 0, i + 1 == t.n_prompt);
      m_.forward(batch, cache, pool_, logits);
    }
    for (int64_t step = 0; step < steps; ++step) {
      batch.clear();
      logits.clear();
      for (int64_t s = 0; s < t.n_seqs; ++s) batch.add(token(), t.n_depth + step, static_cast<int32_t>(s), true);
      m_.forward(batch, cache, pool_, logits);
      if (between && (step + 1) % kStepsBetween == 0 && step + 1 < steps) {
        const auto p0 = Clock::now();
        between();
        paused += seconds_since(p0);
      }
    }
    return seconds_since(t0) - paused;
  }

 private:
  int32_t token() { return static_cast<int32_t>(rng_() % static_cast<uint64_t>(m_.hparams().n_vocab)); }

  const model::LlamaModel& m_;
  kernels::ThreadPool& pool_;
  GgmlType kv_type_;
  std::mt19937_64 rng_;
};

std::vector<int64_t> parse_batches(const std::string& list) {
  std::vector<int64_t> out;
  size_t at = 0;
  while (at <= list.size()) {
    const size_t comma = std::min(list.find(',', at), list.size());
    const std::string item = list.substr(at, comma - at);
    size_t used = 0;
    int64_t v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || v < 0 || v > 1024)
      throw ArgError("-b: '" + item + "' is not a sequence count between 0 and 1024 (expected a list like 1,4,8)");
    if (v > 0) out.push_back(v);
    at = comma + 1;
  }
  return out;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  std::string model_path;
  KvCacheTypes cache_types;
  GgmlType kv_type = GgmlType::F16;
  int64_t n_prompt = 512, n_gen = 128, n_depth = 0, reps = 3, bandwidth_mib = 1024;
  int threads = kernels::default_thread_count();
  std::vector<int64_t> batches;
  bool json = false;
  try {
    Args a(argc, argv);
    while (a.next()) {
      if (a.is("-h", "--help")) {
        std::fputs(kBenchHelp, stdout);
        return 0;
      } else if (a.is("-m", "--model")) {
        model_path = a.value();
      } else if (a.is("-p", "--n-prompt")) {
        n_prompt = a.int_value(0, 1 << 16);
      } else if (a.is("-n", "--n-gen")) {
        n_gen = a.int_value(0, 1 << 16);
      } else if (a.is("-d", "--n-depth")) {
        n_depth = a.int_value(0, 1 << 16);
      } else if (a.is("-t", "--threads")) {
        threads = static_cast<int>(a.int_value(1, 1024));
      } else if (a.is("-r", "--repetitions")) {
        reps = a.int_value(1, 1000);
      } else if (a.is("-b", "--batches")) {
        batches = parse_batches(a.value());
      } else if (a.is("--bandwidth-mib")) {
        bandwidth_mib = a.int_value(1, 1 << 20);
      } else if (a.cache_type_flag(cache_types)) {
      } else if (a.is("--json")) {
        json = true;
      } else {
        a.unknown();
      }
    }
    if (model_path.empty()) throw ArgError("missing -m MODEL.gguf (see ridge bench --help)");
    if (!batches.empty() && n_gen == 0) throw ArgError("-b needs tokens to decode: -n must be positive");
    kv_type = cache_types.resolve();
  } catch (const ArgError& e) {
    std::fprintf(stderr, "ridge bench: %s\n", e.what());
    return 1;
  }

  try {
    // Everything until a forward pass can run: map, validate, bind, repack.
    const auto load_start = Clock::now();
    auto model = model::LlamaModel::load(model_path);
    const double load_ms = 1e3 * seconds_since(load_start);
    const ModelStats stats = model_stats(model->file());
    kernels::ThreadPool pool(threads);
    const char* kernel_path = kernels::kernel_path_name();
    const kernels::LinePrefetchPolicy lines = kernels::active_line_prefetch();
    // The light stream's hint differs only where a vendor's default sets it apart.
    const std::string line_prefetch_text =
        lines.light == lines.stream
            ? std::string(kernels::line_prefetch_name(lines.stream))
            : std::string(kernels::line_prefetch_name(lines.stream)) + ", AVX-512 Q8_0 " +
                  kernels::line_prefetch_name(lines.light);
    const char* line_prefetch = line_prefetch_text.c_str();

    std::vector<BenchTest> tests;
    // Named as llama-bench names them: "tg128", or "tg128 @ d1024" at a depth.
    const std::string at_depth = n_depth > 0 ? " @ d" + std::to_string(n_depth) : "";
    if (n_prompt > 0) tests.push_back({"pp" + std::to_string(n_prompt) + at_depth, n_prompt, 0, 1, n_depth});
    if (n_gen > 0) tests.push_back({"tg" + std::to_string(n_gen) + at_depth, 0, n_gen, 1, n_depth});
    for (int64_t b : batches)
      tests.push_back({"batch" + std::to_string(b) + at_depth, 0, n_gen, b, n_depth});

    // The streaming-read roofline is measured over the same stretch of time
    // as each repetition. On a shared machine the memory system's speed
    // drifts (here by 15% within a minute, and in and out of slower states
    // that last minutes), so a roofline from other moments than the run it
    // judges measures the drift as much as the run; and the best of a few
    // short passes is an upper tail that no sustained run meets. So each
    // repetition is framed by read passes (one just before, one after every
    // kStepsBetween decode steps, their time excluded from the run's, one just
    // after) and set against their median rate. The median, because a pass is
    // short (tens of ms) and this VM now and then stalls one for as long again
    // or longer (with or without a run beside it), which a mean would pass on
    // to the roofline at full weight while a run's own rate dilutes the stalls
    // it meets; so the roofline errs high, against the run. A test's share is
    // the median of its repetitions' shares. The header reports the best and
    // the lowest pass of the whole benchmark; --json also gives the share of
    // the best pass.
    // The FMA peak (which does not drift that way) is measured before and
    // after the tests, keeping the better.
    const model::ReadBandwidthProbe probe(static_cast<uint64_t>(bandwidth_mib) << 20, threads);
    auto bw = probe.measure(5, true, pool);
    auto peak = model::measure_fma_peak(threads);
    double bw_low = bw.bytes_per_s;
    // The rates of one repetition's read passes. Each timed pass follows an
    // untimed one: the first pass after compute-heavy work (a prefill, a
    // batched step) often reads at a third to a half of the rate of the next
    // one, here on this VM, while passes after single-token decode steps do
    // not; the untimed pass also faults back pages reclaimed while the buffer
    // sat idle.
    auto read_pass = [&](std::vector<double>& window) {
      const auto b = probe.measure(1, /*warm_first=*/true, pool);
      if (b.bytes_per_s > bw.bytes_per_s) bw = b;
      bw_low = std::min(bw_low, b.bytes_per_s);
      window.push_back(b.bytes_per_s);
    };

    Bencher bencher(*model, pool, kv_type);
    std::vector<TestResult> results;
    for (const auto& t : tests) {
      TestResult r;
      r.test = t;
      bencher.run(t, /*warmup=*/true);
      const int64_t tokens = t.n_prompt > 0 ? t.n_prompt : t.n_gen * t.n_seqs;
      r.passes_per_token = t.n_prompt > 0 ? 1.0 / static_cast<double>(t.n_prompt) : 1.0 / static_cast<double>(t.n_seqs);
      for (int64_t i = 0; i < reps; ++i) {
        std::vector<double> window;
        read_pass(window);
        const double tps = static_cast<double>(tokens) / bencher.run(t, false, [&] { read_pass(window); });
        read_pass(window);
        const double roofline = median_of(window);
        r.tokens_per_s.push_back(tps);
        r.roofline_bytes_per_s.push_back(roofline);
        r.bandwidth_share.push_back(static_cast<double>(stats.weight_bytes_per_pass) * tps * r.passes_per_token /
                                    roofline);
        r.read_passes_per_run = static_cast<int64_t>(window.size());
      }
      r.median = median_of(r.tokens_per_s);
      r.stddev = stddev_of(r.tokens_per_s);
      results.push_back(r);
    }

    const auto bw_after = probe.measure(5, true, pool);
    if (bw_after.bytes_per_s > bw.bytes_per_s) bw = bw_after;
    bw_low = std::min(bw_low, bw_after.bytes_per_s);
    const auto peak_after = model::measure_fma_peak(threads);
    if (peak_after.flops_per_s > peak.flops_per_s) peak = peak_after;
    const double bw_gbs = bw.bytes_per_s / 1e9, peak_gflops = peak.flops_per_s / 1e9;
    auto gflops = [&](const TestResult& r) { return 2.0 * static_cast<double>(stats.matmul_params) * r.median / 1e9; };
    auto weight_gbs = [&](const TestResult& r) {
      return static_cast<double>(stats.weight_bytes_per_pass) * r.median * r.passes_per_token / 1e9;
    };
    auto gbs = [](std::vector<double> v) {
      for (double& x : v) x /= 1e9;
      return v;
    };
    if (json) {
      for (const auto& r : results) {
        nlohmann::json j = {
            {"test", r.test.name},
            {"n_prompt", r.test.n_prompt},
            {"n_gen", r.test.n_gen},
            {"n_seqs", r.test.n_seqs},
            {"n_depth", r.test.n_depth},
            {"tokens_per_s", r.median},
            {"tokens_per_s_stddev", r.stddev},
            {"samples_tokens_per_s", r.tokens_per_s},
            {"repetitions", reps},
            {"load_ms", load_ms},
            {"threads", threads},
            {"model", model_path},
            {"model_name", stats.name},
            {"type", stats.dominant_type},
            {"kernel_path", kernel_path},
            {"line_prefetch", line_prefetch},
            {"amx", kernels::amx_int8_active()},
            {"n_params", stats.n_params},
            {"matmul_params", stats.matmul_params},
            {"model_bytes", stats.file_bytes},
            {"weight_bytes_per_pass", stats.weight_bytes_per_pass},
            {"bandwidth_gb_s", bw_gbs},
            {"bandwidth_buffer_bytes", bw.buffer_bytes},
            {"bandwidth_line_prefetch", kernels::line_prefetch_name(bw.line_prefetch)},
            {"bandwidth_load_bytes", bw.load_bytes},
            {"fma_peak_gflops", peak_gflops},
            {"fma_isa", peak.isa},
            {"gflops_effective", gflops(r)},
            {"fma_peak_ratio", gflops(r) / peak_gflops},
            {"weight_read_gb_s", weight_gbs(r)},
            {"bandwidth_share", median_of(r.bandwidth_share)},
            {"samples_bandwidth_share", r.bandwidth_share},
            {"samples_bandwidth_gb_s", gbs(r.roofline_bytes_per_s)},
            {"bandwidth_passes_per_run", r.read_passes_per_run},
            {"bandwidth_share_of_best", weight_gbs(r) / bw_gbs},
        };
        std::printf("%s\n", j.dump().c_str());
      }
      std::fflush(stdout);
      return 0;
    }

    std::printf("model: %s%s%s\n", model_path.c_str(), stats.name.empty() ? "" : " - ", stats.name.c_str());
    const double params = static_cast<double>(stats.n_params);
    std::printf("  %.3f %s parameters, type %s, %.1f MiB of weights read per forward pass, %.1f MiB file\n",
                params >= 1e9 ? params / 1e9 : params / 1e6, params >= 1e9 ? "B" : "M", stats.dominant_type.c_str(),
                static_cast<double>(stats.weight_bytes_per_pass) / 1048576.0,
                static_cast<double>(stats.file_bytes) / 1048576.0);
    std::printf("kernels: %s%s (lines ahead: %s)   threads: %d   repetitions: %lld (median after a warm-up)\n",
                kernel_path, kernels::amx_int8_active() ? " + AMX-INT8 for 32+ tokens" : "", line_prefetch, threads,
                static_cast<long long>(reps));
    std::printf("load: %.0f ms (map, validate, bind and repack the weights)\n", load_ms);
    std::printf("rooflines: streaming read %.2f GB/s best, %.2f lowest of the passes around and within the runs (%lld "
                "MiB, %d threads, %d-byte loads, lines ahead: %s); FP32 FMA peak %.1f GFLOP/s (%s, %d threads)\n",
                bw_gbs, bw_low / 1e9, static_cast<long long>(bw.buffer_bytes >> 20), threads, bw.load_bytes,
                kernels::line_prefetch_name(bw.line_prefetch), peak_gflops, peak.isa.c_str(), threads);
    std::printf("/ bandwidth: each run's weight reads against the median read rate of the passes around and within "
                "it (median)\n\n");
    size_t name_width = 9;
    for (const auto& r : results) name_width = std::max(name_width, r.test.name.size());
    const int nw = static_cast<int>(name_width);
    std::printf("| %-*s | %10s | %8s | %9s | %10s | %11s | %11s |\n", nw, "test", "t/s", "+/-", "GFLOP/s", "/ FMA peak",
                "weight GB/s", "/ bandwidth");
    std::printf("| %-*s | %10s | %8s | %9s | %10s | %11s | %11s |\n", nw, "---", "---:", "---:", "---:", "---:", "---:",
                "---:");
    for (const auto& r : results)
      std::printf("| %-*s | %10s | %8s | %9s | %10s | %11s | %10s%% |\n", nw, r.test.name.c_str(),
                  fixed(r.median, 2).c_str(), fixed(r.stddev, 2).c_str(), fixed(gflops(r), 1).c_str(),
                  fixed(gflops(r) / peak_gflops, 2).c_str(), fixed(weight_gbs(r), 2).c_str(),
                  fixed(100.0 * median_of(r.bandwidth_share), 1).c_str());
    std::fflush(stdout);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ridge bench: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace ridge::cli
