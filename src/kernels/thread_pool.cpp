#include "kernels/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <stdexcept>
#include <utility>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <sched.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace ridge::kernels {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// Sleeps while *word == expected (returns at once if it already differs, or on a spurious wake-up).
template <typename T>
void futex_wait(std::atomic<T>& word, T expected) {
  static_assert(sizeof(T) == 4 && sizeof(std::atomic<T>) == 4);
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, static_cast<uint32_t>(expected),
            nullptr, nullptr, 0);
}

template <typename T>
void futex_wake_all(std::atomic<T>& word) {
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

// Waits until done() holds, for at most kSpinMicros; returns done()'s last
// value. The first few microseconds busy-wait (the gap between two matmuls of
// a decode step); after that each check yields the core, so on a machine with
// more runnable threads than cores (a build next to a server) a waiting
// thread does not steal the time slice the thread it waits for needs.
template <typename Done>
bool spin_until(Done done) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto busy_until = start + std::chrono::microseconds(ThreadPool::kBusySpinMicros);
  const auto deadline = start + std::chrono::microseconds(ThreadPool::kSpinMicros);
  for (;;) {
    for (int i = 0; i < 32; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    const auto now = Clock::now();
    if (now >= deadline) return done();
    if (now >= busy_until) ::sched_yield();
  }
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)), shares_(static_cast<size_t>(n_threads_)) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_seq_cst);
  futex_wake_all(generation_);
  for (auto& t : workers_) t.join();
}

namespace {

constexpr uint64_t pack_range(int64_t front, int64_t back) {
  return static_cast<uint64_t>(front) << 32 | static_cast<uint64_t>(back);
}
constexpr int64_t range_front(uint64_t r) { return static_cast<int64_t>(r >> 32); }
constexpr int64_t range_back(uint64_t r) { return static_cast<int64_t>(r & 0xffffffffu); }

}  // namespace

void ThreadPool::run_chunks(int index) {
  std::atomic<uint64_t>& own = shares_[static_cast<size_t>(index)].range;
  for (;;) {
    if (failed_.load(std::memory_order_relaxed)) break;
    // Claim from the front of the own share: half of what is left (at
    // least a grain), so the first runs are long and the last ones short.
    uint64_t r = own.load(std::memory_order_acquire);
    int64_t begin = 0, end = 0;
    while (range_front(r) < range_back(r)) {
      const int64_t f = range_front(r), left = range_back(r) - f;
      const int64_t take = std::min(left, std::max(grain_, (left + 1) / 2));
      if (own.compare_exchange_weak(r, pack_range(f + take, range_back(r)), std::memory_order_acq_rel)) {
        begin = f;
        end = f + take;
        break;
      }
    }
    if (begin == end) {
      // The own share is used up: move the back half of the largest rest
      // of another share into it, and go on from there.
      int victim = -1;
      int64_t most = 0;
      for (int v = 0; v < n_threads_; ++v) {
        const uint64_t vr = shares_[static_cast<size_t>(v)].range.load(std::memory_order_acquire);
        if (range_back(vr) - range_front(vr) > most) most = range_back(vr) - range_front(vr), victim = v;
      }
      if (victim < 0) break;
      std::atomic<uint64_t>& from = shares_[static_cast<size_t>(victim)].range;
      uint64_t vr = from.load(std::memory_order_acquire);
      for (;;) {
        const int64_t f = range_front(vr), b = range_back(vr), left = b - f;
        if (left <= 0) break;
        const int64_t take = std::min(left, std::max(grain_, left / 2));
        if (from.compare_exchange_weak(vr, pack_range(f, b - take), std::memory_order_acq_rel)) {
          own.store(pack_range(b - take, b), std::memory_order_release);
          break;
        }
      }
      continue;
    }
    try {
      (*fn_)(begin, end, index);
    } catch (...) {
      std::lock_guard<std::mutex> lk(error_mu_);
      if (!error_) error_ = std::current_exception();
      failed_.store(true, std::memory_order_relaxed);
    }
  }
}

void ThreadPool::worker_loop(int index) {
  uint32_t seen = 0;
  for (;;) {
    uint32_t gen = generation_.load(std::memory_order_acquire);
    if (gen == seen && !spin_until([&] { return (gen = generation_.load(std::memory_order_acquire)) != seen; })) {
      // Sleep. The caller bumps generation_ and then reads sleepers_; this
      // thread raises sleepers_ and then reads generation_ (both seq_cst), so
      // at least one of the two sees the other and no wake-up is lost.
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      while ((gen = generation_.load(std::memory_order_seq_cst)) == seen) futex_wait(generation_, seen);
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
    }
    seen = gen;
    if (stop_.load(std::memory_order_relaxed)) return;
    run_chunks(index);
    // The same pairing as above, with the caller's caller_asleep_ and pending_.
    if (pending_.fetch_sub(1, std::memory_order_seq_cst) == 1 && caller_asleep_.load(std::memory_order_seq_cst) != 0)
      futex_wake_all(pending_);
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (n_threads_ == 1 || n <= grain) {
    fn(0, n, 0);
    return;
  }
  if (n >= (int64_t{1} << 32)) throw std::invalid_argument("parallel_for: more than 2^32 - 1 items");
  fn_ = &fn;
  grain_ = grain;
  failed_.store(false, std::memory_order_relaxed);
  error_ = nullptr;
  for (int i = 0; i < n_threads_; ++i)
    shares_[static_cast<size_t>(i)].range.store(pack_range(n * i / n_threads_, n * (i + 1) / n_threads_),
                                                std::memory_order_relaxed);
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_seq_cst);  // publishes the job
  if (sleepers_.load(std::memory_order_seq_cst) != 0) futex_wake_all(generation_);
  run_chunks(0);
  if (!spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; })) {
    caller_asleep_.store(1, std::memory_order_seq_cst);
    for (int32_t p; (p = pending_.load(std::memory_order_seq_cst)) != 0;) futex_wait(pending_, p);
    caller_asleep_.store(0, std::memory_order_relaxed);
  }
  std::atomic_thread_fence(std::memory_order_acquire);
  fn_ = nullptr;
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

int default_thread_count() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

}  // namespace ridge::kernels
