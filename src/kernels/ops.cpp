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
#include "kernels/repack_kquant_kernels.h"
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
  // Called for every matrix of every step: the message is built only on failure.
  auto what = [&] { return std::string("matmul on ") + std::string(ggml_type_name(w.type)) + " weights"; };
  if (!tensor::can_dequantize(w.type)) throw std::invalid_argument(what() + ": the type is not supported");
  if (w.cols < 0 || w.rows < 0 || n_tokens < 0) throw std::invalid_argument(what() + ": negative size");
  const int64_t bs = ggml_type_traits(w.type).block_size;
  if (w.cols % bs != 0)
    throw std::invalid_argument(what() + ": " + std::to_string(w.cols) +
                                " columns are not a multiple of the block size " + std::to_string(bs));
  if (w.rows > 0 && w.row_bytes < ggml_row_bytes(w.type, w.cols))
    throw std::invalid_argument(what() + ": row_bytes " + std::to_string(w.row_bytes) + " is smaller than a row of " +
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

// Per calling thread, reused across calls: the activations quantized per
// block of 32 and of 256, and the packed kernels' weight-offset terms, so a
// decode step allocates nothing.
struct MatmulScratch {
  QuantizedActivationBuffer q32, q256;
  std::vector<int32_t> offset_q4, offset_q8;  // -8 * sum, -128 * sum per block of 32
};

MatmulScratch& scratch() {
  static thread_local MatmulScratch s;
  return s;
}

// One matrix's share of a fan-out: `units` items of kUnitRows rows each (the
// last one possibly short); run(task, u0, u1) computes units [u0, u1).
constexpr int64_t kUnitRows = 16;
static_assert(kUnitRows == kPanelRows && kUnitRows % isa::kRowGroup == 0,
              "a unit is one packed panel and whole row groups");

struct Piece {
  bool packed = false;
  isa::PackedMatmulTask packed_task;
  void (*packed_fn)(const isa::PackedMatmulTask&, int64_t, int64_t) = nullptr;
  bool packed_kquant = false;
  isa::PackedKQuantMatmulTask kquant_task;
  void (*kquant_fn)(const isa::PackedKQuantMatmulTask&, int64_t, int64_t) = nullptr;
  isa::MatmulTask task;
  void (*rows_fn)(const isa::MatmulTask&, int64_t, int64_t) = nullptr;
  int64_t units = 0;

  void run(int64_t u0, int64_t u1) const {
    if (packed) return packed_fn(packed_task, u0, u1);
    if (packed_kquant) return kquant_fn(kquant_task, u0, u1);
    rows_fn(task, u0 * kUnitRows, std::min(task.rows, u1 * kUnitRows));
  }
};

// From how many tokens a packed Q4_0 / Q8_0 / Q4_K matmul goes to the AMX kernels
// where it may (amx_int8_active). Below, the AVX-512 tiles are faster: with
// one or two 16-token tiles per panel the AMX kernel waits on each block's
// chain (tile loads, product, store, rescale). TinyLlama Q4_0, 2 threads,
// batched decode, AMX against AVX-512: 8 tokens 141 / 208 t/s, 16: 256 /
// 270, 20: 230 / 282, 24: 270 / 300, 32: 358 / 310, 64: 430 / 323.
constexpr int64_t kAmxMinTokens = 32;

// The GEMM over packed weights: activations quantized per block of 32 as on the
// other SIMD paths, plus each block's share of the weight offset (Q4_0 levels
// are stored as 0..15 = value + 8, Q8_0 as value + 128).
Piece packed_piece(const WeightMatrix& w, const QuantizedActivationBuffer& qx, const std::vector<int32_t>& x_offset,
                   uint64_t x_id, int64_t n_tokens, float* y, KernelPath path) {
  const PackedWeights& p = *w.packed;
  Piece piece;
  piece.packed = true;
  piece.packed_fn = path == KernelPath::Avx512 ? &isa::packed_matmul_panels_avx512 : &isa::packed_matmul_panels_avx2;
  if (path == KernelPath::Avx512 && n_tokens >= kAmxMinTokens && amx_int8_active())
    piece.packed_fn = &isa::packed_matmul_panels_amx;
  auto& task = piece.packed_task;
  task.format = w.type == GgmlType::Q4_0 ? isa::PackedFormat::Q4_0 : isa::PackedFormat::Q8_0;
  task.levels = p.levels;
  task.rows = w.rows;
  task.panels = p.panels;
  task.blocks = p.blocks;
  task.chunk_blocks = p.chunk_blocks;
  task.n_tokens = n_tokens;
  task.xq = qx.q.data();
  task.xd = qx.d.data();
  task.x_offset = x_offset.data();
  task.x_id = x_id;
  task.y = y;
  piece.units = p.panels;
  return piece;
}

// The GEMM over packed Q4_K / Q6_K weights: activations quantized per
// super-block of 256 with their sums per 32 (Q4_K's mins) and per 16 (Q6_K's
// offset of 32), as the unpacked K kernels read them.
Piece packed_kquant_piece(const WeightMatrix& w, const QuantizedActivationBuffer& qx, uint64_t x_id, int64_t n_tokens,
                          float* y, KernelPath path) {
  const PackedWeights& p = *w.packed;
  Piece piece;
  piece.packed_kquant = true;
  piece.kquant_fn =
      path == KernelPath::Avx512 ? &isa::packed_kquant_matmul_panels_avx512 : &isa::packed_kquant_matmul_panels_avx2;
  if (path == KernelPath::Avx512 && w.type == GgmlType::Q4_K && n_tokens >= kAmxMinTokens && amx_int8_active())
    piece.kquant_fn = &isa::packed_kquant_matmul_panels_amx;
  auto& task = piece.kquant_task;
  task.format = w.type == GgmlType::Q4_K ? isa::PackedKQuantFormat::Q4_K : isa::PackedKQuantFormat::Q6_K;
  task.data = p.levels;
  task.rows = w.rows;
  task.super_blocks = p.blocks;
  task.n_tokens = n_tokens;
  task.xq = qx.q.data();
  task.xd = qx.d.data();
  task.bsum16 = qx.bsum16.data();
  task.bsum32 = qx.bsum32.data();
  task.x_id = x_id;
  task.y = y;
  piece.units = p.panels;
  return piece;
}

void fill_offsets(const QuantizedActivationBuffer& qx, int32_t offset, std::vector<int32_t>& out) {
  out.resize(qx.sum.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = -offset * qx.sum[i];
}

// Hands the pieces' units out over the pool in one fan-out. The pool gives
// each thread one contiguous share and balances the ends by stealing (see
// ThreadPool::parallel_for), so with few tokens, where a matmul only streams
// its weights from memory, each thread still reads long runs (the hardware
// prefetcher follows a long run far better than many short ones). The last
// runs handed out are single units (one panel): a thread packs a fan-out's
// activations for its tiles once however many runs it takes, and finer ends
// balance the threads better (decode +1-3% against two-unit ends, same
// binary alternated).
void run_pieces(const std::vector<Piece>& pieces, ThreadPool& pool) {
  int64_t total = 0;
  for (const Piece& p : pieces) total += p.units;
  pool.parallel_for(total, 1, [&](int64_t u0, int64_t u1, int) {
    int64_t base = 0;
    for (const Piece& p : pieces) {
      const int64_t b = std::max(u0, base), e = std::min(u1, base + p.units);
      if (b < e) p.run(b - base, e - base);
      base += p.units;
      if (base >= u1) break;
    }
  });
}

}  // namespace

void matmul_multi(std::span<const WeightMatrix* const> ws, const float* x, int64_t n_tokens,
                  std::span<float* const> ys, ThreadPool& pool, KernelPath path) {
  if (ws.size() != ys.size()) throw std::invalid_argument("matmul_multi: as many outputs as matrices are needed");
  if (ws.empty()) return;
  const int64_t cols = ws[0]->cols;
  for (const WeightMatrix* w : ws) {
    if (w->cols != cols)
      throw std::invalid_argument("matmul_multi: the matrices have " + std::to_string(cols) + " and " +
                                  std::to_string(w->cols) + " columns; they must share the input width");
    validate(*w, n_tokens);
    if (w->packed != nullptr) check_packed(*w);
  }
  require_supported(path);
  if (n_tokens == 0) return;
  // The scalar path has no fan-out worth sharing: one matrix at a time.
  bool any_scalar = false;
  for (const WeightMatrix* w : ws) any_scalar |= path == KernelPath::Scalar || activation_block(w->type) < 0;
  if (any_scalar || cols == 0) {
    for (size_t i = 0; i < ws.size(); ++i)
      if (ws[i]->rows > 0) matmul_scalar(*ws[i], x, n_tokens, ys[i], pool);
    return;
  }

  MatmulScratch& s = scratch();
  bool need32 = false, need256 = false, need_q4 = false, need_q8 = false;
  for (const WeightMatrix* w : ws) {
    const int64_t block = activation_block(w->type);
    need32 |= block == 32;
    need256 |= block == 256;
    const bool packed = w->packed != nullptr && packed_matmul_supported(w->type, path);
    need_q4 |= packed && w->type == GgmlType::Q4_0;
    need_q8 |= packed && w->type == GgmlType::Q8_0;
  }
  if (need32) quantize_activations(x, n_tokens, cols, 32, s.q32, &pool, path);
  if (need256) quantize_activations(x, n_tokens, cols, 256, s.q256, &pool, path);
  if (need_q4) fill_offsets(s.q32, 8, s.offset_q4);
  if (need_q8) fill_offsets(s.q32, 128, s.offset_q8);
  // Names this call's activations for the packed kernels' per-thread copies.
  const uint64_t x_id = isa::next_activation_id();

  std::vector<Piece> pieces;
  pieces.reserve(ws.size());
  const auto rows_fn = path == KernelPath::Avx512 ? &isa::matmul_rows_avx512 : &isa::matmul_rows_avx2;
  for (size_t i = 0; i < ws.size(); ++i) {
    const WeightMatrix& w = *ws[i];
    if (w.rows == 0) continue;
    if (w.packed != nullptr && packed_matmul_supported(w.type, path) &&
        (w.type == GgmlType::Q4_K || w.type == GgmlType::Q6_K)) {
      pieces.push_back(packed_kquant_piece(w, s.q256, x_id, n_tokens, ys[i], path));
      continue;
    }
    if (w.packed != nullptr && packed_matmul_supported(w.type, path)) {
      pieces.push_back(packed_piece(w, s.q32, w.type == GgmlType::Q4_0 ? s.offset_q4 : s.offset_q8, x_id,
                                    n_tokens, ys[i], path));
      continue;
    }
    Piece piece;
    piece.rows_fn = rows_fn;
    auto& task = piece.task;
    task.type = w.type;
    task.w = w.data;
    task.cols = w.cols;
    task.rows = w.rows;
    task.row_bytes = w.row_bytes;
    task.n_tokens = n_tokens;
    task.x = x;
    task.y = ys[i];
    const int64_t block = activation_block(w.type);
    if (block > 0) task.qx = (block == 32 ? s.q32 : s.q256).view();
    piece.units = (w.rows + kUnitRows - 1) / kUnitRows;
    pieces.push_back(piece);
  }
  run_pieces(pieces, pool);
}

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
  const WeightMatrix* ws[] = {&w};
  float* ys[] = {y};
  matmul_multi(ws, x, n_tokens, ys, pool, path);
}

