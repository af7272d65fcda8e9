#pragma once
// The Llama architecture (dense, GQA, RoPE with linear/llama3 scaling, tied
// embeddings): binds weights from a GGUF file, validates every shape against
// the hyper-parameters, and runs one forward pass over a batch of tokens from
// many sequences, keeping K/V in the paged cache. Quantized matrices the active
// kernel path has a packed GEMM for are repacked at load (kernels/repack.h)
// from copies read out of the file, and the mapped pages of their originals
// are dropped, so resident memory stays about the file size.
#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "kernels/ops.h"
#include "kernels/repack.h"
#include "kernels/thread_pool.h"
#include "kv/kv_cache.h"
#include "model/batch.h"
#include "model/hparams.h"

namespace ridge::model {

class LlamaModel {
 public:
  // Loads (mmap) and validates; throws gguf::Error or model::Error naming the key or tensor.
  static std::unique_ptr<LlamaModel> load(const std::string& path);
  // As above for a file opened by the caller. Such a File may hold its bytes in
  // memory (File::from_bytes), so the originals of packed matrices are kept resident.
  static std::unique_ptr<LlamaModel> load(gguf::File file);

  const HParams& hparams() const { return hp_; }
  const gguf::File& file() const { return file_; }

  // A cache config for `n_positions` positions in total over all sequences;
  // K and V are stored as `kv_type` (F16 or F32).
  kv::KvCacheConfig kv_config(int64_t n_positions, int block_size = 16, GgmlType kv_type = GgmlType::F16) const;

  // Runs the batch; K/V of every token are written into `cache` at (seq, pos)
  // and each token attends to positions [0, pos] of its sequence. Appends to
  // `logits` n_vocab floats for every token with want_logits, in batch order.
  // Throws std::invalid_argument for a bad token id or position, kv::KvCacheFull
  // when the cache cannot hold the positions.
  void forward(const Batch& batch, kv::KvCache& cache, kernels::ThreadPool& pool, std::vector<float>& logits) const;
  // As forward(), but appends the final-norm hidden state (n_embd floats)
  // instead of logits for every token with want_logits: for embeddings.
  void forward_hidden(const Batch& batch, kv::KvCache& cache, kernels::ThreadPool& pool,
                      std::vector<float>& hidden) const;

 private:
  struct Layer {
    std::vector<float> attn_norm, ffn_norm;
    kernels::WeightMatrix wq, wk, wv, wo, w_gate, w_up, w_down;
  };
  explicit LlamaModel(gguf::File file);
  void bind();
  // Repacks every matrix the active kernel path computes faster packed. With
  // `file_mapped` (the File maps a file), the originals are read with pread()
  // from the file (or, failing that, through the mapping) and their mapped
  // pages are released afterwards, so they do not stay resident. The
  // embedding table's pages are mapped at load instead (see load()).
  void pack_weights(bool file_mapped);
  // The shared body of forward() and forward_hidden().
  void run(const Batch& batch, kv::KvCache& cache, kernels::ThreadPool& pool, std::vector<float>& out,
           bool hidden_out) const;

  gguf::File file_;
  HParams hp_;
  kernels::WeightMatrix tok_embd_, output_;
  std::vector<float> output_norm_;
  std::vector<Layer> layers_;
  std::vector<double> inv_freq_;
  // Owners of the packed copies the WeightMatrix.packed pointers above point into.
  std::vector<std::unique_ptr<kernels::PackedWeights>> packed_;
};

}  // namespace ridge::model
