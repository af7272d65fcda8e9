// The scalar reference kernels against straightforward double-precision
// formulas on random inputs of awkward sizes, for every weight type the matmul
// accepts (simd_matmul_test.cpp holds the SIMD paths to these).
#include <gtest/gtest.h>

#include "common/random.h"

#include <atomic>
#include <mutex>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <cmath>
#include <random>

#include "kernels/ops.h"
#include "kernels/thread_pool.h"
#include "tensor/quant.h"

using namespace ridge;

namespace {

using ridge::test::randn;

}  // namespace

class MatmulTypes : public ::testing::TestWithParam<GgmlType> {};

TEST_P(MatmulTypes, MatchesDequantizedDoubleReference) {
  const GgmlType type = GetParam();
  const int64_t bs = ggml_type_traits(type).block_size;
  const int64_t cols = bs == 1 ? 67 : bs * 3;  // awkward: odd widths where the type allows
  const int64_t rows = 37;
  for (int64_t n_tokens : {1, 3, 8}) {
    auto w = randn(rows * cols, 1 + n_tokens);
    auto bytes = tensor::quantize(type, w.data(), rows, cols);
    kernels::WeightMatrix W{type, bytes.data(), cols, rows, ggml_row_bytes(type, cols)};
    // The reference multiplies the weights as stored (dequantized), in double.
    std::vector<float> deq(cols);
    auto x = randn(n_tokens * cols, 99);
    std::vector<float> y(n_tokens * rows);
    kernels::ThreadPool pool(3);
    kernels::matmul(W, x.data(), n_tokens, y.data(), pool, kernels::KernelPath::Scalar);
    for (int64_t r = 0; r < rows; ++r) {
      kernels::get_row(W, r, deq.data());
      for (int64_t t = 0; t < n_tokens; ++t) {
        double s = 0, mag = 0;
        for (int64_t c = 0; c < cols; ++c) {
          s += static_cast<double>(deq[c]) * x[t * cols + c];
          mag += std::abs(static_cast<double>(deq[c]) * x[t * cols + c]);
        }
        ASSERT_NEAR(y[t * rows + r], s, 1e-5 * mag + 1e-6) << "row " << r << " token " << t;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, MatmulTypes,
                         ::testing::Values(GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0,
                                           GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q6_K),
                         [](const auto& info) { return std::string(ggml_type_name(info.param)); });

TEST(Kernels, RmsNorm) {
  auto x = randn(77, 1);
  auto w = randn(77, 2);
  std::vector<float> out(77);
  kernels::rmsnorm(x.data(), w.data(), 77, 1e-5f, out.data(), kernels::KernelPath::Scalar);
  double ss = 0;
  for (float v : x) ss += double(v) * v;
  const double k = 1.0 / std::sqrt(ss / 77 + 1e-5);
  for (int i = 0; i < 77; ++i) EXPECT_NEAR(out[i], x[i] * k * w[i], 1e-5);
}

TEST(Kernels, RopeRotatesAdjacentPairsAndKeepsNorm) {
  const int heads = 3, hd = 8, dims = 6;  // partial rotary: last pair untouched
  auto v = randn(heads * hd, 5);
  auto orig = v;
  std::vector<double> inv(dims / 2);
  for (int i = 0; i < dims / 2; ++i) inv[i] = std::pow(10000.0, -2.0 * i / dims);
  kernels::rope_normal(v.data(), heads, hd, dims, 17, inv.data());
  for (int h = 0; h < heads; ++h)
    for (int i = 0; i < hd / 2; ++i) {
      const float a = orig[h * hd + 2 * i], b = orig[h * hd + 2 * i + 1];
      if (2 * i >= dims) {
        EXPECT_EQ(v[h * hd + 2 * i], a);
        continue;
      }
      const double th = 17 * inv[i];
      EXPECT_NEAR(v[h * hd + 2 * i], a * std::cos(th) - b * std::sin(th), 1e-5);
      EXPECT_NEAR(v[h * hd + 2 * i + 1], a * std::sin(th) + b * std::cos(th), 1e-5);
    }
}

TEST(ThreadPool, CoversEveryIndexExactlyOnceAcrossManyJobs) {
  kernels::ThreadPool pool(4);
  for (int64_t n : {1, 2, 7, 100, 1001}) {
    std::vector<std::atomic<int>> hits(n);
    for (int rep = 0; rep < 50; ++rep) {
      pool.parallel_for(n, 1, [&](int64_t b, int64_t e, int tid) {
        ASSERT_GE(tid, 0);
        ASSERT_LT(tid, 4);
        for (int64_t i = b; i < e; ++i) hits[i]++;
      });
    }
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 50);
  }
}

// Thousands of back-to-back short jobs (a decode step's pattern): every index
// exactly once per job, and the pool sleeping between bursts (longer than its
// spin time) wakes up again.
TEST(ThreadPool, ManyShortJobsAndWakeUpsAfterSleeping) {
  kernels::ThreadPool pool(2);
  std::vector<int> hits(64, 0);
  for (int burst = 0; burst < 3; ++burst) {
    for (int job = 0; job < 3000; ++job)
      pool.parallel_for(64, 1, [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) hits[i]++;  // each index belongs to one chunk only
      });
    std::this_thread::sleep_for(std::chrono::microseconds(3 * kernels::ThreadPool::kSpinMicros));
  }
  for (int h : hits) ASSERT_EQ(h, 9000);
}

// Each thread walks its own contiguous share from the front in long runs;
// when one thread stalls, the others take the back of its unclaimed rest, so
// the job does not wait for it to work through its whole share.
TEST(ThreadPool, SharesAreContiguousAndAStalledThreadsRestIsTaken) {
  kernels::ThreadPool pool(2);
  const int64_t n = 1000;
  std::mutex mu;
  std::vector<std::pair<int64_t, int64_t>> caller_chunks;
  std::vector<int> owner(n, -1);
  std::atomic<bool> stalled{false};
  pool.parallel_for(n, 4, [&](int64_t b, int64_t e, int tid) {
    if (tid != 0 && !stalled.exchange(true)) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    // The caller's items take time, so the worker surely starts meanwhile.
    if (tid == 0) std::this_thread::sleep_for(std::chrono::microseconds(100 * (e - b)));
    std::lock_guard<std::mutex> lk(mu);
    if (tid == 0) caller_chunks.emplace_back(b, e);
    for (int64_t i = b; i < e; ++i) {
      ASSERT_EQ(owner[i], -1) << "index " << i << " ran twice";
      owner[i] = tid;
    }
    EXPECT_GE(e - b, std::min<int64_t>(4, e - b));
  });
  for (int64_t i = 0; i < n; ++i) ASSERT_NE(owner[i], -1) << "index " << i << " never ran";
  ASSERT_FALSE(caller_chunks.empty());
  // The caller's first run is the first half of its share [0, 500).
  EXPECT_EQ(caller_chunks.front(), (std::pair<int64_t, int64_t>{0, 250}));
  // The worker slept 300 ms in its first chunk (the first half of its share,
  // [500, 750)) while the caller's share took about 50 ms: the caller also
  // ran all the rest of the worker's share (without stealing it runs 500).
  EXPECT_TRUE(stalled.load());
  int64_t by_caller = 0;
  for (int o : owner) by_caller += o == 0;
  EXPECT_GE(by_caller, 750);
}

TEST(ThreadPool, RefusesMoreItemsThanItCanIndex) {
  kernels::ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_for(int64_t{1} << 32, 1, [](int64_t, int64_t, int) {}), std::invalid_argument);
}

// An exception thrown by the work function on any thread reaches the caller
// (the first one), the pool stays usable, and the next job runs normally.
TEST(ThreadPool, RethrowsTheWorkersExceptionAndStaysUsable) {
  kernels::ThreadPool pool(3);
  for (int rep = 0; rep < 20; ++rep) {
    EXPECT_THROW(pool.parallel_for(100, 1,
                                   [&](int64_t b, int64_t e, int) {
                                     for (int64_t i = b; i < e; ++i)
                                       if (i == 57) throw std::runtime_error("index 57");
                                   }),
                 std::runtime_error);
    std::atomic<int64_t> sum{0};
    pool.parallel_for(100, 1, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) sum += i;
    });
    ASSERT_EQ(sum.load(), 4950);
  }
}
