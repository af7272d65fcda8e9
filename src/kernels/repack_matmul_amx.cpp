// The GEMM over packed Q4_0 / Q8_0 weights (repack.h) on Intel AMX, for
// prefill and other many-token calls: the same integer sums as the AVX-512
// VNNI tiles (repack_matmul_avx512.cpp), formed 16 tokens x 16 rows x one
// block of 32 columns per TDPBSSD, and the same float operations after them,
// so every result has the same bits as on the AVX-512 path.
//
// Per (panel, block): the block's levels are widened into one B tile of
// signed bytes (8 rows of 64 bytes: row g holds columns 4g..4g+3 of the 16
// rows, the layout TDPBSSD wants and the packed copy already has), with the
// weight offset taken out (Q4_0 level - 8, Q8_0 level - 128: the exact
// weights, so the activations' offset sums are not needed). Each 16-token
// tile of activations (A: the 16 tokens' 32 level bytes of the block, packed
// once per thread per fan-out as one contiguous 512-byte tile with the
// tokens' scales after it, see activation_tiles) meets it in a C tile; C
// goes to memory, and each token's 16 int32 sums are rescaled into its float
// accumulators exactly as the AVX-512 tile does: acc = fma(float(sum), row
// scales x token scale, acc), block after block, chunk after chunk.
//
// Q4_K (further down) likewise: one TDPBSUD per sub-block of 32 against the
// unsigned levels, the AVX-512 tile's integer scaling and float update.
//
// Only runs where amx_int8_usable() (cpu_features.h) said so: the CPU has
// AMX-TILE and AMX-INT8 and the kernel granted this process the tile state.
// ops.cpp sends it calls of 32 tokens or more (kAmxMinTokens).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/repack_kernels.h"
#include "kernels/repack_kquant_kernels.h"

namespace ridge::kernels::isa {

namespace {

constexpr int64_t kPanel = 16;
// Tokens per pass over the weights: with 512 (not the AVX-512 tiles' 64) a
// pp512 reads each weight once, and one chunk of blocks of every token's A
// tiles (1.2 MiB at most) still fits in L2 (1.0-1.1x the speed of 64; the
// machine's noise was as large).
constexpr int64_t kTokenChunk = 512;
// The packed activations' tag for packed_activation_scratch (the AVX-512 /
// AVX2 kernels use 1..4, the K-quant ones 16..19).
constexpr int kAmxLayoutTag = 32;

// The most blocks per chunk of a packed Q4_0 / Q8_0 panel (repack.h): run's
// buffers hold that many.
constexpr int64_t kMaxChunkBlocks = 64;
// Bytes of a packed Q4_K record (Format<Q4_K>::kBlockBytes, repack_kquant.h).
constexpr int64_t kQ4kRecordBytes = 2368;

// Which of a panel's 16 rows exist (the last panel of a matrix may be short).
inline __mmask16 panel_rows(int64_t rows, int64_t panel) {
  const int64_t left = rows - panel * kPanel;
  return left >= kPanel ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
}

// Bytes per (token tile, block) of the packed activations (activation_tiles).
constexpr int64_t kTileBytes = 512 + 64;
// Tile numbers must be literals in GCC's AMX intrinsics (they are pasted
// into the assembly), so token_tile names them itself: C tiles 0-3 (16
// tokens x 16 int32), A tiles 4 and 5 (16 tokens x one block's 32 level
// bytes), B tiles 6 and 7 (the block's 8 x 64 weight bytes).
constexpr int kTilesC[] = {0, 1, 2, 3}, kTilesA[] = {4, 5}, kTilesB[] = {6, 7};

// The tile configuration (palette 1).
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

TileConfig make_config() {
  TileConfig c;
  for (int t : kTilesC) {
    c.colsb[t] = 64;
    c.rows[t] = 16;
  }
  for (int t : kTilesA) {
    c.colsb[t] = 32;
    c.rows[t] = 16;
  }
  for (int t : kTilesB) {
    c.colsb[t] = 64;
    c.rows[t] = 8;
  }
  return c;
}

// Block b's levels as signed bytes, 8 lines of 64 (the B tile).
template <bool kQ8>
inline void widen_block(const uint8_t* levels, int8_t* out) {
  if constexpr (kQ8) {
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));  // level - 128, as a signed byte
    for (int g = 0; g < 8; ++g)
      _mm512_store_si512(out + 64 * g,
                         _mm512_xor_si512(_mm512_loadu_si512(levels + 64 * g), flip));
  } else {
    const __m512i low = _mm512_set1_epi8(0x0f), eight = _mm512_set1_epi8(8);
    for (int g = 0; g < 4; ++g) {  // low nibbles: columns 4g..4g+3, high: 16+4g.. (repack.h)
      const __m512i packed = _mm512_loadu_si512(levels + 64 * g);
      _mm512_store_si512(out + 64 * g, _mm512_sub_epi8(_mm512_and_si512(packed, low), eight));
      _mm512_store_si512(out + 64 * (g + 4),
                         _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(packed, 4), low), eight));
    }
  }
}

