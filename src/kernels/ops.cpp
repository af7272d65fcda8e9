#include "kernels/ops.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/activation_quant.h"
#include "kernels/isa_kernels.h"
#include "kernels/repack.h"
#include "kernels/repack_kernels.h"
#include "tensor/quant.h"

namespace ridge::kernels {

namespace {

void require_supported(KernelPath path) {
  if (!kernel_path_supported(path))
    throw std::invalid_argument(std::string("kernel path ") + kernel_path_name(path) + " is not supported by this CPU");
}

// ---- the scalar reference path

float dot_scalar(const float* a, const float* b, int64_t n) {
  float s = 0.f;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

void matmul_scalar(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool) {
  const bool direct = w.type == GgmlType::F32;
  pool.parallel_for(w.rows, 4, [&](int64_t r0, int64_t r1, int) {
    std::vector<float> buf(direct ? 0 : static_cast<size_t>(w.cols));
    for (int64_t r = r0; r < r1; ++r) {
      const float* wr;
      if (direct) {
        wr = reinterpret_cast<const float*>(w.data + static_cast<size_t>(r) * w.row_bytes);
      } else {
        get_row(w, r, buf.data());
        wr = buf.data();
      }
      for (int64_t t = 0; t < n_tokens; ++t) y[t * w.rows + r] = dot_scalar(wr, x + t * w.cols, w.cols);
    }
  });
}

// ---- SIMD dispatch

// Width of the activation blocks a SIMD matmul quantizes to for weights of
// `type`: 0 for float weights (no quantization), -1 where no SIMD kernel exists.
int64_t activation_block(GgmlType type) {
  switch (type) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16: return 0;
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q5_0:
    case GgmlType::Q5_1:
    case GgmlType::Q8_0: return 32;
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K: return 256;
    default: return -1;
  }
}

void validate(const WeightMatrix& w, int64_t n_tokens) {
  const std::string what = std::string("matmul on ") + std::string(ggml_type_name(w.type)) + " weights";
  if (!tensor::can_dequantize(w.type)) throw std::invalid_argument(what + ": the type is not supported");
  if (w.cols < 0 || w.rows < 0 || n_tokens < 0) throw std::invalid_argument(what + ": negative size");
  const int64_t bs = ggml_type_traits(w.type).block_size;
  if (w.cols % bs != 0)
    throw std::invalid_argument(what + ": " + std::to_string(w.cols) + " columns are not a multiple of the block size " +
                                std::to_string(bs));
  if (w.rows > 0 && w.row_bytes < ggml_row_bytes(w.type, w.cols))
    throw std::invalid_argument(what + ": row_bytes " + std::to_string(w.row_bytes) + " is smaller than a row of " +
                                std::to_string(w.cols) + " elements");
}

void check_packed(const WeightMatrix& w) {
  const PackedWeights& p = *w.packed;
  if (p.type != w.type || p.rows != w.rows || p.cols != w.cols)
    throw std::invalid_argument("matmul: the packed copy (" + std::string(ggml_type_name(p.type)) + " " +
                                std::to_string(p.rows) + " x " + std::to_string(p.cols) +
                                ") does not describe the weight matrix (" + std::string(ggml_type_name(w.type)) +
                                " " + std::to_string(w.rows) + " x " + std::to_string(w.cols) + ")");
}

// The GEMM over packed weights: activations quantized per block of 32 as on the
// other SIMD paths, plus each block's share of the weight offset (Q4_0 levels
// are stored as 0..15 = value + 8, Q8_0 as value + 128).
void matmul_packed(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool) {
  const PackedWeights& p = *w.packed;
  QuantizedActivationBuffer qx;
  quantize_activations(x, n_tokens, w.cols, 32, qx, &pool);
  const int32_t offset = w.type == GgmlType::Q4_0 ? 8 : 128;
  std::vector<int32_t> x_offset(qx.sum.size());
  for (size_t i = 0; i < x_offset.size(); ++i) x_offset[i] = -offset * qx.sum[i];

  isa::PackedMatmulTask task;
  task.format = w.type == GgmlType::Q4_0 ? isa::PackedFormat::Q4_0 : isa::PackedFormat::Q8_0;
  task.levels = p.levels;
  task.scales = p.scales;
  task.rows = w.rows;
  task.blocks = p.blocks;
  task.n_tokens = n_tokens;
  task.xq = qx.q.data();
  task.xd = qx.d.data();
  task.x_offset = x_offset.data();
  task.y = y;
  pool.parallel_for(p.panels, 1, [&](int64_t p0, int64_t p1, int) { isa::packed_matmul_panels_avx512(task, p0, p1); });
}

}  // namespace

void get_row(const WeightMatrix& w, int64_t row, float* out) {
  tensor::dequantize_row(w.type, w.data + static_cast<size_t>(row) * w.row_bytes, out, w.cols);
}

bool matmul_quantizes_activations(GgmlType type, KernelPath path) {
  return path != KernelPath::Scalar && activation_block(type) > 0;
}

void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool) {
  matmul(w, x, n_tokens, y, pool, active_kernel_path());
}

