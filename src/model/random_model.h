#pragma once
// Writes Llama-architecture GGUF files with random weights of any shape and
// element type, with a small SentencePiece-style vocabulary, through the
// project's own GGUF writer. Tests and benchmarks use them; llama.cpp loads them.
#include <cstdint>
#include <string>

#include "gguf/types.h"

namespace ridge::model {

struct RandomModelSpec {
  int64_t n_vocab = 512;     // >= 259: <unk>, <s>, </s>, 256 byte tokens, then word pieces
  int64_t n_embd = 64;
  int64_t n_layer = 2;
  int64_t n_head = 4;
  int64_t n_head_kv = 2;
  int64_t n_ff = 128;
  int64_t n_ctx = 2048;
  double rope_freq_base = 10000.0;
  GgmlType type = GgmlType::F32;  // type of the 2-D weight matrices (norms stay F32)
  GgmlType embd_type = GgmlType::F32;  // token_embd.weight
  bool tied_output = false;  // omit output.weight
  uint64_t seed = 1;
  std::string name = "ridge-random";
  // Threads that quantize each generated matrix (the bytes do not depend on it).
  int quantize_threads = 1;
};

// Throws std::invalid_argument when a matrix width is not a multiple of the type's block size.
// Streams: one tensor is generated, quantized and written at a time.
void write_random_llama(const RandomModelSpec& spec, const std::string& path);

// Standard shapes for benchmarks: "tinyllama-1.1b", "llama-3.2-1b", "tiny" (the defaults above).
RandomModelSpec random_model_shape(const std::string& shape_name);

}  // namespace ridge::model
