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
  // least `grain` items; returns when all are done. Chunks are handed out
  // dynamically (an atomic counter), so uneven work balances. If fn throws,
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
  alignas(64) std::atomic<int64_t> next_{0};
  const std::function<void(int64_t, int64_t, int)>* fn_ = nullptr;
  int64_t n_ = 0;
  int64_t chunk_ = 1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::mutex error_mu_;
  std::exception_ptr error_;
};

// The default thread count: the hardware's, at least 1.
int default_thread_count();

}  // namespace ridge::kernels
