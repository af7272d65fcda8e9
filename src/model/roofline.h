#pragma once
// The machine's two performance limits, measured in-process for `ridge bench`:
// streaming-read memory bandwidth (bounds decode, which reads every weight once
// per step) and FP32 FMA peak (the yardstick for prefill's arithmetic).
// Both use the same thread count as the benchmark they accompany.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cpu_features.h"

namespace ridge::kernels {
class ThreadPool;
}

namespace ridge::model {

struct ReadBandwidth {
  double bytes_per_s = 0;    // best pass
  uint64_t buffer_bytes = 0;
  int threads = 0;
  int passes = 0;
  // The request for lines ahead that the passes read with
  // (ReadBandwidthProbe): the fastest of them on this machine.
  kernels::LinePrefetch line_prefetch = kernels::LinePrefetch::None;
  int load_bytes = 8;  // the width of the passes' loads: 8 (plain), 32 (AVX2) or 64 (AVX-512)
};

// Reads a buffer of `buffer_bytes` (make it much larger than the last-level
// cache, e.g. 1 GiB) split over `threads` threads, `passes` times; returns the
// best pass. Throws std::invalid_argument for a buffer under 1 MiB or no threads.
ReadBandwidth measure_read_bandwidth(uint64_t buffer_bytes, int threads, int passes = 5);

// The same measurement with the buffer kept between measurements (allocated
// and written once, by the threads that read it), so it can be repeated next
// to each run of a benchmark at the cost of the reads alone.
//
// The passes read as the decode kernels do, each page touched a few pages
// early and each line asked for a few KiB early (kernels/prefetch.h); which
// prefetch instruction serves best depends on the CPU (PREFETCHNTA read at
// 0.42x of the rate of the others on one Intel Xeon, and 2-3% faster than
// none on Zen 5), so the constructor reads the buffer with each (and with
// none), with 32- and (where the CPU has AVX-512) 64-byte loads, twice each,
// and keeps the fastest: the roofline is the best of them, not whichever the
// kernels use.
class ReadBandwidthProbe {
 public:
  // Throws std::invalid_argument like measure_read_bandwidth.
  ReadBandwidthProbe(uint64_t buffer_bytes, int threads);
  kernels::LinePrefetch line_prefetch() const { return line_prefetch_; }
  int load_bytes() const { return load_bytes_; }
  // The best of `passes` timed passes, after an untimed one when `warm_first`
  // (pages left idle may have been reclaimed, or lost their TLB entries, and
  // would be faulted back in on the first read).
  ReadBandwidth measure(int passes, bool warm_first = true) const;
  // The same on the threads of `pool` (which must have as many), each pass
  // one fan-out timed by the caller: the threads a benchmark runs on, already
  // placed on their cores (a fresh thread may share a core with another until
  // the scheduler moves it, which halved some passes taken between decode
  // steps), the buffer handed out in pieces so a thread that starts late
  // still reads its part.
  ReadBandwidth measure(int passes, bool warm_first, kernels::ThreadPool& pool) const;

 private:
  uint64_t read_slice(int t) const;  // the sum of thread t's share of the buffer
  uint64_t read_words(uint64_t begin, uint64_t end) const;  // the sum of words [begin, end)
  ReadBandwidth result(const std::vector<double>& seconds, int untimed, const std::vector<uint64_t>& sinks) const;

  std::unique_ptr<uint64_t[]> buf_;
  uint64_t words_ = 0;
  int threads_ = 0;
  kernels::LinePrefetch line_prefetch_ = kernels::LinePrefetch::None;
  int load_bytes_ = 8;
};

struct FmaPeak {
  double flops_per_s = 0;  // best repetition, all threads together
  int threads = 0;
  std::string isa;         // "avx512", "avx2" or "scalar": the widest FMA this CPU runs
};

// Runs a register-resident FMA loop on every thread at once for about
// `seconds` per repetition, 3 repetitions; returns the best.
FmaPeak measure_fma_peak(int threads, double seconds = 0.2);

}  // namespace ridge::model
