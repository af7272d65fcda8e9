#include "model/hparams.h"

#include <cmath>
#include <numbers>

#include "gguf/gguf.h"

namespace ridge::model {

namespace {

// Bounds that no real model comes near; they keep absurd files from asking for absurd memory.
constexpr int64_t kMaxDim = 1 << 20;
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxHeads = 4096;

int64_t positive(const gguf::File& f, const std::string& key, int64_t v, int64_t max) {
  if (v <= 0 || v > max)
    throw Error(f.path() + ": " + key + " = " + std::to_string(v) + " is out of range (1.." + std::to_string(max) + ")");
  return v;
}

}  // namespace

HParams HParams::from_gguf(const gguf::File& f) {
  HParams hp;
  if (!f.has("general.architecture")) throw Error(f.path() + ": missing key general.architecture");
  hp.arch = f.get_string("general.architecture");
  if (hp.arch != "llama")
    throw Error(f.path() + ": unsupported architecture '" + hp.arch + "' (general.architecture; supported: llama)");
  const std::string p = hp.arch + ".";
  auto need = [&](const std::string& k) {
    if (!f.has(k)) throw Error(f.path() + ": missing key " + k);
    return k;
  };
  hp.n_embd = positive(f, p + "embedding_length", f.get_i64(need(p + "embedding_length")), kMaxDim);
  hp.n_layer = positive(f, p + "block_count", f.get_i64(need(p + "block_count")), kMaxLayers);
  hp.n_head = positive(f, p + "attention.head_count", f.get_i64(need(p + "attention.head_count")), kMaxHeads);
  hp.n_head_kv = positive(f, p + "attention.head_count_kv", f.get_i64_or(p + "attention.head_count_kv", hp.n_head),
                          kMaxHeads);
  hp.n_ff = positive(f, p + "feed_forward_length", f.get_i64(need(p + "feed_forward_length")), kMaxDim);
  hp.n_ctx_train = positive(f, p + "context_length", f.get_i64_or(p + "context_length", 2048), int64_t(1) << 31);
  if (!f.has(p + "attention.key_length") && hp.n_embd % hp.n_head != 0)
    throw Error(f.path() + ": " + p + "attention.head_count = " + std::to_string(hp.n_head) +
                " does not divide " + p + "embedding_length = " + std::to_string(hp.n_embd));
  hp.head_dim = positive(f, p + "attention.key_length", f.get_i64_or(p + "attention.key_length", hp.n_embd / hp.n_head),
                         kMaxDim);
  const int64_t v_len = f.get_i64_or(p + "attention.value_length", hp.head_dim);
  if (v_len != hp.head_dim)
    throw Error(f.path() + ": " + p + "attention.value_length = " + std::to_string(v_len) +
                " differs from the key length " + std::to_string(hp.head_dim) + " (not supported)");
  if (hp.n_head_kv > hp.n_head || hp.n_head % hp.n_head_kv != 0)
    throw Error(f.path() + ": " + p + "attention.head_count_kv = " + std::to_string(hp.n_head_kv) +
                " must divide " + p + "attention.head_count = " + std::to_string(hp.n_head));
  hp.rope_dims = positive(f, p + "rope.dimension_count", f.get_i64_or(p + "rope.dimension_count", hp.head_dim), kMaxDim);
  if (hp.rope_dims > hp.head_dim || hp.rope_dims % 2 != 0)
    throw Error(f.path() + ": " + p + "rope.dimension_count = " + std::to_string(hp.rope_dims) +
                " must be even and at most the head dimension " + std::to_string(hp.head_dim));
  hp.rope_freq_base = f.get_f64_or(p + "rope.freq_base", 10000.0);
  if (!(hp.rope_freq_base > 1.0) || !std::isfinite(hp.rope_freq_base))
    throw Error(f.path() + ": " + p + "rope.freq_base = " + std::to_string(hp.rope_freq_base) + " is invalid");
  const double eps = f.get_f64_or(p + "attention.layer_norm_rms_epsilon", 1e-5);
  if (!(eps > 0.0 && eps < 1.0)) throw Error(f.path() + ": " + p + "attention.layer_norm_rms_epsilon is out of range");
  hp.rms_eps = static_cast<float>(eps);

  hp.rope_scaling = f.get_string_or(p + "rope.scaling.type", "none");
  if (hp.rope_scaling == "none") {
  } else if (hp.rope_scaling == "linear") {
    double factor = f.get_f64_or(p + "rope.scaling.factor", 1.0);
    if (!(factor >= 1.0 && factor < 1e6)) throw Error(f.path() + ": " + p + "rope.scaling.factor is out of range");
    hp.rope_freq_scale = 1.0 / factor;
  } else if (hp.rope_scaling == "llama3") {
    hp.rope_scaling_factor = f.get_f64_or(p + "rope.scaling.factor", 8.0);
    hp.rope_low_freq_factor = f.get_f64_or(p + "rope.scaling.low_freq_factor", 1.0);
    hp.rope_high_freq_factor = f.get_f64_or(p + "rope.scaling.high_freq_factor", 4.0);
    hp.rope_orig_ctx = static_cast<double>(f.get_i64_or(p + "rope.scaling.original_context_length", 8192));
    if (!(hp.rope_scaling_factor >= 1.0) || !(hp.rope_high_freq_factor > hp.rope_low_freq_factor) ||
        !(hp.rope_low_freq_factor > 0) || !(hp.rope_orig_ctx > 0))
      throw Error(f.path() + ": inconsistent llama3 rope scaling parameters (" + p + "rope.scaling.*)");
  } else {
    throw Error(f.path() + ": " + p + "rope.scaling.type '" + hp.rope_scaling + "' is not supported (none, linear, llama3)");
  }
  return hp;
}

std::vector<double> rope_inv_freq(const HParams& hp, const std::vector<float>& freq_factors) {
  const int64_t half = hp.rope_dims / 2;
  std::vector<double> inv(half);
  for (int64_t i = 0; i < half; ++i) {
    double freq = std::pow(hp.rope_freq_base, -2.0 * static_cast<double>(i) / static_cast<double>(hp.rope_dims));
    if (hp.rope_scaling == "llama3") {
      // Meta's llama3 recipe: keep high frequencies, divide low ones by the
      // factor, and blend smoothly in between.
      const double wavelen = 2.0 * std::numbers::pi / freq;
      const double low_wavelen = hp.rope_orig_ctx / hp.rope_low_freq_factor;
      const double high_wavelen = hp.rope_orig_ctx / hp.rope_high_freq_factor;
      if (wavelen > low_wavelen) {
        freq /= hp.rope_scaling_factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (hp.rope_orig_ctx / wavelen - hp.rope_low_freq_factor) /
                              (hp.rope_high_freq_factor - hp.rope_low_freq_factor);
        freq = (1.0 - smooth) * freq / hp.rope_scaling_factor + smooth * freq;
      }
    }
    if (!freq_factors.empty()) freq /= static_cast<double>(freq_factors[i]);
    inv[i] = freq * hp.rope_freq_scale;
  }
  return inv;
}

}  // namespace ridge::model
