#include "kernels/activation_quant.h"

#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace ridge::kernels {

namespace {

// Round half to even of |v| <= 127.5 (callers clamp first): adding 1.5 * 2^23
// pushes the fraction out of the mantissa under the FPU's round-to-nearest-even.
inline int round_level(float v) {
  const float shifted = v + 12582912.0f;
  return static_cast<int>(std::bit_cast<uint32_t>(shifted) & 0x7fffffu) - 0x400000;
}

// One block: levels into q, returns d.
float quantize_block(const float* x, int64_t n, int8_t* q) {
  float amax = 0.f;
  bool finite = true;
  for (int64_t i = 0; i < n; ++i) {
    const float a = std::fabs(x[i]);
    finite &= a <= std::numeric_limits<float>::max();
    amax = a > amax ? a : amax;
  }
  if (!finite) {
    for (int64_t i = 0; i < n; ++i) q[i] = 0;
    return std::numeric_limits<float>::quiet_NaN();
  }
  // A block of denormal-small values would give an infinite id (and 0 * inf =
  // NaN levels): such a block quantizes to zeros.
  float id = amax > 0.f ? 127.f / amax : 0.f;
  if (!(id <= std::numeric_limits<float>::max())) id = 0.f;
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i] * id;
    v = v > 127.f ? 127.f : (v < -127.f ? -127.f : v);
    q[i] = static_cast<int8_t>(round_level(v));
  }
  return amax / 127.f;
}

void quantize_token(const float* x, int64_t t, QuantizedActivationBuffer& out, KernelPath path) {
  const int64_t cols = out.cols, block = out.block, nb = cols / block;
  if (path != KernelPath::Scalar) {
    const auto fn = path == KernelPath::Avx512 ? &isa::quantize_row_q8_avx512 : &isa::quantize_row_q8_avx2;
    const bool b32 = block == 32;
    fn(x, cols, block, out.q.data() + t * cols, out.d.data() + t * nb, b32 ? out.sum.data() + t * nb : nullptr,
       b32 ? out.dsum.data() + t * nb : nullptr, b32 ? nullptr : out.bsum16.data() + t * nb * 16,
       b32 ? nullptr : out.bsum32.data() + t * nb * 8);
    return;
  }
  int8_t* q = out.q.data() + t * cols;
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t bi = t * nb + b;
    const float d = quantize_block(x + b * block, block, q + b * block);
    out.d[bi] = d;
    const int8_t* qb = q + b * block;
    if (block == 32) {
      int32_t s = 0;
      for (int i = 0; i < 32; ++i) s += qb[i];
      out.sum[bi] = s;
      out.dsum[bi] = d * static_cast<float>(s);
    } else {
      for (int g = 0; g < 16; ++g) {
        int s = 0;
        for (int i = 0; i < 16; ++i) s += qb[16 * g + i];
        out.bsum16[bi * 16 + g] = static_cast<int16_t>(s);
      }
      for (int g = 0; g < 8; ++g)
        out.bsum32[bi * 8 + g] = static_cast<int16_t>(out.bsum16[bi * 16 + 2 * g] + out.bsum16[bi * 16 + 2 * g + 1]);
    }
  }
}

}  // namespace

isa::QuantizedActivations QuantizedActivationBuffer::view() const {
  isa::QuantizedActivations v;
  v.cols = cols;
  v.block = block;
  v.q = q.data();
  v.d = d.data();
  v.sum = sum.data();
  v.dsum = dsum.data();
  v.bsum16 = bsum16.data();
  v.bsum32 = bsum32.data();
  return v;
}

void quantize_activations(const float* x, int64_t n_tokens, int64_t cols, int64_t block,
                          QuantizedActivationBuffer& out, ThreadPool* pool) {
  quantize_activations(x, n_tokens, cols, block, out, pool, active_kernel_path());
}

void quantize_activations(const float* x, int64_t n_tokens, int64_t cols, int64_t block,
                          QuantizedActivationBuffer& out, ThreadPool* pool, KernelPath path) {
  if (!kernel_path_supported(path))
    throw std::invalid_argument(std::string("kernel path ") + kernel_path_name(path) + " is not supported by this CPU");
  if (block != 32 && block != 256)
    throw std::invalid_argument("quantize_activations: block must be 32 or 256, got " + std::to_string(block));
  if (cols <= 0 || cols % block != 0 || n_tokens < 0)
    throw std::invalid_argument("quantize_activations: " + std::to_string(cols) +
                                " columns are not a positive multiple of the block size " + std::to_string(block));
  const int64_t nb = n_tokens * (cols / block);
  out.n_tokens = n_tokens;
  out.cols = cols;
  out.block = block;
  out.q.resize(static_cast<size_t>(n_tokens * cols));
  out.d.resize(static_cast<size_t>(nb));
  out.sum.resize(block == 32 ? static_cast<size_t>(nb) : 0);
  out.dsum.resize(block == 32 ? static_cast<size_t>(nb) : 0);
  out.bsum16.resize(block == 256 ? static_cast<size_t>(nb * 16) : 0);
  out.bsum32.resize(block == 256 ? static_cast<size_t>(nb * 8) : 0);
  auto run = [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) quantize_token(x + t * cols, t, out, path);
  };
  // Worth a fan-out only when there is real work (a few prefill tokens).
  if (pool != nullptr && n_tokens * cols >= 32768) pool->parallel_for(n_tokens, 1, run);
  else run(0, n_tokens, 0);
}

}  // namespace ridge::kernels
