#pragma once
// Model quantization (`ridge quantize`): converts a GGUF model's weight
// matrices to one of llama.cpp's file types (f16, bf16, q8_0, q4_0, q4_k_m,
// q6_k), choosing each tensor's type by llama.cpp's rules so the output loads
// and behaves there as a file from llama-quantize would, and streaming tensor
// by tensor so memory holds one tensor at a time, not the model.
//
// Per-tensor rules (what llama.cpp's llama-quantize does for these types):
// - Quantized: 2-D tensors whose name ends in "weight", except norms
//   (*_norm.weight), the MoE router (ffn_gate_inp), position/token-type
//   embeddings. Everything else (1-D norms, rope_freqs) is copied unchanged.
// - For the quantized schemes (q8_0, q4_0, q4_k_m, q6_k) output.weight -- or
//   token_embd.weight when the output is tied to it -- becomes Q6_K (q8_0
//   keeps Q8_0), as llama.cpp does for the tensor that makes the logits.
// - q4_k_m: Q4_K everywhere except attn_v and ffn_down, which become Q6_K in
//   llama.cpp's "use_more_bits" layers: the first and last eighth of the
//   layers and every third layer in between (i < n/8 || i >= 7n/8 ||
//   (i - n/8) % 3 == 2, counting each kind of tensor in file order); a fused
//   attn_qkv becomes Q5_K.
// - Rows that are not whole blocks of the chosen type fall back as llama.cpp
//   does: Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0; then to F16 when even the
//   32-element block does not fit (llama.cpp would refuse such a tensor).
// - A tensor already in its target type is copied bit for bit. Re-quantizing
//   a tensor that is already quantized (not F32/F16/BF16) loses precision
//   twice and is refused unless QuantizeOptions::allow_requantize is set.
// - Metadata is copied in order; general.file_type is set to llama.cpp's
//   LLAMA_FTYPE value and general.quantization_version to 2 (llama.cpp's).
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf.h"
#include "gguf/types.h"

namespace ridge::model {

enum class QuantScheme { F16, BF16, Q8_0, Q4_0, Q4_K_M, Q6_K };

struct QuantSchemeInfo {
  QuantScheme scheme;
  std::string_view name;  // "q4_k_m"
  GgmlType base_type;     // the type most weights get
  uint32_t llama_ftype;   // general.file_type: LLAMA_FTYPE_MOSTLY_*
};

// Case-insensitive ("Q4_K_M", "q8_0"); nullopt for anything else.
std::optional<QuantSchemeInfo> quant_scheme_from_name(std::string_view name);
QuantSchemeInfo quant_scheme_info(QuantScheme scheme);
std::string quant_scheme_names();  // "f16, bf16, q8_0, q4_0, q4_k_m, q6_k"

// Bad input to quantization: unknown scheme, refused re-quantization, same
// input and output file. The message names the file or tensor.
class QuantizeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TensorQuantPlan {
  std::string name;
  GgmlType from = GgmlType::F32;
  GgmlType to = GgmlType::F32;
  std::string why;  // "" for the scheme's base type; else the rule that chose `to` ("output", "use_more_bits", "copied", ...)
};

// Each tensor's output type, in file order, by the rules above. Pure: reads
// only names, shapes and types.
std::vector<TensorQuantPlan> plan_quantization(const gguf::File& in, QuantScheme scheme);

struct QuantizeOptions {
  int threads = 1;                 // rows of a tensor are quantized in parallel
  bool allow_requantize = false;   // see the rules above
  // Called before each tensor is converted (index, count, its plan).
  std::function<void(size_t, size_t, const TensorQuantPlan&)> on_tensor;
};

struct QuantizeResult {
  std::vector<TensorQuantPlan> plan;
  uint64_t in_tensor_bytes = 0;
  uint64_t out_tensor_bytes = 0;
};

// Reads `in_path`, writes `out_path`. Throws QuantizeError, gguf::Error (bad
// input file, I/O) or std::invalid_argument; a failed run leaves no output file.
QuantizeResult quantize_model(const std::string& in_path, const std::string& out_path, QuantScheme scheme,
                              const QuantizeOptions& options = {});

// Quantizes `rows` rows of `cols` floats (cols a multiple of the type's block
// size) with up to `threads` threads; the bytes do not depend on `threads`.
std::vector<uint8_t> quantize_rows_parallel(GgmlType type, const float* src, int64_t rows, int64_t cols, int threads);

}  // namespace ridge::model
