#include "model/llama.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernels/attention.h"
#include "tensor/quant.h"

namespace ridge::model {

namespace {

std::string shape_str(const gguf::TensorInfo& t) {
  std::string s = "[";
  for (uint32_t i = 0; i < t.n_dims; ++i) s += (i ? ", " : "") + std::to_string(t.ne[i]);
  return s + "]";
}

const gguf::TensorInfo& need_tensor(const gguf::File& f, const std::string& name) {
  const auto* t = f.find_tensor(name);
  if (!t) throw Error(f.path() + ": missing tensor " + name);
  return *t;
}

// Drops the resident pages of a packed matrix's original rows from this
// process. Only for rows in a file mapping (File::open): that mapping is
// private and read-only, so the pages are only unmapped (they stay in the page
// cache) and a later read of the rows (the scalar path, an embedding lookup on
// tied weights) faults them back in. On memory File::from_bytes owns, the same
// call would zero the bytes.
void release_pages(const kernels::WeightMatrix& w) {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(w.data);
  const uintptr_t end = begin + w.row_bytes * static_cast<uintptr_t>(w.rows);
  const uintptr_t first = (begin + page - 1) / page * page, last = end / page * page;
  // Only whole pages inside the matrix: neighbours may still be needed. Failure only costs memory.
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

// Maps every page of w's rows now, with a read per page: the embedding table
// is read one row per token, and through the file mapping each first touch of
// a page cost a fault in the middle of a decode step (TinyLlama shape, random
// tokens: 72 µs a token, about 0.8% of decode).
void map_pages(const kernels::WeightMatrix& w) {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(w.data);
  const uintptr_t end = begin + w.row_bytes * static_cast<uintptr_t>(w.rows);
  for (uintptr_t a = begin / page * page; a < end; a += page)
    (void)*reinterpret_cast<const volatile uint8_t*>(std::max(a, begin));
}

// The bytes of a mapped GGUF file, read with pread() from a descriptor of
// its own instead of through the mapping. Packing reads every byte of the
// quantized matrices once; through the mapping each first touch of a page
// costs a fault (in a virtual machine several microseconds per 4 KiB page,
// more than the packing itself), while pread copies from the page cache
// without mapping anything, so the originals never become resident either.
class FileBytes {
 public:
  // Opens f's path again. Null when that fails or the file there is not the
  // one mapped (another size or other header bytes: replaced since); the
  // caller then reads through the mapping.
  static std::unique_ptr<FileBytes> reopen(const gguf::File& f) {
    if (f.tensors().empty()) return nullptr;
    const auto& t = f.tensors().front();
    const uint8_t* image = t.data - (f.data_offset() + t.offset);
    const int fd = ::open(f.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nullptr;
    std::unique_ptr<FileBytes> fb(new FileBytes(fd, image, f.path()));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != f.file_size())
      return nullptr;
    // The header and tensor table were parsed from the mapping, so these pages are resident already.
    std::vector<uint8_t> header(f.data_offset());
    try {
      fb->read(image, header.size(), header.data());
    } catch (const Error&) {
      return nullptr;
    }
    if (std::memcmp(header.data(), image, header.size()) != 0) return nullptr;
    return fb;
  }
  ~FileBytes() { ::close(fd_); }
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;

  // Copies the n bytes the mapping shows at `at` into dst.
  void read(const uint8_t* at, size_t n, uint8_t* dst) const {
    auto offset = static_cast<off_t>(at - image_);
    while (n > 0) {
      const ssize_t got = ::pread(fd_, dst, n, offset);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0)
        throw Error(path_ + ": cannot read " + std::to_string(n) + " bytes at byte offset " + std::to_string(offset) +
                    ": " + (got < 0 ? std::strerror(errno) : "the file ends early (truncated since it was opened?)"));
      dst += got;
      offset += got;
      n -= static_cast<size_t>(got);
    }
  }

 private:
  FileBytes(int fd, const uint8_t* image, std::string path) : fd_(fd), image_(image), path_(std::move(path)) {}
  int fd_;
  const uint8_t* image_;  // byte 0 of the file in the mapping
  std::string path_;
};

// Activation buffers of one forward pass, kept per calling thread and reused:
// reallocating them every step would zero fresh pages (a prefill's FFN
// buffers are tens of MiB) and fault them in again. Contents are not
// initialised; every buffer is written before it is read.
class StepBuffers {
 public:
  float* get(size_t slot, size_t n) {
    if (slot >= bufs_.size()) bufs_.resize(slot + 1);
    Buf& b = bufs_[slot];
    if (b.size < n) {
      b.data.reset(new float[n]);
      b.size = n;
    }
    return b.data.get();
  }

