#pragma once
// The hot loops of a transformer step behind one interface: matmul on
// (quantized) weight matrices, RMS norm, rotary embedding, SiLU-gated
// product (attention over the paged KV cache is attention.h). Each takes an optional
// KernelPath: the plain scalar code is the reference; the AVX2 and AVX-512
// paths are the fast versions. Without one, the process's active path is used
// (cpu_features.h). Asking for a path this CPU does not support throws
// std::invalid_argument.
#include <cstddef>
#include <cstdint>
#include <span>

#include "gguf/types.h"
#include "kernels/cpu_features.h"
#include "kernels/thread_pool.h"

namespace ridge::kernels {

struct PackedWeights;  // repack.h

// A row-major weight matrix as stored in GGUF: `rows` rows of `cols` elements
// (cols = ne[0]), each row `row_bytes` bytes in `type`'s block layout.
// `packed`, when set, is the same matrix repacked for the GEMM kernels
// (repack.h; owned by whoever set it, and it must outlive every use): paths
// that have a packed kernel read it instead of `data`, the others (and
// get_row) keep reading `data`.
struct WeightMatrix {
  GgmlType type = GgmlType::F32;
  const uint8_t* data = nullptr;
  int64_t cols = 0;
  int64_t rows = 0;
  size_t row_bytes = 0;
  const PackedWeights* packed = nullptr;
};

// y[t*rows + r] = dot(W row r, x[t*cols ...]) for t < n_tokens. Throws
// std::invalid_argument when cols is not a whole number of the type's blocks.
// On the SIMD paths, weights of types Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 multiply
// activations quantized to 8 bits per block of 32, and Q4_K Q5_K Q6_K per block
// of 256 (see activation_quant.h); F32/F16/BF16 stay in FP32 throughout; other
// types use the scalar path. With w.packed set (it must describe the same
// type and shape, else std::invalid_argument), paths with a packed kernel
// (packed_matmul_supported in repack.h) use it; they quantize the activations
// the same way, and each (row, token) result is still independent of the
// other tokens in the call and of the thread count.
void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool);
void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool, KernelPath path);

// Several matrices multiplying the same activations (Q, K and V of a layer;
// gate and up): ys[i] = matmul(*ws[i], x). The activations are quantized once
// and all the matrices' rows go out over the pool in one fan-out, so the
// threads meet at one barrier instead of one per matrix. Results are bit for
// bit those of separate matmul calls. All matrices must have the same number
// of columns (std::invalid_argument otherwise), not the same type.
void matmul_multi(std::span<const WeightMatrix* const> ws, const float* x, int64_t n_tokens,
                  std::span<float* const> ys, ThreadPool& pool);
void matmul_multi(std::span<const WeightMatrix* const> ws, const float* x, int64_t n_tokens,
                  std::span<float* const> ys, ThreadPool& pool, KernelPath path);

// Whether matmul on `path` rounds the activations to 8 bits for weights of
// `type` (its results then differ from the float reference by that rounding).
bool matmul_quantizes_activations(GgmlType type, KernelPath path);

// Dequantizes one row of W into out[cols] (embedding lookup).
void get_row(const WeightMatrix& w, int64_t row, float* out);

// out = x / sqrt(mean(x^2) + eps) * weight   (out may alias x)
void rmsnorm(const float* x, const float* weight, int64_t n, float eps, float* out);
void rmsnorm(const float* x, const float* weight, int64_t n, float eps, float* out, KernelPath path);

// Rotates the first rope_dims of each of n_heads vectors (head_dim apart) at
// position pos, rotating adjacent pairs (x[2i], x[2i+1]) by pos * inv_freq[i]
// (GGML "normal" mode, as llama uses).
void rope_normal(float* v, int n_heads, int head_dim, int rope_dims, int64_t pos, const double* inv_freq);

// The same rotation in two steps, so a forward pass computes each position's
// angles once instead of once per layer and per q / k: rope_angles writes
// cos and sin of pos * inv_freq[i] to cs[2i], cs[2i + 1] for i < rope_dims / 2,
// and rope_rotate applies them (rope_normal == rope_angles + rope_rotate).
void rope_angles(int rope_dims, int64_t pos, const double* inv_freq, float* cs);
void rope_rotate(float* v, int n_heads, int head_dim, int rope_dims, const float* cs);

// g[i] = silu(g[i]) * u[i]
void silu_mul(float* g, const float* u, int64_t n);
void silu_mul(float* g, const float* u, int64_t n, KernelPath path);

}  // namespace ridge::kernels