// One 16-token tile of a panel's chunk: acc (the tile's float sums, token t
// in acc[t]) += every block's products, in block order. Block j's product
// (C tile j % 4, A and B tiles by parity) is issued, then block j - 1's C
// tile stored, then block j - 2's sums rescaled: the tile unit, its stores
// and the vector units work on three blocks at once instead of waiting for
// each other.
// (Tile numbers as literals: k this block's C, ta / tb its A and B, cp the
// previous block's C.)
#define RIDGE_AMX_STEP(k, ta, tb, cp)                                                     \
  do {                                                                                    \
    const int64_t j = b + (k);                                                            \
    if (j < n_blocks) {                                                                   \
      _tile_zero(k);                                                                      \
      _tile_loadd(ta, a + kTileBytes * j, 32);                                            \
      _tile_loadd(tb, wide + 512 * j, 64);                                                \
      _tile_dpbssd(k, ta, tb);                                                            \
    }                                                                                     \
    if (j >= 1 && j - 1 < n_blocks) _tile_stored(cp, sums[cp], 64);                      \
    if (j >= 2 && j - 2 < n_blocks) rescale(sums[((k) + 2) % 4], j - 2);                  \
  } while (false)

__attribute__((always_inline)) inline void token_tile(const uint8_t* a, const int8_t* wide,
                                                      const uint8_t* scales_f16, int64_t n_blocks, __m512 (&acc)[16]) {
  alignas(64) int32_t sums[4][16 * 16];
  auto rescale = [&](const int32_t* s, int64_t blk) __attribute__((always_inline)) {
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales_f16 + 32 * blk)));
    const float* x = reinterpret_cast<const float*>(a + kTileBytes * blk + 512);
    // The AVX-512 tile's rescale (its `rescale`), the same operations.
#pragma GCC unroll 16
    for (int t = 0; t < 16; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(s + 16 * t)), _mm512_mul_ps(dw, _mm512_set1_ps(x[t])),
                               acc[t]);
  };
  for (int64_t b = 0; b < n_blocks + 2; b += 4) {
    RIDGE_AMX_STEP(0, 4, 6, 3);
    RIDGE_AMX_STEP(1, 5, 7, 0);
    RIDGE_AMX_STEP(2, 4, 6, 1);
    RIDGE_AMX_STEP(3, 5, 7, 2);
  }
}
#undef RIDGE_AMX_STEP

// The activations as A tiles, once per thread per fan-out (every token, not
// one chunk: with many tokens the pool hands a thread several runs of
// panels, and each would pack them again): for token tile k (tokens 16k..)
// and block b, at (k * blocks + b) * kTileBytes, the 16 tokens' 32 level
// bytes (one contiguous tile, not 16 rows a row stride apart), then their 16
// scales as floats; tokens past the last: levels and scale 0.
const uint8_t* activation_tiles(const PackedMatmulTask& task) {
  const int64_t nb = task.blocks, cols = nb * 32, n_tiles = (task.n_tokens + 15) / 16;
  uint8_t* tiles = nullptr;
  if (packed_activation_scratch(static_cast<size_t>(n_tiles * nb * kTileBytes), task.x_id,
                                kAmxLayoutTag + static_cast<int>(task.format), &tiles))
    return tiles;
  for (int64_t k = 0; k < n_tiles; ++k)
    for (int r = 0; r < 16; ++r) {
      const int64_t tok = 16 * k + r;
      uint8_t* out = tiles + k * nb * kTileBytes;
      if (tok < task.n_tokens) {
        const int8_t* row = task.xq + tok * cols;
        const float* xd = task.xd + tok * nb;
        for (int64_t b = 0; b < nb; ++b) {
          std::memcpy(out + b * kTileBytes + 32 * r, row + 32 * b, 32);
          std::memcpy(out + b * kTileBytes + 512 + 4 * r, xd + b, 4);
        }
      } else {
        for (int64_t b = 0; b < nb; ++b) {
          std::memset(out + b * kTileBytes + 32 * r, 0, 32);
          std::memset(out + b * kTileBytes + 512 + 4 * r, 0, 4);
        }
      }
    }
  return tiles;
}

