// The GEMM over packed weights (repack.h) for AVX-512 VNNI (flags from
// CMakeLists.txt by file name). A tile is one panel of 16 rows by up to
// kMaxTokens tokens: per block of 32 columns, the panel's 8 level vectors are
// loaded (and for Q4_0 split into nibbles) once and meet every token of the
// tile; each token's int32 sums for the 16 rows start at the weight offset's
// share (-offset * sum of the activation levels), take 8 vpdpbusd (4 columns
// each, against a broadcast 4-byte activation group), and are rescaled into
// the token's float accumulators by one FMA with the 16 rows' scales.
//
// The activations a tile reads are first copied into one interleaved run per
// block (see pack_tile), so the tile addresses all its tokens through a single
// pointer: with a pointer per token, 8 tokens' three arrays need more general
// registers than there are, and the spills cost as much as the arithmetic.
//
// Every token goes through the same instructions in the same order whatever
// the tile width, so a (row, token) result does not depend on which other
// tokens share the call or on the thread count.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/repack_kernels.h"

#if !(defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512BW__) && defined(__AVX512VNNI__))
#error "repack_matmul_avx512.cpp needs -mavx512f -mavx512vl -mavx512bw -mavx512vnni (see CMakeLists.txt)"
#endif

namespace ridge::kernels::isa {
namespace {

constexpr int kPanel = 16;
// Tokens per tile: 2 * kMaxTokens accumulators (int and float) plus the level
// vectors stay within the 32 zmm registers.
constexpr int kMaxTokens = 8;
// Tokens are processed in chunks so a chunk's activations stay in L2 while
// each panel (read once per chunk from memory) meets all of them.
constexpr int64_t kTokenChunk = 64;

// Bytes per block of a tile's packed activations for T tokens: 8 groups x T
// tokens of 4 level bytes, then T scales (float), then T offsets (int32).
constexpr int64_t tile_stride(int T) { return 40 * static_cast<int64_t>(T); }

// Copies tokens [token, token + T) of the task's activations into `out`:
// for each block b, at out + b * tile_stride(T): the 4-byte group g of token t
// at (g * T + t) * 4, token t's scale at 32 * T + 4 * t, its offset at
// 36 * T + 4 * t.
void pack_tile(const PackedMatmulTask& task, int64_t token, int T, uint8_t* out) {
  const int64_t nb = task.blocks, cols = nb * 32, stride = 40 * static_cast<int64_t>(T);
  for (int t = 0; t < T; ++t) {
    const int8_t* xq = task.xq + (token + t) * cols;
    const float* xd = task.xd + (token + t) * nb;
    const int32_t* xo = task.x_offset + (token + t) * nb;
    uint8_t* o = out;
    for (int64_t b = 0; b < nb; ++b, o += stride) {
      for (int g = 0; g < 8; ++g) std::memcpy(o + (g * T + t) * 4, xq + b * 32 + 4 * g, 4);
      std::memcpy(o + 32 * T + 4 * t, xd + b, 4);
      std::memcpy(o + 36 * T + 4 * t, xo + b, 4);
    }
  }
}

inline __m512i bcast_i32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm512_set1_epi32(v);
}

inline __m512 bcast_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, sizeof v);
  return _mm512_set1_ps(v);
}

