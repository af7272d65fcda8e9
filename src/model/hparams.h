#pragma once
// Llama-family hyper-parameters read from GGUF metadata (`<arch>.*` keys),
// with llama.cpp's defaults and validation of every value a forward pass
// depends on.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace ridge::gguf { class File; }

namespace ridge::model {

// A model file that is a valid GGUF but not a usable model: a missing or
// inconsistent hyper-parameter or tensor. The message names the key or tensor.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HParams {
  std::string arch;        // general.architecture
  int64_t n_vocab = 0;     // rows of token_embd.weight
  int64_t n_ctx_train = 0; // <arch>.context_length
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;    // <arch>.attention.key_length, default n_embd / n_head
  int64_t n_ff = 0;
  int64_t rope_dims = 0;   // <arch>.rope.dimension_count, default head_dim
  double rope_freq_base = 10000.0;
  double rope_freq_scale = 1.0;  // 1 / linear scaling factor
  std::string rope_scaling = "none";  // none | linear | llama3
  // llama3 scaling parameters (when rope_scaling == "llama3" from metadata)
  double rope_scaling_factor = 1.0;
  double rope_low_freq_factor = 1.0;
  double rope_high_freq_factor = 4.0;
  double rope_orig_ctx = 8192.0;
  float rms_eps = 1e-5f;

  static HParams from_gguf(const gguf::File& file);
};

// Per-dimension-pair inverse frequencies, scaling applied: theta_i = pos * inv_freq[i].
// `freq_factors` (from a rope_freqs.weight tensor, may be empty) divide the frequencies.
std::vector<double> rope_inv_freq(const HParams& hp, const std::vector<float>& freq_factors);

}  // namespace ridge::model
