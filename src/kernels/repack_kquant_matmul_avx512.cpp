// The GEMM over packed Q4_K / Q6_K weights (layouts in repack_kquant.h) for
// AVX-512 VNNI (flags from CMakeLists.txt by file name). A tile is one panel
// of 16 rows by up to kMaxTokens tokens. Per sub-block, the panel's level
// vectors (Q4_K: nibbles 0..15; Q6_K: nibbles joined with their top two bits,
// 0..63) are loaded once and meet every token of the tile in vpdpbusd against
// broadcast 4-byte activation groups; each token's int32 sub-block sum is
// multiplied by the 16 rows' sub-block scales (vpmulld) into one int32 sum per
// super-block, so all the integer work is exact. Q4_K's mins meet the
// activation sums per 32 in 4 vpdpwssd (two sub-blocks each); Q6_K's offset
// of 32 enters each sub-block sum as its starting value -32 * (sum of the 16
// activation levels). Only then comes float: per super-block and token,
//   acc += float(S) * (d * dx)  [- float(M) * (dmin * dx) for Q4_K].
//
// Every token goes through the same instructions in the same order whatever
// the tile width (the number of independent integer chains for 1-2 token tiles
// only reorders exact integer additions), so a (row, token) result does not
// depend on which other tokens share the call or on the thread count.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/repack_kquant_kernels.h"

#if !(defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512BW__) && defined(__AVX512VNNI__))
#error "repack_kquant_matmul_avx512.cpp needs -mavx512f -mavx512vl -mavx512bw -mavx512vnni (see CMakeLists.txt)"
#endif

namespace ridge::kernels::isa {
namespace {

#include "kernels/repack_kquant_matmul_body.h"

#include "kernels/repack_avx512_helpers.h"

constexpr int kMaxTokens = 8;

// With few tokens, one chain of dependent vpdpbusd per sub-block would bound
// the loop by their latency: split it over independent sums.
template <int T>
constexpr int chains() {
  return T == 1 ? 4 : (T == 2 ? 2 : 1);
}

template <int T>
void store_tile(const PackedKQuantMatmulTask& task, int64_t panel, const __m512 (&acc)[T], float* y,
                int64_t y_stride) {
  const int64_t row0 = panel * kPanel;
  const int64_t left = task.rows - row0;
  const __mmask16 keep = left >= kPanel ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * y_stride + row0, keep, acc[t]);
}

// The loops below must be fully unrolled (constant indices keep the
// accumulators in registers), which -O3 alone does not do for all of them.
#define RIDGE_UNROLL _Pragma("GCC unroll 16")
#define RIDGE_INLINE inline __attribute__((always_inline))

// The end of a sub-block: folds each token's C partial sums into one and adds
// it, times the 16 rows' sub-block scales `sc`, to the token's S.
// kShift: the partial sums are 16 times the sub-block's (Q4_K's high
// nibbles used in place, see q4k_sub_block) and are divided back, exactly.
template <int T, int C, int kShift = 0>
RIDGE_INLINE void add_scaled(__m512i (&dot)[C][T], __m512i sc, __m512i (&S)[T]) {
  RIDGE_UNROLL for (int t = 0; t < T; ++t) {
    RIDGE_UNROLL for (int c = 1; c < C; ++c) dot[0][t] = _mm512_add_epi32(dot[0][t], dot[c][t]);
    if constexpr (kShift != 0) dot[0][t] = _mm512_srai_epi32(dot[0][t], kShift);
    S[t] = _mm512_add_epi32(S[t], _mm512_mullo_epi32(dot[0][t], sc));
  }
}

// One Q4_K sub-block of 32 columns (nibble vectors `nib`, the low nibbles for
// kHigh false): S[t] += scale * sum over the sub-block of u * q, for every
// token of the tile.
// With 1-2 tokens (decode) the high nibbles are used in place, as 16 x level
// (at most 240, still an unsigned byte), and the sums shifted right by 4
// afterwards (every term is a multiple of 16): one AND per vector instead of
// a shift and an AND, the same integers (the Q4_0 tile's trick).
template <int T, bool kHigh>
RIDGE_INLINE void q4k_sub_block(const uint8_t* nib, const uint8_t* scales, int g0, const uint8_t* xp, __m512i (&S)[T]) {
  constexpr int C = chains<T>();
  constexpr bool kInPlace = kHigh && T <= 2;
  const __m512i mask = _mm512_set1_epi8(static_cast<char>(kInPlace ? 0xf0 : 0x0f));
  __m512i dot[C][T];
  RIDGE_UNROLL for (int c = 0; c < C; ++c)
    RIDGE_UNROLL for (int t = 0; t < T; ++t) dot[c][t] = _mm512_setzero_si512();
  RIDGE_UNROLL for (int v = 0; v < 8; ++v) {
    const __m512i packed = _mm512_load_si512(nib + 64 * v);
    const __m512i u = _mm512_and_si512(kHigh && !kInPlace ? _mm512_srli_epi16(packed, 4) : packed, mask);
    RIDGE_UNROLL for (int t = 0; t < T; ++t)
      dot[v % C][t] = _mm512_dpbusd_epi32(dot[v % C][t], u, bcast_i32(xp + ((g0 + v) * T + t) * 4));
  }
  add_scaled<T, C, kInPlace ? 4 : 0>(dot, _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(scales))),
                                      S);
}

