// Matmul throughput on the TinyLlama-1.1B FFN shape (2048 -> 5632) with 2
// threads, per kernel path: weight bytes streamed per second (decode, 1 token)
// and effective GFLOP/s (2 * rows * cols * tokens per second; prefill, 64 and
// 512 tokens); the best of many calls. Types with a packed layout (repack.h)
// are measured a second time on their packed copy ("+packed"). Disabled by default (slow, and the numbers depend on the machine);
// run with --gtest_also_run_disabled_tests --gtest_filter='*Throughput*'.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/ops.h"
#include "kernels/repack.h"
#include "kernels/thread_pool.h"
#include "tensor/quant.h"

using namespace ridge;

TEST(MatmulBench, DISABLED_MatmulThroughput) {
  const int64_t cols = 2048, rows = 5632;
  std::mt19937 g(1);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (auto& v : w) v = nd(g);
  const int64_t max_tokens = 512;
  std::vector<float> x(static_cast<size_t>(max_tokens * cols));
  for (auto& v : x) v = nd(g);
  std::vector<float> y(static_cast<size_t>(max_tokens * rows));
  kernels::ThreadPool pool(2);
  std::printf("%-14s %-6s %6s %10s %9s %9s\n", "path", "type", "tokens", "ms/call", "GB/s", "GFLOP/s");
  for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::F16}) {
    auto bytes = tensor::quantize(type, w.data(), rows, cols);
    const kernels::WeightMatrix plain{type, bytes.data(), cols, rows, ggml_row_bytes(type, cols)};
    std::unique_ptr<kernels::PackedWeights> packed;
    if (kernels::can_pack(type)) {
      double best = 1e30;
      for (int rep = 0; rep < 5; ++rep) {
        const auto t0 = std::chrono::steady_clock::now();
        packed = kernels::pack_weights(plain, &pool);
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      std::printf("%-14s %-6s packing: %.3f ms, %.2f GB/s\n", "", std::string(ggml_type_name(type)).c_str(),
                  best * 1e3, static_cast<double>(bytes.size()) / best / 1e9);
    }
    std::vector<std::pair<kernels::KernelPath, bool>> runs;  // (path, use the packed copy)
    for (kernels::KernelPath path : kernels::supported_kernel_paths()) {
      runs.emplace_back(path, false);
      if (packed && kernels::packed_matmul_supported(type, path)) runs.emplace_back(path, true);
    }
    for (auto [path, use_packed] : runs) {
      kernels::WeightMatrix W = plain;
      if (use_packed) W.packed = packed.get();
      const std::string label = std::string(kernels::kernel_path_name(path)) + (use_packed ? "+packed" : "");
      for (int64_t tokens : {int64_t{1}, int64_t{64}, max_tokens}) {
        if (path == kernels::KernelPath::Scalar && tokens > 64) continue;  // minutes, and not the point
        kernels::matmul(W, x.data(), tokens, y.data(), pool, path);  // warm-up
        const double budget = path == kernels::KernelPath::Scalar ? 0.3 : 1.0;
        // The fastest call of many: the machine is shared, and the best case is
        // the closest to what the kernel does undisturbed.
        double per_call = 1e30, elapsed = 0;
        while (elapsed < budget) {
          const auto t0 = std::chrono::steady_clock::now();
          kernels::matmul(W, x.data(), tokens, y.data(), pool, path);
          const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          per_call = std::min(per_call, dt);
          elapsed += dt;
        }
        std::printf("%-14s %-6s %6lld %10.3f %9.2f %9.1f\n", label.c_str(),
                    std::string(ggml_type_name(type)).c_str(), static_cast<long long>(tokens), per_call * 1e3,
                    static_cast<double>(bytes.size()) / per_call / 1e9,
                    2.0 * static_cast<double>(rows * cols * tokens) / per_call / 1e9);
        for (int64_t i = 0; i < tokens * rows; ++i) ASSERT_TRUE(std::isfinite(y[static_cast<size_t>(i)]));
      }
    }
  }
}