template <bool kQ8>
void run(const PackedMatmulTask& task, int64_t panel_begin, int64_t panel_end) {
  constexpr int64_t kBlockBytes = kQ8 ? 512 : 256;
  constexpr int64_t kPairBytes = 2 * kBlockBytes + 2 * kPanel * 2;  // packed_pair_bytes (repack.h)
  static const TileConfig config = make_config();
  _tile_loadconfig(&config);

  const int64_t nb = task.blocks;
  const uint8_t* tiles = activation_tiles(task);
  alignas(64) int8_t wide[kMaxChunkBlocks * 512];    // a panel's chunk as B tiles
  alignas(64) uint8_t scales[kMaxChunkBlocks * 32];  // their row scales (f16), block by block

  // The AVX-512 path's order (run_panels): chunks of tokens, then groups
  // of panels, chunks of blocks, panels.
  for (int64_t tc = 0; tc < task.n_tokens; tc += kTokenChunk) {
    const int64_t n_tok = task.n_tokens - tc < kTokenChunk ? task.n_tokens - tc : kTokenChunk;
    const int n_tiles = static_cast<int>((n_tok + 15) / 16);
    for_each_panel_chunk(task, panel_begin, panel_end, kPairBytes,
                         [&](int64_t p, int64_t c, int64_t b0, int64_t n_blocks, const uint8_t* chunk) {
      for (int64_t b = 0; b < n_blocks; ++b) {
        const uint8_t* pair = chunk + (b / 2) * kPairBytes;
        widen_block<kQ8>(pair + (b % 2) * kBlockBytes, wide + 512 * b);
        std::memcpy(scales + 32 * b, pair + 2 * kBlockBytes + (b % 2) * 32, 32);
      }
      const int64_t row0 = p * kPanel;
      const __mmask16 keep = panel_rows(task.rows, p);
      for (int k = 0; k < n_tiles; ++k) {
        const int64_t t0 = 16 * k, nt = n_tok - t0 < 16 ? n_tok - t0 : 16;
        float* y = task.y + (tc + t0) * task.rows + row0;
        __m512 acc[16];
#pragma GCC unroll 16
        for (int t = 0; t < 16; ++t)
          acc[t] = c > 0 && t < nt ? _mm512_maskz_loadu_ps(keep, y + t * task.rows) : _mm512_setzero_ps();
        token_tile(tiles + ((tc / 16 + k) * nb + b0) * kTileBytes, wide, scales, n_blocks, acc);
#pragma GCC unroll 16
        for (int t = 0; t < 16; ++t)
          if (t < nt) _mm512_mask_storeu_ps(y + t * task.rows, keep, acc[t]);
      }
    });
  }
  _tile_release();
}


// ---- Q4_K (repack_kquant.h): the AVX-512 tile's integer sums and float
// operations (repack_kquant_matmul_avx512.cpp, tile_q4k), the sub-block dot
// products from TDPBSUD (signed activations x the unsigned 0..15 levels).

// The activations per (16-token tile k, super-block s), at (k * nsb + s) *
// kQ4kTileBytes: the 8 sub-blocks' A tiles (512 bytes each), the 16 tokens'
// scales (float), then for each token its 4 pairs of sums of 32 levels
// (int16 pairs, as the AVX-512 tile broadcasts them); tokens past the last:
// zero.
constexpr int64_t kQ4kTileBytes = 8 * 512 + 64 + 256;