template <int T>
void tile_q4k(const PackedKQuantMatmulTask& task, int64_t panel, const uint8_t* xp, float* y, int64_t y_stride) {
  constexpr auto F = PackedKQuantFormat::Q4_K;
  constexpr int64_t kBytes = Format<F>::kBlockBytes, kStride = tile_stride<F>(T);
  const int64_t nsb = task.super_blocks;
  const uint8_t* rec = task.data + panel * nsb * kBytes;
  __m512 acc[T];
  RIDGE_UNROLL for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();

  for (int64_t s = 0; s < nsb; ++s, xp += kStride) {
    const uint8_t* blk = rec + s * kBytes;
    prefetch_pages_ahead(blk, kBytes);
    __m512i S[T];
    RIDGE_UNROLL for (int t = 0; t < T; ++t) S[t] = _mm512_setzero_si512();
    // Pair p: sub-block 2p in the low nibbles (groups 16p..), 2p + 1 in the high ones (16p + 8..).
    for (int p = 0; p < 4; ++p) {
      if constexpr (T == 1) prefetch_lines_part(blk, kBytes, p, 4);  // decode, a quarter at a time (prefetch.h)
      q4k_sub_block<T, false>(blk + 320 + 512 * p, blk + 64 + 16 * (2 * p), 16 * p, xp, S);
      q4k_sub_block<T, true>(blk + 320 + 512 * p, blk + 64 + 16 * (2 * p + 1), 16 * p + 8, xp, S);
    }
    __m512i mins[4];
    RIDGE_UNROLL for (int k = 0; k < 4; ++k)
      mins[k] = _mm512_cvtepu8_epi16(_mm256_load_si256(reinterpret_cast<const __m256i*>(blk + 192 + 32 * k)));
    const __m512 d = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(blk)));
    const __m512 dmin = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(blk + 32)));
    RIDGE_UNROLL for (int t = 0; t < T; ++t) {
      __m512i M = _mm512_setzero_si512();
      RIDGE_UNROLL for (int k = 0; k < 4; ++k)
        M = _mm512_dpwssd_epi32(M, mins[k], bcast_i32(xp + 260 * T + (k * T + t) * 4));
      const __m512 dx = bcast_f32(xp + 256 * T + 4 * t);
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(S[t]), _mm512_mul_ps(d, dx), acc[t]);
      acc[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(M), _mm512_mul_ps(dmin, dx), acc[t]);
    }
  }
  store_tile<T>(task, panel, acc, y, y_stride);
}

