#include "model/roofline.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kernels/prefetch.h"
#include "kernels/thread_pool.h"
#include "model/bench_peak.h"

namespace ridge::model {

namespace {

using Clock = std::chrono::steady_clock;

// A reusable rendezvous of a fixed number of threads (a mutex and a
// generation count: simple, and every arrival is ordered before the release).
class Rendezvous {
 public:
  explicit Rendezvous(int n) : n_(n) {}
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lk(mu_);
    const uint64_t gen = generation_;
    if (++arrived_ == n_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lk, [&] { return generation_ != gen; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_;
  int arrived_ = 0;
  uint64_t generation_ = 0;
};

// Runs body(thread_index, round) on `threads` threads for `rounds` rounds,
// all threads starting each round together; returns each round's wall time,
// from the first thread's start to the last one's end. The workers take the
// times themselves: the coordinating thread may not even be running then.
template <class Body>
std::vector<double> timed_rounds(int threads, int rounds, Body&& body) {
  std::vector<Clock::time_point> starts(static_cast<size_t>(threads) * rounds), ends(starts.size());
  Rendezvous sync(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        sync.arrive_and_wait();
        starts[static_cast<size_t>(r) * threads + t] = Clock::now();
        body(t, r);
        ends[static_cast<size_t>(r) * threads + t] = Clock::now();
      }
    });
  }
  for (auto& w : workers) w.join();
  std::vector<double> seconds(rounds);
  for (int r = 0; r < rounds; ++r) {
    const auto first = starts.begin() + static_cast<ptrdiff_t>(r) * threads;
    const auto last = ends.begin() + static_cast<ptrdiff_t>(r) * threads;
    seconds[r] = std::chrono::duration<double>(*std::max_element(last, last + threads) -
                                               *std::min_element(first, first + threads))
                     .count();
  }
  return seconds;
}

// Whether the probe reads with read_sum_avx2 (bench_peak.h).
bool wide_loads() {
  static const bool wide = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return wide;
}

// Portable fallback: 8 independent multiply-add chains in plain floats.
float fma_peak_loop_scalar(int64_t iterations) {
  float acc[8];
  for (int i = 0; i < 8; ++i) acc[i] = 0.001f * static_cast<float>(i + 1);
  const float a = 0.999999f, b = 1e-7f;
  for (int64_t it = 0; it < iterations; ++it)
    for (float& x : acc) x = x * a + b;
  float s = 0;
  for (float x : acc) s += x;
  return s;
}

struct FmaKernel {
  const char* isa;
  float (*loop)(int64_t);
  int64_t flops_per_round;
};

FmaKernel best_fma_kernel() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    return {"avx512", fma_peak_loop_avx512, fma_peak_flops_per_round_avx512()};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return {"avx2", fma_peak_loop_avx2, fma_peak_flops_per_round_avx2()};
  return {"scalar", fma_peak_loop_scalar, 8 * 2};
}

}  // namespace

ReadBandwidthProbe::ReadBandwidthProbe(uint64_t buffer_bytes, int threads) : threads_(threads) {
  if (buffer_bytes < (uint64_t{1} << 20)) throw std::invalid_argument("read bandwidth: buffer must be at least 1 MiB");
  if (threads < 1) throw std::invalid_argument("read bandwidth: threads must be positive");
  words_ = buffer_bytes / sizeof(uint64_t);
  buf_.reset(new uint64_t[words_]);  // left unwritten here: each thread writes its own slice
  // Writing the pages makes them real (none stays a shared zero page) and
  // places them where the thread that reads them first touched them.
  timed_rounds(threads_, 1, [&](int t, int) {
    uint64_t* p = buf_.get();
    for (uint64_t i = words_ * t / threads_, e = words_ * (t + 1) / threads_; i < e; ++i)
      p[i] = i * 0x9e3779b97f4a7c15ULL;
  });
  if (!wide_loads()) return;  // the plain loop asks for no lines
  // The fastest loads and request for lines ahead (see the class comment):
  // the best of two passes with each, after one untimed pass for the first.
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") != 0;
  double best = 0;
  bool first = true;
  kernels::LinePrefetch chosen = kernels::LinePrefetch::None;
  int chosen_bytes = 32;
  for (int bytes : {32, 64}) {
    if (bytes == 64 && !avx512) continue;
    for (kernels::LinePrefetch hint : {kernels::LinePrefetch::None, kernels::LinePrefetch::Nta,
                                       kernels::LinePrefetch::T0, kernels::LinePrefetch::T1}) {
      line_prefetch_ = hint;
      load_bytes_ = bytes;
      const double rate = measure(2, first).bytes_per_s;
      first = false;
      if (rate > best) {
        best = rate;
        chosen = hint;
        chosen_bytes = bytes;
      }
    }
  }
  line_prefetch_ = chosen;
  load_bytes_ = chosen_bytes;
}

uint64_t ReadBandwidthProbe::read_slice(int t) const {
  return read_words(words_ * t / threads_, words_ * (t + 1) / threads_);
}

