#include "model/reference_model.h"

#include <cmath>
#include <stdexcept>

#include "tensor/quant.h"

namespace ridge::test {

ReferenceLlama::Mat ReferenceLlama::load(const gguf::File& f, const std::string& name, int64_t expect) const {
  const auto* t = f.find_tensor(name);
  if (!t) throw std::runtime_error("reference: missing " + name);
  if (t->n_elements() != expect) throw std::runtime_error("reference: bad size for " + name);
  std::vector<float> row(t->ne[0]);
  Mat m(expect);
  const size_t rb = ggml_row_bytes(t->type, t->ne[0]);
  for (int64_t r = 0; r < t->n_rows(); ++r) {
    tensor::dequantize_row(t->type, t->data + r * rb, row.data(), t->ne[0]);
    for (int64_t c = 0; c < t->ne[0]; ++c) m[r * t->ne[0] + c] = row[c];
  }
  return m;
}

ReferenceLlama::ReferenceLlama(const gguf::File& f) {
  const std::string a = "llama.";
  n_embd_ = f.get_i64(a + "embedding_length");
  n_layer_ = f.get_i64(a + "block_count");
  n_head_ = f.get_i64(a + "attention.head_count");
  n_head_kv_ = f.get_i64_or(a + "attention.head_count_kv", n_head_);
  n_ff_ = f.get_i64(a + "feed_forward_length");
  hd_ = n_embd_ / n_head_;
  rope_dims_ = f.get_i64_or(a + "rope.dimension_count", hd_);
  eps_ = f.get_f64_or(a + "attention.layer_norm_rms_epsilon", 1e-5);
  base_ = f.get_f64_or(a + "rope.freq_base", 10000.0);
  n_vocab_ = f.find_tensor("token_embd.weight")->ne[1];
  embd_ = load(f, "token_embd.weight", n_vocab_ * n_embd_);
  out_norm_ = load(f, "output_norm.weight", n_embd_);
  out_ = f.find_tensor("output.weight") ? load(f, "output.weight", n_vocab_ * n_embd_) : embd_;
  for (int64_t l = 0; l < n_layer_; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    Layer L;
    L.attn_norm = load(f, b + "attn_norm.weight", n_embd_);
    L.ffn_norm = load(f, b + "ffn_norm.weight", n_embd_);
    L.wq = load(f, b + "attn_q.weight", n_embd_ * n_head_ * hd_);
    L.wk = load(f, b + "attn_k.weight", n_embd_ * n_head_kv_ * hd_);
    L.wv = load(f, b + "attn_v.weight", n_embd_ * n_head_kv_ * hd_);
    L.wo = load(f, b + "attn_output.weight", n_embd_ * n_head_ * hd_);
    L.wg = load(f, b + "ffn_gate.weight", n_embd_ * n_ff_);
    L.wu = load(f, b + "ffn_up.weight", n_embd_ * n_ff_);
    L.wd = load(f, b + "ffn_down.weight", n_embd_ * n_ff_);
    layers_.push_back(std::move(L));
  }
}

namespace {

using Vec = std::vector<double>;

Vec matvec(const std::vector<double>& w, int64_t rows, int64_t cols, const Vec& x) {
  Vec y(rows, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (int64_t c = 0; c < cols; ++c) s += w[r * cols + c] * x[c];
    y[r] = s;
  }
  return y;
}

Vec rmsnorm(const Vec& x, const std::vector<double>& w, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double k = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + eps);
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * k * w[i];
  return y;
}

void rope(Vec& v, int64_t n_heads, int64_t hd, int64_t dims, int64_t pos, double base) {
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < dims / 2; ++i) {
      const double th = static_cast<double>(pos) * std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(dims));
      double& a = v[h * hd + 2 * i];
      double& b = v[h * hd + 2 * i + 1];
      const double x0 = a, x1 = b;
      a = x0 * std::cos(th) - x1 * std::sin(th);
      b = x0 * std::sin(th) + x1 * std::cos(th);
    }
}

}  // namespace

std::vector<std::vector<double>> ReferenceLlama::logits(const std::vector<int32_t>& tokens) const {
  const int64_t n = static_cast<int64_t>(tokens.size());
  std::vector<Vec> x(n);
  for (int64_t t = 0; t < n; ++t) x[t] = Vec(embd_.begin() + tokens[t] * n_embd_, embd_.begin() + (tokens[t] + 1) * n_embd_);
  const int64_t qd = n_head_ * hd_, kd = n_head_kv_ * hd_;
  for (const auto& L : layers_) {
    std::vector<Vec> q(n), k(n), v(n);
    for (int64_t t = 0; t < n; ++t) {
      Vec xn = rmsnorm(x[t], L.attn_norm, eps_);
      q[t] = matvec(L.wq, qd, n_embd_, xn);
      k[t] = matvec(L.wk, kd, n_embd_, xn);
      v[t] = matvec(L.wv, kd, n_embd_, xn);
      rope(q[t], n_head_, hd_, rope_dims_, t, base_);
      rope(k[t], n_head_kv_, hd_, rope_dims_, t, base_);
    }
    for (int64_t t = 0; t < n; ++t) {
      Vec att(qd, 0.0);
      for (int64_t h = 0; h < n_head_; ++h) {
        const int64_t kh = h / (n_head_ / n_head_kv_);
        Vec s(t + 1);
        double mx = -1e300;
        for (int64_t p = 0; p <= t; ++p) {
          double d = 0;
          for (int64_t i = 0; i < hd_; ++i) d += q[t][h * hd_ + i] * k[p][kh * hd_ + i];
          s[p] = d / std::sqrt(static_cast<double>(hd_));
          mx = std::max(mx, s[p]);
        }
        double sum = 0;
        for (auto& e : s) sum += (e = std::exp(e - mx));
        for (int64_t p = 0; p <= t; ++p)
          for (int64_t i = 0; i < hd_; ++i) att[h * hd_ + i] += s[p] / sum * v[p][kh * hd_ + i];
      }
      Vec o = matvec(L.wo, n_embd_, qd, att);
      for (int64_t i = 0; i < n_embd_; ++i) x[t][i] += o[i];
      Vec xn = rmsnorm(x[t], L.ffn_norm, eps_);
      Vec g = matvec(L.wg, n_ff_, n_embd_, xn), u = matvec(L.wu, n_ff_, n_embd_, xn);
      for (int64_t i = 0; i < n_ff_; ++i) g[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
      Vec d = matvec(L.wd, n_embd_, n_ff_, g);
      for (int64_t i = 0; i < n_embd_; ++i) x[t][i] += d[i];
    }
  }
  std::vector<Vec> out(n);
  for (int64_t t = 0; t < n; ++t) out[t] = matvec(out_, n_vocab_, n_embd_, rmsnorm(x[t], out_norm_, eps_));
  return out;
}

}  // namespace ridge::test