const uint8_t* q4k_activation_tiles(const PackedKQuantMatmulTask& task) {
  const int64_t nsb = task.super_blocks, cols = nsb * 256, n_tiles = (task.n_tokens + 15) / 16;
  uint8_t* tiles = nullptr;
  if (packed_activation_scratch(static_cast<size_t>(n_tiles * nsb * kQ4kTileBytes), task.x_id, kAmxLayoutTag + 2,
                                &tiles))
    return tiles;
  std::memset(tiles, 0, static_cast<size_t>(n_tiles * nsb * kQ4kTileBytes));
  for (int64_t tok = 0; tok < task.n_tokens; ++tok) {
    const int64_t k = tok / 16, r = tok % 16;
    const int8_t* row = task.xq + tok * cols;
    for (int64_t sb = 0; sb < nsb; ++sb) {
      uint8_t* out = tiles + (k * nsb + sb) * kQ4kTileBytes;
      for (int j = 0; j < 8; ++j) std::memcpy(out + 512 * j + 32 * r, row + 256 * sb + 32 * j, 32);
      std::memcpy(out + 4096 + 4 * r, task.xd + tok * nsb + sb, 4);
      std::memcpy(out + 4096 + 64 + 16 * r, task.bsum32 + (tok * nsb + sb) * 8, 16);
    }
  }
  return tiles;
}

// Sub-block g of the panel's row (super-block g / 8, sub-block g % 8) for
// one token tile: its product in C tile g % 4, the previous one's tile
// stored, the one before that added to S (times the 16 rows' sub-block
// scales), and after a super-block's last sub-block its float update, as
// token_tile does, but across super-blocks: the pipeline runs the whole row.
#define RIDGE_AMX_Q4K_STEP(k, ta, tb, cp)                                                 \
  do {                                                                                    \
    const int64_t g = gb + (k);                                                           \
    if (g < n_sub) {                                                                      \
      _tile_zero(k);                                                                      \
      _tile_loadd(ta, a + ((g / 8) * kQ4kTileBytes + 512 * (g % 8)), 32);                 \
      _tile_loadd(tb, wide + 512 * g, 64);                                                \
      _tile_dpbsud(k, ta, tb);                                                            \
    }                                                                                     \
    if (g >= 1 && g - 1 < n_sub) _tile_stored(cp, sums[cp], 64);                          \
    if (g >= 2 && g - 2 < n_sub) sub_block_done(sums[((k) + 2) % 4], g - 2);              \
  } while (false)

// Every token of one panel, whose sub-blocks `wide` holds as B tiles.
void q4k_panel(const PackedKQuantMatmulTask& task, int64_t panel, const uint8_t* tiles, const int8_t* wide) {
  constexpr int64_t kBytes = kQ4kRecordBytes;
  const int64_t nsb = task.super_blocks, n_sub = 8 * nsb, n_tiles = (task.n_tokens + 15) / 16;
  const uint8_t* rec = task.data + panel * nsb * kBytes;
  const int64_t row0 = panel * kPanel;
  const __mmask16 keep = panel_rows(task.rows, panel);
  alignas(64) int32_t sums[4][16 * 16];
  alignas(64) float acc[16 * 16];
  for (int64_t kt = 0; kt < n_tiles; ++kt) {
    const uint8_t* a = tiles + kt * nsb * kQ4kTileBytes;
    __m512i S[16];
#pragma GCC unroll 16
    for (int t = 0; t < 16; ++t) S[t] = _mm512_setzero_si512();
#pragma GCC unroll 16
    for (int t = 0; t < 16; ++t) _mm512_store_ps(acc + 16 * t, _mm512_setzero_ps());
    auto sub_block_done = [&](const int32_t* c, int64_t gg) __attribute__((always_inline)) {
      const uint8_t* blk = rec + (gg / 8) * kBytes;
      const __m512i sc =
          _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(blk + 64 + 16 * (gg % 8))));
#pragma GCC unroll 16
      for (int t = 0; t < 16; ++t) S[t] = _mm512_add_epi32(S[t], _mm512_mullo_epi32(_mm512_load_si512(c + 16 * t), sc));
      if (gg % 8 != 7) return;
      // The super-block's float update (tile_q4k's), then S starts again.
      __m512i mins[4];
      for (int k = 0; k < 4; ++k)
        mins[k] = _mm512_cvtepu8_epi16(_mm256_load_si256(reinterpret_cast<const __m256i*>(blk + 192 + 32 * k)));
      const __m512 d = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(blk)));
      const __m512 dmin = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(blk + 32)));
      const uint8_t* ab = a + (gg / 8) * kQ4kTileBytes;
      const float* dxs = reinterpret_cast<const float*>(ab + 4096);
      const uint8_t* pairs = ab + 4096 + 64;
