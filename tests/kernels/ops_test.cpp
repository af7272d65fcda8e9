// The scalar reference kernels against straightforward double-precision
// formulas on random inputs of awkward sizes, for every weight type the matmul
// accepts (simd_matmul_test.cpp holds the SIMD paths to these).
#include <gtest/gtest.h>

#include "common/random.h"

#include <atomic>
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

TEST(Kernels, SoftmaxSumsToOneAndIsStableForLargeValues) {
  std::vector<float> v = {1000.f, 1001.f, 999.f, -1e30f};
  kernels::softmax(v.data(), 4);
  double sum = 0;
  for (float p : v) sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-6);
  EXPECT_GT(v[1], v[0]);
  EXPECT_EQ(v[3], 0.f);
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

TEST(Kernels, AttentionOverPagedRowsMatchesDirectFormula) {
  const int hd = 12, kv_heads = 2, block = 5;
  const int64_t n_pos = 23;  // spans 5 blocks, last one partial
  const int64_t stride = kv_heads * hd;
  auto kdata = randn(n_pos * stride, 3), vdata = randn(n_pos * stride, 4), q = randn(hd, 6);
  // Scatter rows into non-contiguous blocks in reverse order.
  const int64_t n_blocks = (n_pos + block - 1) / block;
  std::vector<std::vector<float>> kb(n_blocks, std::vector<float>(block * stride)), vb = kb;
  std::vector<const float*> kp, vp;
  for (int64_t b = 0; b < n_blocks; ++b) {
    for (int64_t r = 0; r < block && b * block + r < n_pos; ++r)
      for (int64_t i = 0; i < stride; ++i) {
        kb[b][r * stride + i] = kdata[(b * block + r) * stride + i];
        vb[b][r * stride + i] = vdata[(b * block + r) * stride + i];
      }
  }
  for (int64_t b = 0; b < n_blocks; ++b) kp.push_back(kb[b].data()), vp.push_back(vb[b].data());
  kernels::PagedRows K{kp.data(), block, stride}, Vv{vp.data(), block, stride};
  std::vector<float> scores(n_pos), out(hd);
  const float scale = 0.3f;
  std::vector<double> s(n_pos);
  double mx = -1e300, sum = 0;
  for (int64_t p = 0; p < n_pos; ++p) {
    double d = 0;
    for (int i = 0; i < hd; ++i) d += double(q[i]) * kdata[p * stride + hd + i];
    s[p] = d * scale;
    mx = std::max(mx, s[p]);
  }
  for (auto& e : s) sum += (e = std::exp(e - mx));
  for (auto path : kernels::supported_kernel_paths()) {
    kernels::attention_head(q.data(), K, Vv, 1, hd, n_pos, scale, scores.data(), out.data(), path);
    for (int i = 0; i < hd; ++i) {
      double o = 0;
      for (int64_t p = 0; p < n_pos; ++p) o += s[p] / sum * vdata[p * stride + hd + i];
      EXPECT_NEAR(out[i], o, 1e-5) << kernels::kernel_path_name(path);
    }
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
