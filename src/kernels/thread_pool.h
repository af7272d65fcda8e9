#pragma once
// A fixed pool of worker threads for fanning one step's work (rows of a
// matmul, heads of attention) out over the cores. The calling thread takes a
// share of the work too, so a pool of N threads runs N-1 workers.
//
// A decode step of a small model is a few hundred short fan-outs (one per
// matmul), each a few tens of microseconds long, so the hand-off must cost far
// less than that: a job is published by bumping an atomic generation counter
// that idle workers spin on, and completion is an atomic countdown the caller
// spins on. Spinning is bounded (busy at first, then yielding the core between
// checks, kSpinMicros in all); past it a thread sleeps on a
// futex, and the other side only makes the wake-up system call when someone
// is actually asleep. So back-to-back fan-outs never enter the kernel, and an
// idle pool (a server between requests) costs nothing.
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ridge::kernels {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(begin, end, thread_index) over [0, n) split into chunks of at
  // least `grain` items; returns when all are done. Each thread owns one
  // contiguous share of [0, n) and walks it from the front in shrinking
  // chunks (long runs stream well from memory); a thread that runs out takes
  // the back half of the largest unclaimed rest of another share, so the
  // threads finish together even when one is slowed or starts late. If fn throws,
  // the remaining chunks are skipped and the first exception is rethrown here
  // once every thread has stopped. Not re-entrant; one caller at a time.
  void parallel_for(int64_t n, int64_t grain,
                    const std::function<void(int64_t, int64_t, int)>& fn);

  // How long a thread waits actively before it sleeps (while waiting for a
  // job, or for the others to finish one): busy for kBusySpinMicros, then
  // yielding the core between checks.
  static constexpr int64_t kBusySpinMicros = 20;
  static constexpr int64_t kSpinMicros = 200;

 private:
  void worker_loop(int index);
  void run_chunks(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  // Bumped once per job (and at shutdown); workers wait for it to change.
  // 32 bits: it is also the futex word.
  alignas(64) std::atomic<uint32_t> generation_{0};
  std::atomic<int> sleepers_{0};  // workers asleep (or about to be) on generation_
  // Workers still running the current job; the caller waits for 0 (also a futex word).
  alignas(64) std::atomic<int32_t> pending_{0};
  std::atomic<int> caller_asleep_{0};
  // The current job (written by the caller before the generation bump).
  // Each thread's share of it: the unclaimed items [front, back), packed as
  // front << 32 | back so a claim from the front (the owner) and a steal from
  // the back (another thread) are each one compare-and-swap.
  struct alignas(64) Share {
    std::atomic<uint64_t> range{0};
  };
  std::vector<Share> shares_;
  const std::function<void(int64_t, int64_t, int)>* fn_ = nullptr;
  int64_t grain_ = 1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::mutex error_mu_;
  std::exception_ptr error_;
};

// The default thread count: the hardware's, at least 1.
int default_thread_count();

}  // namespace ridge::kernels