#pragma GCC unroll 16
      for (int t = 0; t < 16; ++t) {
        __m512i M = _mm512_setzero_si512();
        for (int k = 0; k < 4; ++k) {
          int32_t pair;
          std::memcpy(&pair, pairs + 16 * t + 4 * k, 4);
          M = _mm512_dpwssd_epi32(M, mins[k], _mm512_set1_epi32(pair));
        }
        const __m512 dx = _mm512_set1_ps(dxs[t]);
        __m512 at = _mm512_load_ps(acc + 16 * t);
        at = _mm512_fmadd_ps(_mm512_cvtepi32_ps(S[t]), _mm512_mul_ps(d, dx), at);
        at = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(M), _mm512_mul_ps(dmin, dx), at);
        _mm512_store_ps(acc + 16 * t, at);
        S[t] = _mm512_setzero_si512();
      }
    };
    for (int64_t gb = 0; gb < n_sub + 2; gb += 4) {
      RIDGE_AMX_Q4K_STEP(0, 4, 6, 3);
      RIDGE_AMX_Q4K_STEP(1, 5, 7, 0);
      RIDGE_AMX_Q4K_STEP(2, 4, 6, 1);
      RIDGE_AMX_Q4K_STEP(3, 5, 7, 2);
    }
    const int64_t t0 = kt * 16, nt = task.n_tokens - t0 < 16 ? task.n_tokens - t0 : 16;
    for (int64_t t = 0; t < nt; ++t)
      _mm512_mask_storeu_ps(task.y + (t0 + t) * task.rows + row0, keep, _mm512_load_ps(acc + 16 * t));
  }
}
#undef RIDGE_AMX_Q4K_STEP

}  // namespace

void packed_matmul_panels_amx(const PackedMatmulTask& task, int64_t panel_begin, int64_t panel_end) {
  if (task.chunk_blocks > kMaxChunkBlocks) return packed_matmul_panels_avx512(task, panel_begin, panel_end);
  if (task.format == PackedFormat::Q8_0) run<true>(task, panel_begin, panel_end);
  else run<false>(task, panel_begin, panel_end);
}

void packed_kquant_matmul_panels_amx(const PackedKQuantMatmulTask& task, int64_t panel_begin, int64_t panel_end) {
  if (task.format != PackedKQuantFormat::Q4_K) return packed_kquant_matmul_panels_avx512(task, panel_begin, panel_end);
  static const TileConfig config = make_config();
  _tile_loadconfig(&config);
  const uint8_t* tiles = q4k_activation_tiles(task);
  // Per panel: its whole row widened once into B tiles (4 KiB per
  // super-block, per thread), then every token tile against it.
  constexpr int64_t kBytes = kQ4kRecordBytes;
  const int64_t nsb = task.super_blocks;
  static thread_local int8_t* wide = nullptr;
  static thread_local int64_t wide_sb = 0;
  if (wide_sb < nsb) {
    _mm_free(wide);
    wide = static_cast<int8_t*>(_mm_malloc(static_cast<size_t>(nsb) * 8 * 512, 64));
    wide_sb = nsb;
  }
  const __m512i low = _mm512_set1_epi8(0x0f);
  for (int64_t p = panel_begin; p < panel_end; ++p) {
    const uint8_t* rec = task.data + p * nsb * kBytes;
    for (int64_t sb = 0; sb < nsb; ++sb)
      for (int q = 0; q < 4; ++q)  // pair q: sub-block 2q in the low nibbles, 2q + 1 in the high ones
        for (int v = 0; v < 8; ++v) {
          const __m512i packed = _mm512_load_si512(rec + sb * kBytes + 320 + 512 * q + 64 * v);
          int8_t* w = wide + (8 * sb + 2 * q) * 512 + 64 * v;
          _mm512_store_si512(w, _mm512_and_si512(packed, low));
          _mm512_store_si512(w + 512, _mm512_and_si512(_mm512_srli_epi16(packed, 4), low));
        }
    q4k_panel(task, p, tiles, wide);
  }
  _tile_release();
}

}  // namespace ridge::kernels::isa