uint64_t ReadBandwidthProbe::read_words(uint64_t b, uint64_t e) const {
  const uint64_t* p = buf_.get();
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  uint64_t i = b;
  if (wide_loads()) {  // the fastest loads where the CPU has them (bench_peak.h)
    const uint64_t n = (e - b) / 32 * 32;
    s0 += load_bytes_ == 64 ? read_sum_avx512(p + b, p + b + n, static_cast<int>(line_prefetch_))
                            : read_sum_avx2(p + b, p + b + n, static_cast<int>(line_prefetch_));
    i = b + n;
  }
  for (; i + 4 <= e; i += 4) {
    s0 += p[i];
    s1 += p[i + 1];
    s2 += p[i + 2];
    s3 += p[i + 3];
  }
  for (; i < e; ++i) s0 += p[i];
  return s0 + s1 + s2 + s3;
}

ReadBandwidth ReadBandwidthProbe::result(const std::vector<double>& seconds, int untimed,
                                         const std::vector<uint64_t>& sinks) const {
  ReadBandwidth r;
  r.buffer_bytes = words_ * sizeof(uint64_t);
  r.threads = threads_;
  r.passes = static_cast<int>(seconds.size()) - untimed;
  r.line_prefetch = line_prefetch_;
  r.load_bytes = load_bytes_;
  r.bytes_per_s = static_cast<double>(r.buffer_bytes) / *std::min_element(seconds.begin() + untimed, seconds.end());
  // Keep the sums observable so the reads cannot be dropped.
  volatile uint64_t keep = 0;
  for (uint64_t s : sinks) keep = keep + s;
  return r;
}

ReadBandwidth ReadBandwidthProbe::measure(int passes, bool warm_first) const {
  if (passes < 1) throw std::invalid_argument("read bandwidth: passes must be positive");
  std::vector<uint64_t> sinks(static_cast<size_t>(threads_) * 8, 0);  // 64 bytes apart: no false sharing
  const int untimed = warm_first ? 1 : 0;
  const auto seconds =
      timed_rounds(threads_, passes + untimed, [&](int t, int) { sinks[static_cast<size_t>(t) * 8] += read_slice(t); });
  return result(seconds, untimed, sinks);
}

ReadBandwidth ReadBandwidthProbe::measure(int passes, bool warm_first, kernels::ThreadPool& pool) const {
  if (passes < 1) throw std::invalid_argument("read bandwidth: passes must be positive");
  if (pool.size() != threads_)
    throw std::invalid_argument("read bandwidth: a pool of " + std::to_string(pool.size()) + " threads for a probe of " +
                                std::to_string(threads_));
  std::vector<uint64_t> sinks(static_cast<size_t>(threads_) * 8, 0);
  const int untimed = warm_first ? 1 : 0;
  // Pieces of 2 MiB, so a thread that starts late (a vCPU woken from idle)
  // still takes its part of the pass: the pool hands each thread a
  // contiguous share of pieces and balances the ends by stealing, so the
  // runs read are long.
  constexpr uint64_t kPieceWords = (uint64_t{2} << 20) / sizeof(uint64_t);
  const auto pieces = static_cast<int64_t>((words_ + kPieceWords - 1) / kPieceWords);
  std::vector<double> seconds;
  for (int r = 0; r < passes + untimed; ++r) {
    const auto t0 = Clock::now();
    pool.parallel_for(pieces, 1, [&](int64_t b, int64_t e, int t) {
      sinks[static_cast<size_t>(t) * 8] += read_words(static_cast<uint64_t>(b) * kPieceWords,
                                                      std::min(words_, static_cast<uint64_t>(e) * kPieceWords));
    });
    seconds.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return result(seconds, untimed, sinks);
}

ReadBandwidth measure_read_bandwidth(uint64_t buffer_bytes, int threads, int passes) {
  if (passes < 1) throw std::invalid_argument("read bandwidth: threads and passes must be positive");
  return ReadBandwidthProbe(buffer_bytes, threads).measure(passes);
}

FmaPeak measure_fma_peak(int threads, double seconds) {
  if (threads < 1) throw std::invalid_argument("fma peak: threads must be positive");
  const FmaKernel k = best_fma_kernel();
  // Calibrate on one thread: rounds per second.
  int64_t probe = 1 << 16;
  double probe_s = 0;
  volatile float keep = 0;
  for (;;) {
    const auto t0 = Clock::now();
    keep = keep + k.loop(probe);
    probe_s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (probe_s > 0.01 || probe > (int64_t{1} << 40)) break;
    probe *= 4;
  }
  const int64_t rounds = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(probe) * seconds / probe_s));
  std::vector<float> sinks(static_cast<size_t>(threads) * 16, 0.f);
  const auto wall = timed_rounds(threads, 3, [&](int t, int) { sinks[static_cast<size_t>(t) * 16] += k.loop(rounds); });
  for (float s : sinks) keep = keep + s;
  FmaPeak r;
  r.threads = threads;
  r.isa = k.isa;
  const double flops = static_cast<double>(rounds) * static_cast<double>(k.flops_per_round) * threads;
  r.flops_per_s = flops / *std::min_element(wall.begin(), wall.end());
  return r;
}

}  // namespace ridge::model
