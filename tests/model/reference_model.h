#pragma once
// An independent, deliberately plain Llama forward pass for tests: every
// weight dequantized once to double, float64 math throughout, whole sequence
// recomputed with causal attention (no cache, no batching, no threads).
#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf.h"

namespace ridge::test {

class ReferenceLlama {
 public:
  explicit ReferenceLlama(const gguf::File& f);
  // Logits (n_vocab) after each token of `tokens`, positions 0..n-1.
  std::vector<std::vector<double>> logits(const std::vector<int32_t>& tokens) const;
  int64_t n_vocab() const { return n_vocab_; }

 private:
  using Mat = std::vector<double>;  // row-major [rows][cols]
  struct Layer {
    Mat attn_norm, ffn_norm, wq, wk, wv, wo, wg, wu, wd;
  };
  Mat load(const gguf::File& f, const std::string& name, int64_t expect_elems) const;
  int64_t n_vocab_, n_embd_, n_layer_, n_head_, n_head_kv_, hd_, n_ff_, rope_dims_;
  double eps_, base_;
  Mat embd_, out_norm_, out_;
  std::vector<Layer> layers_;
};

}  // namespace ridge::test