 private:
  struct Buf {
    std::unique_ptr<float[]> data;
    size_t size = 0;
  };
  std::vector<Buf> bufs_;
};

void check_shape(const gguf::File& f, const gguf::TensorInfo& t, int64_t ne0, int64_t ne1) {
  const bool ok = t.ne[0] == ne0 && t.ne[1] == ne1 && t.ne[2] == 1 && t.ne[3] == 1;
  if (!ok)
    throw Error(f.path() + ": tensor " + t.name + " has shape " + shape_str(t) + ", expected [" + std::to_string(ne0) +
                (ne1 > 1 ? ", " + std::to_string(ne1) : std::string()) + "] from the hyper-parameters");
}

kernels::WeightMatrix matrix(const gguf::File& f, const std::string& name, int64_t cols, int64_t rows) {
  const auto& t = need_tensor(f, name);
  check_shape(f, t, cols, rows);
  if (!tensor::can_dequantize(t.type))
    throw Error(f.path() + ": tensor " + name + " has type " + std::string(ggml_type_name(t.type)) +
                ", which this build cannot compute with");
  return {t.type, t.data, cols, rows, ggml_row_bytes(t.type, cols)};
}

std::vector<float> vector_f32(const gguf::File& f, const std::string& name, int64_t n) {
  const auto& t = need_tensor(f, name);
  check_shape(f, t, n, 1);
  if (!tensor::can_dequantize(t.type) || n % ggml_type_traits(t.type).block_size != 0)
    throw Error(f.path() + ": tensor " + name + " has unsupported type " + std::string(ggml_type_name(t.type)));
  std::vector<float> v(n);
  tensor::dequantize_row(t.type, t.data, v.data(), n);
  return v;
}

}  // namespace

LlamaModel::LlamaModel(gguf::File file) : file_(std::move(file)) {}

std::unique_ptr<LlamaModel> LlamaModel::load(const std::string& path) {
  std::unique_ptr<LlamaModel> m(new LlamaModel(gguf::File::open(path)));
  m->bind();
  m->pack_weights(true);
  map_pages(m->tok_embd_);  // after pack_weights, which may have released them (tied output)
  return m;
}

std::unique_ptr<LlamaModel> LlamaModel::load(gguf::File file) {
  std::unique_ptr<LlamaModel> m(new LlamaModel(std::move(file)));
  m->bind();
  m->pack_weights(false);
  return m;
}

void LlamaModel::bind() {
  const auto& f = file_;
  hp_ = HParams::from_gguf(f);
  const auto& emb = need_tensor(f, "token_embd.weight");
  if (emb.n_dims != 2 || emb.ne[0] != hp_.n_embd)
    throw Error(f.path() + ": tensor token_embd.weight has shape " + shape_str(emb) + ", expected [" +
                std::to_string(hp_.n_embd) + ", n_vocab]");
  hp_.n_vocab = emb.ne[1];
  if (const auto* toks = f.find("tokenizer.ggml.tokens"); toks && toks->type == gguf::ValueType::ARRAY &&
                                                        static_cast<int64_t>(toks->array_size()) != hp_.n_vocab)
    throw Error(f.path() + ": tokenizer.ggml.tokens has " + std::to_string(toks->array_size()) +
                " entries but token_embd.weight has " + std::to_string(hp_.n_vocab) + " rows");
  tok_embd_ = matrix(f, "token_embd.weight", hp_.n_embd, hp_.n_vocab);
  output_norm_ = vector_f32(f, "output_norm.weight", hp_.n_embd);
  // Tied embeddings: without output.weight the embedding matrix projects to the vocabulary.
  output_ = f.find_tensor("output.weight") ? matrix(f, "output.weight", hp_.n_embd, hp_.n_vocab) : tok_embd_;

  const int64_t q_dim = hp_.n_head * hp_.head_dim;
  const int64_t kv_dim = hp_.n_head_kv * hp_.head_dim;
  layers_.resize(hp_.n_layer);
  for (int64_t i = 0; i < hp_.n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    auto& L = layers_[i];
    L.attn_norm = vector_f32(f, b + "attn_norm.weight", hp_.n_embd);
    L.ffn_norm = vector_f32(f, b + "ffn_norm.weight", hp_.n_embd);
    L.wq = matrix(f, b + "attn_q.weight", hp_.n_embd, q_dim);
    L.wk = matrix(f, b + "attn_k.weight", hp_.n_embd, kv_dim);
    L.wv = matrix(f, b + "attn_v.weight", hp_.n_embd, kv_dim);
    L.wo = matrix(f, b + "attn_output.weight", q_dim, hp_.n_embd);
    L.w_gate = matrix(f, b + "ffn_gate.weight", hp_.n_embd, hp_.n_ff);
    L.w_up = matrix(f, b + "ffn_up.weight", hp_.n_embd, hp_.n_ff);
    L.w_down = matrix(f, b + "ffn_down.weight", hp_.n_ff, hp_.n_embd);
  }
  std::vector<float> factors;
  if (f.find_tensor("rope_freqs.weight")) factors = vector_f32(f, "rope_freqs.weight", hp_.rope_dims / 2);
  for (float x : factors)
    if (!(x > 0.f) || !std::isfinite(x)) throw Error(f.path() + ": tensor rope_freqs.weight has a non-positive factor");
  inv_freq_ = rope_inv_freq(hp_, factors);
}

void LlamaModel::pack_weights(bool file_mapped) {
  const kernels::KernelPath path = kernels::active_kernel_path();
  std::vector<kernels::WeightMatrix*> todo;
  auto want = [&](kernels::WeightMatrix& w) {
    if (kernels::packed_matmul_supported(w.type, path)) todo.push_back(&w);
  };
  // The embedding table is only read a row at a time (get_row): never packed,
  // but a tied output matrix is.
  want(output_);
  for (auto& L : layers_)
    for (auto* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) want(*w);
  if (todo.empty()) return;
  kernels::ThreadPool pool(kernels::default_thread_count());
  const std::unique_ptr<FileBytes> source = file_mapped ? FileBytes::reopen(file_) : nullptr;
  const kernels::SourceReader read = [&](const uint8_t* at, size_t n, uint8_t* dst) { source->read(at, n, dst); };
  // All matrices in one fan-out and one allocation (see kernels::pack_weights_all).
  packed_ = kernels::pack_weights_all(std::vector<const kernels::WeightMatrix*>(todo.begin(), todo.end()), &pool,
                                      source ? &read : nullptr);
  for (size_t i = 0; i < todo.size(); ++i) {
    todo[i]->packed = packed_[i].get();
    // Read through the mapping, the originals' pages are resident now. Even
    // when they were not read, faults on neighbouring tensors (the norms bind()
    // read) map whole large folios of the page cache reaching into them.
    if (file_mapped) release_pages(*todo[i]);
  }
}

kv::KvCacheConfig LlamaModel::kv_config(int64_t n_positions, int block_size, GgmlType kv_type) const {
  kv::KvCacheConfig c;
  c.n_layers = static_cast<int>(hp_.n_layer);
  c.n_kv_heads = static_cast<int>(hp_.n_head_kv);
  c.head_dim = static_cast<int>(hp_.head_dim);
  c.block_size = block_size;
  c.n_blocks = std::max<int64_t>(1, (n_positions + block_size - 1) / block_size);
  c.kv_type = kv_type;
  return c;
}

void LlamaModel::forward(const Batch& batch, kv::KvCache& cache, kernels::ThreadPool& pool,
                         std::vector<float>& logits) const {
  run(batch, cache, pool, logits, false);
}

void LlamaModel::forward_hidden(const Batch& batch, kv::KvCache& cache, kernels::ThreadPool& pool,
                                std::vector<float>& hidden) const {
  run(batch, cache, pool, hidden, true);
}

void LlamaModel::run(const Batch& batch, kv::KvCache& cache, kernels::ThreadPool& pool, std::vector<float>& logits,
                     bool hidden_out) const {
  const int64_t n = static_cast<int64_t>(batch.size());
  if (n == 0) return;
  if (batch.pos.size() != batch.tokens.size() || batch.seq.size() != batch.tokens.size() ||
      batch.want_logits.size() != batch.tokens.size())
    throw std::invalid_argument("batch: tokens, positions, sequence ids and logit flags differ in length");
  for (int64_t t = 0; t < n; ++t) {
    if (batch.tokens[t] < 0 || batch.tokens[t] >= hp_.n_vocab)
      throw std::invalid_argument("batch: token id " + std::to_string(batch.tokens[t]) + " is outside the vocabulary [0, " +
                                  std::to_string(hp_.n_vocab) + ")");
    if (batch.pos[t] < 0 || batch.pos[t] >= (int64_t(1) << 31))
      throw std::invalid_argument("batch: position " + std::to_string(batch.pos[t]) + " is out of range");
  }
  // Take all blocks first so a full cache fails before any state changes.
  {
    std::vector<std::pair<int32_t, int64_t>> need;
    for (int64_t t = 0; t < n; ++t) {
      auto it = std::find_if(need.begin(), need.end(), [&](auto& p) { return p.first == batch.seq[t]; });
      if (it == need.end()) need.emplace_back(batch.seq[t], batch.pos[t] + 1);
      else it->second = std::max(it->second, batch.pos[t] + 1);
    }
    int64_t extra = 0;
    const int bs = cache.config().block_size;
    for (auto& [s, np] : need) extra += std::max<int64_t>(0, (np + bs - 1) / bs - cache.capacity(s) / bs);
    if (extra > cache.n_available_blocks())
      throw kv::KvCacheFull("KV cache full: the batch needs " + std::to_string(extra) + " more blocks, " +
                            std::to_string(cache.n_available_blocks()) + " free");
    for (auto& [s, np] : need) cache.reserve(s, np);
  }

  const int64_t E = hp_.n_embd, hd = hp_.head_dim, H = hp_.n_head, Hkv = hp_.n_head_kv;
  const int64_t q_dim = H * hd, kv_dim = Hkv * hd, F = hp_.n_ff;
  static thread_local StepBuffers buffers;
  size_t slot = 0;
  auto buffer = [&](int64_t count) { return buffers.get(slot++, static_cast<size_t>(count)); };
  float *x = buffer(n * E), *xn = buffer(n * E), *q = buffer(n * q_dim), *k = buffer(n * kv_dim),
        *v = buffer(n * kv_dim), *att = buffer(n * q_dim), *tmp = buffer(n * E), *gate = buffer(n * F),
        *up = buffer(n * F);
  for (int64_t t = 0; t < n; ++t) kernels::get_row(tok_embd_, batch.tokens[t], &x[t * E]);
  // Each token's rotary angles, shared by every layer's q and k.
  const int rope_dims = static_cast<int>(hp_.rope_dims);
  float* rope_cs = buffer(n * std::max(rope_dims, 1));
  for (int64_t t = 0; t < n; ++t) kernels::rope_angles(rope_dims, batch.pos[t], inv_freq_.data(), &rope_cs[t * rope_dims]);

  // Attention runs: consecutive tokens of one sequence at consecutive
  // positions (a prefill chunk, a decode token) share their K/V reads.
  kernels::AttentionShape att_shape;
  att_shape.n_head = static_cast<int>(H);
  att_shape.n_kv_heads = static_cast<int>(Hkv);
  att_shape.head_dim = static_cast<int>(hd);
  att_shape.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  std::vector<kernels::AttentionRun> att_runs;
  std::vector<int32_t> att_run_seq;
  for (int64_t t = 0; t < n; ++t) {
    if (t > 0 && batch.seq[t] == batch.seq[t - 1] && batch.pos[t] == batch.pos[t - 1] + 1) {
      ++att_runs.back().n_tokens;
      continue;
    }
    kernels::AttentionRun run;
    run.q = &q[t * q_dim];
    run.out = &att[t * q_dim];
    run.n_tokens = 1;
    run.first_pos = batch.pos[t];
    att_runs.push_back(run);
    att_run_seq.push_back(batch.seq[t]);
  }

  for (int64_t l = 0; l < hp_.n_layer; ++l) {
    const Layer& L = layers_[l];
    for (int64_t t = 0; t < n; ++t) kernels::rmsnorm(&x[t * E], L.attn_norm.data(), E, hp_.rms_eps, &xn[t * E]);
    {
      const kernels::WeightMatrix* ws[] = {&L.wq, &L.wk, &L.wv};
      float* ys[] = {q, k, v};
      kernels::matmul_multi(ws, xn, n, ys, pool);
    }
    for (int64_t t = 0; t < n; ++t) {
      kernels::rope_rotate(&q[t * q_dim], static_cast<int>(H), static_cast<int>(hd), rope_dims, &rope_cs[t * rope_dims]);
      kernels::rope_rotate(&k[t * kv_dim], static_cast<int>(Hkv), static_cast<int>(hd), rope_dims,
                           &rope_cs[t * rope_dims]);
      cache.write(static_cast<int>(l), batch.seq[t], batch.pos[t], &k[t * kv_dim], &v[t * kv_dim]);
    }
    // Views are fetched on the calling thread; the cache is not touched concurrently.
    for (size_t r = 0; r < att_runs.size(); ++r) att_runs[r].kv = cache.view(static_cast<int>(l), att_run_seq[r]);
    kernels::attention(att_runs, att_shape, pool);
    kernels::matmul(L.wo, att, n, tmp, pool);
    for (int64_t i = 0; i < n * E; ++i) x[i] += tmp[i];

    for (int64_t t = 0; t < n; ++t) kernels::rmsnorm(&x[t * E], L.ffn_norm.data(), E, hp_.rms_eps, &xn[t * E]);
    {
      const kernels::WeightMatrix* ws[] = {&L.w_gate, &L.w_up};
      float* ys[] = {gate, up};
      kernels::matmul_multi(ws, xn, n, ys, pool);
    }
    kernels::silu_mul(gate, up, n * F);
    kernels::matmul(L.w_down, gate, n, tmp, pool);
    for (int64_t i = 0; i < n * E; ++i) x[i] += tmp[i];
  }

  std::vector<float> sel;
  int64_t n_out = 0;
  for (int64_t t = 0; t < n; ++t) {
    if (!batch.want_logits[t]) continue;
    sel.resize((n_out + 1) * E);
    kernels::rmsnorm(&x[t * E], output_norm_.data(), E, hp_.rms_eps, &sel[n_out * E]);
    ++n_out;
  }
  if (n_out == 0) return;
  if (hidden_out) {
    logits.insert(logits.end(), sel.begin(), sel.end());
    return;
  }
  const size_t base = logits.size();
  logits.resize(base + static_cast<size_t>(n_out * hp_.n_vocab));
  kernels::matmul(output_, sel.data(), n_out, logits.data() + base, pool);
}

}  // namespace ridge::model