void matmul_multi(std::span<const WeightMatrix* const> ws, const float* x, int64_t n_tokens,
                  std::span<float* const> ys, ThreadPool& pool) {
  matmul_multi(ws, x, n_tokens, ys, pool, active_kernel_path());
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

void rope_angles(int rope_dims, int64_t pos, const double* inv_freq, float* cs) {
  for (int i = 0; i < rope_dims / 2; ++i) {
    const double theta = static_cast<double>(pos) * inv_freq[i];
    cs[2 * i] = static_cast<float>(std::cos(theta));
    cs[2 * i + 1] = static_cast<float>(std::sin(theta));
  }
}

void rope_rotate(float* v, int n_heads, int head_dim, int rope_dims, const float* cs) {
  for (int h = 0; h < n_heads; ++h) {
    float* p = v + static_cast<int64_t>(h) * head_dim;
    for (int i = 0; i < rope_dims / 2; ++i) {
      const float c = cs[2 * i], s = cs[2 * i + 1];
      const float a = p[2 * i], b = p[2 * i + 1];
      p[2 * i] = a * c - b * s;
      p[2 * i + 1] = a * s + b * c;
    }
  }
}

void rope_normal(float* v, int n_heads, int head_dim, int rope_dims, int64_t pos, const double* inv_freq) {
  std::vector<float> cs(static_cast<size_t>(rope_dims / 2) * 2);
  rope_angles(rope_dims, pos, inv_freq, cs.data());
  rope_rotate(v, n_heads, head_dim, rope_dims, cs.data());
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

}  // namespace ridge::kernels
