#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/attention_isa.h"
#include "tensor/quant.h"

namespace ridge::kernels {

namespace {

void require_supported(KernelPath path) {
  if (!kernel_path_supported(path))
    throw std::invalid_argument(std::string("kernel path ") + kernel_path_name(path) + " is not supported by this CPU");
}

int64_t k_index(const KvBlockShape& s, int slot, int head, int d) {
  return (static_cast<int64_t>(head) * s.head_dim + d) * s.block_size + slot;
}

int64_t v_index(const KvBlockShape& s, int slot, int head, int d) {
  return (static_cast<int64_t>(head) * s.block_size + slot) * s.head_dim + d;
}

void fp32_to_fp16(const float* x, uint16_t* y, int64_t n, KernelPath path) {
  switch (path) {
    case KernelPath::Scalar:
      for (int64_t i = 0; i < n; ++i) y[i] = tensor::fp32_to_fp16(x[i]);
      break;
    case KernelPath::Avx2: isa::fp32_to_fp16_avx2(x, y, n); break;
    case KernelPath::Avx512: isa::fp32_to_fp16_avx512(x, y, n); break;
  }
}

float element(const void* block, int64_t index, bool f32) {
  return f32 ? static_cast<const float*>(block)[index]
             : tensor::fp16_to_fp32(static_cast<const uint16_t*>(block)[index]);
}

// The scalar reference for one tile (the fields of isa::AttentionTile; no
// scratch): each query row on its own, one key at a time, with the same online
// softmax as the SIMD kernels but std::exp and plain sums.
void attention_tile_scalar(const isa::AttentionTile& t, std::vector<float>& acc) {
  const KvBlockShape shape{t.block_size, t.n_kv_heads, t.head_dim, t.f32 ? GgmlType::F32 : GgmlType::F16};
  const int hd = t.head_dim;
  acc.resize(static_cast<size_t>(hd));
  for (int i = 0; i < t.n_tokens; ++i) {
    const int64_t last = t.first_pos + i;
    for (int g = t.head_begin; g < t.head_begin + t.n_heads; ++g) {
      const int64_t offset = i * t.q_stride + static_cast<int64_t>(t.kv_head * t.group + g) * hd;
      const float* q = t.q + offset;
      float m = -std::numeric_limits<float>::infinity(), l = 0.f;
      std::fill(acc.begin(), acc.end(), 0.f);
      for (int64_t p = 0; p <= last; ++p) {
        const void* kb = t.k_blocks[p / t.block_size];
        const void* vb = t.v_blocks[p / t.block_size];
        const int slot = static_cast<int>(p % t.block_size);
        float dot = 0.f;
        for (int d = 0; d < hd; ++d) dot += q[d] * element(kb, k_index(shape, slot, t.kv_head, d), t.f32);
        const float s = dot * t.scale;
        const float m_new = std::max(m, s);
        const float corr = std::exp(m - m_new);  // 0 for the first key (m = -inf)
        const float e = std::exp(s - m_new);
        l = l * corr + e;
        for (int d = 0; d < hd; ++d)
          acc[d] = acc[d] * corr + e * element(vb, v_index(shape, slot, t.kv_head, d), t.f32);
        m = m_new;
      }
      float* out = t.out + offset;
      for (int d = 0; d < hd; ++d) out[d] = acc[d] / l;
    }
  }
}

void validate(std::span<const AttentionRun> runs, const AttentionShape& shape) {
  if (shape.n_head <= 0 || shape.n_kv_heads <= 0 || shape.head_dim <= 0 || shape.n_head % shape.n_kv_heads != 0)
    throw std::invalid_argument("attention: " + std::to_string(shape.n_head) + " query heads, " +
                                std::to_string(shape.n_kv_heads) + " KV heads and head dim " +
                                std::to_string(shape.head_dim) +
                                ": all must be positive and the query heads a multiple of the KV heads");
  for (size_t i = 0; i < runs.size(); ++i) {
    const AttentionRun& r = runs[i];
    const KvBlockShape& kv = r.kv.shape;
    validate_kv_block_shape(kv);
    if (kv.n_kv_heads != shape.n_kv_heads || kv.head_dim != shape.head_dim)
      throw std::invalid_argument("attention: run " + std::to_string(i) + " has KV blocks of " +
                                  std::to_string(kv.n_kv_heads) + " heads of " + std::to_string(kv.head_dim) +
                                  " (block size " + std::to_string(kv.block_size) + "), the shape says " +
                                  std::to_string(shape.n_kv_heads) + " of " + std::to_string(shape.head_dim));
    if (r.n_tokens < 0 || r.first_pos < 0 || r.first_pos + r.n_tokens > (int64_t(1) << 31))
      throw std::invalid_argument("attention: run " + std::to_string(i) + " has " + std::to_string(r.n_tokens) +
                                  " tokens from position " + std::to_string(r.first_pos));
  }
}

// A work item: one run's tile of query tokens for some of the query heads of one KV head.
struct TileRef {
  int32_t run;
  int32_t kv_head;
  int32_t head_begin;  // within the group
  int32_t n_heads;
  int64_t token_begin;
  int64_t n_tokens;
};

std::vector<float>& thread_scratch() {
  static thread_local std::vector<float> s;
  return s;
}

}  // namespace

void validate_kv_block_shape(const KvBlockShape& shape) {
  if (shape.block_size <= 0 || shape.n_kv_heads <= 0 || shape.head_dim <= 0)
    throw std::invalid_argument("KV blocks: block size " + std::to_string(shape.block_size) + ", " +
                                std::to_string(shape.n_kv_heads) + " heads and head dim " +
                                std::to_string(shape.head_dim) + ": all must be positive");
  if (shape.type != GgmlType::F16 && shape.type != GgmlType::F32)
    throw std::invalid_argument("KV blocks: element type " + std::string(ggml_type_name(shape.type)) +
                                " is not supported (F16 or F32)");
}

int64_t kv_block_elements(const KvBlockShape& shape) {
  return static_cast<int64_t>(shape.block_size) * shape.n_kv_heads * shape.head_dim;
}

size_t kv_element_bytes(const KvBlockShape& shape) { return shape.type == GgmlType::F32 ? 4 : 2; }

void store_kv_slot(const KvBlockShape& shape, const float* k, const float* v, int slot, void* k_block,
                   void* v_block) {
  store_kv_slot(shape, k, v, slot, k_block, v_block, active_kernel_path());
}

void store_kv_slot(const KvBlockShape& shape, const float* k, const float* v, int slot, void* k_block,
                   void* v_block, KernelPath path) {
  require_supported(path);
  const int hd = shape.head_dim;
  if (shape.type == GgmlType::F32) {
    auto* kf = static_cast<float*>(k_block);
    auto* vf = static_cast<float*>(v_block);
    for (int h = 0; h < shape.n_kv_heads; ++h)
      for (int d = 0; d < hd; ++d) {
        kf[k_index(shape, slot, h, d)] = k[h * hd + d];
        vf[v_index(shape, slot, h, d)] = v[h * hd + d];
      }
    return;
  }
  auto* kh = static_cast<uint16_t*>(k_block);
  auto* vh = static_cast<uint16_t*>(v_block);
  // K goes through a row buffer because its layout scatters one row over the block.
  static thread_local std::vector<uint16_t> k_half;
  k_half.resize(static_cast<size_t>(shape.n_kv_heads) * hd);
  fp32_to_fp16(k, k_half.data(), static_cast<int64_t>(k_half.size()), path);
  for (int h = 0; h < shape.n_kv_heads; ++h) {
    for (int d = 0; d < hd; ++d) kh[k_index(shape, slot, h, d)] = k_half[static_cast<size_t>(h) * hd + d];
    fp32_to_fp16(v + static_cast<int64_t>(h) * hd, vh + v_index(shape, slot, h, 0), hd, path);
  }
}

void load_kv_slot(const KvBlockShape& shape, const void* k_block, const void* v_block, int slot, float* k,
                  float* v) {
  const int hd = shape.head_dim;
  const bool f32 = shape.type == GgmlType::F32;
  for (int h = 0; h < shape.n_kv_heads; ++h)
    for (int d = 0; d < hd; ++d) {
      k[h * hd + d] = element(k_block, k_index(shape, slot, h, d), f32);
      v[h * hd + d] = element(v_block, v_index(shape, slot, h, d), f32);
    }
}

int64_t attention_tile_tokens(const AttentionShape& shape) {
  // About 4096 accumulator floats (16 KiB) per tile; 8 to 16 tokens for the usual shapes.
  const int64_t group = std::max(1, shape.n_head / std::max(1, shape.n_kv_heads));
  const int64_t hd_pad = (std::max(1, shape.head_dim) + 15) / 16 * 16;
  return std::clamp<int64_t>(4096 / (group * hd_pad), 1, 16);
}

int attention_segment_keys(int64_t rows) {
  return static_cast<int>(std::clamp<int64_t>(16384 / std::max<int64_t>(rows, 1) / 16 * 16, 16, 512));
}

int64_t attention_scratch_floats(int64_t rows, int head_dim) {
  const int64_t hd_pad = (head_dim + 15) / 16 * 16, rows_pad = (rows + 15) / 16 * 16;
  // A group of key chunks' K and V, a segment's scores / probabilities per
  // row (and one chunk's overhang), accumulators, max and sum per row, then
  // each row's query offset and key count (two int64).
  const int64_t group = isa::kAttentionGroupChunks;
  return group * head_dim * 16 + group * 16 * hd_pad + rows * (attention_segment_keys(rows) + 16) + rows * hd_pad +
         (2 + 4) * rows_pad;
}

void attention(std::span<const AttentionRun> runs, const AttentionShape& shape, ThreadPool& pool) {
  attention(runs, shape, pool, active_kernel_path());
}

void attention(std::span<const AttentionRun> runs, const AttentionShape& shape, ThreadPool& pool,
               KernelPath path) {
  require_supported(path);
  validate(runs, shape);
  const int group = shape.n_head / shape.n_kv_heads;
  const int64_t tile_tokens = attention_tile_tokens(shape);
  int64_t n_tiles = 0;
  for (const AttentionRun& r : runs) n_tiles += (r.n_tokens + tile_tokens - 1) / tile_tokens * shape.n_kv_heads;
  // Fewer than two tiles per thread (a decode step of a model with few KV
  // heads) would leave the threads unevenly loaded: one that starts late, or
  // gets one tile more, holds up the layer. Then each tile takes only part of
  // its group's query heads. Not more parts than that: each part converts
  // and reads the group's K/V again (TinyLlama decode, 2 threads, with its 4
  // KV heads: whole groups were 4% faster than 4 tiles per thread at 1024
  // keys, and 1.2% faster at 0-128 keys, 16 pairs with aligned loops).
  const int64_t want = 2 * static_cast<int64_t>(pool.size());
  const int parts = n_tiles >= want ? 1 : static_cast<int>(std::min<int64_t>(group, (want + n_tiles - 1) / n_tiles));
  // Later tiles of a run see more keys; listing them first lets the pool's
  // dynamic hand-out end with the cheap ones, so the threads finish together.
  std::vector<TileRef> tiles;
  for (size_t r = 0; r < runs.size(); ++r) {
    const int64_t n = runs[r].n_tokens;
    for (int64_t end = n; end > 0; end -= tile_tokens) {
      const int64_t begin = std::max<int64_t>(0, end - tile_tokens);
      for (int h = 0; h < shape.n_kv_heads; ++h)
        for (int part = 0; part < parts; ++part) {
          const int g0 = group * part / parts, g1 = group * (part + 1) / parts;
          tiles.push_back({static_cast<int32_t>(r), h, g0, g1 - g0, begin, end - begin});
        }
    }
  }
  std::sort(tiles.begin(), tiles.end(), [&](const TileRef& a, const TileRef& b) {
    return runs[a.run].first_pos + a.token_begin + a.n_tokens > runs[b.run].first_pos + b.token_begin + b.n_tokens;
  });
  const int64_t q_stride = static_cast<int64_t>(shape.n_head) * shape.head_dim;
  pool.parallel_for(static_cast<int64_t>(tiles.size()), 1, [&](int64_t i0, int64_t i1, int) {
    std::vector<float>& scratch = thread_scratch();
    for (int64_t i = i0; i < i1; ++i) {
      const TileRef& ref = tiles[static_cast<size_t>(i)];
      const AttentionRun& run = runs[static_cast<size_t>(ref.run)];
      isa::AttentionTile t;
      t.q = run.q + ref.token_begin * q_stride;
      t.out = run.out + ref.token_begin * q_stride;
      t.q_stride = q_stride;
      t.k_blocks = run.kv.k_blocks;
      t.v_blocks = run.kv.v_blocks;
      t.f32 = run.kv.shape.type == GgmlType::F32;
      t.block_size = run.kv.shape.block_size;
      t.n_kv_heads = shape.n_kv_heads;
      t.head_dim = shape.head_dim;
      t.group = group;
      t.head_begin = ref.head_begin;
      t.n_heads = ref.n_heads;
      t.kv_head = ref.kv_head;
      t.n_tokens = static_cast<int>(ref.n_tokens);
      t.first_pos = run.first_pos + ref.token_begin;
      t.scale = shape.scale;
      t.segment_keys = attention_segment_keys(ref.n_tokens * ref.n_heads);
      if (path == KernelPath::Scalar) {
        attention_tile_scalar(t, scratch);
        continue;
      }
      scratch.resize(static_cast<size_t>(attention_scratch_floats(ref.n_tokens * ref.n_heads, shape.head_dim)));
      t.scratch = scratch.data();
      if (path == KernelPath::Avx512)
        isa::attention_tile_avx512(t);
      else
        isa::attention_tile_avx2(t);
    }
  });
}

}  // namespace ridge::kernels