// One Q6_K sub-block of 16 columns: nibble vectors 4q..4q+3 of the pair
// (kHalf: their high nibbles), joined with field f = 2q + kHalf of the pair's
// top-bit vectors; the sums start at -32 * (sum of the 16 activation levels).
template <int T, int kHalf, int kQ>
RIDGE_INLINE void q6k_sub_block(const uint8_t* pair, const uint8_t* scales, int j, int g0, const uint8_t* xp,
                                __m512i (&S)[T]) {
  constexpr int C = chains<T>();
  constexpr int f = 2 * kQ + kHalf;
  const __m512i low_nibbles = _mm512_set1_epi8(0x0f), top_bits = _mm512_set1_epi8(0x30);
  __m512i dot[C][T];
  RIDGE_UNROLL for (int t = 0; t < T; ++t) dot[0][t] = bcast_i32(xp + 260 * T + (j * T + t) * 4);
  RIDGE_UNROLL for (int c = 1; c < C; ++c)
    RIDGE_UNROLL for (int t = 0; t < T; ++t) dot[c][t] = _mm512_setzero_si512();
  RIDGE_UNROLL for (int w = 0; w < 4; ++w) {
    const int v = 4 * kQ + w;
    const __m512i packed = load_line(pair + 64 * v);
    const __m512i nib = _mm512_and_si512(kHalf ? _mm512_srli_epi16(packed, 4) : packed, low_nibbles);
    const __m512i top = load_line(pair + 512 + 64 * w);
    // Field f (bits 2f..2f+1) to bits 4..5; the mask drops what crossed bytes.
    __m512i shifted;
    if constexpr (f == 0) shifted = _mm512_slli_epi16(top, 4);
    else if constexpr (f == 1) shifted = _mm512_slli_epi16(top, 2);
    else if constexpr (f == 2) shifted = top;
    else shifted = _mm512_srli_epi16(top, 2);
    const __m512i u = _mm512_ternarylogic_epi32(nib, shifted, top_bits, 0xF8);  // nib | (shifted & 0x30)
    RIDGE_UNROLL for (int t = 0; t < T; ++t)
      dot[w % C][t] = _mm512_dpbusd_epi32(dot[w % C][t], u, bcast_i32(xp + ((g0 + v) * T + t) * 4));
  }
  add_scaled<T, C>(dot, _mm512_cvtepi8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(scales + 16 * j))), S);
}

template <int T>
void tile_q6k(const PackedKQuantMatmulTask& task, int64_t panel, const uint8_t* xp, float* y, int64_t y_stride) {
  constexpr auto F = PackedKQuantFormat::Q6_K;
  constexpr int64_t kBytes = Format<F>::kBlockBytes, kStride = tile_stride<F>(T);
  const int64_t nsb = task.super_blocks;
  const uint8_t* rec = task.data + panel * nsb * kBytes;
  __m512 acc[T];
  RIDGE_UNROLL for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();

  for (int64_t s = 0; s < nsb; ++s, xp += kStride) {
    const uint8_t* blk = rec + s * kBytes;
    prefetch_pages_ahead(blk, kBytes);
    __m512i S[T];
    RIDGE_UNROLL for (int t = 0; t < T; ++t) S[t] = _mm512_setzero_si512();
    // Pair p covers columns 64p..64p+63: sub-blocks 4p + 2 * half + q.
    for (int p = 0; p < 4; ++p) {
      if constexpr (T == 1) prefetch_lines_part(blk, kBytes, p, 4);  // decode, a quarter at a time (prefetch.h)
      const uint8_t* pair = blk + 320 + 768 * p;
      q6k_sub_block<T, 0, 0>(pair, blk + 64, 4 * p, 16 * p, xp, S);
      q6k_sub_block<T, 0, 1>(pair, blk + 64, 4 * p + 1, 16 * p, xp, S);
      q6k_sub_block<T, 1, 0>(pair, blk + 64, 4 * p + 2, 16 * p + 8, xp, S);
      q6k_sub_block<T, 1, 1>(pair, blk + 64, 4 * p + 3, 16 * p + 8, xp, S);
    }
    const __m512 d = _mm512_load_ps(blk);
    RIDGE_UNROLL for (int t = 0; t < T; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(S[t]), _mm512_mul_ps(d, bcast_f32(xp + 256 * T + 4 * t)), acc[t]);
  }
  store_tile<T>(task, panel, acc, y, y_stride);
}

#undef RIDGE_UNROLL
#undef RIDGE_INLINE

struct Tiles {
  static constexpr int kMaxTokens = isa::kMaxTokens;
  static constexpr int kLayout = 0;  // this file's activation copies (see run_panels)
  template <PackedKQuantFormat F, int T>
  static void tile(const PackedKQuantMatmulTask& task, int64_t panel, const uint8_t* xp, float* y, int64_t y_stride) {
    if constexpr (F == PackedKQuantFormat::Q4_K)
      tile_q4k<T>(task, panel, xp, y, y_stride);
    else
      tile_q6k<T>(task, panel, xp, y, y_stride);
  }
};

}  // namespace

void packed_kquant_matmul_panels_avx512(const PackedKQuantMatmulTask& task, int64_t panel_begin, int64_t panel_end) {
  if (task.format == PackedKQuantFormat::Q4_K) run_panels<Tiles, PackedKQuantFormat::Q4_K>(task, panel_begin, panel_end);
  else run_panels<Tiles, PackedKQuantFormat::Q6_K>(task, panel_begin, panel_end);
}

}  // namespace ridge::kernels::isa
