#pragma once
// Checks shared by the packed-weight GEMM suites (packed_matmul_test.cpp for
// Q4_0/Q8_0, packed_kquant_test.cpp for Q4_K/Q6_K): which kernel paths have a
// packed kernel, that a result does not depend on the batch or the thread
// count, and that the instruction sets agree bit for bit. Failures are
// gtest assertions inside; callers check HasFatalFailure().
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/ops.h"
#include "kernels/repack.h"
#include "kernels/thread_pool.h"

namespace ridge::test {

// The kernel paths of this CPU that have a packed kernel for `type`.
inline std::vector<kernels::KernelPath> packed_paths(GgmlType type) {
  std::vector<kernels::KernelPath> out;
  for (kernels::KernelPath p : kernels::supported_kernel_paths())
    if (kernels::packed_matmul_supported(type, p)) out.push_back(p);
  return out;
}

// A matrix of `type` over `bytes` (rows x cols, rows of the type's size)
// with its packed copy attached: W.packed points into `packed`.
struct PackedMatrix {
  kernels::WeightMatrix W;
  std::unique_ptr<kernels::PackedWeights> packed;
};

inline PackedMatrix packed_matrix(GgmlType type, const std::vector<uint8_t>& bytes, int64_t rows, int64_t cols) {
  PackedMatrix m{{type, bytes.data(), cols, rows, ggml_row_bytes(type, cols)}, nullptr};
  m.packed = kernels::pack_weights(m.W);
  m.W.packed = m.packed.get();
  return m;
}

// W times all `tokens` rows of x on one thread and on three must give the
// same bits, and so must every run of `runs` tokens (runs longer than one
// start at token 5, so they cross tile and chunk boundaries at odd places).
inline void expect_independent_of_batch_and_threads(const kernels::WeightMatrix& W, const std::vector<float>& x,
                                                    int64_t tokens, std::initializer_list<int64_t> runs,
                                                    kernels::KernelPath path) {
  const int64_t rows = W.rows, cols = W.cols;
  kernels::ThreadPool one(1), three(3);
  std::vector<float> all(static_cast<size_t>(tokens * rows)), all3(all.size()), part(all.size());
  kernels::matmul(W, x.data(), tokens, all.data(), one, path);
  kernels::matmul(W, x.data(), tokens, all3.data(), three, path);
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], all3[i]) << "index " << i;
  for (int64_t run : runs) {
    for (int64_t t0 = run == 1 ? 0 : 5; t0 < tokens; t0 += run) {
      const int64_t n = std::min(run, tokens - t0);
      kernels::matmul(W, &x[static_cast<size_t>(t0 * cols)], n, part.data(), three, path);
      for (int64_t t = 0; t < n; ++t)
        for (int64_t r = 0; r < rows; ++r)
          ASSERT_EQ(part[static_cast<size_t>(t * rows + r)], all[static_cast<size_t>((t0 + t) * rows + r)])
              << "row " << r << " token " << t0 + t << " in a run of " << run;
    }
  }
}

// W times `tokens` rows of x gives the same bits on every path in `paths`.
inline void expect_paths_agree_bitwise(const kernels::WeightMatrix& W, const std::vector<float>& x, int64_t tokens,
                                       const std::vector<kernels::KernelPath>& paths, kernels::ThreadPool& pool,
                                       const std::string& what) {
  std::vector<float> first(static_cast<size_t>(tokens * W.rows)), other(first.size());
  kernels::matmul(W, x.data(), tokens, first.data(), pool, paths[0]);
  for (size_t p = 1; p < paths.size(); ++p) {
    kernels::matmul(W, x.data(), tokens, other.data(), pool, paths[p]);
    for (size_t i = 0; i < first.size(); ++i)
      ASSERT_EQ(first[i], other[i]) << kernels::kernel_path_name(paths[0]) << " vs "
                                    << kernels::kernel_path_name(paths[p]) << " " << what << " at " << i;
  }
}

}  // namespace ridge::test
