#include "kernels/ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/quant.h"

namespace ridge::kernels {

namespace {

float dot(const float* a, const float* b, int64_t n) {
  float s = 0.f;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

void get_row(const WeightMatrix& w, int64_t row, float* out) {
  tensor::dequantize_row(w.type, w.data + static_cast<size_t>(row) * w.row_bytes, out, w.cols);
}

void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool) {
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
      for (int64_t t = 0; t < n_tokens; ++t) y[t * w.rows + r] = dot(wr, x + t * w.cols, w.cols);
    }
  });
}

void rmsnorm(const float* x, const float* weight, int64_t n, float eps, float* out) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
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

void silu_mul(float* g, const float* u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) g[i] = g[i] / (1.f + std::exp(-g[i])) * u[i];
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
  const int64_t off = static_cast<int64_t>(kv_head) * head_dim;
  for (int64_t p = 0; p < n_pos; ++p) scores[p] = dot(q, k.row(p) + off, head_dim) * scale;
  softmax(scores, n_pos);
  std::fill(out, out + head_dim, 0.f);
  for (int64_t p = 0; p < n_pos; ++p) {
    const float* vr = v.row(p) + off;
    const float w = scores[p];
    for (int d = 0; d < head_dim; ++d) out[d] += w * vr[d];
  }
}

}  // namespace ridge::kernels
