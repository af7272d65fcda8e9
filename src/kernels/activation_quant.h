#pragma once
// Activations quantized to 8 bits once per matmul call, so the quantized-weight
// kernels can use integer dot products: per block of 32 (for Q4_0..Q8_0) or 256
// (for the K types, with the sums per 16 and 32 levels those kernels need for
// their offsets and mins). Levels are round-half-even(x * 127 / amax) over each
// block, in -127..127, and x ~= d * q with d = amax / 127. Every SIMD path reads
// the same buffer, so all of them see identical activations.
#include <cstdint>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/isa_kernels.h"
#include "kernels/thread_pool.h"

namespace ridge::kernels {

struct QuantizedActivationBuffer {
  int64_t n_tokens = 0;
  int64_t cols = 0;
  int64_t block = 0;
  std::vector<int8_t> q;
  std::vector<float> d;
  std::vector<int32_t> sum;    // block 32 only
  std::vector<float> dsum;     // block 32 only
  std::vector<int16_t> bsum16; // block 256 only
  std::vector<int16_t> bsum32; // block 256 only

  isa::QuantizedActivations view() const;
};

// Quantizes n_tokens rows of `cols` floats (cols a multiple of `block`, which is
// 32 or 256; throws std::invalid_argument otherwise). A block holding a NaN or
// an infinity gets d = NaN, so the non-finite value still reaches the output.
// With a pool, tokens are spread over its threads.
// The SIMD paths compute the same bits as the scalar code, only faster; `path`
// (default: the active one) picks which runs.
void quantize_activations(const float* x, int64_t n_tokens, int64_t cols, int64_t block,
                          QuantizedActivationBuffer& out, ThreadPool* pool = nullptr);
void quantize_activations(const float* x, int64_t n_tokens, int64_t cols, int64_t block,
                          QuantizedActivationBuffer& out, ThreadPool* pool, KernelPath path);

}  // namespace ridge::kernels