template <bool kQ8, int T>
void tile(const PackedMatmulTask& task, int64_t panel, const uint8_t* xp, float* y, int64_t y_stride) {
  constexpr int64_t kBlockBytes = kQ8 ? 512 : 256;
  constexpr int64_t kStride = tile_stride(T);
  const int64_t nb = task.blocks;
  constexpr int64_t kPairBytes = 2 * kBlockBytes + 2 * kPanel * 2;  // packed_pair_bytes (repack.h)
  const uint8_t* first_pair = task.levels + panel * ((nb + 1) / 2) * kPairBytes;
  const __m512i low_nibbles = _mm512_set1_epi8(0x0f);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();

  for (int64_t b = 0; b < nb; ++b, xp += kStride) {
    // Block b: its levels, then (after the pair's second block) its scales.
    const uint8_t* pair = first_pair + (b >> 1) * kPairBytes;
    const uint8_t* blk = pair + (b & 1) * kBlockBytes;
    const uint8_t* sc = pair + 2 * kBlockBytes + (b & 1) * (kPanel * 2);
    // With few tokens, one chain of 8 dependent vpdpbusd per block would bound
    // the loop by their latency: split the groups over kChains independent
    // sums (integer addition is exact, so the result is the same bits).
    constexpr int kChains = T == 1 ? 4 : (T == 2 ? 2 : 1);
    __m512i isum[kChains][T];
    for (int t = 0; t < T; ++t) {
      isum[0][t] = bcast_i32(xp + 36 * T + 4 * t);
      for (int c = 1; c < kChains; ++c) isum[c][t] = _mm512_setzero_si512();
    }
    // Group g covers columns 4g..4g+3 of the block.
    auto group = [&](int g, __m512i w) {
      for (int t = 0; t < T; ++t)
        isum[g % kChains][t] = _mm512_dpbusd_epi32(isum[g % kChains][t], w, bcast_i32(xp + (g * T + t) * 4));
    };
    if constexpr (kQ8) {
      for (int g = 0; g < 8; ++g) group(g, _mm512_load_si512(blk + 64 * g));
    } else {
      for (int g = 0; g < 4; ++g) {
        const __m512i packed = _mm512_load_si512(blk + 64 * g);
        group(g, _mm512_and_si512(packed, low_nibbles));
        group(g + 4, _mm512_and_si512(_mm512_srli_epi16(packed, 4), low_nibbles));
      }
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(sc)));
    for (int t = 0; t < T; ++t)
      for (int c = 1; c < kChains; ++c) isum[0][t] = _mm512_add_epi32(isum[0][t], isum[c][t]);
    for (int t = 0; t < T; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[0][t]), _mm512_mul_ps(dw, bcast_f32(xp + 32 * T + 4 * t)),
                               acc[t]);
  }

  const int64_t row0 = panel * kPanel;
  const int64_t left = task.rows - row0;
  const __mmask16 keep = left >= kPanel ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * y_stride + row0, keep, acc[t]);
}

using TileFn = void (*)(const PackedMatmulTask&, int64_t panel, const uint8_t* xp, float* y, int64_t y_stride);

template <bool kQ8, int T>
TileFn tile_for_tokens(int64_t nt) {
  if constexpr (T == 1) {
    return &tile<kQ8, 1>;
  } else {
    return nt == T ? &tile<kQ8, T> : tile_for_tokens<kQ8, T - 1>(nt);
  }
}

template <bool kQ8>
void run_panels(const PackedMatmulTask& task, int64_t panel_begin, int64_t panel_end) {
  const int64_t nb = task.blocks;
  for (int64_t tc = 0; tc < task.n_tokens; tc += kTokenChunk) {
    const int64_t tc_end = tc + kTokenChunk < task.n_tokens ? tc + kTokenChunk : task.n_tokens;
    // Per thread, reused: the packed activations of one chunk of tokens. A
    // task of one chunk may find them already made by this thread's previous
    // run of rows of the same fan-out (the offsets differ between Q4_0 and
    // Q8_0, hence the format in the layout tag).
    uint8_t* packed_x = nullptr;
    const bool packed = packed_activation_scratch(static_cast<size_t>(tile_stride(1) * nb * (tc_end - tc)),
                                                  task.n_tokens <= kTokenChunk ? task.x_id : 0,
                                                  1 + static_cast<int>(task.format), &packed_x);
    // Tile k of the chunk (tokens tc + 8k ..) starts at 40 * 8k * nb bytes.
    for (int64_t t = tc; t < tc_end && !packed; t += kMaxTokens) {
      const int nt = static_cast<int>(tc_end - t < kMaxTokens ? tc_end - t : kMaxTokens);
      pack_tile(task, t, nt, packed_x + tile_stride(1) * nb * (t - tc));
    }
    for (int64_t p = panel_begin; p < panel_end; ++p)
      for (int64_t t = tc; t < tc_end; t += kMaxTokens) {
        const int64_t nt = tc_end - t < kMaxTokens ? tc_end - t : kMaxTokens;
        tile_for_tokens<kQ8, kMaxTokens>(nt)(task, p, packed_x + tile_stride(1) * nb * (t - tc),
                                             task.y + t * task.rows, task.rows);
      }
  }
}

}  // namespace

void packed_matmul_panels_avx512(const PackedMatmulTask& task, int64_t panel_begin, int64_t panel_end) {
  if (task.format == PackedFormat::Q8_0) run_panels<true>(task, panel_begin, panel_end);
  else run_panels<false>(task, panel_begin, panel_end);
}

}  // namespace ridge::kernels::isa