void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool, KernelPath path) {
  validate(w, n_tokens);
  if (w.packed != nullptr) check_packed(w);
  require_supported(path);
  if (n_tokens == 0 || w.rows == 0) return;
  const int64_t block = activation_block(w.type);
  if (path == KernelPath::Scalar || block < 0 || w.cols == 0) return matmul_scalar(w, x, n_tokens, y, pool);
  if (w.packed != nullptr && packed_matmul_supported(w.type, path)) return matmul_packed(w, x, n_tokens, y, pool);

  isa::MatmulTask task;
  task.type = w.type;
  task.w = w.data;
  task.cols = w.cols;
  task.rows = w.rows;
  task.row_bytes = w.row_bytes;
  task.n_tokens = n_tokens;
  task.x = x;
  task.y = y;
  QuantizedActivationBuffer qx;
  if (block > 0) {
    quantize_activations(x, n_tokens, w.cols, block, qx, &pool);
    task.qx = qx.view();
  }
  const auto rows_fn = path == KernelPath::Avx512 ? &isa::matmul_rows_avx512 : &isa::matmul_rows_avx2;
  const int64_t groups = (w.rows + isa::kRowGroup - 1) / isa::kRowGroup;
  pool.parallel_for(groups, 1, [&](int64_t g0, int64_t g1, int) {
    rows_fn(task, g0 * isa::kRowGroup, std::min(w.rows, g1 * isa::kRowGroup));
  });
}

void rmsnorm(const float* x, const float* weight, int64_t n, float eps, float* out) {
  rmsnorm(x, weight, n, eps, out, active_kernel_path());
}

void rmsnorm(const float* x, const float* weight, int64_t n, float eps, float* out, KernelPath path) {
  require_supported(path);
  double ss = 0.0;
  switch (path) {
    case KernelPath::Scalar:
      for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
      break;
    case KernelPath::Avx2: ss = isa::sum_squares_avx2(x, n); break;
    case KernelPath::Avx512: ss = isa::sum_squares_avx512(x, n); break;
  }
  const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  switch (path) {
    case KernelPath::Scalar:
      for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
      break;
    case KernelPath::Avx2: isa::scale_mul_f32_avx2(x, scale, weight, out, n); break;
    case KernelPath::Avx512: isa::scale_mul_f32_avx512(x, scale, weight, out, n); break;
  }
}

void rope_normal(float* v, int n_heads, int head_dim, int rope_dims, int64_t pos, const double* inv_freq) {
  for (int i = 0; i < rope_dims / 2; ++i) {
    const double theta = static_cast<double>(pos) * inv_freq[i];
    const float c = static_cast<float>(std::cos(theta));
    const float s = static_cast<float>(std::sin(theta));
    for (int h = 0; h < n_heads; ++h) {
      float* p = v + static_cast<int64_t>(h) * head_dim + 2 * i;
      const float a = p[0], b = p[1];
      p[0] = a * c - b * s;
      p[1] = a * s + b * c;
    }
  }
}

void silu_mul(float* g, const float* u, int64_t n) { silu_mul(g, u, n, active_kernel_path()); }

void silu_mul(float* g, const float* u, int64_t n, KernelPath path) {
  require_supported(path);
  switch (path) {
    case KernelPath::Scalar:
      for (int64_t i = 0; i < n; ++i) g[i] = g[i] / (1.f + std::exp(-g[i])) * u[i];
      break;
    case KernelPath::Avx2: isa::silu_mul_avx2(g, u, n); break;
    case KernelPath::Avx512: isa::silu_mul_avx512(g, u, n); break;
  }
}

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  float mx = *std::max_element(x, x + n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void attention_head(const float* q, const PagedRows& k, const PagedRows& v, int kv_head, int head_dim,
                    int64_t n_pos, float scale, float* scores, float* out) {
  attention_head(q, k, v, kv_head, head_dim, n_pos, scale, scores, out, active_kernel_path());
}

void attention_head(const float* q, const PagedRows& k, const PagedRows& v, int kv_head, int head_dim,
                    int64_t n_pos, float scale, float* scores, float* out, KernelPath path) {
  require_supported(path);
  const int64_t off = static_cast<int64_t>(kv_head) * head_dim;
  auto dot = path == KernelPath::Avx512 ? &isa::dot_f32_avx512
             : path == KernelPath::Avx2 ? &isa::dot_f32_avx2
                                        : &dot_scalar;
  for (int64_t p = 0; p < n_pos; ++p) scores[p] = dot(q, k.row(p) + off, head_dim) * scale;
  softmax(scores, n_pos);
  std::fill(out, out + head_dim, 0.f);
  for (int64_t p = 0; p < n_pos; ++p) {
    const float* vr = v.row(p) + off;
    const float w = scores[p];
    switch (path) {
      case KernelPath::Scalar:
        for (int d = 0; d < head_dim; ++d) out[d] += w * vr[d];
        break;
      case KernelPath::Avx2: isa::axpy_f32_avx2(w, vr, out, head_dim); break;
      case KernelPath::Avx512: isa::axpy_f32_avx512(w, vr, out, head_dim); break;
    }
  }
}

}  // namespace ridge::kernels
